package corpustest

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// fakeT records what Missing does.
type fakeT struct{ fatal, skip string }

func (f *fakeT) Helper()                           {}
func (f *fakeT) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }
func (f *fakeT) Skipf(format string, args ...any)  { f.skip = fmt.Sprintf(format, args...) }

func TestMissingCorpus(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-corpus")
	t.Setenv("TRAWL_CORPUS", missing)
	_, err := Find()
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Find with TRAWL_CORPUS=%s: error %v, want one naming the path and wrapping fs.ErrNotExist", missing, err)
	}
	var req fakeT
	Missing(&req, true, err)
	if req.skip != "" || !strings.Contains(req.fatal, "TRAWL_REQUIRE_CORPUS=1") || !strings.Contains(req.fatal, missing) {
		t.Errorf("required: fatal %q, skip %q; want a failure naming TRAWL_REQUIRE_CORPUS and the path", req.fatal, req.skip)
	}
	var opt fakeT
	Missing(&opt, false, err)
	if opt.fatal != "" || !strings.Contains(opt.skip, missing) {
		t.Errorf("not required: fatal %q, skip %q; want a skip naming the path", opt.fatal, opt.skip)
	}
	t.Setenv("TRAWL_CORPUS", t.TempDir())
	if _, err := Find(); err != nil {
		t.Errorf("Find with an existing TRAWL_CORPUS: %v", err)
	}
}
