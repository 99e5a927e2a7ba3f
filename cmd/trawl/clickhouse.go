package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
)

func newClickHouseCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "clickhouse",
		Short: "ClickHouse store tools (see docs/clickhouse.md)",
		Args:  usageArgs(cobra.NoArgs),
	}
	cmd.AddCommand(newClickHouseDDLCmd(e))
	return cmd
}

func newClickHouseDDLCmd(e *env) *cobra.Command {
	var variant, database, cluster string
	var retentionDays int
	cmd := &cobra.Command{
		Use:   "ddl",
		Short: "Print the SQL that creates trawl's ClickHouse tables",
		Long: `ddl prints the statements that create trawl's ClickHouse database, tables and
views, one per paragraph ending in ';', for a DBA to review or run with
clickhouse-client --multiquery. trawl runs the legacy variant itself when it
opens a clickhouse:// store (and the modern one on ClickHouse 20 and later).

  --variant legacy  ClickHouse 18.16 to 19.x: plain types, no codecs or TTL.
  --variant modern  ClickHouse 20.3 and later: LowCardinality, ZSTD codecs for
                    raw records, skipping indexes, TTL with --retention-days,
                    Replicated engines and ON CLUSTER with --cluster.`,
		Example: `  trawl clickhouse ddl
  trawl clickhouse ddl --variant legacy --database trawl
  trawl clickhouse ddl --variant modern --cluster prod --retention-days 365 | clickhouse-client --multiquery`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := clickhouse.ParseVariant(variant)
			if err != nil {
				return usageError("--variant: %v", err)
			}
			if !validName(database) {
				return usageError("--database %q: use letters, digits and _", database)
			}
			if cluster != "" && v != clickhouse.Modern {
				return usageError("--cluster needs --variant modern (Replicated tables)")
			}
			if retentionDays < 0 {
				return usageError("--retention-days must not be negative")
			}
			if retentionDays > 0 && v != clickhouse.Modern {
				return usageError("--retention-days needs --variant modern (ClickHouse 18.16 has no TTL; use trawl prune)")
			}
			stmts := clickhouse.DDLWith(v, database, clickhouse.DDLOptions{Cluster: cluster, Retention: time.Duration(retentionDays) * 24 * time.Hour})
			fmt.Fprintf(e.stdout, "-- trawl %s: ClickHouse schema version %d, %s variant\n\n", versionString(), clickhouse.SchemaVersion, v)
			for _, s := range stmts {
				if strings.HasPrefix(s, "--") {
					fmt.Fprintf(e.stdout, "%s\n\n", s)
					continue
				}
				fmt.Fprintf(e.stdout, "%s;\n\n", s)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&variant, "variant", "modern", "DDL variant: modern (ClickHouse 20.3+) or legacy (18.16+)")
	cmd.Flags().StringVar(&database, "database", "trawl", "database name")
	cmd.Flags().StringVar(&cluster, "cluster", "", "create the tables ON CLUSTER with Replicated engines (modern only)")
	cmd.Flags().IntVar(&retentionDays, "retention-days", 0, "delete events older than this many days by TTL (modern only; 0: keep)")
	return cmd
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
