package lake

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"net/http/httptest"

	"github.com/trawl-project/trawl/internal/store"
	duckstore "github.com/trawl-project/trawl/internal/store/duckdb"
)

var day1 = time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)

// fixture writes a small lake: cloudtrail in two partitions (one of an
// account with a leading zero, one with no region), vpcflow in two hours,
// guardduty empty unless findings is true. It returns the root and the
// files.
func fixture(t *testing.T, findings ...bool) (string, []string) {
	withFindings := len(findings) > 0 && findings[0]
	db := testDB(t)
	root := t.TempDir()
	files := []string{
		writeFile(t, db, root, Key{CloudTrail, "012345678901", "eu-west-1", day1}, "w1", 1, 0, 100),
		writeFile(t, db, root, Key{CloudTrail, "012345678901", "eu-west-1", day1}, "w2", 1, 100, 50),
		writeFile(t, db, root, Key{CloudTrail, "222222222222", "", day1.AddDate(0, 0, 1)}, "w1", 2, 150, 30),
		writeFile(t, db, root, Key{VPCFlow, "1", "us-east-1", day1}, "w1", 3, 0, 20),
		writeFile(t, db, root, Key{VPCFlow, "1", "us-east-1", day1.Add(time.Hour)}, "w1", 4, 20, 20),
	}
	if withFindings {
		// Two versions of findings 0-9, a day apart, and one of 10-14.
		files = append(files,
			writeFile(t, db, root, Key{GuardDuty, "1", "us-east-1", day1}, "w1", 5, 0, 15),
			writeFile(t, db, root, Key{GuardDuty, "1", "us-east-1", day1.AddDate(0, 0, 1)}, "w1", 6, 0, 10))
	}
	// Not data files of the layout: never read.
	os.MkdirAll(filepath.Join(root, "_trawl", "staging"), 0o755)
	os.WriteFile(filepath.Join(root, "_trawl", "staging", "x.parquet"), []byte("junk"), 0o644)
	return root, files
}

