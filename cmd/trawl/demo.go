package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/enrich"
	"github.com/trawl-project/trawl/internal/enrich/geo/geobuild"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/report"
	"github.com/trawl-project/trawl/internal/server"
	"github.com/trawl-project/trawl/internal/source/file"
)

type demoOptions struct {
	db       string
	out      string
	seed     uint64
	events   int
	flows    int
	progress string
	quiet    bool
	noServe  bool
	addr     string
}

// demoMarker records which configuration generated a demo directory, so a
// second run reuses the files instead of writing them again.
const demoMarker = ".trawl-demo.json"

func newDemoCmd(e *env) *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Generate a realistic multi-account data set, ingest it and show what stands out",
		Long: `Demo writes a synthetic AWS Organizations data set in AWS's own S3 layouts under
--out (CloudTrail from several accounts and regions with digest files, VPC flow
logs with a custom format and header lines, GuardDuty exports with finding
updates), ingests it into --db and prints a summary: what was stored, which
accounts and time range, the busiest API calls, and what stands out.

The data holds normal background activity and an attack: a leaked access key
used to create an IAM user with AdministratorAccess, a console login without
MFA from an unusual address, CloudTrail logging stopped, a port scan in the
flow logs, and the GuardDuty findings that go with it.

The same --seed always produces the same files. Running demo again reuses
them, and the ingest skips what is already in the database.

Then it serves the web UI on the demo database (http://127.0.0.1:8080, --addr
to change) until Ctrl-C, also when its output is not a terminal; --no-serve
exits after the summary instead.`,
		Example: `  trawl demo
  trawl demo --events 200000 --flows 1000000 --out /tmp/demo --db /tmp/demo.duckdb
  trawl demo --no-serve
  trawl query --db trawl.duckdb "SELECT * FROM cloudtrail WHERE event_name = 'StopLogging'"`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.db, _ = cmd.Flags().GetString("db")
			return runDemo(cmd.Context(), e, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.out, "out", "trawl-demo", "directory for the generated AWSLogs/ tree")
	f.Uint64Var(&o.seed, "seed", 1, "random seed: the same seed gives the same data")
	f.IntVar(&o.events, "events", 0, "approximate number of CloudTrail events (default 20000)")
	f.IntVar(&o.flows, "flows", 0, "approximate number of flow-log records (default 50000)")
	f.StringVar(&o.progress, "progress", "auto", "progress on stderr: auto, always, plain or never")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only the summary")
	f.BoolVar(&o.noServe, "no-serve", false, "exit after the summary instead of serving the web UI")
	f.StringVar(&o.addr, "addr", server.DefaultAddr, "address the web UI is served on (loopback)")
	return cmd
}

func runDemo(ctx context.Context, e *env, o demoOptions) error {
	cfg := gen.DefaultConfig()
	cfg.Seed = o.seed
	if o.events > 0 {
		cfg.CloudTrailEvents = o.events
	}
	if o.flows > 0 {
		cfg.FlowRecords = o.flows
	}
	if err := prepareDemoDir(ctx, e, o, cfg); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	objs, err := file.Objects([]string{o.out}, nil)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if !o.noServe {
		// Before the work: an address we may not serve on fails now.
		if err := server.CheckBind(o.addr, ""); err != nil {
			return usageError("--addr: %v", err)
		}
	}
	st, err := app.Open(ctx, app.Options{DB: o.db, Mode: app.Ingest})
	if err != nil {
		return openFailure(err)
	}
	defer func() {
		if st != nil {
			st.Close()
		}
	}()
	if !o.quiet {
		fmt.Fprintf(e.stderr, "ingesting %s into %s\n", o.out, o.db)
	}
	iopt := ingestOptions{db: o.db, progress: o.progress, quiet: o.quiet}
	closeEnrich, err := demoEnrichment(e, o, &iopt)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer closeEnrich()
	if iopt.rules, err = packRules(e); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	rep, err := ingestObjects(ctx, e, st, pipeline.Objects(objs...), iopt, decode.Options{})
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: exitInterrupted, err: errors.New("interrupted; run trawl demo again to resume")}
		}
		return &exitError{code: exitFailure, err: err}
	}
	if !o.quiet {
		printIngestSummary(e.stderr, o.db, rep)
		fmt.Fprintln(e.stderr)
	}
	if err := report.Summary(ctx, st.Querier(), e.stdout); err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("summarising: %w", err)}
	}
	fmt.Fprintf(e.stdout, "\nExplore it (after go build -o trawl ./cmd/trawl; or go run ./cmd/trawl instead of ./trawl):\n  ./trawl query --db %s \"SELECT user_name, event_name, source_ip FROM cloudtrail WHERE event_name = 'StopLogging'\"\n", o.db)
	fmt.Fprintf(e.stdout, "  ./trawl schema cloudtrail                       # the tables' columns (docs/schema.md, docs/query.md)\n")
	fmt.Fprintf(e.stdout, "  ./trawl alerts list --db %s --severity high      # then: ./trawl alerts show ID\n", o.db)
	if o.noServe {
		return nil
	}
	// Serve the UI: the store reopened for queries (all cores, the query
	// memory limit) instead of the ingest's one thread.
	if err := st.Close(); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	st = nil
	sst, err := app.Open(ctx, app.Options{DB: o.db, Mode: app.Serve, MemoryLimit: app.QueryMemoryLimit()})
	if err != nil {
		return openFailure(err)
	}
	defer sst.Close()
	fmt.Fprintln(e.stdout)
	return serveStore(ctx, e, sst, o.db, serveSettings{addr: o.addr, rules: config.Rules{Enabled: true}})
}

