package lake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trawl-project/trawl/internal/event"
)

// writeCommits writes commits transactions through the lake writer, each
// of perCommit CloudTrail events of one partition and one GuardDuty
// finding version: one small file per table and commit.
func writeCommits(t *testing.T, l *Lake, commits, perCommit int) {
	t.Helper()
	ctx := context.Background()
	n := 0
	for c := range commits {
		tx, err := l.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b := &event.Batch{Object: fmt.Sprintf("s3://b/obj-%d.json.gz", c), End: int64(perCommit)}
		for i := range perCommit {
			b.CloudTrail = append(b.CloudTrail, event.CloudTrail{
				EventTime: day1.Add(time.Duration(n) * time.Second), EventID: fmt.Sprintf("ev-%05d", n),
				EventName: "GetObject", EventSource: "s3.amazonaws.com", AWSRegion: "eu-west-1",
				RecipientAccountID: "012345678901", SourceIP: "203.0.113.9", Unit: int64(i),
				Raw: fmt.Sprintf(`{"eventID":"ev-%05d","n":%d}`, n, n)})
			n++
		}
		b.Findings = []event.Finding{{ID: "f-1", UpdatedAt: day1.Add(time.Duration(c) * time.Minute), AccountID: "012345678901",
			Region: "eu-west-1", Severity: float64(c), Title: "t", Raw: fmt.Sprintf(`{"id":"f-1","v":%d}`, c)}}
		if err := tx.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// dataFiles lists the lake's visible data files (what a glob reader sees).
func dataFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, tb := range Tables() {
		filepath.WalkDir(filepath.Join(root, tb.Name), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
				rel, _ := filepath.Rel(root, p)
				out = append(out, filepath.ToSlash(rel))
			}
			return nil
		})
	}
	slices.Sort(out)
	return out
}

