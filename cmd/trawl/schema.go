package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/trawl-project/trawl/docs"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/schemadoc"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

func newSchemaCmd(e *env) *cobra.Command {
	var format string
	var maxWidth int
	var all bool
	cmd := &cobra.Command{
		Use:   "schema [TABLE]",
		Short: "List the tables and their columns with types and descriptions",
		Long: `Schema lists the tables and views you can query, one row per column: table,
column, SQL type and what it holds (the descriptions of docs/schema.md). The
tables and types are those of the database at --db when it exists (opened
read-only), else those a new database gets. TABLE limits the list to one
table. trawl's internal tables (trawl_meta, trawl_spill, cloudtrail_base,
alert_base, alert_hit, alert_outbox) are left out unless --all.

Output: a table on a terminal, CSV otherwise; --format json for JSON lines.`,
		Example: `  trawl schema
  trawl schema cloudtrail
  trawl schema --format json vpcflow`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
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
			table := ""
			if len(args) == 1 {
				table = args[0]
			}
			return runSchema(cmd.Context(), db, table, all, w)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "output format: table, csv or json (default: table on a terminal, csv otherwise)")
	cmd.Flags().IntVar(&maxWidth, "max-width", 100, "longest value shown in table output (0: no limit)")
	cmd.Flags().BoolVar(&all, "all", false, "include trawl's internal tables")
	return cmd
}

func runSchema(ctx context.Context, db, table string, all bool, w output.Writer) error {
	var st *app.Store
	var err error
	if missingDB(db) {
		// No database: describe the schema a new one gets, in memory.
		st, err = app.Open(ctx, app.Options{DB: "", Mode: app.Ingest})
	} else {
		st, err = app.Open(ctx, app.Options{DB: db, Mode: app.Query})
	}
	if err != nil {
		return openFailure(err)
	}
	defer st.Close()
	sql := `SELECT c.table_name, c.column_name, c.data_type
		FROM information_schema.columns c JOIN information_schema.tables t USING (table_catalog, table_schema, table_name)
		WHERE t.table_schema = 'main' AND t.table_catalog = current_database()
		ORDER BY c.table_name, c.ordinal_position`
	internal := duckdb.InternalTables
	if store.DialectOf(st.Querier()) == store.ClickHouse {
		// The views users query; their _data tables (and .inner. tables of
		// materialised views) are internal. system.columns lists a
		// table's columns in their order.
		sql = `SELECT table, name, type FROM system.columns WHERE database = currentDatabase()
			AND (? OR (table NOT LIKE '%\_data' AND table NOT LIKE '.inner.%' AND table != 'trawl_meta'))`
		internal = nil
	}
	rows, err := st.Querier().Query(ctx, store.Request{SQL: sql, Args: chArgs(st, all)})
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	type col struct{ table, name, typ string }
	var cols []col
	tables := map[string]bool{}
	for rows.Next() {
		v := rows.Values()
		c := col{output.Text(v[0]), output.Text(v[1]), strings.ReplaceAll(output.Text(v[2]), "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ")}
		tables[c.table] = true
		if table != "" && c.table != table || table == "" && !all && slices.Contains(internal, c.table) {
			continue
		}
		cols = append(cols, c)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if table != "" && !tables[table] {
		names := make([]string, 0, len(tables))
		for t := range tables {
			if !slices.Contains(internal, t) {
				names = append(names, t)
			}
		}
		slices.Sort(names)
		return usageError("no table %q (tables: %s)", table, strings.Join(names, ", "))
	}
	sections := schemadoc.Parse(docs.Schema)
	if err := w.Header([]string{"table", "column", "type", "description"}); err != nil {
		return err
	}
	for _, c := range cols {
		if err := w.Row([]any{c.table, c.name, c.typ, schemadoc.Describe(sections, c.table, c.name)}); err != nil {
			return fmt.Errorf("writing the schema: %w", err)
		}
	}
	return w.Flush()
}

// chArgs are the schema query's arguments: ClickHouse's takes --all.
func chArgs(st *app.Store, all bool) []any {
	if store.DialectOf(st.Querier()) == store.ClickHouse {
		return []any{all}
	}
	return nil
}
