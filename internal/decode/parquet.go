package decode

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/trawl-project/trawl/internal/decode/vpcflow"
	"github.com/trawl-project/trawl/internal/event"
)

// maxParquetObject bounds the spooled Parquet data, so that a compressed
// object cannot fill the disk.
const maxParquetObject = 1 << 30

// parquet decodes a Parquet flow-log object. Parquet needs random access,
// so the object is first copied to a temporary file (AWS caps flow-log
// files at 75 MB).
func (d *decoder) parquet(br *bufio.Reader, compressed bool, cr *countingReader) error {
	if d.opt.Kind != event.KindUnknown && d.opt.Kind != event.KindVPCFlow {
		return d.quarantine(d.opt.Kind, 0, 0, fmt.Sprintf("a Parquet file is not %s data (--type %s)", d.opt.Kind, d.opt.Kind), nil)
	}
	tmp, err := os.CreateTemp(d.opt.TempDir, "trawl-parquet-*")
	if err != nil {
		return fmt.Errorf("spooling a Parquet object: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	size, err := io.Copy(tmp, io.LimitReader(br, maxParquetObject+1))
	if err != nil {
		if rerr := d.readFailure(err, cr.n, compressed, 0); rerr != nil {
			return rerr
		}
		return nil
	}
	if size > maxParquetObject {
		return d.quarantine(event.KindVPCFlow, 0, 0, fmt.Sprintf("a Parquet object of more than %d bytes (decompressed) is not read; AWS writes at most 75 MB", maxParquetObject), nil)
	}
	var sinkErr error
	sink := func(err error) error {
		sinkErr = err
		return err
	}
	err = vpcflow.ParquetRows(d.ctx, tmp, size, d.opt.MaxRecordSize, vpcflow.ParquetSink{
		Row: func(rec *event.VPCFlow, warns []vpcflow.Warning) error {
			return sink(d.emitFlow(rec, warns, 0, -1))
		},
		Bad: func(reason, snippet string) error {
			return sink(d.quarantine(event.KindVPCFlow, 0, -1, reason, []byte(snippet)))
		},
		Lost: func(reason string) error {
			return sink(d.quarantine(event.KindVPCFlow, 0, -1, reason, nil))
		},
	})
	switch {
	case sinkErr != nil:
		return sinkErr
	case err != nil && d.ctx.Err() != nil:
		return d.ctx.Err()
	case err != nil:
		return d.quarantine(event.KindVPCFlow, 0, 0, fmt.Sprintf("%v (nothing of the object was read)", err), nil)
	}
	return nil
}