// snapshot reads every row of every table through a Reader, in a stable
// order, as text.
func snapshot(t *testing.T, target string, opt QueryOptions) map[string][][]string {
	t.Helper()
	r, err := OpenReader(context.Background(), target, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return map[string][][]string{
		CloudTrail: collect(t, r, "SELECT * FROM cloudtrail ORDER BY ALL"),
		GuardDuty:  collect(t, r, "SELECT * FROM guardduty ORDER BY ALL"),
		"dups":     collect(t, r, "SELECT (SELECT count(*) - count(DISTINCT event_id) FROM cloudtrail), (SELECT count(*) - count(DISTINCT updated_at) FROM guardduty)"),
	}
}

func TestCompactLocal(t *testing.T) {
	root := t.TempDir()
	ctx := context.Background()
	l, err := Open(ctx, root, Options{Writer: "w1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	writeCommits(t, l, 12, 25)
	before := dataFiles(t, root)
	if len(before) != 24 {
		t.Fatalf("%d files before, want 24: %v", len(before), before)
	}
	rows := snapshot(t, root, QueryOptions{})
	if len(rows[CloudTrail]) != 300 || len(rows[GuardDuty]) != 12 {
		t.Fatalf("rows before: %d, %d", len(rows[CloudTrail]), len(rows[GuardDuty]))
	}
	schemas := map[string][]string{}
	for _, tb := range []string{CloudTrail, GuardDuty} {
		schemas[tb] = parquetSchemaOf(t, filepath.Join(root, before[slices.IndexFunc(before, func(s string) bool { return strings.HasPrefix(s, tb+"/") })]))
	}
	plan, err := l.Compact(ctx, CompactOptions{TargetSize: 1 << 30, DryRun: true})
	if err != nil || plan.FilesIn != 24 || plan.FilesOut != 2 || !slices.Equal(dataFiles(t, root), before) {
		t.Fatalf("dry run: %+v, %v; files %v", plan, err, dataFiles(t, root))
	}
	st, err := l.Compact(ctx, CompactOptions{TargetSize: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	after := dataFiles(t, root)
	if st.FilesIn != 24 || st.FilesOut != 2 || st.Partitions != 2 || st.Rows != 312 || len(after) != 2 {
		t.Errorf("stats %+v, files after %v", st, after)
	}
	if got := snapshot(t, root, QueryOptions{}); !equalSnap(got, rows) {
		t.Errorf("rows changed by compaction")
	}
	// The merged files have the writer's Parquet schema.
	for _, tb := range []string{CloudTrail, GuardDuty} {
		neu := parquetSchemaOf(t, filepath.Join(root, after[slices.IndexFunc(after, func(s string) bool { return strings.HasPrefix(s, tb+"/") })]))
		if !slices.Equal(schemas[tb], neu) || len(neu) < 10 {
			t.Errorf("%s: Parquet schema\n was %v\n now %v", tb, schemas[tb], neu)
		}
	}
	// Nothing left to do; the writer keeps writing beside merged files.
	st, err = l.Compact(ctx, CompactOptions{TargetSize: 1 << 30})
	if err != nil || st.FilesIn != 0 {
		t.Errorf("second run: %+v %v", st, err)
	}
	writeCommits(t, l, 1, 1)
	if n := len(dataFiles(t, root)); n != 4 {
		t.Errorf("%d files after one more commit", n)
	}
	// A small target makes several files per partition.
	root2 := t.TempDir()
	l2, err := Open(ctx, root2, Options{Writer: "w2"})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	writeCommits(t, l2, 12, 25)
	size := fileSize(t, filepath.Join(root2, dataFiles(t, root2)[0]))
	st, err = l2.Compact(ctx, CompactOptions{TargetSize: 4 * size, MinSize: 1 << 30, Tables: []string{CloudTrail}})
	if err != nil || st.FilesIn != 12 || st.FilesOut < 3 || st.FilesOut > 4 {
		t.Errorf("target 4 files: %+v %v", st, err)
	}
}

func fileSize(t *testing.T, p string) int64 {
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// parquetSchemaOf describes a file's Parquet columns: name, physical
// type, repetition, logical type.
func parquetSchemaOf(t *testing.T, file string) []string {
	t.Helper()
	r := testDB(t)
	rows, err := r.Query("SELECT name || ' ' || coalesce(type, '') || ' ' || coalesce(repetition_type, '') || ' ' || coalesce(logical_type, '') FROM parquet_schema(" + quoteLit(file) + ") WHERE coalesce(num_children, 0) = 0")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

func equalSnap(a, b map[string][][]string) bool {
	for k := range b {
		if !slices.EqualFunc(a[k], b[k], slices.Equal) {
			return false
		}
	}
	return len(a) == len(b)
}

// errCrash is a simulated crash (also used by lake_test.go and s3_test.go).
var errCrash = errors.New("simulated crash")

// TestCompactCrash stops a merge at each stage as a crash would: the lake
// then shows the old files or (after the commit point) a subset of them
// and never the new file beside an old one, never a row twice; recovery
// completes the merge with the rows unchanged.
func TestCompactCrash(t *testing.T) {
	for _, stage := range []string{"staged", "manifest", "deleting", "publishing"} {
		t.Run(stage, func(t *testing.T) {
			root := t.TempDir()
			ctx := context.Background()
			l, err := Open(ctx, root, Options{Writer: "w1"})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			writeCommits(t, l, 6, 10)
			old := dataFiles(t, root)
			rows := snapshot(t, root, QueryOptions{})
			_, err = l.Compact(ctx, CompactOptions{TargetSize: 1 << 30, Tables: []string{CloudTrail},
				crash: func(s string) error {
					if s == stage {
						return errCrash
					}
					return nil
				}})
			if !errors.Is(err, errCrash) {
				t.Fatalf("Compact: %v", err)
			}
			vis := dataFiles(t, root)
			var oldSeen, newSeen int
			for _, f := range vis {
				if slices.Contains(old, f) {
					oldSeen++
				} else {
					newSeen++
				}
			}
			ctOld := 0
			for _, f := range old {
				if strings.HasPrefix(f, CloudTrail+"/") {
					ctOld++
				}
			}
			switch stage {
			case "staged", "manifest":
				if !slices.Equal(vis, old) {
					t.Errorf("before any delete, visible %v, want the old files", vis)
				}
			case "deleting":
				if oldSeen != len(old)-1 || newSeen != 0 {
					t.Errorf("one old file deleted: %d old, %d new visible", oldSeen, newSeen)
				}
			case "publishing":
				if oldSeen != len(old)-ctOld || newSeen != 0 {
					t.Errorf("old deleted, new not yet published: %d old, %d new visible", oldSeen, newSeen)
				}
			}
			mid := snapshot(t, root, QueryOptions{})
			if !slices.Equal(mid["dups"][0], []string{"0", "0"}) {
				t.Errorf("a row visible twice: %v", mid["dups"])
			}
			// A new process (another writer name) recovers: opening the
			// lake completes a committed merge.
			committed := stage != "staged"
			if committed && len(countCompactManifests(t, root)) != 1 {
				t.Fatalf("no merge manifest left by the crash")
			}
			l2, err := Open(ctx, root, Options{Writer: "w-other"})
			if err != nil {
				t.Fatal(err)
			}
			defer l2.Close()
			if left := countCompactManifests(t, root); len(left) != 0 {
				t.Errorf("merge manifests left after Open: %v", left)
			}
			// Nothing is left for RecoverCompactions (trawl lake compact).
			if n, err := l2.RecoverCompactions(ctx); err != nil || n != 0 {
				t.Errorf("RecoverCompactions after Open: %d merges, %v", n, err)
			}
			if got := snapshot(t, root, QueryOptions{}); !equalSnap(got, rows) {
				t.Errorf("rows after recovery differ")
			}
			vis = dataFiles(t, root)
			if committed && len(vis) != len(old)-ctOld+1 || !committed && !slices.Equal(vis, old) {
				t.Errorf("after recovery: %v", vis)
			}
			// The crashed run's staged output (same writer: w1) is
			// removed when w1 compacts again, and the merge then done.
			st, err := l.Compact(ctx, CompactOptions{TargetSize: 1 << 30, Tables: []string{CloudTrail}})
			if err != nil {
				t.Fatal(err)
			}
			if left := countFiles(t, filepath.Join(root, compactDir)); left != 0 {
				t.Errorf("%d files left under %s", left, compactDir)
			}
			if committed && st.FilesIn != 0 || !committed && st.FilesIn != ctOld {
				t.Errorf("compacting again: %+v", st)
			}
			if got := snapshot(t, root, QueryOptions{}); !equalSnap(got, rows) {
				t.Errorf("rows after the second compaction differ")
			}
		})
	}
}

func TestCompactS3(t *testing.T) {
	c, cfg := fakeS3(t, "lake")
	ctx := context.Background()
	l, err := Open(ctx, "s3://lake/pre", Options{AWS: cfg, Writer: "w1", TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	writeCommits(t, l, 5, 20)
	q := QueryOptions{AWS: cfg, CacheDir: t.TempDir()}
	rows := snapshot(t, "s3://lake/pre", q)
	st, err := l.Compact(ctx, CompactOptions{TargetSize: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if st.FilesIn != 10 || st.FilesOut != 2 {
		t.Errorf("stats %+v", st)
	}
	out, err := c.ListObjectsV2(ctx, &s3ListInput{Bucket: strPtr("lake"), Prefix: strPtr("pre/")})
	if err != nil {
		t.Fatal(err)
	}
	var parquet []string
	for _, o := range out.Contents {
		if k := *o.Key; strings.HasSuffix(k, ".parquet") {
			parquet = append(parquet, k)
		}
	}
	if len(parquet) != 2 {
		t.Errorf("objects after: %v", parquet)
	}
	if got := snapshot(t, "s3://lake/pre", q); !equalSnap(got, rows) || len(got[CloudTrail]) != 100 {
		t.Errorf("rows changed by compaction on S3")
	}
}

type s3ListInput = s3.ListObjectsV2Input

func strPtr(s string) *string { return &s }

// TestCompactReusedName: a later process with the same writer name (a
// recycled pid) numbers its merged files after those already in the lake
// and so never overwrites one.
func TestCompactReusedName(t *testing.T) {
	root := t.TempDir()
	ctx := context.Background()
	l, err := Open(ctx, root, Options{Writer: "w1"})
	if err != nil {
		t.Fatal(err)
	}
	writeCommits(t, l, 4, 25)
	if _, err := l.Compact(ctx, CompactOptions{TargetSize: 1 << 30, Tables: []string{CloudTrail}}); err != nil {
		t.Fatal(err)
	}
	merged := dataFiles(t, root)[0]
	size := fileSize(t, filepath.Join(root, merged))
	writeCommits(t, l, 3, 5) // small files beside the merged one
	l.Close()
	rows := snapshot(t, root, QueryOptions{})
	l2, err := Open(ctx, root, Options{Writer: "w1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	st, err := l2.Compact(ctx, CompactOptions{TargetSize: 1 << 30, MinSize: size, Tables: []string{CloudTrail}})
	if err != nil || st.FilesIn != 3 || st.FilesOut != 1 {
		t.Fatalf("%+v %v", st, err)
	}
	var ct []string
	for _, f := range dataFiles(t, root) {
		if strings.HasPrefix(f, CloudTrail+"/") {
			ct = append(ct, f)
		}
	}
	if len(ct) != 2 || !slices.Contains(ct, merged) {
		t.Errorf("cloudtrail files %v, want the first merged file %s and a new one", ct, merged)
	}
	if got := snapshot(t, root, QueryOptions{}); !equalSnap(got, rows) || len(got[CloudTrail]) != 115 {
		t.Errorf("rows changed: %d cloudtrail rows", len(got[CloudTrail]))
	}
}

// countCompactManifests lists the merge manifests under root.
func countCompactManifests(t *testing.T, root string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(compactManifestDir), "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
