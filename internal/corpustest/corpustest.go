// Package corpustest finds the shared test corpus (../shared/corpus beside
// the repository, or $TRAWL_CORPUS) for tests that read it. When it is
// absent a test is skipped, as is right on a user's clone, unless
// TRAWL_REQUIRE_CORPUS=1 (CI sets it), which makes it fail.
package corpustest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the corpus directory, or skips or fails t when it is absent.
func Dir(t testing.TB) string {
	t.Helper()
	c, err := Find()
	if c == "" {
		t.Fatal(err) // not a missing corpus: the repository is not found
	}
	if err != nil {
		Missing(t, Required(), err)
	}
	return c
}

// Sub returns a directory of the corpus (such as "sigma"): a corpus without
// it is skipped or fails as a missing corpus does.
func Sub(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(Dir(t), name)
	if _, err := os.Stat(dir); err != nil {
		Missing(t, Required(), fmt.Errorf("the corpus has no %s: %w", name, err))
	}
	return dir
}

// Required reports whether a missing corpus fails tests
// (TRAWL_REQUIRE_CORPUS=1).
func Required() bool { return os.Getenv("TRAWL_REQUIRE_CORPUS") == "1" }

// Find returns $TRAWL_CORPUS, or else ../shared/corpus beside the
// repository root, and an error when that directory does not exist. It
// returns "" when it cannot tell where the corpus should be.
func Find() (string, error) {
	if d := os.Getenv("TRAWL_CORPUS"); d != "" {
		if _, err := os.Stat(d); err != nil {
			return d, fmt.Errorf("TRAWL_CORPUS: %w", err)
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			c := filepath.Join(filepath.Dir(dir), "shared", "corpus")
			if _, err := os.Stat(c); err != nil {
				return c, fmt.Errorf("the shared test corpus is not at %s (it sits beside the repository in CI; set TRAWL_CORPUS to point elsewhere): %w", c, err)
			}
			return c, nil
		}
	}
	return "", errors.New("repository root (go.mod) not found above " + wd)
}

// Skipper is the part of testing.TB that Missing uses.
type Skipper interface {
	Helper()
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}

// Missing fails the test when the corpus is required and skips it
// otherwise.
func Missing(t Skipper, required bool, err error) {
	t.Helper()
	if required {
		t.Fatalf("TRAWL_REQUIRE_CORPUS=1 but the corpus is missing: %v", err)
	} else {
		t.Skipf("%v; skipping (set TRAWL_REQUIRE_CORPUS=1 to fail instead)", err)
	}
}
