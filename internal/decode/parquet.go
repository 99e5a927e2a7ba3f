package decode

import (
	"bufio"
	"io"

	"github.com/trawl-project/trawl/internal/event"
)

// parquet decodes a Parquet flow-log object.
func (d *decoder) parquet(br *bufio.Reader, orig io.Reader, compressed bool) error {
	return d.quarantine(event.KindVPCFlow, 0, 0, "Parquet input is not supported yet", nil)
}
