package main

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/trawl-project/trawl/internal/server"
)

func TestServeRefusesOpenAddressWithoutToken(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.duckdb")
	for _, addr := range []string{"0.0.0.0:0", ":0"} {
		_, stderr, code := trawl(t, nil, "serve", "--db", db, "--addr", addr)
		if code != exitUsage || !strings.Contains(stderr, "without a token") || !strings.Contains(stderr, "--token-file") || !strings.Contains(stderr, "TRAWL_TOKEN") {
			t.Errorf("serve --addr %s without a token: exit %d: %s", addr, code, stderr)
		}
	}
	short := filepath.Join(t.TempDir(), "token")
	writeFile(t, short, "abc\n")
	if _, stderr, code := trawl(t, nil, "serve", "--db", db, "--token-file", short); code != exitUsage || !strings.Contains(stderr, "at least 16") {
		t.Errorf("a 3-character token: exit %d: %s", code, stderr)
	}
}

// startServe starts `trawl serve` as a process and returns its URL.
func startServe(t *testing.T, env []string, args ...string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(trawlBin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading serve's first line: %v (%q)", err, line)
	}
	m := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("serve printed %q, no URL", line)
	}
	go io.Copy(io.Discard, out)
	return m[1], cmd
}

// TestQueryWhileServing runs trawl query and trawl search in their own
// processes while trawl serve holds the database: they go through the
// server's API.
func TestQueryWhileServing(t *testing.T) {
	data, _ := generate(t, 2000, 2000)
	db := filepath.Join(t.TempDir(), "t.duckdb")
	if _, stderr, code := trawl(t, nil, "ingest", "--db", db, "--progress", "never", data); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, stderr)
	}
	wantQuery, _, _ := trawl(t, nil, "query", "--db", db, "SELECT event_name, count(*) AS n FROM cloudtrail GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5; SELECT 7 AS x")
	wantSearch, _, _ := trawl(t, nil, "search", "--db", db, "--limit", "1500", "eventSource:s3.amazonaws.com")
	wantCount, _, _ := trawl(t, nil, "search", "--db", db, "--count", "action:REJECT")
	if strings.Count(wantSearch, "\n") < 100 {
		t.Fatalf("too few S3 events for the test: %d lines", strings.Count(wantSearch, "\n"))
	}

	token := "t0ken-for-the-serve-test-0123"
	url, cmd := startServe(t, []string{"TRAWL_TOKEN=" + token}, "--db", db)
	if _, err := os.Stat(server.InfoPath(db)); err != nil {
		t.Fatalf("no %s: %v", server.InfoPath(db), err)
	}
	// The token is required, and trawl query finds it in the info file.
	resp, err := http.Get(url + "/api/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("/api/stats without the token: %d, want 401", resp.StatusCode)
	}
	out, stderr, code := trawl(t, nil, "query", "--db", db, "SELECT event_name, count(*) AS n FROM cloudtrail GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5; SELECT 7 AS x")
	if code != 0 || out != wantQuery || !strings.Contains(stderr, "held by the trawl server") {
		t.Errorf("query through the server: exit %d\n%s\nwant\n%s\nstderr %s", code, out, wantQuery, stderr)
	}
	out, stderr, code = trawl(t, nil, "search", "--db", db, "--limit", "1500", "eventSource:s3.amazonaws.com")
	// Rows of the same second may come in another order.
	if code != 0 || sortedLines(out) != sortedLines(wantSearch) {
		t.Errorf("search through the server: exit %d, %d lines, want %d: %s", code, strings.Count(out, "\n"), strings.Count(wantSearch, "\n"), stderr)
	}
	out, _, code = trawl(t, nil, "search", "--db", db, "--count", "action:REJECT")
	if code != 0 || out != wantCount {
		t.Errorf("search --count through the server: exit %d: %q, want %q", code, out, wantCount)
	}
	_, stderr, code = trawl(t, nil, "query", "--db", db, "DELETE FROM cloudtrail_base")
	if code != exitFailure || !strings.Contains(stderr, "read-only") {
		t.Errorf("a DELETE through the server: exit %d: %s", code, stderr)
	}
	_, stderr, code = trawl(t, nil, "search", "--db", db, "eventName:(x")
	if code != exitUsage || !strings.Contains(stderr, "never closed") {
		t.Errorf("a bad query: exit %d: %s", code, stderr)
	}
	// Ctrl-C: the server stops cleanly and removes its info file.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var xe *exec.ExitError
	if err != nil && !errors.As(err, &xe) {
		t.Fatal(err)
	}
	if cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("serve exited %d after SIGINT, want 0", cmd.ProcessState.ExitCode())
	}
	if _, err := os.Stat(server.InfoPath(db)); !os.IsNotExist(err) {
		t.Errorf("%s is still there after the server stopped: %v", server.InfoPath(db), err)
	}
	// And the database is the CLI's again, unchanged.
	if out, _, _ := trawl(t, nil, "query", "--db", db, "SELECT event_name, count(*) AS n FROM cloudtrail GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5; SELECT 7 AS x"); out != wantQuery {
		t.Errorf("after the server: %s", out)
	}
}

func sortedLines(s string) string {
	l := strings.Split(s, "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}
