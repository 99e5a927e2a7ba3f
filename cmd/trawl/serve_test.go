package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

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

// TestRunServe runs `trawl run --serve --once` on a bucket in an
// S3-compatible server: it collects, keeps serving, and trawl query goes
// through it meanwhile.
func TestRunServe(t *testing.T) {
	dir, m := generate(t, 1500, -1)
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer srv.Close()
	client := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired})
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("trail")}); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(filepath.Join(dir, "AWSLogs"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p, "/CloudTrail/") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("trail"), Key: aws.String(filepath.ToSlash(rel)), Body: bytes.NewReader(data)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "run.duckdb")
	cfg := filepath.Join(t.TempDir(), "trawl.yaml")
	writeFile(t, cfg, fmt.Sprintf(`store:
  path: %s
aws:
  region: us-east-1
  endpoint: %s
sources:
  - name: trail
    s3:
      bucket: trail
      kinds: [cloudtrail]
metrics:
  listen: 127.0.0.1:0
serve:
  listen: 127.0.0.1:0
`, db, srv.URL))
	cmd := exec.Command(trawlBin, "run", "--serve", "--once", "--config", cfg)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_CONFIG_FILE="+filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED=true", "TRAWL_TOKEN=")
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	go io.Copy(io.Discard, stdout)
	// Wait for the log line that says the collection is done.
	sc := bufio.NewScanner(stderr)
	var logs []string
	for sc.Scan() {
		logs = append(logs, sc.Text())
		if strings.Contains(sc.Text(), "still serving") {
			break
		}
	}
	go io.Copy(io.Discard, stderr)
	if len(logs) == 0 || !strings.Contains(logs[len(logs)-1], "still serving") {
		t.Fatalf("run --serve --once never said it was done:\n%s", strings.Join(logs, "\n"))
	}
	// The same files ingested from disk into another database.
	cts, _ := filepath.Glob(filepath.Join(dir, "AWSLogs", "*", "*", "CloudTrail"))
	db2 := filepath.Join(t.TempDir(), "files.duckdb")
	if _, errOut, code := trawl(t, nil, append([]string{"ingest", "--db", db2, "--progress", "never"}, cts...)...); code != 0 || len(cts) == 0 {
		t.Fatalf("ingesting %v: exit %d: %s", cts, code, errOut)
	}
	want, _, _ := trawl(t, nil, "query", "--db", db2, "SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM cloudtrail")
	out, errOut, code := trawl(t, nil, "query", "--db", db, "SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM cloudtrail")
	if code != 0 || out != want || !strings.Contains(errOut, "held by the trawl server") || m.CloudTrailEvents < 1000 {
		t.Errorf("query while run --serve holds the database: exit %d: %q, want %q: %s", code, out, want, errOut)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if c := cmd.ProcessState.ExitCode(); c != 0 {
		t.Errorf("run --serve exited %d after SIGTERM", c)
	}
}

// TestDemoServes: trawl demo, its output a pipe (not a terminal), ends by
// serving the UI on the demo database until SIGTERM.
func TestDemoServes(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.duckdb")
	cmd := exec.Command(trawlBin, "demo", "--db", db, "--out", filepath.Join(dir, "data"), "--events", "2000", "--flows", "2000",
		"--progress", "never", "--quiet", "--addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	sc := bufio.NewScanner(out)
	url := ""
	var lines []string
	for url == "" && sc.Scan() {
		lines = append(lines, sc.Text())
		if m := regexp.MustCompile(`trawl UI and API on (http://127\.0\.0\.1:\d+)/`).FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
		}
	}
	go io.Copy(io.Discard, out)
	if url == "" {
		t.Fatalf("demo never said where it serves:\n%s", strings.Join(lines, "\n"))
	}
	if !strings.Contains(strings.Join(lines, "\n"), "What stands out") {
		t.Errorf("no summary before serving:\n%s", strings.Join(lines, "\n"))
	}
	resp, err := http.Get(url + "/api/count?type=cloudtrail")
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Count int64 }
	err = json.NewDecoder(resp.Body).Decode(&c)
	resp.Body.Close()
	if err != nil || c.Count < 1000 {
		t.Errorf("/api/count on the demo database: %v, %d events", err, c.Count)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("demo exited %d after SIGTERM while serving, want 0", code)
	}
}
