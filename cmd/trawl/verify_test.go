package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// verifyJSON is the part of verify's JSON output the tests read.
type verifyJSON struct {
	OK       bool   `json:"ok"`
	Source   string `json:"source"`
	Chains   int    `json:"chains"`
	Digests  int    `json:"digests"`
	LogFiles int    `json:"logFiles"`
	Verified int    `json:"verified"`
	Problems []struct {
		Kind   string `json:"kind"`
		Object string `json:"object"`
		Digest string `json:"digest"`
		Detail string `json:"detail"`
	} `json:"problems"`
	Ingested          []string `json:"ingested"`
	LogFilesPerSecond float64  `json:"logFilesPerSecond"`
}

func parseVerify(t *testing.T, out string) verifyJSON {
	t.Helper()
	var v verifyJSON
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, k := range []string{"ok", "source", "chains", "digests", "logFiles", "verified", "bytes", "rawBytes", "signatures", "newest", "problems", "elapsedNs", "ingested", "logFilesPerSecond"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON output lacks %q: %s", k, out)
		}
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyCommand(t *testing.T) {
	dir, m := generate(t, 3000, -1)
	until := m.Config.Start.Add(m.Config.Duration + time.Hour).Format(time.RFC3339)
	db := filepath.Join(t.TempDir(), "v.duckdb")

	// Nothing ingested yet; --dry-run lists and creates no database.
	out, errOut, code := trawl(t, nil, "verify", "--db", db, "--until", until, "--dry-run", "--format", "json", dir)
	v := parseVerify(t, out)
	if code != exitFailure || v.OK || v.LogFiles == 0 || len(v.Problems) != v.LogFiles || v.Problems[0].Kind != "not-ingested" || v.Chains != 12 {
		t.Fatalf("dry run: exit %d, %+v %s", code, v, errOut)
	}
	if fileExists(db) {
		t.Error("--dry-run created the database")
	}
	// Without --dry-run: ingested, then clean.
	out, errOut, code = trawl(t, nil, "verify", "--db", db, "--until", until, dir)
	if code != exitOK || !strings.Contains(out, "ingested now into") || !strings.Contains(out, "OK:") {
		t.Fatalf("ingest: exit %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = trawl(t, nil, "verify", "--db", db, "--until", until, "--format", "json", dir)
	v = parseVerify(t, out)
	if code != exitOK || !v.OK || len(v.Ingested) != 0 || v.Verified != v.LogFiles || v.LogFilesPerSecond <= 0 {
		t.Fatalf("second run: exit %d, %+v", code, v)
	}
	// What trawl ingest did is what verify did: nothing new.
	cts, _ := filepath.Glob(filepath.Join(dir, "AWSLogs", "*", "*", "CloudTrail"))
	out, _, code = trawl(t, nil, append([]string{"ingest", "--db", db}, cts...)...)
	if code != exitOK || !strings.Contains(out, "no new records") || len(cts) != 4 {
		t.Errorf("ingest after verify: exit %d: %s", code, out)
	}

	// A deleted log file: exit 1, named in the text and the JSON.
	var victim string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if victim == "" && strings.Contains(p, "/CloudTrail/") && !d.IsDir() {
			victim = p
		}
		return nil
	})
	os.Remove(victim)
	out, _, code = trawl(t, nil, "verify", "--db", db, "--until", until, dir)
	if code != exitFailure || !strings.Contains(out, "missing-log-file: 1") || !strings.Contains(out, filepath.Base(victim)) || !strings.Contains(out, "ingested before") {
		t.Errorf("deleted log file: exit %d\n%s", code, out)
	}
	out, _, code = trawl(t, nil, "verify", "--db", db, "--until", until, "-f", "json", dir)
	v = parseVerify(t, out)
	if code != exitFailure || len(v.Problems) != 1 || v.Problems[0].Kind != "missing-log-file" || v.Problems[0].Digest == "" {
		t.Errorf("deleted log file, JSON: exit %d %+v", code, v.Problems)
	}
	// Overdue: the default --until is now, long after the data.
	out, _, code = trawl(t, nil, "verify", "--db", db, "--since", "2h", dir)
	if code != exitFailure || !strings.Contains(out, "overdue-digest: 12") {
		t.Errorf("overdue: exit %d\n%s", code, out)
	}

	// Usage and failures.
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"verify", "--format", "xml", dir}, exitUsage},
		{[]string{"verify", "--since", "yesterday", dir}, exitUsage},
		{[]string{"verify", "--since", "2026-11-03", "--until", "2026-11-02", dir}, exitUsage},
		{[]string{"verify", dir, dir}, exitUsage},
		{[]string{"verify", db}, exitUsage},
		{[]string{"verify", filepath.Join(dir, "nothing-here")}, exitUnverified},
	} {
		if _, errOut, code := trawl(t, nil, append([]string{"--db", db}, c.args...)...); code != c.code || errOut == "" {
			t.Errorf("%v: exit %d, want %d: %s", c.args, code, c.code, errOut)
		}
	}
}

