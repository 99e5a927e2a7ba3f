package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

func newPruneCmd(e *env) *cobra.Command {
	var olderThan, before string
	var tables []string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "prune --older-than AGE | --before DATE",
		Short: "Delete records older than an age or a date",
		Long: `Prune deletes the rows older than a cutoff from the tables that grow with
collection, by each table's time column: cloudtrail (event_time, with the
parts of large records), vpcflow (start_time), guardduty_finding and
guardduty_finding_history (updated_at), cloudtrail_digest (digest_end, with
the log files it lists), quarantine and ingest_warning. Rows without a time
are kept. The ingest ledger is kept, so pruned objects are not ingested
again. Each table is pruned in one transaction.

Continuous collection (trawl run) applies the retention: section of
trawl.yaml the same way.`,
		Example: `  trawl prune --older-than 90d
  trawl prune --before 2026-01-01 --tables cloudtrail,vpcflow
  trawl prune --older-than 30d --tables quarantine,ingest_warning --dry-run`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, _ := cmd.Flags().GetString("db")
			cutoff, err := pruneCutoff(olderThan, before, time.Now())
			if err != nil {
				return err
			}
			if len(tables) == 0 {
				tables = duckdb.PruneTables()
			}
			for _, t := range tables {
				if _, ok := duckdb.Prunable[t]; !ok {
					return usageError("--tables: %s cannot be pruned (use %s)", t, strings.Join(duckdb.PruneTables(), ", "))
				}
			}
			return runPrune(cmd.Context(), e, db, tables, cutoff, dryRun)
		},
	}
	f := cmd.Flags()
	f.StringVar(&olderThan, "older-than", "", "delete rows older than this age: 90d, 12w, 36h")
	f.StringVar(&before, "before", "", "delete rows before this date (2026-01-01) or time (RFC 3339)")
	f.StringSliceVar(&tables, "tables", nil, "tables to prune (default: all of them)")
	f.BoolVar(&dryRun, "dry-run", false, "count what would be deleted, delete nothing")
	return cmd
}

// pruneCutoff turns --older-than or --before into a time.
func pruneCutoff(olderThan, before string, now time.Time) (time.Time, error) {
	switch {
	case olderThan != "" && before != "":
		return time.Time{}, usageError("give --older-than or --before, not both")
	case olderThan != "":
		d, err := parseAge(olderThan)
		if err != nil {
			return time.Time{}, usageError("--older-than %q: %v", olderThan, err)
		}
		return now.Add(-d), nil
	case before != "":
		for _, layout := range []string{time.RFC3339, "2006-01-02"} {
			if t, err := time.Parse(layout, before); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, usageError("--before %q: not a date (2026-01-01) or an RFC 3339 time", before)
	}
	return time.Time{}, usageError("say how old: --older-than 90d or --before 2026-01-01")
}

// parseAge reads a positive age: 90d, 12w, 36h, 1h30m.
func parseAge(s string) (time.Duration, error) {
	d, err := config.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, errors.New("the age must be more than zero")
	}
	return d, nil
}

func runPrune(ctx context.Context, e *env, db string, tables []string, cutoff time.Time, dryRun bool) error {
	if missingDB(db) {
		return &exitError{code: exitFailure, err: fmt.Errorf("no database at %s", db)}
	}
	st, err := app.Open(ctx, app.Options{DB: db, Mode: app.Ingest})
	if err != nil {
		return openFailure(err)
	}
	defer st.Close()
	verb := "deleted"
	if dryRun {
		verb = "would delete"
	}
	for _, t := range tables {
		var n int64
		if dryRun {
			n, err = st.CountOlder(ctx, t, cutoff)
		} else {
			n, err = st.Prune(ctx, t, cutoff)
		}
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		fmt.Fprintf(e.stdout, "%s: %s %d rows before %s\n", t, verb, n, cutoff.UTC().Format(time.RFC3339))
	}
	return nil
}