// prepareDemoDir generates the data set unless the directory already holds
// the one this configuration makes.
func prepareDemoDir(ctx context.Context, e *env, o demoOptions, cfg gen.Config) error {
	want, _ := json.Marshal(cfg)
	marker := filepath.Join(o.out, demoMarker)
	if have, err := os.ReadFile(marker); err == nil && string(have) == string(want) {
		if !o.quiet {
			fmt.Fprintf(e.stderr, "reusing the demo data in %s (seed %d)\n", o.out, cfg.Seed)
		}
		return nil
	}
	if entries, err := os.ReadDir(o.out); err == nil && len(entries) > 0 {
		if _, err := os.Stat(marker); err != nil {
			return fmt.Errorf("%s exists and was not written by trawl demo; choose another --out", o.out)
		}
		// Written by an earlier demo with other settings: replace it.
		if err := os.RemoveAll(o.out); err != nil {
			return fmt.Errorf("removing the old demo data in %s: %w", o.out, err)
		}
	}
	if !o.quiet {
		fmt.Fprintf(e.stderr, "generating demo data in %s (seed %d, ~%d CloudTrail events, ~%d flow records)…\n", o.out, cfg.Seed, cfg.CloudTrailEvents, cfg.FlowRecords)
	}
	start := time.Now()
	m, err := gen.Generate(ctx, o.out, cfg)
	if err != nil {
		return fmt.Errorf("generating demo data: %w", err)
	}
	if !o.quiet {
		fmt.Fprintf(e.stderr, "  wrote %d files (%s) in %s\n", m.Files, output.Bytes(m.Bytes), time.Since(start).Round(10*time.Millisecond))
	}
	return os.WriteFile(marker, want, 0o644)
}

// demoEnrichment turns enrichment on for the demo: user agent classes, and
// GeoIP data from synthetic databases (geobuild.Synthetic, made-up places
// for the generated addresses) written to a temporary directory.
func demoEnrichment(e *env, o demoOptions, iopt *ingestOptions) (func() error, error) {
	dir, err := os.MkdirTemp("", "trawl-demo-geoip-")
	if err != nil {
		return nil, fmt.Errorf("demo GeoIP databases: %w", err)
	}
	if _, err := geobuild.Write(dir, geobuild.Synthetic()); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("demo GeoIP databases: %w", err)
	}
	procs, closeFn, err := app.OpenEnrichment(enrich.Settings{GeoIPDir: dir, UserAgent: true}, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	iopt.procs = procs
	if !o.quiet {
		fmt.Fprintln(e.stderr, "enrichment: user agent classes, and GeoIP data from synthetic databases (made-up places for the generated addresses)")
	}
	return func() error {
		err := closeFn()
		os.RemoveAll(dir)
		return err
	}, nil
}
