package lake

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/store"
)

// benchLake writes n CloudTrail events (raw of about 1 KB) through the lake
// writer in commits of perCommit events: one small file per commit.
func benchLake(b *testing.B, root string, n, perCommit int) int64 {
	b.Helper()
	ctx := context.Background()
	l, err := Open(ctx, root, Options{Writer: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	names := []string{"GetObject", "PutObject", "AssumeRole", "ListBuckets", "DescribeInstances", "ConsoleLogin"}
	pad := fmt.Sprintf("%0900d", 0)
	for c := 0; c*perCommit < n; c++ {
		tx, err := l.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		batch := &event.Batch{Object: fmt.Sprintf("obj-%d", c), End: int64(perCommit)}
		for i := 0; i < perCommit && c*perCommit+i < n; i++ {
			k := c*perCommit + i
			batch.CloudTrail = append(batch.CloudTrail, event.CloudTrail{
				EventTime: day1.Add(time.Duration(k) * time.Millisecond), EventID: fmt.Sprintf("ev-%09d", k),
				EventName: names[k%len(names)], EventSource: "s3.amazonaws.com", AWSRegion: "eu-west-1",
				RecipientAccountID: "012345678901", UserName: fmt.Sprintf("user-%d", k%50), SourceIP: fmt.Sprintf("203.0.113.%d", k%250),
				Unit: int64(i), Raw: fmt.Sprintf(`{"eventID":"ev-%09d","pad":"%s"}`, k, pad)})
		}
		if err := tx.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
	var size int64
	filepath.WalkDir(filepath.Join(root, CloudTrail), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := d.Info()
			size += info.Size()
		}
		return nil
	})
	return size
}

// BenchmarkCompact merges 100 files of 1,000 events into one: events/s and
// MB/s of input Parquet.
func BenchmarkCompact(b *testing.B) {
	const n = 100_000
	var size int64
	var el time.Duration
	for b.Loop() {
		b.StopTimer()
		root := b.TempDir()
		size = benchLake(b, root, n, 1000)
		l, err := Open(context.Background(), root, Options{Writer: "c"})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		st, err := l.Compact(context.Background(), CompactOptions{TargetSize: 1 << 30})
		el += time.Since(t0)
		if err != nil || st.Rows != n || st.FilesOut != 1 {
			b.Fatalf("%+v %v", st, err)
		}
		l.Close()
	}
	b.ReportMetric(float64(n*b.N)/el.Seconds(), "events/s")
	b.ReportMetric(float64(size*int64(b.N))/1e6/el.Seconds(), "MB/s")
}

// BenchmarkReaderQuery opens a lake of 100 small files (or one compacted
// file) and runs a GROUP BY over its 100,000 events: events/s including
// the open.
func BenchmarkReaderQuery(b *testing.B) {
	for _, compacted := range []bool{false, true} {
		b.Run(fmt.Sprintf("compacted=%v", compacted), func(b *testing.B) {
			const n = 100_000
			root := b.TempDir()
			benchLake(b, root, n, 1000)
			if compacted {
				l, err := Open(context.Background(), root, Options{Writer: "c"})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := l.Compact(context.Background(), CompactOptions{TargetSize: 1 << 30}); err != nil {
					b.Fatal(err)
				}
				l.Close()
			}
			b.ResetTimer()
			for b.Loop() {
				r, err := OpenReader(context.Background(), root, QueryOptions{})
				if err != nil {
					b.Fatal(err)
				}
				rows, err := r.Query(context.Background(), store.Request{SQL: "SELECT event_name, count(*), count(DISTINCT user_name) FROM cloudtrail GROUP BY 1"})
				if err != nil {
					b.Fatal(err)
				}
				k := 0
				for rows.Next() {
					k++
				}
				rows.Close()
				r.Close()
				if k != 6 {
					b.Fatalf("%d groups", k)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
