package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/store"
)

func newQueryCmd(e *env) *cobra.Command {
	var format string
	var maxWidth int
	cmd := &cobra.Command{
		Use:   "query SQL",
		Short: "Run SQL against the database",
		Long: `Query runs one SQL statement (DuckDB's dialect) against the database, opened
read-only, and prints the result.

Tables: cloudtrail, vpcflow, guardduty_finding (current state, one row per
finding), guardduty_finding_history (every version), cloudtrail_digest,
cloudtrail_digest_file, ingest_ledger, quarantine. docs/schema.md lists their
columns. JSON columns (raw, request_parameters, ...) take DuckDB's JSON
operators: raw->>'$.userIdentity.type'.

Output: a table on a terminal, CSV otherwise; --format json writes one JSON
object per row (JSON lines).`,
		Example: `  trawl query "SELECT event_name, count(*) FROM cloudtrail GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
  trawl query --format json "SELECT * FROM guardduty_finding WHERE severity >= 7"
  trawl query "SELECT srcaddr, count(DISTINCT dstport) AS ports FROM vpcflow WHERE action = 'REJECT' GROUP BY 1 ORDER BY 2 DESC LIMIT 5"`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, _ := cmd.Flags().GetString("db")
			if format == "" {
				format = "csv"
				if e.stdoutIsTerminal() {
					format = "table"
				}
			}
			w, err := output.NewWriter(format, e.stdout, maxWidth)
			if err != nil {
				return usageError("--format: %v", err)
			}
			return runQuery(cmd.Context(), db, args[0], w)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "output format: table, csv or json (default: table on a terminal, csv otherwise)")
	cmd.Flags().IntVar(&maxWidth, "max-width", 60, "longest value shown in table output (0: no limit)")
	return cmd
}

func runQuery(ctx context.Context, db, sql string, w output.Writer) error {
	if _, err := os.Stat(db); errors.Is(err, os.ErrNotExist) {
		return &exitError{code: exitFailure, err: fmt.Errorf("no database at %s: run `trawl ingest PATH` or `trawl demo` first, or pass --db", db)}
	}
	st, err := app.Open(ctx, app.Options{DB: db, Mode: app.Query})
	if err != nil {
		return openFailure(err)
	}
	defer st.Close()
	rows, err := st.Querier().Query(ctx, store.Request{SQL: sql})
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer rows.Close()
	if err := output.Rows(w, rows); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	return nil
}
