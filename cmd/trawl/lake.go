package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/lake"
	"github.com/trawl-project/trawl/internal/output"
)

func newLakeCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lake",
		Short: "Work with a Parquet lake: Athena DDL, compaction",
		Long: `A lake is trawl's tables as Hive-partitioned Parquet files in a directory or
under s3://bucket/prefix, written by trawl ingest --lake and the lake sink of
trawl run (docs/lake.md). trawl query --lake queries it through DuckDB.`,
	}
	cmd.AddCommand(newLakeDDLCmd(e), newLakeCompactCmd(e))
	return cmd
}

func newLakeDDLCmd(e *env) *cobra.Command {
	var location, database, firstDay string
	var accounts, regions []string
	cmd := &cobra.Command{
		Use:   "ddl --location s3://BUCKET/PREFIX",
		Short: "Print Athena CREATE EXTERNAL TABLE statements with partition projection",
		Long: `ddl prints the Athena (Glue catalog) statements that make a lake queryable:
CREATE DATABASE, then one CREATE EXTERNAL TABLE per table (cloudtrail, vpcflow,
guardduty), STORED AS PARQUET at LOCATION, partitioned by account, region, dt
(and hour for vpcflow), with partition projection: no crawler, Glue job or
MSCK REPAIR TABLE is needed, and new partitions are visible at once.

The account key is an injected projection: every Athena query must name the
account(s) (WHERE account = '123456789012' or account IN (...)). With
--accounts it is an enum of those accounts instead, and queries need not name
one, but an account added later is invisible until the DDL is run again.
Regions are an enum of AWS's regions (--regions to replace the list).

Statements are separated by ";" and a blank line; Athena runs one at a time.`,
		Example: `  trawl lake ddl --location s3://security-lake/trawl
  trawl lake ddl --location s3://security-lake/trawl --database security --accounts 111111111111,222222222222`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !strings.HasPrefix(location, "s3://") {
				return usageError("--location: need the lake's s3://bucket/prefix (Athena reads S3 only), got %q", location)
			}
			if firstDay != "" {
				if _, err := time.Parse(time.DateOnly, firstDay); err != nil {
					return usageError("--first-day: want YYYY-MM-DD: %v", err)
				}
			}
			stmts := lake.AthenaDDLWith(location, database, lake.DDLOptions{Accounts: accounts, Regions: regions, FirstDay: firstDay})
			_, err := io.WriteString(e.stdout, strings.Join(stmts, ";\n\n")+";\n")
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&location, "location", "", "the lake's s3://bucket/prefix (required)")
	f.StringVar(&database, "database", "trawl", "Athena database (Glue catalog) of the tables; empty: no CREATE DATABASE, tables unqualified")
	f.StringSliceVar(&accounts, "accounts", nil, "account IDs for an enum projection of account (default: injected)")
	f.StringSliceVar(&regions, "regions", nil, "regions of the region projection (default: every AWS region)")
	f.StringVar(&firstDay, "first-day", "", "first day of the dt projection, YYYY-MM-DD (default 2013-11-01)")
	return cmd
}

// lakeAWSFlags are the AWS connection flags of the lake commands.
type lakeAWSFlags struct {
	region, profile, endpoint string
}

func (a *lakeAWSFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&a.region, "region", "", "AWS region of an s3:// lake (default: AWS_REGION or the profile's)")
	f.StringVar(&a.profile, "profile", "", "AWS profile for an s3:// lake (default: AWS_PROFILE or the default profile)")
	f.StringVar(&a.endpoint, "endpoint", "", "S3-compatible endpoint URL for an s3:// lake (default: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL)")
}

// load returns the AWS configuration for an s3:// target, nil for a
// directory.
func (a lakeAWSFlags) load(ctx context.Context, target string) (*aws.Config, error) {
	if !strings.HasPrefix(target, "s3://") {
		return nil, nil
	}
	cfg, err := awsFlags(a).load(ctx)
	if err != nil {
		return nil, &exitError{code: exitFailure, err: err}
	}
	return &cfg, nil
}

