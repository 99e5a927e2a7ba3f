package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/lake"
)

// TestLakeCommands writes a lake of small files with the lake writer, then
// runs trawl query --lake, trawl lake compact and trawl lake ddl.
func TestLakeCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake")
	ctx := context.Background()
	l, err := lake.Open(ctx, dir, lake.Options{Writer: "test"})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for c := range 5 {
		tx, err := l.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b := &event.Batch{Object: fmt.Sprintf("obj-%d", c), End: 10}
		for i := range 10 {
			n := c*10 + i
			b.CloudTrail = append(b.CloudTrail, event.CloudTrail{EventTime: day.Add(time.Duration(n) * time.Hour), EventID: fmt.Sprint("e", n),
				EventName: "ListBuckets", AWSRegion: "us-east-1", RecipientAccountID: "000000000001", Unit: int64(i), Raw: "{}"})
		}
		if err := tx.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	// The same lake on an S3-compatible server, for the s3:// runs below.
	be := s3mem.New()
	if err := be.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	defer srv.Close()
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		_, err = be.PutObject("lake", "pre/"+filepath.ToSlash(rel), nil, bytes.NewReader(b), int64(len(b)), nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	count := func(args ...string) string {
		t.Helper()
		out, errb, code := trawl(t, nil, append([]string{"query", "--lake", dir}, args...)...)
		if code != 0 {
			t.Fatalf("query %v: exit %d: %s", args, code, errb)
		}
		return strings.TrimSpace(out)
	}
	const q = "SELECT count(*) AS n, count(DISTINCT event_id) AS d, min(account) AS a FROM cloudtrail; SELECT count(*) AS f FROM guardduty"
	want := "n,d,a\n50,50,000000000001\n\nf\n0"
	if got := count(q); got != want {
		t.Errorf("query --lake: %q, want %q", got, want)
	}
	// --since/--until: 2026-11-03T00:00 up to 12:00 → hours 24..35.
	if got := count("--since", "2026-11-03", "--until", "2026-11-03T12:00:00Z", "SELECT count(*) FROM cloudtrail"); got != "count_star()\n12" {
		t.Errorf("query --lake --since --until: %q", got)
	}
	files := func() int {
		n := 0
		filepath.WalkDir(filepath.Join(dir, "cloudtrail"), func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".parquet") {
				n++
			}
			return nil
		})
		return n
	}
	before := files()
	out, errb, code := trawl(t, nil, "lake", "compact", "--lake", dir, "--min-age", "0s", "--dry-run")
	if code != 0 || !strings.Contains(out, "would merge") || files() != before {
		t.Errorf("compact --dry-run: exit %d, %q %s, %d files", code, out, errb, files())
	}
	out, errb, code = trawl(t, nil, "lake", "compact", "--lake", dir, "--min-age", "0s")
	if code != 0 || !strings.Contains(out, "merged") || files() >= before {
		t.Errorf("compact: exit %d, %q %s; %d files before, %d after", code, out, errb, before, files())
	}
	if got := count(q); got != want {
		t.Errorf("query --lake after compact: %q, want %q", got, want)
	}
	// s3://: query (downloads to --cache-dir), compact, query again.
	s3 := func(args ...string) (string, string, int) {
		cmd := exec.Command(trawlBin, append(args, "--endpoint", srv.URL)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret",
			"AWS_REGION=", "AWS_DEFAULT_REGION=", "AWS_PROFILE=", "AWS_ENDPOINT_URL=", "AWS_ENDPOINT_URL_S3=",
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
		return strings.TrimSpace(out.String()), errb.String(), code
	}
	cache := t.TempDir()
	for _, step := range []string{"before", "compact", "after"} {
		if step == "compact" {
			out, errb, code := s3("lake", "compact", "--lake", "s3://lake/pre", "--min-age", "0s")
			if code != 0 || !strings.HasPrefix(out, "merged 6 files (") {
				t.Errorf("s3 compact: exit %d: %q %s", code, out, errb)
			}
			continue
		}
		if got, errb, code := s3("query", "--lake", "s3://lake/pre", "--cache-dir", cache, q); code != 0 || got != want {
			t.Errorf("s3 query %s compaction: exit %d: %q, want %q; %s", step, code, got, want, errb)
		}
	}
	out, _, code = trawl(t, nil, "lake", "ddl", "--location", "s3://bucket/lake")
	if code != 0 || strings.Count(out, "CREATE EXTERNAL TABLE") != 3 || !strings.Contains(out, "LOCATION 's3://bucket/lake/vpcflow/'") {
		t.Errorf("lake ddl: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"lake", "ddl", "--location", "/tmp/x"},
		{"lake", "compact"},
		{"lake", "compact", "--lake", dir, "--table", "nope"},
		{"query", "--since", "1d", "SELECT 1"},
	} {
		if _, errb, code := trawl(t, nil, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, errb)
		}
	}
}
