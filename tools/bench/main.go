// Command bench measures trawl's ingest speed on a generated data set (run
// it with `make bench`). For CloudTrail and for VPC flow logs it prints:
//
//   - decoder-only throughput (records/s, MB/s of decompressed text) on one
//     core and on all cores;
//   - end-to-end `trawl ingest` into a fresh DuckDB file: records/s and the
//     process's peak RSS;
//   - DuckDB's own load of the same files (read_json / read_csv into a
//     table) in a fresh process, with its peak RSS, and the ratio.
//
// Then it ingests 2,000 CloudTrail records of 256 KB from one 500 MB file
// (-big) and prints the peak RSS, which must stay under 1 GiB.
//
// The data set is generated once under -dir and reused while its
// configuration is unchanged.
package main

import (
	"bytes"
	"io/fs"
	"net/http/httptest"

	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	_ "github.com/duckdb/duckdb-go/v2" // DuckDB's own load runs in a child process
	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/enrich/geo/geobuild"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-duckdb-load" {
		os.Exit(duckdbLoad(os.Args[2:]))
	}
	dir := flag.String("dir", "bench-data", "where the data set is generated and kept")
	ctEvents := flag.Int("ct", 1_000_000, "CloudTrail events")
	flows := flag.Int("flows", 5_000_000, "VPC flow-log records")
	skipBaseline := flag.Bool("skip-duckdb", false, "skip DuckDB's own load")
	s3 := flag.Bool("s3", true, "also ingest the CloudTrail data set from an S3-compatible server in this process (gofakes3)")
	big := flag.Int("big", 2000, "CloudTrail records of 256 KB in one file, ingested for peak memory (0 skips)")
	lakeq := flag.Bool("lake-query", true, "also time trawl query --lake and trawl lake compact over the CloudTrail data set written as a lake (tools/bench/lakeq.go)")
	chTarget := flag.String("clickhouse", "", `also ingest into ClickHouse: "start" (a server started for the run) or a clickhouse:// address`)
	chAlerts := flag.String("clickhouse-alerts", "", `also measure the alert store on ClickHouse beside DuckDB: "start" or a clickhouse:// address`)
	repeat := flag.Int("repeat", 1, "end-to-end ingests with enrichment off and on, alternately, each reported as the fastest of this many")
	osOnly := flag.Bool("opensearch", false, "only measure the OpenSearch sink (tools/bench/opensearch.go)")
	lakeIngest := flag.Bool("lake", true, "also ingest both data sets into a local Parquet lake, in process (tools/bench/lake.go)")
	flag.Parse()
	ctx := context.Background()
	if *osOnly {
		must(benchOpenSearch(ctx, *dir))
		return
	}

	ctDir := filepath.Join(*dir, "cloudtrail")
	vpcDir := filepath.Join(*dir, "vpcflow")
	ctCfg := gen.DefaultConfig()
	ctCfg.CloudTrailEvents, ctCfg.FlowRecords, ctCfg.Findings = *ctEvents, -1, -1
	ctCfg.Attack, ctCfg.LargeParams = false, true
	vpcCfg := gen.DefaultConfig()
	vpcCfg.CloudTrailEvents, vpcCfg.FlowRecords, vpcCfg.Findings = -1, *flows, -1
	vpcCfg.Attack = false
	must(ensure(ctx, ctDir, ctCfg))
	must(ensure(ctx, vpcDir, vpcCfg))
	if *chTarget != "" {
		clickhouseBench(ctx, *chTarget, ctDir, vpcDir)
	}
	if *chAlerts != "" {
		clickhouseAlertsBench(ctx, *chAlerts)
	}
	// GeoIP databases covering the generator's addresses, so that
	// enrichment costs what it would with GeoLite2 (look-ups, cache hits).
	geoDir := filepath.Join(*dir, "geoip")
	must(os.MkdirAll(geoDir, 0o755))
	_, err := geobuild.Write(geoDir, geobuild.Synthetic())
	must(err)

	bin := filepath.Join(os.TempDir(), fmt.Sprintf("trawl-bench-%d", os.Getpid()))
	build := exec.Command("go", "build", "-o", bin, "./cmd/trawl")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	must(build.Run())
	defer os.Remove(bin)

	fmt.Printf("\ntrawl benchmark — %s, %d CPUs, %s\n", runtime.Version(), runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
	for _, t := range []struct {
		name, dir, glob, kind string
	}{
		{"CloudTrail", ctDir, filepath.Join(ctDir, "AWSLogs", "*", "*", "CloudTrail", "*", "*", "*", "*", "*.json.gz"), "cloudtrail"},
		{"VPC flow logs", vpcDir, filepath.Join(vpcDir, "AWSLogs", "*", "vpcflowlogs", "*", "*", "*", "*", "*.log.gz"), "vpcflow"},
	} {
		fmt.Printf("\n== %s (%s)\n", t.name, t.dir)
		objs, err := file.Objects([]string{t.dir}, nil)
		must(err)
		var size int64
		for _, o := range objs {
			size += o.Size
		}
		fmt.Printf("   %d files, %.1f MB compressed\n", len(objs), float64(size)/1e6)
		for _, workers := range []int{1, runtime.NumCPU()} {
			n, raw, el := decodeOnly(ctx, objs, workers)
			fmt.Printf("   decode only, %d worker(s): %10.0f records/s %8.1f MB/s (%d records, %.0f MB of text, %s)\n",
				workers, float64(n)/el.Seconds(), float64(raw)/1e6/el.Seconds(), n, float64(raw)/1e6, el.Round(time.Millisecond))
		}
		db := filepath.Join(os.TempDir(), fmt.Sprintf("trawl-bench-%d.duckdb", os.Getpid()))
		// Enrichment off (no GeoIP database, no user agent classes) and on
		// (GeoIP City and ASN, user agents), alternately.
		modes := []struct {
			name string
			args []string
		}{
			{"enrichment off", []string{"--no-user-agent"}},
			{"enrichment on ", []string{"--geoip-dir", geoDir}},
		}
		best := make([]usage, len(modes))
		var stored int64
		for range max(*repeat, 1) {
			for i, m := range modes {
				os.Remove(db)
				os.Remove(db + ".wal")
				u, err := runChildUsage(bin, append([]string{"ingest", "--db", db, "--progress", "never", "-q"}, append(m.args, t.dir)...)...)
				if err == nil {
					stored, err = countRows(db, t.kind)
				}
				if err != nil {
					fmt.Printf("   trawl ingest (%s) failed: %v\n", m.name, err)
					continue
				}
				if best[i].wall == 0 || u.wall < best[i].wall {
					best[i].wall, best[i].rss = u.wall, u.rss
				}
				if best[i].cpu == 0 || u.cpu < best[i].cpu {
					best[i].cpu = u.cpu
				}
			}
		}
		os.Remove(db)
		os.Remove(db + ".wal")
		if best[0].wall == 0 || best[1].wall == 0 {
			continue
		}
		for i, m := range modes {
			fmt.Printf("   trawl ingest (end to end, %s): %10.0f records/s %8.1f MB/s  peak RSS %4d MiB  (%d records in %s, CPU %s)\n",
				m.name, float64(stored)/best[i].wall.Seconds(), float64(size)/1e6/best[i].wall.Seconds(), best[i].rss>>20, stored,
				best[i].wall.Round(time.Millisecond), best[i].cpu.Round(time.Millisecond))
		}
		fmt.Printf("   enrichment costs %+.1f%% of end-to-end ingest time, %+.1f%% of CPU time (target: at most +15%%)\n",
			(best[1].wall.Seconds()/best[0].wall.Seconds()-1)*100, (best[1].cpu.Seconds()/best[0].cpu.Seconds()-1)*100)
		rate := float64(stored) / best[0].wall.Seconds()
		rulesOff(bin, db, t.dir, stored, best[0].wall)
		if *skipBaseline {
			continue
		}
		self, err := os.Executable()
		must(err)
		bel, brss, err := runChild(self, "-duckdb-load", t.kind, t.glob, db)
		os.Remove(db)
		os.Remove(db + ".wal")
		if err != nil {
			fmt.Printf("   DuckDB's own load failed: %v\n", err)
			continue
		}
		brate := float64(stored) / bel.Seconds()
		fmt.Printf("   DuckDB's own load:          %10.0f records/s            peak RSS %4d MiB  (%s); trawl is %.2f× its speed\n",
			brate, brss>>20, bel.Round(time.Millisecond), rate/brate)
	}
	if *s3 {
		fromS3(bin, ctDir)
	}
	if *big > 0 {
		bigRecords(bin, *dir, *big)
	}
	if *lakeq {
		lakeQuery(ctx, bin, ctDir)
	}
	if *lakeIngest {
		lakeBench(ctx, ctDir, vpcDir)
	}
}

// rulesOff ingests dir again with --no-rules and prints the cost of the
// streaming rules (on by default), then times `trawl rules backfill
// --dry-run` over the whole stored range.
func rulesOff(bin, db, dir string, stored int64, on time.Duration) {
	os.Remove(db)
	os.Remove(db + ".wal")
	el, _, err := runChild(bin, "ingest", "--db", db, "--progress", "never", "--no-rules", "--no-user-agent", dir) // as the enrichment-off run, but without rules
	if err != nil {
		fmt.Printf("   trawl ingest --no-rules failed: %v\n", err)
		return
	}
	fmt.Printf("   trawl ingest --no-rules:   %10.0f records/s; with the rule pack on ingest takes %+.1f%%\n",
		float64(stored)/el.Seconds(), (on.Seconds()/el.Seconds()-1)*100)
	bel, _, err := runChild(bin, "rules", "backfill", "--db", db, "--since", "2000-01-01", "--dry-run")
	if err != nil {
		fmt.Printf("   trawl rules backfill failed: %v\n", err)
		return
	}
	fmt.Printf("   trawl rules backfill:      %10.0f records/s (every rule over the stored range, --dry-run, %s)\n",
		float64(stored)/bel.Seconds(), bel.Round(time.Millisecond))
}

// fromS3 serves dir from gofakes3 on 127.0.0.1 and ingests it with trawl
// ingest s3://…, then from disk, and prints both: objects/s, events/s and
// MB/s end to end.
func fromS3(bin, dir string) {
	fmt.Printf("\n== CloudTrail from an S3-compatible server (gofakes3 in this process) against local disk\n")
	be := s3mem.New()
	must(be.CreateBucket("bench"))
	var objects int
	var size int64
	must(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		objects++
		size += int64(len(b))
		_, err = be.PutObject("bench", filepath.ToSlash(rel), map[string]string{}, bytes.NewReader(b), int64(len(b)), nil)
		return err
	}))
	srv := httptest.NewServer(gofakes3.New(be, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	defer srv.Close()
	os.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
	os.Setenv("AWS_ACCESS_KEY_ID", "bench")
	os.Setenv("AWS_SECRET_ACCESS_KEY", "bench")
	os.Setenv("AWS_REGION", "us-east-1")
	for _, in := range []struct{ name, arg string }{{"S3", "s3://bench/AWSLogs/"}, {"local disk", dir}} {
		db := filepath.Join(os.TempDir(), fmt.Sprintf("trawl-bench-%d.duckdb", os.Getpid()))
		os.Remove(db)
		el, rss, err := runChild(bin, "ingest", "--db", db, "--progress", "never", in.arg)
		var stored int64
		if err == nil {
			stored, err = countRows(db, "cloudtrail")
		}
		os.Remove(db)
		os.Remove(db + ".wal")
		if err != nil {
			fmt.Printf("   %s failed: %v\n", in.name, err)
			continue
		}
		fmt.Printf("   %-10s %6.0f objects/s %9.0f events/s %6.1f MB/s  peak RSS %4d MiB  (%d objects, %d events in %s)\n",
			in.name, float64(objects)/el.Seconds(), float64(stored)/el.Seconds(), float64(size)/1e6/el.Seconds(), rss>>20, objects, stored, el.Round(time.Millisecond))
	}
}

// bigRecords ingests n CloudTrail records of 256 KB from one file (a 500 MB
// {"Records":[…]} document for 2,000) and prints the speed and peak RSS.
func bigRecords(bin, dir string, n int) {
	in := filepath.Join(dir, fmt.Sprintf("big-%d.json", n))
	if _, err := os.Stat(in); err != nil {
		f, err := os.Create(in + ".tmp")
		must(err)
		must(gen.BigCloudTrail(f, n, 256<<10))
		must(f.Close())
		must(os.Rename(in+".tmp", in))
	}
	fmt.Printf("\n== %d CloudTrail records of 256 KB in one file (%s)\n", n, in)
	db := filepath.Join(os.TempDir(), fmt.Sprintf("trawl-bench-%d.duckdb", os.Getpid()))
	os.Remove(db)
	el, rss, err := runChild(bin, "ingest", "--db", db, "--progress", "never", in)
	var stored int64
	if err == nil {
		stored, err = countRows(db, "cloudtrail")
	}
	os.Remove(db)
	os.Remove(db + ".wal")
	if err != nil {
		fmt.Printf("   trawl ingest failed: %v\n", err)
		return
	}
	fmt.Printf("   trawl ingest (end to end): %10.0f records/s  peak RSS %4d MiB  (%d records in %s)\n",
		float64(stored)/el.Seconds(), rss>>20, stored, el.Round(time.Millisecond))
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// ensure generates cfg under dir unless it is already there.
func ensure(ctx context.Context, dir string, cfg gen.Config) error {
	want, _ := json.Marshal(cfg)
	marker := filepath.Join(dir, ".bench-config.json")
	if have, err := os.ReadFile(marker); err == nil && string(have) == string(want) {
		return nil
	}
	os.RemoveAll(dir)
	fmt.Printf("generating %s …\n", dir)
	start := time.Now()
	m, err := gen.Generate(ctx, dir, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("   %d files, %.1f MB, %d CloudTrail events, %d flow records in %s\n", m.Files, float64(m.Bytes)/1e6, m.CloudTrailEvents, m.FlowRecords, time.Since(start).Round(time.Millisecond))
	return os.WriteFile(marker, want, 0o644)
}

// counter is a decode sink that counts records and their text.
type counter struct {
	n, raw atomic.Int64
}

func (c *counter) emit(b *event.Batch) error {
	c.n.Add(int64(b.Rows()))
	c.raw.Add(int64(b.Text))
	event.PutBatch(b)
	return nil
}

func decodeOnly(ctx context.Context, objs []pipeline.Object, workers int) (int64, int64, time.Duration) {
	var c counter
	jobs := make(chan pipeline.Object)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range jobs {
				r, err := o.Open(ctx)
				must(err)
				must(decode.Decode(ctx, decode.Object{Name: o.Name, Key: o.Key}, r, decode.Options{}, c.emit))
				r.Close()
			}
		}()
	}
	for _, o := range objs {
		jobs <- o
	}
	close(jobs)
	wg.Wait()
	return c.n.Load(), c.raw.Load(), time.Since(start)
}

// runChild runs a command and returns its wall time and peak RSS in bytes.
func runChild(name string, args ...string) (time.Duration, int64, error) {
	u, err := runChildUsage(name, args...)
	return u.wall, u.rss, err
}

// usage is what a child process used: wall time, CPU time (user and
// system) and peak RSS.
type usage struct {
	wall, cpu time.Duration
	rss       int64
}

func runChildUsage(name string, args ...string) (usage, error) {
	cmd := exec.Command(name, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	u := usage{wall: time.Since(start)}
	if err != nil {
		return u, fmt.Errorf("%v\n%s", err, out.String())
	}
	if ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage); ru != nil {
		u.rss = ru.Maxrss << 10
		u.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return u, nil
}

func countRows(db, kind string) (int64, error) {
	conn, err := sql.Open("duckdb", db+"?access_mode=read_only")
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	table := map[string]string{"cloudtrail": "cloudtrail_base", "vpcflow": "vpcflow"}[kind]
	var n int64
	err = conn.QueryRow("SELECT count(*) FROM " + table).Scan(&n)
	return n, err
}

// duckdbLoad runs in a child process: DuckDB loads the files itself.
func duckdbLoad(args []string) int {
	kind, glob, db := args[0], args[1], args[2]
	conn, err := sql.Open("duckdb", db)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer conn.Close()
	var q string
	switch kind {
	case "cloudtrail":
		// Each file is one JSON document; its records become rows with the
		// columns DuckDB infers (nested objects as STRUCTs or JSON).
		q = fmt.Sprintf(`CREATE TABLE ct AS SELECT unnest(Records, max_depth := 2)
			FROM read_json('%s', format = 'auto', union_by_name = true, maximum_object_size = 1073741824, sample_size = 20480)`, glob)
	case "vpcflow":
		q = fmt.Sprintf(`CREATE TABLE flows AS SELECT * FROM read_csv('%s', delim = ' ', header = true, union_by_name = true, nullstr = '-')`, glob)
	}
	for _, s := range []string{"SET preserve_insertion_order = false", q} {
		if _, err := conn.Exec(s); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}
