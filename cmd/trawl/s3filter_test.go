package main

import (
	"bytes"
	"context"
	"io/fs"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/store/duckdb"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// s3Bucket serves the files under data from gofakes3 as the bucket "trail"
// (keys relative to data) and returns the server's URL, the keys, sorted,
// and the backend.
func s3Bucket(t *testing.T, data string) (string, []string, *s3mem.Backend) {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket("trail"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	var keys []string
	err := filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(data, p)
		key := filepath.ToSlash(rel)
		keys = append(keys, key)
		_, err = be.PutObject("trail", key, nil, bytes.NewReader(b), int64(len(b)), nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return srv.URL, keys, be
}

// s3Cmd is trawl with args, pointed at the S3 endpoint with static keys and
// nothing from the environment's AWS configuration.
func s3Cmd(endpoint string, args ...string) *exec.Cmd {
	cmd := exec.Command(trawlBin, args...)
	cmd.Env = append(os.Environ(),
		"AWS_ENDPOINT_URL_S3="+endpoint, "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_REGION=", "AWS_DEFAULT_REGION=", "AWS_PROFILE=", "AWS_ENDPOINT_URL=",
		"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true")
	return cmd
}

func runS3(t *testing.T, endpoint string, args ...string) (string, string, int) {
	t.Helper()
	cmd := s3Cmd(endpoint, args...)
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

// ledgerObjects is the set of objects the ledger holds as done.
func ledgerObjects(t *testing.T, db string) []string {
	t.Helper()
	st, err := duckdb.Open(context.Background(), db, duckdb.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var objs []string
	for _, r := range duckdbtest.Rows(t, st, `SELECT object FROM ingest_ledger WHERE status = 'done' ORDER BY object`) {
		objs = append(objs, r[0])
	}
	return objs
}

// TestIngestS3Filters runs `trawl ingest s3://…` with --since/--until,
// --accounts, --regions and --kinds against gofakes3 filled by the
// generator (three days): each run stores exactly the objects an
// independent regular expression picks from the bucket's keys, and the
// same rows as ingesting those files from disk.
func TestIngestS3Filters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents, cfg.FlowRecords, cfg.Findings = 3000, 3000, 30
	m, err := gen.Generate(context.Background(), dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	endpoint, keys, _ := s3Bucket(t, dir)
	// An account that holds CloudTrail files, from the keys.
	acctRE := regexp.MustCompile(`^AWSLogs/(?:o-[^/]+/)?(\d{12})/CloudTrail/`)
	var acct string
	for _, k := range keys {
		if mm := acctRE.FindStringSubmatch(k); mm != nil {
			acct = mm[1]
			break
		}
	}
	if acct == "" {
		t.Fatal("no CloudTrail keys generated")
	}
	day := m.Config.Start.UTC()
	day = day.Add(24 * time.Hour).Truncate(24 * time.Hour) // the second, whole day
	dayPath := day.Format("2006/01/02")
	cases := []struct {
		name string
		args []string
		want *regexp.Regexp
	}{
		{"one day of CloudTrail, no margin",
			[]string{"--since", day.Format(time.DateOnly), "--until", day.Add(24 * time.Hour).Format(time.DateOnly), "--margin", "0", "--kinds", "cloudtrail"},
			regexp.MustCompile(`^AWSLogs/(?:o-[^/]+/)?\d{12}/CloudTrail/[^/]+/` + dayPath + `/`)},
		{"one day, RFC 3339, every kind",
			[]string{"--since", day.Format(time.RFC3339), "--until", day.Add(24 * time.Hour).Format(time.RFC3339), "--margin", "0"},
			regexp.MustCompile(`^AWSLogs/(?:o-[^/]+/)?\d{12}/(?:CloudTrail|CloudTrail-Digest|CloudTrail-Insight|vpcflowlogs|GuardDuty)/[^/]+/` + dayPath + `/`)},
		{"one account, one region",
			[]string{"--accounts", acct, "--regions", "eu-west-1"},
			regexp.MustCompile(`^AWSLogs/(?:o-[^/]+/)?` + acct + `/[^/]+/eu-west-1/\d{4}/\d\d/\d\d/`)},
		{"one account, two regions, CloudTrail",
			[]string{"--accounts", acct, "--regions", "eu-west-1,us-east-1", "--kinds", "cloudtrail"},
			regexp.MustCompile(`^AWSLogs/(?:o-[^/]+/)?` + acct + `/CloudTrail/(?:eu-west-1|us-east-1)/`)},
	}
	tmp := t.TempDir()
	for i, c := range cases {
		var want, files []string
		for _, k := range keys {
			if c.want.MatchString(k) {
				want = append(want, "s3://trail/"+k)
				files = append(files, filepath.Join(dir, filepath.FromSlash(k)))
			}
		}
		if len(want) == 0 || len(want) == len(keys) {
			t.Fatalf("%s: the oracle picks %d of %d keys", c.name, len(want), len(keys))
		}
		db := filepath.Join(tmp, "s3-"+strconv.Itoa(i)+".duckdb")
		args := append([]string{"ingest", "--db", db, "--progress", "never", "s3://trail/AWSLogs/"}, c.args...)
		out, stderr, code := runS3(t, endpoint, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s%s", c.name, code, out, stderr)
		}
		got := ledgerObjects(t, db)
		if !slices.Equal(got, want) {
			t.Errorf("%s: stored %d objects, the oracle picks %d", c.name, len(got), len(want))
			for _, g := range got {
				if !slices.Contains(want, g) {
					t.Errorf("  stored, not picked: %s", g)
				}
			}
			for _, w := range want {
				if !slices.Contains(got, w) {
					t.Errorf("  picked, not stored: %s", w)
				}
			}
		}
		disk := filepath.Join(tmp, "disk-"+strconv.Itoa(i)+".duckdb")
		if _, stderr, code := trawl(t, nil, append([]string{"ingest", "--db", disk, "--progress", "never"}, files...)...); code != 0 {
			t.Fatalf("%s: disk: exit %d: %s", c.name, code, stderr)
		}
		wantN, gotN := tableCounts(t, disk), tableCounts(t, db)
		for k, w := range wantN {
			if gotN[k] != w {
				t.Errorf("%s: %s: %d from S3, %d from the same files on disk", c.name, k, gotN[k], w)
			}
		}
		t.Logf("%s: %d of %d objects, %d CloudTrail events, %d flow records", c.name, len(got), len(keys), gotN["cloudtrail"], gotN["vpcflow"])
	}
}

// TestIngestS3FilterUsage: bad filter values, and filters without an
// s3:// argument, are usage errors (exit 2) naming the flag.
func TestIngestS3FilterUsage(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.duckdb")
	local := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--accounts", "12345", "s3://b/AWSLogs/"}, "--accounts"},
		{[]string{"--accounts", "111122223333,11112222333x", "s3://b/AWSLogs/"}, "--accounts"},
		{[]string{"--since", "yesterday", "s3://b/AWSLogs/"}, "--since"},
		{[]string{"--since", "2026-13-01", "s3://b/AWSLogs/"}, "--since"},
		{[]string{"--until", "2026-11-01T25:00:00Z", "s3://b/AWSLogs/"}, "--until"},
		{[]string{"--since", "2026-11-02", "--until", "2026-11-01", "s3://b/AWSLogs/"}, "--until"},
		{[]string{"--since", "2026-11-01", "--until", "2026-11-01", "s3://b/AWSLogs/"}, "--until"},
		{[]string{"--kinds", "cloudtrail,flowlogs", "s3://b/AWSLogs/"}, "--kinds"},
		{[]string{"--regions", "Europe", "s3://b/AWSLogs/"}, "--regions"},
		{[]string{"--margin", "-1h", "s3://b/AWSLogs/"}, "--margin"},
		{[]string{"--since", "7d", local}, "only to s3://"},
		{[]string{"--accounts", "111122223333", "s3://b/AWSLogs/file.json.gz"}, "folder prefix"},
	} {
		_, stderr, code := trawl(t, nil, append([]string{"ingest", "--db", db, "--progress", "never"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, want 2 naming %s: %s", c.args, code, c.want, stderr)
		}
	}
}

// TestS3CrashResume kills `trawl ingest s3://…` with SIGKILL twice in the
// middle of the bucket; after a final run the database equals one from an
// uninterrupted run of the same URL: same counts, same distinct keys, no
// duplicates.
func TestS3CrashResume(t *testing.T) {
	data, m := generate(t, 20000, 40000)
	endpoint, keys, be := s3Bucket(t, data)
	// Keys outside the AWS layouts are read too (listed plainly), and a
	// folder marker is left out: a copy of a CloudTrail file (its events
	// are de-duplicated) and an empty "AWSLogs/copies/".
	for _, k := range keys {
		if strings.Contains(k, "/CloudTrail/") {
			b, err := os.ReadFile(filepath.Join(data, filepath.FromSlash(k)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := be.PutObject("trail", "AWSLogs/copies/"+filepath.Base(k), nil, bytes.NewReader(b), int64(len(b)), nil); err != nil {
				t.Fatal(err)
			}
			if _, err := be.PutObject("trail", "AWSLogs/copies/", nil, bytes.NewReader(nil), 0, nil); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, "AWSLogs/copies/"+filepath.Base(k))
			break
		}
	}
	tmp := t.TempDir()
	clean := filepath.Join(tmp, "clean.duckdb")
	if out, stderr, code := runS3(t, endpoint, "ingest", "--db", clean, "--progress", "never", "s3://trail/AWSLogs/"); code != 0 {
		t.Fatalf("clean run: exit %d: %s%s", code, out, stderr)
	}
	want := tableCounts(t, clean)
	if want["cloudtrail"] != int64(m.CloudTrailEvents) || want["vpcflow"] != int64(m.FlowRecords) || want["ledger done"] != int64(len(keys)) {
		t.Fatalf("clean run stored %v; the generator wrote %d events, %d flows in %d objects", want, m.CloudTrailEvents, m.FlowRecords, len(keys))
	}

	crashed := filepath.Join(tmp, "crashed.duckdb")
	for round, at := range []float64{0.25, 0.6} {
		// Small transactions, so that several commits happen before the kill.
		cmd := s3Cmd(endpoint, "ingest", "--db", crashed, "--progress", "always", "--tx-rows", "2000", "--tx-age", "100ms", "s3://trail/AWSLogs/")
		// The listing's total grows as it goes: compare with the bucket's size.
		killAtProgress(t, cmd, round, func(done, _ int) bool { return float64(done) >= at*float64(len(keys)) })
		partial := tableCounts(t, crashed)
		t.Logf("round %d: killed with %d of %d objects done, %d events, %d flow records", round, partial["ledger done"], len(keys), partial["cloudtrail"], partial["vpcflow"])
		if partial["ledger done"] >= want["ledger done"] {
			t.Fatalf("round %d: the killed run should leave a partial database: %v", round, partial)
		}
	}
	out, stderr, code := runS3(t, endpoint, "ingest", "--db", crashed, "--progress", "never", "s3://trail/AWSLogs/")
	if code != 0 {
		t.Fatalf("resumed run: exit %d: %s\n%s", code, out, stderr)
	}
	got := tableCounts(t, crashed)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d after crashes and a resume, %d in an uninterrupted run", k, got[k], v)
		}
	}
	if !strings.Contains(out, "unchanged, skipped") {
		t.Errorf("the resumed run should report skipped objects:\n%s", out)
	}
	// No duplicates: CloudTrail events are unique by event id, and the flow
	// records that are alike (the generator writes some identical lines)
	// are as many as in the uninterrupted run.
	dups := func(db string) (int64, int64) {
		st, err := duckdb.Open(context.Background(), db, duckdb.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		return duckdbtest.Scalar(t, st, `SELECT count(*) - count(DISTINCT event_id) FROM cloudtrail_base`),
			duckdbtest.Scalar(t, st, `SELECT count(*) - count(DISTINCT (source, raw)) FROM vpcflow`)
	}
	ct, flows := dups(crashed)
	_, cleanFlows := dups(clean)
	if ct != 0 || flows != cleanFlows {
		t.Errorf("duplicates: %d CloudTrail events (want 0), %d alike flow records (%d in the uninterrupted run)", ct, flows, cleanFlows)
	}
}