func newLakeCompactCmd(e *env) *cobra.Command {
	var target, targetSize, minSize string
	var minAge time.Duration
	var tables []string
	var dryRun bool
	var workers int
	var aws lakeAWSFlags
	cmd := &cobra.Command{
		Use:   "compact --lake DIR|s3://BUCKET/PREFIX",
		Short: "Merge each partition's small files into files near the target size",
		Long: `compact merges, per partition, the data files smaller than --min-size into
files of about --target-size, so that Athena and DuckDB open fewer files.
Rows are copied unchanged. Each merge is atomic: the merged file is staged,
a manifest commits the merge, then the old files are deleted and the new one
published. A reader never sees a row twice; during the moment between the
deletes and the publish it may miss the merged rows. An interrupted merge is
completed by the next compact run.

Writers may keep writing meanwhile (files younger than --min-age are left
alone); run one compact per lake at a time.`,
		Example: `  trawl lake compact --lake ./lake
  trawl lake compact --lake s3://security-lake/trawl --target-size 256MiB --dry-run`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if target == "" {
				return usageError("--lake: need the lake's directory or s3://bucket/prefix")
			}
			var opt lake.CompactOptions
			var err error
			if opt.TargetSize, err = config.ParseSize(targetSize); err != nil || opt.TargetSize <= 0 {
				return usageError("--target-size %q: want a size such as 128MiB", targetSize)
			}
			if minSize != "" {
				if opt.MinSize, err = config.ParseSize(minSize); err != nil || opt.MinSize <= 0 {
					return usageError("--min-size %q: want a size such as 64MiB", minSize)
				}
			}
			for _, t := range tables {
				if _, ok := lake.TableNamed(t); !ok {
					return usageError("--table: unknown table %q (cloudtrail, vpcflow or guardduty)", t)
				}
			}
			opt.MinAge, opt.Tables, opt.DryRun, opt.Workers = minAge, tables, dryRun, workers
			ctx := cmd.Context()
			cfg, err := aws.load(ctx, target)
			if err != nil {
				return err
			}
			l, err := lake.Open(ctx, target, lake.Options{AWS: cfg})
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			defer l.Close()
			st, err := l.Compact(ctx, opt)
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			verb := "merged"
			if dryRun {
				verb = "would merge"
			}
			if st.Recovered > 0 {
				fmt.Fprintf(e.stderr, "completed %d interrupted merges\n", st.Recovered)
			}
			fmt.Fprintf(e.stdout, "%s %d files (%s) into %d in %d partitions", verb, st.FilesIn, humanize.IBytes(uint64(st.BytesIn)), st.FilesOut, st.Partitions)
			if !dryRun {
				fmt.Fprintf(e.stdout, ": %d rows, %s", st.Rows, humanize.IBytes(uint64(st.BytesOut)))
			}
			fmt.Fprintln(e.stdout)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "lake", "", "the lake: a directory or s3://bucket/prefix (required)")
	f.StringVar(&targetSize, "target-size", "128MiB", "size merged files aim at")
	f.StringVar(&minSize, "min-size", "", "merge only files smaller than this (default: half of --target-size)")
	f.DurationVar(&minAge, "min-age", 10*time.Minute, "merge only files at least this old")
	f.StringSliceVar(&tables, "table", nil, "compact only these tables (default: all)")
	f.BoolVar(&dryRun, "dry-run", false, "print what would be merged without changing anything")
	f.IntVar(&workers, "workers", 0, "merges run at once (default: the number of CPUs)")
	aws.add(cmd)
	return cmd
}

// lakeQueryFlags are trawl query's flags for querying a lake.
type lakeQueryFlags struct {
	target, since, until, cache string
	aws                         lakeAWSFlags
}

// addLakeQueryFlags adds --lake and its companions to trawl query.
func addLakeQueryFlags(cmd *cobra.Command) *lakeQueryFlags {
	var q lakeQueryFlags
	f := cmd.Flags()
	f.StringVar(&q.target, "lake", "", "query a Parquet lake (a directory or s3://bucket/prefix) instead of the database: views cloudtrail, vpcflow, guardduty (every version), guardduty_finding (docs/lake.md)")
	f.StringVar(&q.since, "since", "", "with --lake: only rows from this time (a date, an RFC 3339 time, or an age such as 7d); only those partitions are read")
	f.StringVar(&q.until, "until", "", "with --lake: only rows before this time (exclusive; same forms as --since)")
	f.StringVar(&q.cache, "cache-dir", "", "with an s3:// --lake: where downloaded files are kept (default: the user cache directory)")
	q.aws.add(cmd)
	prev := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if q.target == "" {
			for _, name := range []string{"since", "until", "cache-dir", "region", "profile", "endpoint"} {
				if cmd.Flags().Changed(name) {
					return usageError("--%s applies to a lake only: add --lake DIR|s3://bucket/prefix", name)
				}
			}
		}
		if prev != nil {
			return prev(cmd, args)
		}
		return nil
	}
	return &q
}

// runLakeQuery runs sql against the lake like runQuery does against a
// database.
func runLakeQuery(ctx context.Context, e *env, q *lakeQueryFlags, sql, memLimit string, newWriter func() output.Writer, blank bool) error {
	if q.target == "" {
		return errors.New("no lake given")
	}
	now := time.Now()
	opt := lake.QueryOptions{CacheDir: q.cache, MemoryLimit: memLimit}
	var err error
	if opt.Since, err = parseMomentFlag("since", q.since, now); err != nil {
		return err
	}
	if opt.Until, err = parseMomentFlag("until", q.until, now); err != nil {
		return err
	}
	if opt.AWS, err = q.aws.load(ctx, q.target); err != nil {
		return err
	}
	r, err := lake.OpenReader(ctx, q.target, opt)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer r.Close()
	return printEach(ctx, r, sql, e.stdout, newWriter, blank)
}