func TestVerifyS3(t *testing.T) {
	dir, m := generate(t, 2000, -1)
	until := m.Config.Start.Add(m.Config.Duration + time.Hour).Format(time.RFC3339)
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer srv.Close()
	client := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired})
	ctx := context.Background()
	const bucket = "trail-bucket"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(filepath.Join(dir, "AWSLogs"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p, "/CloudTrail") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(filepath.ToSlash(rel)), Body: bytes.NewReader(data)})
		if err != nil {
			t.Fatal(err)
		}
		return nil
	})
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	db := filepath.Join(t.TempDir(), "s3.duckdb")
	url := "s3://" + bucket + "/AWSLogs/"

	// --dry-run: every log file listed not-ingested, nothing ingested, no
	// database created.
	out, errOut, code := trawl(t, nil, "verify", "--db", db, "--until", until, "--dry-run", url)
	if code != exitFailure || !strings.Contains(out, "not-ingested: ") || strings.Contains(out, "missing") || strings.Contains(out, "ingested now") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = trawl(t, nil, "verify", "--db", db, "--until", until, "--dry-run", "--format", "json", "s3://"+bucket)
	v := parseVerify(t, out)
	if code != exitFailure || v.LogFiles == 0 || v.Verified != v.LogFiles || len(v.Problems) != v.LogFiles || len(v.Ingested) != 0 || !strings.HasPrefix(v.Source, "s3://") {
		t.Errorf("dry run, JSON: exit %d %+v", code, v)
	}
	if fileExists(db) {
		t.Fatal("--dry-run created the database")
	}

	// trawl ingest reads one account's log files; verify ingests the rest
	// (by the same names and ETags), then the bucket is clean.
	cts, _ := filepath.Glob(filepath.Join(dir, "AWSLogs", "*", "*", "CloudTrail"))
	if len(cts) < 2 {
		t.Fatalf("CloudTrail directories: %v", cts)
	}
	var ctURLs []string
	for _, c := range cts {
		rel, _ := filepath.Rel(dir, c)
		ctURLs = append(ctURLs, "s3://"+bucket+"/"+filepath.ToSlash(rel)+"/")
	}
	if out, errOut, code := trawl(t, nil, "ingest", "--db", db, "--progress", "never", ctURLs[0]); code != exitOK {
		t.Fatalf("partial ingest: exit %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = trawl(t, nil, "verify", "--db", db, "--until", until, "--dry-run", "--format", "json", url)
	before := parseVerify(t, out)
	if code != exitFailure || len(before.Problems) == 0 || len(before.Problems) >= v.LogFiles {
		t.Fatalf("after a partial ingest: exit %d, %d of %d not ingested", code, len(before.Problems), v.LogFiles)
	}
	// The endpoint from --endpoint this time.
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	out, errOut, code = trawl(t, nil, "verify", "--db", db, "--until", until, "--endpoint", srv.URL, "--region", "eu-west-1", url)
	if code != exitOK || !strings.Contains(out, fmt.Sprintf("ingesting %d log files", len(before.Problems))) ||
		!strings.Contains(out, fmt.Sprintf("ingested now into %s: %d log files", db, len(before.Problems))) || !strings.Contains(out, "OK:") {
		t.Fatalf("verify ingest: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("verify after a partial ingest:\n%s", out)
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
	for _, u := range ctURLs {
		out, errOut, code := trawl(t, nil, "ingest", "--db", db, "--progress", "never", u)
		if code != exitOK || !strings.Contains(out, "ingested 0 of ") || !strings.Contains(out, "no new records") {
			t.Errorf("ingest after verify %s: exit %d\n%s\n%s", u, code, out, errOut)
		}
	}
	out, _, code = trawl(t, nil, "verify", "--db", db, "--until", until, "--format", "json", url)
	v = parseVerify(t, out)
	if code != exitOK || !v.OK || len(v.Ingested) != 0 || v.Verified != v.LogFiles {
		t.Errorf("verify after: exit %d %+v", code, v)
	}
	if c := tableCounts(t, db); c["ledger done"] != int64(v.LogFiles) {
		t.Errorf("ledger: %d done, %d log files", c["ledger done"], v.LogFiles)
	}
	if _, errOut, code := trawl(t, nil, "verify", "--db", db, "s3://no-such-bucket/"); code != exitUnverified || !strings.Contains(errOut, "no-such-bucket") {
		t.Errorf("missing bucket: exit %d: %s", code, errOut)
	}
}
