package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/store"
)

func newQueryCmd(e *env) *cobra.Command {
	var format string
	var maxWidth int
	var memLimit string
	var lq *lakeQueryFlags
	cmd := &cobra.Command{
		Use:   "query SQL",
		Short: "Run SQL against the database",
		Long: `Query runs SQL against the database, opened read-only, and prints the
result: DuckDB's dialect on a DuckDB file, ClickHouse's on --db
clickhouse://… (the same tables and columns; docs/clickhouse.md), DuckDB's
over a Parquet lake with --lake DIR|s3://… (docs/lake.md). Quote the SQL: it
is one argument. Several statements separated by ; run in order on one
connection and each result is printed (table and CSV output put a blank line
between results); the first that fails stops the rest.

Tables: cloudtrail, vpcflow, guardduty_finding (current state, one row per
finding), guardduty_finding_history (every version), alert, cloudtrail_digest,
cloudtrail_digest_file, ingest_ledger, ingest_warning, quarantine.
` + "`trawl schema [TABLE]`" + ` lists their columns (docs/schema.md). JSON columns (raw,
request_parameters, ...) take DuckDB's JSON operators, in parentheses when
compared: (request_parameters->>'$.userName') = 'alice', or the helper
param(request_parameters, 'userName') = 'alice'. cidr_contains(cidr, ip) and
is_private(ip) test IPv4 addresses (docs/query.md). On ClickHouse, read a JSON
key with visitParamExtractString(request_parameters, 'userName') instead.

Output: a table on a terminal, CSV otherwise (NULL is an empty field, an empty
string is ""); --format json writes one JSON object per row (JSON lines).
DuckDB may use half of the machine's memory (--memory-limit to change).`,
		Example: `  trawl query "SELECT event_name, count(*) FROM cloudtrail GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
  trawl query --format json "SELECT * FROM guardduty_finding WHERE severity >= 7"
  trawl query "SELECT srcaddr, count(DISTINCT dstport) AS ports FROM vpcflow WHERE action = 'REJECT' GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
  trawl query "SELECT event_time, user_name FROM cloudtrail WHERE param(request_parameters, 'userName') = 'svc-backup-sync'"`,
		Args: usageArgs(func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return errors.New(`query needs the SQL to run, in quotes: trawl query "SELECT count(*) FROM cloudtrail"`)
			case len(args) > 1 && strings.ContainsAny(strings.Join(args, ""), " \t\n"):
				return fmt.Errorf("query takes the SQL as one argument, but got %d: to run several statements, put them in one argument separated by ;, e.g. trawl query %q", len(args), strings.Join(args, "; "))
			case len(args) > 1:
				return fmt.Errorf("query takes the SQL as one argument, but got %d: put the SQL in quotes, e.g. trawl query %q (unquoted, the shell splits it into words and expands * into file names)", len(args), strings.Join(args, " "))
			}
			return nil
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, _ := cmd.Flags().GetString("db")
			if format == "" {
				format = "csv"
				if e.stdoutIsTerminal() {
					format = "table"
				}
			}
			if _, err := output.NewWriter(format, io.Discard, maxWidth); err != nil {
				return usageError("--format: %v", err)
			}
			if lq.target != "" {
				return runLakeQuery(cmd.Context(), e, lq, args[0], memLimit, func() output.Writer {
					w, _ := output.NewWriter(format, e.stdout, maxWidth)
					return w
				}, format != "json")
			}
			return runQuery(cmd.Context(), e, db, args[0], memLimit, func() output.Writer {
				w, _ := output.NewWriter(format, e.stdout, maxWidth)
				return w
			}, format != "json")
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "output format: table, csv or json (default: table on a terminal, csv otherwise)")
	cmd.Flags().IntVar(&maxWidth, "max-width", 60, "longest value shown in table output (0: no limit)")
	cmd.Flags().StringVar(&memLimit, "memory-limit", "", "DuckDB's memory limit, e.g. 4GiB (default: half of the machine's memory)")
	lq = addLakeQueryFlags(cmd)
	return cmd
}

// runQuery runs every statement of sql, writing each result to out with a
// new writer; blank puts a blank line between results.
func runQuery(ctx context.Context, e *env, db, sql, memLimit string, newWriter func() output.Writer, blank bool) error {
	out := e.stdout
	if missingDB(db) {
		return &exitError{code: exitFailure, err: fmt.Errorf("no database at %s: run `trawl ingest PATH` or `trawl demo` first, or pass --db", db)}
	}
	st, err := app.Open(ctx, app.Options{DB: db, Mode: app.Query, MemoryLimit: memLimit})
	if err != nil {
		if c := remoteFor(db, err); c != nil {
			// trawl serve or trawl run --serve holds the database.
			return remoteQuery(ctx, e, c, sql, newWriter, blank)
		}
		return openFailure(err)
	}
	defer st.Close()
	return printEach(ctx, st, sql, out, newWriter, blank)
}

// printEach runs every statement of sql through q and prints each result
// with a new writer, a blank line between results when blank is set.
func printEach(ctx context.Context, q interface {
	QueryEach(context.Context, store.Request, func(store.Rows) error) error
}, sql string, out io.Writer, newWriter func() output.Writer, blank bool) error {
	n := 0
	err := q.QueryEach(ctx, store.Request{SQL: sql}, func(rows store.Rows) error {
		if n > 0 && blank {
			if _, err := io.WriteString(out, "\n"); err != nil {
				return err
			}
		}
		n++
		return output.Rows(newWriter(), rows)
	})
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	return nil
}
