package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

type demoOptions struct {
	db       string
	out      string
	seed     uint64
	events   int
	flows    int
	progress string
	quiet    bool
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
them, and the ingest skips what is already in the database.`,
		Example: `  trawl demo
  trawl demo --events 200000 --flows 1000000 --out /tmp/demo --db /tmp/demo.duckdb
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
	st, err := duckdb.Open(ctx, o.db, duckdb.Options{Threads: ingestThreads, MemoryLimit: ingestMemoryLimit})
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer st.Close()
	if !o.quiet {
		fmt.Fprintf(e.stderr, "ingesting %s into %s\n", o.out, o.db)
	}
	iopt := ingestOptions{db: o.db, progress: o.progress, quiet: o.quiet}
	rep, err := ingestObjects(ctx, e, st, objs, iopt, decode.Options{})
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
	if err := printDemoSummary(ctx, e.stdout, st.DB()); err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("summarising: %w", err)}
	}
	fmt.Fprintf(e.stdout, "\nExplore it (go build -o trawl ./cmd/trawl, or go run ./cmd/trawl):\n  trawl query --db %s \"SELECT user_name, event_name, source_ip FROM cloudtrail WHERE event_name = 'StopLogging'\"\n", o.db)
	return nil
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

// printDemoSummary prints what the database holds and what stands out.
func printDemoSummary(ctx context.Context, w io.Writer, db *sql.DB) error {
	one := func(q string, args ...any) (string, error) {
		var s sql.NullString
		err := db.QueryRowContext(ctx, q, args...).Scan(&s)
		return s.String, err
	}
	section := func(title string) { fmt.Fprintf(w, "\n%s\n", title) }
	lines := func(q string, format func(vals []string) string) (int, error) {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		n := 0
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return n, err
			}
			s := make([]string, len(vals))
			for i, v := range vals {
				s[i] = v.String
			}
			fmt.Fprintln(w, "  "+format(s))
			n++
		}
		return n, rows.Err()
	}

	counts, err := one(`SELECT
		format('{:,} CloudTrail events, {:,} digest files, {:,} flow-log records, {:,} GuardDuty findings ({:,} versions)',
			(SELECT count(*) FROM cloudtrail_base), (SELECT count(*) FROM cloudtrail_digest), (SELECT count(*) FROM vpcflow),
			(SELECT count(*) FROM guardduty_finding), (SELECT count(*) FROM guardduty_finding_history))`)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "The database holds %s.\n", counts)
	span, err := one(`SELECT strftime(min(event_time), '%Y-%m-%d %H:%M') || ' to ' || strftime(max(event_time), '%Y-%m-%d %H:%M') || ' UTC, ' ||
		count(DISTINCT recipient_account_id)::VARCHAR || ' accounts, ' || count(DISTINCT aws_region)::VARCHAR || ' regions'
		FROM cloudtrail_base`)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "CloudTrail covers %s.\n", span)

	section("Busiest API calls:")
	if _, err := lines(`SELECT event_source, event_name, count(*) AS n FROM cloudtrail_base
		GROUP BY ALL ORDER BY n DESC, 2 LIMIT 5`, func(v []string) string {
		return fmt.Sprintf("%8s  %s %s", v[2], strings.TrimSuffix(v[0], ".amazonaws.com"), v[1])
	}); err != nil {
		return err
	}

	section("What stands out:")
	found := 0
	checks := []struct {
		q      string
		format func([]string) string
	}{
		{`SELECT strftime(event_time, '%Y-%m-%d %H:%M'), user_name, source_ip,
			(request_parameters->>'$.userName'), (request_parameters->>'$.policyArn'), recipient_account_id
			FROM cloudtrail WHERE event_name = 'AttachUserPolicy' AND (request_parameters->>'$.policyArn') LIKE '%AdministratorAccess'
			ORDER BY event_time LIMIT 5`,
			func(v []string) string {
				return fmt.Sprintf("! %s  %s attached AdministratorAccess to IAM user %s from %s (account %s)", v[0], v[1], v[3], v[2], v[5])
			}},
		{`SELECT strftime(event_time, '%Y-%m-%d %H:%M'), user_name, source_ip, recipient_account_id
			FROM cloudtrail WHERE event_name = 'ConsoleLogin' AND (additional_event_data->>'$.MFAUsed') = 'No'
			AND (response_elements->>'$.ConsoleLogin') = 'Success'
			AND source_ip NOT IN (SELECT DISTINCT source_ip FROM cloudtrail_base WHERE event_name = 'ConsoleLogin'
				AND event_time < (SELECT min(event_time) + INTERVAL 1 DAY FROM cloudtrail_base) AND source_ip IS NOT NULL)
			ORDER BY event_time LIMIT 5`,
			func(v []string) string {
				return fmt.Sprintf("! %s  console login without MFA by %s from %s, an address not seen on the first day (account %s)", v[0], v[1], v[2], v[3])
			}},
		{`SELECT strftime(event_time, '%Y-%m-%d %H:%M'), user_name, source_ip, event_name,
			coalesce(' (' || (request_parameters->>'$.name') || ')', ''), coalesce(error_code, 'succeeded')
			FROM cloudtrail WHERE event_name IN ('StopLogging', 'DeleteTrail', 'DeleteFlowLogs', 'DeleteDetector', 'DisableSecurityHub')
			ORDER BY event_time LIMIT 5`,
			func(v []string) string {
				return fmt.Sprintf("! %s  %s called %s%s from %s: %s", v[0], v[1], v[3], v[4], v[2], v[5])
			}},
		{`SELECT srcaddr, dstaddr, count(DISTINCT dstport) AS ports, count(*) FILTER (action = 'REJECT') AS rejected,
			strftime(min(start_time), '%Y-%m-%d %H:%M')
			FROM vpcflow WHERE dstport IS NOT NULL
			GROUP BY srcaddr, dstaddr, time_bucket(INTERVAL 10 MINUTE, start_time)
			HAVING count(DISTINCT dstport) >= 100 ORDER BY ports DESC LIMIT 5`,
			func(v []string) string {
				return fmt.Sprintf("! %s  port scan: %s probed %s ports on %s within 10 minutes (%s rejected)", v[4], v[0], v[2], v[1], v[3])
			}},
		{`SELECT severity_label, type, account_id, strftime(updated_at, '%Y-%m-%d %H:%M'), "count"
			FROM guardduty_finding WHERE severity >= 4 ORDER BY severity DESC, updated_at LIMIT 8`,
			func(v []string) string {
				return fmt.Sprintf("! %s  GuardDuty %s: %s in account %s (seen %s times)", v[3], v[0], v[1], v[2], v[4])
			}},
	}
	for _, c := range checks {
		n, err := lines(c.q, c.format)
		if err != nil {
			return err
		}
		found += n
	}
	if found == 0 {
		fmt.Fprintln(w, "  nothing: no admin grants, MFA-less logins from new addresses, logging tampering, port scans or high-severity findings")
	}
	return nil
}
