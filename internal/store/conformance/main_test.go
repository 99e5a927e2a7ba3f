package conformance

import (
	"os"
	"testing"

	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
)

// TestMain closes the shared stores, removes their data and stops the
// ClickHouse server after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if loaded != nil {
		loaded.Duck.Close()
		loaded.CH.Close()
		os.RemoveAll(loaded.Dir)
	}
	chtest.Stop()
	os.Exit(code)
}