func collect(t *testing.T, q store.Querier, sql string) [][]string {
	t.Helper()
	rows, err := store.Collect(context.Background(), q, store.Request{SQL: sql}, func(v any) string {
		switch x := v.(type) {
		case nil:
			return "NULL"
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano)
		}
		return strings.TrimSpace(strings.ReplaceAll(strings.Trim(strings.TrimSpace(toString(v)), "\n"), "\n", " "))
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return rows
}

func toString(v any) string { return strings.TrimSpace(fmtAny(v)) }

func TestReaderLocal(t *testing.T) {
	root, _ := fixture(t)
	ctx := context.Background()
	r, err := OpenReader(ctx, root, QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Files[CloudTrail] != 3 || r.Files[VPCFlow] != 2 || r.Files[GuardDuty] != 0 {
		t.Errorf("files %v", r.Files)
	}
	got := collect(t, r, `SELECT (SELECT count(*) FROM cloudtrail), (SELECT count(DISTINCT event_id) FROM cloudtrail), (SELECT count(*) FROM vpcflow), (SELECT count(*) FROM guardduty)`)
	if want := []string{"180", "180", "40", "0"}; !slices.Equal(got[0], want) {
		t.Errorf("counts %v, want %v", got[0], want)
	}
	// Partition keys are text (the leading zero stays); the default
	// partition reads as NULL.
	got = collect(t, r, `SELECT account, region, dt, typeof(account), count(*) FROM cloudtrail GROUP BY ALL ORDER BY ALL`)
	want := [][]string{{"012345678901", "eu-west-1", "2024-03-05", "VARCHAR", "150"}, {"222222222222", "NULL", "2024-03-06", "VARCHAR", "30"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("partitions %v, want %v", got, want)
	}
	got = collect(t, r, `SELECT hour, region, count(*), min(start_time) FROM vpcflow GROUP BY ALL ORDER BY ALL`)
	want = [][]string{{"10", "us-east-1", "20", "2024-03-05T10:00:00Z"}, {"11", "us-east-1", "20", "2024-03-05T11:00:00.00002Z"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("vpcflow %v, want %v", got, want)
	}
	// Each view has the columns of the DuckDB store's table or view (names,
	// types, order; without its internal columns), then the partition keys
	// it does not hold already.
	duck, err := duckstore.Open(ctx, filepath.Join(t.TempDir(), "t.duckdb"), duckstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	for _, tb := range Tables() {
		duckName := map[string]string{CloudTrail: "cloudtrail", VPCFlow: "vpcflow", GuardDuty: "guardduty_finding_history"}[tb.Name]
		colsOf := func(q store.Querier, table string) []string {
			var out []string
			for _, row := range collect(t, q, `SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE table_name = '`+table+`' AND column_name NOT IN ('spill_id', 'text_block') ORDER BY ordinal_position`) {
				out = append(out, row[0])
			}
			return out
		}
		wantCols := colsOf(duck, duckName)
		for _, p := range tb.Partitions {
			if !slices.ContainsFunc(baseColumns(tb.Name), func(c Column) bool { return c.Name == p }) {
				wantCols = append(wantCols, p+" VARCHAR")
			}
		}
		if got := colsOf(r, tb.Name); !slices.Equal(got, wantCols) || len(got) < 20 {
			t.Errorf("%s columns:\n got %v\nwant %v", tb.Name, got, wantCols)
		}
	}
	// Computed columns read raw.
	got = collect(t, r, `SELECT count(*) FILTER (WHERE request_parameters IS NULL), count(*) FILTER (WHERE event_version IS NULL), max(request_parameters->>'$.bucketName'), max(event_version) FROM cloudtrail`)
	if want := []string{"90", "0", "b", "1.09"}; !slices.Equal(got[0], want) {
		t.Errorf("computed columns of raw without those members: %v", got[0])
	}
	// Several statements, like trawl query.
	n := 0
	err = r.QueryEach(ctx, store.Request{SQL: "SELECT 1; SELECT count(*) FROM vpcflow WHERE hour = '11'"}, func(rows store.Rows) error {
		n++
		for rows.Next() {
			if n == 2 && rows.Values()[0] != int64(20) {
				t.Errorf("hour 11: %v", rows.Values()[0])
			}
		}
		return rows.Err()
	})
	if err != nil || n != 2 {
		t.Errorf("QueryEach: %d results, %v", n, err)
	}
}

func TestReaderFindings(t *testing.T) {
	root, _ := fixture(t, true)
	r, err := OpenReader(context.Background(), root, QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := collect(t, r, `SELECT (SELECT count(*) FROM guardduty), (SELECT count(*) FROM guardduty_finding),
		(SELECT count(*) FROM guardduty_finding WHERE updated_at >= '2024-03-06'), (SELECT count(DISTINCT id) FROM guardduty_finding)`)
	if want := []string{"25", "15", "10", "15"}; !slices.Equal(got[0], want) {
		t.Errorf("guardduty versions, current, current of day 2, ids: %v, want %v", got[0], want)
	}
}

func TestReaderTimeRange(t *testing.T) {
	root, _ := fixture(t)
	r, err := OpenReader(context.Background(), root, QueryOptions{Since: day1.Add(time.Hour), Until: day1.Truncate(24*time.Hour).AddDate(0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// cloudtrail: day 1's two files (rows at 10:00 + i µs are before
	// Since); day 2 begins at Until, so it is out. vpcflow: hour 11 only.
	if r.Files[CloudTrail] != 2 || r.Files[VPCFlow] != 1 {
		t.Errorf("files %v", r.Files)
	}
	got := collect(t, r, `SELECT (SELECT count(*) FROM cloudtrail), (SELECT count(*) FROM vpcflow)`)
	if want := []string{"0", "20"}; !slices.Equal(got[0], want) {
		t.Errorf("counts %v, want %v", got[0], want)
	}
}

func TestReaderEmpty(t *testing.T) {
	r, err := OpenReader(context.Background(), t.TempDir(), QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := collect(t, r, `SELECT (SELECT count(*) FROM cloudtrail), (SELECT count(*) FROM vpcflow), (SELECT count(*) FROM guardduty), (SELECT typeof(event_time) FROM cloudtrail UNION ALL SELECT 'none' LIMIT 1)`)
	if want := []string{"0", "0", "0", "none"}; !slices.Equal(got[0], want) {
		t.Errorf("%v, want %v", got[0], want)
	}
	if _, err := OpenReader(context.Background(), filepath.Join(t.TempDir(), "missing"), QueryOptions{}); err == nil {
		t.Error("opened a missing directory")
	}
}

// fakeS3 starts an S3-compatible server (gofakes3) with bucket and
// returns a client and the SDK configuration for it.
func fakeS3(t *testing.T, bucket string) (*s3.Client, *aws.Config) {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return c, &cfg
}

func upload(t *testing.T, c *s3.Client, bucket, key, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(b)}); err != nil {
		t.Fatal(err)
	}
}

func TestReaderS3(t *testing.T) {
	root, files := fixture(t)
	c, cfg := fakeS3(t, "lake")
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		upload(t, c, "lake", "pre/fix/"+filepath.ToSlash(rel), f)
	}
	upload(t, c, "lake", "pre/fix/_trawl/manifests/1-w.json", files[0])
	cache := t.TempDir()
	ctx := context.Background()
	open := func(opt QueryOptions) *Reader {
		opt.AWS, opt.CacheDir = cfg, cache
		r, err := OpenReader(ctx, "s3://lake/pre/fix/", opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	r := open(QueryOptions{})
	got := collect(t, r, `SELECT (SELECT count(*) FROM cloudtrail), (SELECT count(DISTINCT event_id) FROM cloudtrail), (SELECT count(*) FROM vpcflow), (SELECT count(*) FROM guardduty), (SELECT min(account) FROM cloudtrail)`)
	if want := []string{"180", "180", "40", "0", "012345678901"}; !slices.Equal(got[0], want) {
		t.Errorf("counts %v, want %v", got[0], want)
	}
	// Only the range's partitions are downloaded.
	cache2 := t.TempDir()
	r2, err := OpenReader(ctx, "s3://lake/pre/fix", QueryOptions{AWS: cfg, CacheDir: cache2, Since: day1.AddDate(0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if n := countFiles(t, cache2); n != 1 || r2.Files[CloudTrail] != 1 || r2.Files[VPCFlow] != 0 {
		t.Errorf("with --since day 2: %d files cached, %v", n, r2.Files)
	}
	// A replaced object (new ETag) is downloaded again; the copy of the
	// old one is not read.
	upload(t, c, "lake", "pre/fix/"+filepath.ToSlash(must(filepath.Rel(root, files[3]))), files[4])
	r3 := open(QueryOptions{})
	got = collect(t, r3, `SELECT count(*), count(DISTINCT hour), min(start_time) FROM vpcflow`)
	if want := []string{"40", "2", "2024-03-05T11:00:00.00002Z"}; !slices.Equal(got[0], want) {
		t.Errorf("after a replace: %v, want %v", got[0], want)
	}
	if n := countFiles(t, cache); n != 6 {
		t.Errorf("cache holds %d files, want 6 (5 + the new copy)", n)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func countFiles(t *testing.T, dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}
