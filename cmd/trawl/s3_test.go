package main

import (
	"bytes"
	"io/fs"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// TestIngestS3 runs the binary against gofakes3 with AWS_ENDPOINT_URL_S3
// and static keys, mixing an s3:// URL with a local path: the database
// equals ingesting the same files from disk, and a second run skips every
// object.
func TestIngestS3(t *testing.T) {
	data, _ := generate(t, 2000, 2000)
	be := s3mem.New()
	if err := be.CreateBucket("trail"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	defer srv.Close()
	// GuardDuty stays local: the run mixes both kinds of input.
	var local string
	n := 0
	err := filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if d != nil && d.Name() == "GuardDuty" {
				local = p
				return fs.SkipDir
			}
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(data, p)
		_, err = be.PutObject("trail", filepath.ToSlash(rel), nil, bytes.NewReader(b), int64(len(b)), nil)
		n++
		return err
	})
	if err != nil || local == "" {
		t.Fatal(err, local)
	}
	tmp := t.TempDir()
	disk := filepath.Join(tmp, "disk.duckdb")
	if _, stderr, code := trawl(t, nil, "ingest", "--db", disk, "--progress", "never", data); code != 0 {
		t.Fatalf("disk: exit %d: %s", code, stderr)
	}
	db := filepath.Join(tmp, "s3.duckdb")
	run := func() (string, string, int) {
		cmd := exec.Command(trawlBin, "ingest", "--db", db, "--progress", "plain", "s3://trail/AWSLogs/", local)
		cmd.Env = append(os.Environ(),
			"AWS_ENDPOINT_URL_S3="+srv.URL, "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret",
			"AWS_REGION=", "AWS_DEFAULT_REGION=", "AWS_PROFILE=", "AWS_ENDPOINT_URL=",
			"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if xe, ok := err.(*exec.ExitError); ok {
			code = xe.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	out, stderr, code := run()
	if code != 0 {
		t.Fatalf("s3: exit %d: %s%s", code, out, stderr)
	}
	want, got := tableCounts(t, disk), tableCounts(t, db)
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %d from S3, %d from disk", k, got[k], w)
		}
	}
	out, stderr, code = run()
	if code != 0 || !strings.Contains(out, "unchanged, skipped") || !strings.Contains(out, "ingested 0 of ") {
		t.Errorf("second run: exit %d: %s%s", code, out, stderr)
	}
	if tableCounts(t, db)["ledger done"] != want["ledger done"] {
		t.Errorf("second run changed the ledger")
	}
	t.Logf("%d objects in S3; second run: %s", n, strings.TrimSpace(out))
}

// TestIngestS3Errors: a bad URL is a usage error; a denied or missing
// bucket is reported and the exit status says so.
func TestIngestS3Errors(t *testing.T) {
	if _, stderr, code := trawl(t, nil, "ingest", "--db", filepath.Join(t.TempDir(), "x.duckdb"), "s3:///x"); code != 2 || !strings.Contains(stderr, "no bucket") {
		t.Errorf("s3:///x: exit %d: %s", code, stderr)
	}
	cmd := exec.Command(trawlBin, "ingest", "--db", filepath.Join(t.TempDir(), "x.duckdb"), "s3://b/p")
	cmd.Env = append(os.Environ(), "AWS_REGION=", "AWS_DEFAULT_REGION=", "AWS_ENDPOINT_URL_S3=", "AWS_ENDPOINT_URL=",
		"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_PROFILE=")
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "--region") {
		t.Errorf("no region: exit %d: %s", cmd.ProcessState.ExitCode(), out)
	}
}
