package decode

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/jsonscan"
)

// benchObjects returns n of the .json.gz CloudTrail objects of the
// generated data set of internal/lake's ingest benchmark (the same
// directory, shared between runs): 200,000 events with 5% large
// requestParameters, no attack story, about 18 events per object.
func benchObjects(b *testing.B, n int) [][]byte {
	b.Helper()
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents, cfg.FlowRecords, cfg.Findings = 200_000, -1, -1
	cfg.Attack, cfg.LargeParams = false, true
	want, _ := json.Marshal(cfg)
	dir := filepath.Join(os.TempDir(), "trawl-lake-bench-ct")
	marker := filepath.Join(dir, ".bench-config.json")
	if have, err := os.ReadFile(marker); err != nil || string(have) != string(want) {
		os.RemoveAll(dir)
		if _, err := gen.Generate(context.Background(), dir, cfg); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(marker, want, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(p, "/CloudTrail/") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	sort.Strings(paths)
	if len(paths) > n { // every k-th, across accounts, regions and hours
		picked := make([]string, n)
		for i := range picked {
			picked[i] = paths[i*len(paths)/n]
		}
		paths = picked
	}
	var objs [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		objs = append(objs, data)
	}
	return objs
}

// regroup returns the records of objs in new .json.gz objects of n records
// each: large objects, to tell per-object costs from per-event ones.
func regroup(b *testing.B, objs [][]byte, n int) [][]byte {
	b.Helper()
	var recs []string
	sc := jsonscan.NewScanner(nil, 64<<20)
	for _, o := range objs {
		zr, err := gzip.NewReader(bytes.NewReader(o))
		if err != nil {
			b.Fatal(err)
		}
		doc, err := io.ReadAll(zr)
		if err != nil {
			b.Fatal(err)
		}
		sc.Reset(bytes.NewReader(doc))
		if err := sc.Consume('{'); err != nil {
			b.Fatal(err)
		}
		if _, err := sc.ReadKey(); err != nil {
			b.Fatal(err)
		}
		if err := sc.Consume('['); err != nil {
			b.Fatal(err)
		}
		for {
			v, err := sc.ReadValue()
			if err != nil {
				b.Fatal(err)
			}
			recs = append(recs, string(v.Bytes))
			if c, _ := sc.Peek(); c == ']' {
				break
			}
			sc.SkipByte()
		}
	}
	var out [][]byte
	for len(recs) > 0 {
		k := min(n, len(recs))
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		io.WriteString(zw, `{"Records":[`+strings.Join(recs[:k], ",")+"]}")
		zw.Close()
		out = append(out, buf.Bytes())
		recs = recs[k:]
	}
	return out
}

// BenchmarkDecodeObjects decodes generated CloudTrail .json.gz objects
// with one decoder, as a pipeline worker does (gunzip, scan, build
// records; no validation, no store): small objects as delivered (about 18
// events each; 2,000 of them) and the same events in objects of 2,000. It reports the
// time per event, and events per op, by which B/op and
// allocs/op divide into bytes and allocations per event.
func BenchmarkDecodeObjects(b *testing.B) {
	objs := benchObjects(b, 2000)
	for _, bc := range []struct {
		name string
		objs func() [][]byte
	}{
		{"small", func() [][]byte { return objs }},
		{"large", func() [][]byte { return regroup(b, objs, 2000) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			objs := bc.objs()
			dec := New(Options{})
			var events int64
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for _, o := range objs {
					err := dec.Decode(context.Background(), Object{Name: "bench.json.gz"}, bytes.NewReader(o), func(bt *event.Batch) error {
						events += int64(len(bt.CloudTrail))
						event.PutBatch(bt)
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
			b.ReportMetric(float64(events)/float64(b.N), "events/op")
			b.ReportMetric(float64(events)/float64(b.N)/float64(len(objs)), "events/object")
		})
	}
}
