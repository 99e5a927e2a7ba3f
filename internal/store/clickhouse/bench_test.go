package clickhouse_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// benchData generates CloudTrail events and flow records and packs them
// into files of 5000 records (the generator writes one small file per
// account, region and 5 minutes, which measures the per-object cost of
// the pipeline rather than the store).
func benchData(b *testing.B) (ctFiles, flowFiles []pipeline.Object, ctBytes, flowBytes int64) {
	dir := filepath.Join(b.TempDir(), "gen")
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents, cfg.FlowRecords, cfg.Findings, cfg.Attack = 40000, 100000, -1, false
	if _, err := gen.Generate(context.Background(), dir, cfg); err != nil {
		b.Fatal(err)
	}
	objs, err := file.Objects([]string{dir}, nil)
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "packed")
	var recs []json.RawMessage
	var lines []string
	header := ""
	for _, o := range objs {
		name := filepath.ToSlash(o.Name)
		switch {
		case strings.Contains(name, "/CloudTrail/"):
			var doc struct{ Records []json.RawMessage }
			if err := json.Unmarshal(readGz(b, o.Name), &doc); err != nil {
				b.Fatal(err)
			}
			recs = append(recs, doc.Records...)
		case strings.Contains(name, "/vpcflowlogs/"):
			text := strings.TrimSpace(string(readGz(b, o.Name)))
			h, rest, _ := strings.Cut(text, "\n")
			if header == "" {
				header = h
			}
			if h == header && rest != "" {
				lines = append(lines, strings.Split(rest, "\n")...)
			}
		}
	}
	const per = 5000
	for i := 0; i < len(recs); i += per {
		doc, _ := json.Marshal(struct{ Records []json.RawMessage }{recs[i:min(i+per, len(recs))]})
		writeGz(b, filepath.Join(out, "ct", fmt.Sprintf("%03d.json.gz", i/per)), doc)
	}
	for i := 0; i < len(lines); i += per {
		writeGz(b, filepath.Join(out, "flows", fmt.Sprintf("%03d.log.gz", i/per)), []byte(header+"\n"+strings.Join(lines[i:min(i+per, len(lines))], "\n")+"\n"))
	}
	for _, sub := range []string{"ct", "flows"} {
		objs, err := file.Objects([]string{filepath.Join(out, sub)}, nil)
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		for _, o := range objs {
			n += o.Size
		}
		if sub == "ct" {
			ctFiles, ctBytes = objs, n
		} else {
			flowFiles, flowBytes = objs, n
		}
	}
	return
}

func readGz(b *testing.B, path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			b.Fatal(err)
		}
		r = zr
	}
	data, err := io.ReadAll(r)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func writeGz(b *testing.B, path string, data []byte) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write(data) //nolint:errcheck // checked at Close
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkIngest ingests .json.gz CloudTrail files and .log.gz flow logs
// into a fresh ClickHouse database per iteration through the real
// pipeline, for several insert batch sizes (and into DuckDB for
// comparison), and reports events/s, compressed input MB/s and the bytes
// on disk per event (system.parts) beside the gzip input's.
func BenchmarkIngest(b *testing.B) {
	ctFiles, flowFiles, ctBytes, flowBytes := benchData(b)
	for _, set := range []struct {
		name  string
		objs  []pipeline.Object
		bytes int64
		table string
	}{{"cloudtrail", ctFiles, ctBytes, "cloudtrail_data"}, {"vpcflow", flowFiles, flowBytes, "vpcflow_data"}} {
		report := func(b *testing.B, events, disk int64) {
			el := b.Elapsed().Seconds()
			per := float64(events) / float64(b.N)
			b.ReportMetric(float64(events)/el, "events/s")
			b.ReportMetric(float64(set.bytes)*float64(b.N)/1e6/el, "MB/s")
			if disk > 0 {
				b.ReportMetric(float64(disk)/per, "disk-B/event")
			}
			b.ReportMetric(float64(set.bytes)/per, "gzip-B/event")
		}
		for _, rows := range []int{5000, 20000, 100000} {
			b.Run(fmt.Sprintf("%s/clickhouse/batch=%d", set.name, rows), func(b *testing.B) {
				var events, disk int64
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					st, err := clickhouse.Open(context.Background(), openDSN(b), clickhouse.Options{BatchRows: rows})
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					res, err := pipeline.Run(context.Background(), clickhouse.PipelineStore(st), pipeline.Objects(set.objs...), pipeline.Config{Workers: runtime.NumCPU()})
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					events += sum(res.Records)
					disk = count(b, st, "SELECT toInt64(sum(bytes_on_disk)) FROM system.parts WHERE database = currentDatabase() AND active AND table = '"+set.table+"'")
					st.Close()
					b.StartTimer()
				}
				report(b, events, disk)
			})
		}
		b.Run(set.name+"/duckdb", func(b *testing.B) {
			var events int64
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				st, _ := duckdbtest.Open(b)
				b.StartTimer()
				res, err := pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Objects(set.objs...), pipeline.Config{Workers: runtime.NumCPU()})
				if err != nil {
					b.Fatal(err)
				}
				events += sum(res.Records)
			}
			report(b, events, 0)
		})
	}
}
