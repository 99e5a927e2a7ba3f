package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/store"
)

type searchOptions struct {
	typ, since, until, format string
	limit, maxWidth           int
	count, sql                bool
}

func newSearchCmd(e *env) *cobra.Command {
	var o searchOptions
	cmd := &cobra.Command{
		Use:   "search QUERY",
		Short: "Search stored events with field:value queries or CloudWatch filter patterns",
		Long: `Search finds events with a Kibana/Lucene-style query, using AWS's own field
names, and prints them newest first:

  eventName:CreateUser                      a field's exact value (case-sensitive)
  userIdentity.arn:*admin*                  wildcards * and ? (case-sensitive)
  requestParameters.bucketName:prod-*       any path inside the record's JSON
  srcaddr:10.0.0.0/8  dstport:[0 TO 1023]   CIDR blocks, ranges ({ } excludes the end)
  severity:>=7                              comparisons on numeric and time fields
  a AND b, a OR b, NOT a, -a, (a OR b) c    boolean logic; a space means AND
  "access denied"  stoplogging              free text in the raw record (any case)

A query starting with { or [ is a CloudWatch Logs filter pattern, matched on
the raw record. docs/search.md has the grammar and every field name.

--type chooses the table (cloudtrail, vpcflow, guardduty); without it the
fields the query names choose it, and free text searches CloudTrail.`,
		Example: `  trawl search 'eventName:CreateUser'
  trawl search 'userIdentity.arn:*admin* AND NOT errorCode:*' --since 7d
  trawl search 'srcaddr:10.0.0.0/8 AND action:REJECT AND dstport:[0 TO 1023]' --count
  trawl search --type guardduty 'severity:>=7' --format json
  trawl search '{ $.eventName = "StopLogging" }'
  trawl search --sql 'requestParameters.bucketName:prod-*'`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, _ := cmd.Flags().GetString("db")
			return runSearch(cmd.Context(), e, db, args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.typ, "type", "t", "", "table to search: cloudtrail, vpcflow or guardduty (default: chosen from the query's fields)")
	f.StringVar(&o.since, "since", "", "events from this time: a date (2026-11-01, UTC), an RFC 3339 time, or an age (24h, 7d)")
	f.StringVar(&o.until, "until", "", "events before this time (exclusive; same forms as --since)")
	f.IntVarP(&o.limit, "limit", "n", 100, "most events to print (0: all)")
	f.StringVarP(&o.format, "format", "f", "", "output format: table, csv or json (default: table on a terminal, csv otherwise)")
	f.IntVar(&o.maxWidth, "max-width", 60, "longest value shown in table output (0: no limit)")
	f.BoolVar(&o.count, "count", false, "print the number of matching events")
	f.BoolVar(&o.sql, "sql", false, "print the compiled SQL and its parameters instead of running it")
	return cmd
}

func runSearch(ctx context.Context, e *env, db, query string, o searchOptions) error {
	var opt search.Options
	if app.IsClickHouse(db) {
		opt.Dialect = store.ClickHouse
	}
	if o.typ != "" {
		if opt.Table = search.TableByType(o.typ); opt.Table == nil {
			return usageError("--type: unknown type %q (use cloudtrail, vpcflow or guardduty)", o.typ)
		}
	}
	now := time.Now()
	var err error
	if opt.Since, err = parseMomentFlag("since", o.since, now); err != nil {
		return err
	}
	if opt.Until, err = parseMomentFlag("until", o.until, now); err != nil {
		return err
	}
	if o.limit < 0 {
		return usageError("--limit: must be 0 or more")
	}
	c, err := search.ParseCompile(query, opt)
	if err != nil {
		var se *search.Error
		if errors.As(err, &se) {
			return &exitError{code: exitUsage, err: fmt.Errorf("bad query: %w\n  %s\n  %s^", se, query, strings.Repeat(" ", max(se.Column-1, 0)))}
		}
		return usageError("bad query: %v", err)
	}
	if o.sql {
		printSQL(e.stdout, c, o)
		return nil
	}
	if o.format == "" {
		o.format = "csv"
		if e.stdoutIsTerminal() {
			o.format = "table"
		}
	}
	w, err := output.NewWriter(o.format, e.stdout, o.maxWidth)
	if err != nil {
		return usageError("--format: %v", err)
	}
	if missingDB(db) {
		return &exitError{code: exitFailure, err: fmt.Errorf("no database at %s: run `trawl ingest PATH` or `trawl demo` first, or pass --db", db)}
	}
	st, err := app.Open(ctx, app.Options{DB: db, Mode: app.Query})
	if err != nil {
		if c := remoteFor(db, err); c != nil {
			// trawl serve or trawl run --serve holds the database.
			fmt.Fprintf(e.stderr, "trawl: the database is held by the trawl server at %s; searching through it\n", c.URL)
			return remoteSearch(ctx, e, c, query, opt, o, w)
		}
		return openFailure(err)
	}
	defer st.Close()
	if o.count {
		n, err := search.Count(ctx, st.Querier(), c)
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		fmt.Fprintln(e.stdout, n)
		return nil
	}
	rows, err := search.Search(ctx, st.Querier(), c, nil, o.limit)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer rows.Close()
	if err := output.Rows(w, rows); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	return nil
}

// printSQL prints the SQL a search runs and its parameters, one a line.
func printSQL(w io.Writer, c *search.Compiled, o searchOptions) {
	sql, args := c.Select(nil, o.limit)
	if o.count {
		sql, args = c.Count()
	}
	fmt.Fprintln(w, sql)
	for i, a := range args {
		fmt.Fprintf(w, "-- $%d = %s\n", i+1, formatArg(a))
	}
	if c.Pattern != nil {
		fmt.Fprintf(w, "-- run on newest-first time windows of %s; each row's raw record must then match the filter pattern %s\n", c.Table.Time, c.Pattern)
	}
}

func formatArg(a any) string {
	switch x := a.(type) {
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case time.Time:
		return "TIMESTAMPTZ '" + x.UTC().Format(time.RFC3339Nano) + "'"
	}
	return fmt.Sprint(a)
}
