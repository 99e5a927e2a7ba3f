package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// unread returns how many bytes written to a pipe its reader has not read
// yet (FIONREAD, Linux).
func unread(t *testing.T, w *os.File) int {
	t.Helper()
	var n int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, w.Fd(), syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); errno != 0 {
		t.Fatalf("FIONREAD: %v", errno)
	}
	return int(n)
}

// TestInterruptWhileReadingStdin is `(echo rec; sleep 30) | trawl ingest -`
// and Ctrl-C: the writer keeps the pipe open, so the ingest is blocked
// reading stdin when the SIGINT comes. It must end promptly with exit 130
// and keep the records it was given.
func TestInterruptWhileReadingStdin(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.duckdb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmd := exec.Command(trawlBin, "ingest", "--db", db, "--progress", "never", "-")
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer cmd.Process.Kill()
	const records = 3
	for i := range records {
		fmt.Fprintf(w, ctLine+"\n", fmt.Sprintf("e%d", i), "CreateUser")
	}
	// Wait until trawl has read everything, then a little more for it to
	// decode it and block on the next read.
	deadline := time.Now().Add(30 * time.Second)
	for unread(t, w) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("trawl did not read its stdin")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var xe *exec.ExitError
		if !errors.As(err, &xe) || xe.ExitCode() != exitInterrupted {
			t.Fatalf("after SIGINT: %v, want exit %d\n%s%s", err, exitInterrupted, out.String(), errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("trawl ingest - still runs 20s after SIGINT (blocked reading stdin)\n%s%s", out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("stderr should say it was interrupted: %s", errb.String())
	}
	q, stderr, code := trawl(t, nil, "query", "--db", db, "--format", "csv", "SELECT count(*) FROM cloudtrail")
	if code != 0 || strings.TrimSpace(strings.TrimPrefix(q, "count_star()")) != fmt.Sprint(records) {
		t.Errorf("the %d records given before the interrupt should be stored: exit %d %q %s", records, code, q, stderr)
	}
}
