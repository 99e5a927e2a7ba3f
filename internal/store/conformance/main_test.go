package conformance

import (
	"testing"

	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }
