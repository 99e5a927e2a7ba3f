package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestBadPathsAreReportedAndTheRestIngested gives ingest a good file, a
// missing path and a directory holding good files, a dangling symbolic
// link, a link loop, a link to another directory and a FIFO: each bad path
// is reported by name with its reason, the FIFO is skipped with a notice,
// everything else is stored, and the exit status is 3. (An unreadable
// subdirectory is covered by internal/source/file's tests, which simulate
// it: these tests may run as root, whom permissions do not stop.)
func TestBadPathsAreReportedAndTheRestIngested(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "t.duckdb")
	good := filepath.Join(dir, "good.json")
	writeFile(t, good, fmt.Sprintf(ctLine, "e1", "CreateUser")+"\n")
	tree := filepath.Join(dir, "tree")
	writeFile(t, filepath.Join(tree, "a.json"), fmt.Sprintf(ctLine, "e2", "CreateUser")+"\n")
	writeFile(t, filepath.Join(dir, "other", "b.json"), fmt.Sprintf(ctLine, "e3", "CreateUser")+"\n")
	for link, target := range map[string]string{
		"dangling.json": filepath.Join(dir, "gone.json"),
		"loop":          "loop",
		"linked":        filepath.Join(dir, "other"),
	} {
		if err := os.Symlink(target, filepath.Join(tree, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(tree, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope.json")

	out, stderr, code := trawl(t, nil, "ingest", "--db", db, "--progress", "never", good, missing, tree)
	if code != exitPartial {
		t.Errorf("exit %d, want %d\n%s%s", code, exitPartial, out, stderr)
	}
	for _, want := range []string{
		missing + ": no such file or directory",
		filepath.Join(tree, "dangling.json") + ": dangling symbolic link",
		filepath.Join(tree, "loop") + ": symbolic link loop",
		filepath.Join(tree, "pipe") + ": skipped: a FIFO",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(out, "3 CloudTrail events") || !strings.Contains(out, "could not be read or listed: 3") {
		t.Errorf("the summary should count the stored events and the skipped paths:\n%s", out)
	}
	q, _, _ := trawl(t, nil, "query", "--db", db, "--format", "csv", "SELECT string_agg(event_id, ',' ORDER BY event_id) FROM cloudtrail")
	if !strings.Contains(q, "e1,e2,e3") {
		t.Errorf("stored events: %q", q)
	}

	// Only bad paths: nothing to do is a failure.
	_, stderr, code = trawl(t, nil, "ingest", "--db", db, missing)
	if code != exitFailure || !strings.Contains(stderr, missing) {
		t.Errorf("only a missing path: exit %d: %s", code, stderr)
	}
}
