package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/decode/vpcflow"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
)

type ingestOptions struct {
	db          string
	kind        string
	vpcFormat   string
	maxRecord   string
	workers     int
	force       bool
	progress    string
	memoryLimit string
	quiet       bool
	txRows      int
	txAge       time.Duration
}

func newIngestCmd(e *env) *cobra.Command {
	var o ingestOptions
	cmd := &cobra.Command{
		Use:   "ingest PATH... | -",
		Short: "Ingest CloudTrail, VPC Flow Log and GuardDuty files into the database",
		Long: `Ingest reads files, directories (recursively, in name order) and standard input
("-"), recognises each object's format and log type from its content, and
stores the records.

Formats: CloudTrail log files ({"Records":[...]}, .json or .json.gz), one record
per line as CloudWatch Logs delivers them, CloudWatch Logs subscription
payloads (plain or base64+gzip as Lambda receives them), EventBridge events,
CloudTrail digest files; VPC and Transit Gateway flow logs as text (with a
header line, a --vpc-format, or a known layout) or Parquet; GuardDuty findings
as JSON lines (S3 export), arrays, {"findings":[...]} or EventBridge events.
Gzip is recognised by its magic bytes, whatever the file is called.

Re-running is safe: objects already ingested and unchanged are skipped, an
interrupted ingest resumes after its last committed record, CloudTrail events
are de-duplicated by event id and GuardDuty findings by id and updatedAt.

Records that cannot be decoded are stored in the quarantine table with the
object, line, byte offset, reason and a snippet; the rest is still ingested.

Exit status: 0 everything ingested; 3 finished, but some input was
quarantined or could not be read (see the quarantine table); 1 failed;
2 bad usage; 130 interrupted (committed work is kept; run again to resume).`,
		Example: `  trawl ingest ./AWSLogs/
  trawl ingest --type vpcflow --vpc-format '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}' flows.log.gz
  aws s3 cp s3://bucket/AWSLogs/.../file.json.gz - | trawl ingest -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.db, _ = cmd.Flags().GetString("db")
			return runIngest(cmd.Context(), e, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kind, "type", "auto", "log type: auto, cloudtrail, vpcflow or guardduty (records of other types are quarantined)")
	f.StringVar(&o.vpcFormat, "vpc-format", "", "flow-log format of lines without a header line, as an AWS LogFormat ('${version} ${account-id} ...')")
	f.StringVar(&o.maxRecord, "max-record-size", "32MiB", "largest record accepted; larger ones are quarantined")
	f.IntVar(&o.workers, "workers", 0, "objects decoded in parallel (default: number of CPUs)")
	f.BoolVar(&o.force, "force", false, "read objects again even if the ledger says they are ingested and unchanged")
	f.StringVar(&o.progress, "progress", "auto", "progress on stderr: auto (a live line on a terminal), always, plain (a line every 10s, for logs) or never")
	f.StringVar(&o.memoryLimit, "memory-limit", app.IngestMemoryLimit, "memory DuckDB may use (the whole process stays under about twice this)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only errors")
	f.IntVar(&o.txRows, "tx-rows", 0, "commit after this many rows (default 491520: four DuckDB row groups)")
	f.DurationVar(&o.txAge, "tx-age", 0, "commit at least this often (default 1m)")
	_ = f.MarkHidden("tx-rows")
	_ = f.MarkHidden("tx-age")
	return cmd
}

// ingestReport is what an ingest did, for the summary.
type ingestReport struct {
	res     pipeline.Result
	notices []string
	objects int
}

func runIngest(ctx context.Context, e *env, o ingestOptions, paths []string) error {
	opt, err := o.decodeOptions()
	if err != nil {
		return err
	}
	objs, err := file.Objects(paths, e.stdin)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if len(objs) == 0 {
		return &exitError{code: exitFailure, err: fmt.Errorf("no files found in %s", strings.Join(paths, ", "))}
	}
	st, err := app.Open(ctx, app.Options{DB: o.db, Mode: app.Ingest, MemoryLimit: o.memoryLimit})
	if err != nil {
		return openFailure(err)
	}
	defer st.Close()
	rep, err := ingestObjects(ctx, e, st, objs, o, opt)
	if !o.quiet {
		printIngestSummary(e.stdout, o.db, rep)
	}
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: exitInterrupted, err: errors.New("interrupted; what was committed is kept, run the same command again to resume")}
		}
		return &exitError{code: exitFailure, err: err}
	}
	if rep.res.Quarantined > 0 || len(rep.res.Failed) > 0 {
		return &exitError{code: exitPartial}
	}
	return nil
}

func (o ingestOptions) decodeOptions() (decode.Options, error) {
	var opt decode.Options
	switch o.progress {
	case "auto", "always", "plain", "never":
	default:
		return opt, usageError("--progress %q: use auto, always, plain or never", o.progress)
	}
	if o.kind != "" && o.kind != "auto" {
		k, ok := event.ParseKind(o.kind)
		if !ok || k == event.KindCloudTrailDigest {
			return opt, usageError("--type %q: use auto, cloudtrail, vpcflow or guardduty", o.kind)
		}
		opt.Kind = k
	}
	if o.vpcFormat != "" {
		f, err := vpcflow.ParseFormat(o.vpcFormat)
		if err != nil {
			return opt, usageError("--vpc-format: %v", err)
		}
		opt.VPCFormat = f
	}
	n, err := parseSize(o.maxRecord)
	if err != nil {
		return opt, usageError("--max-record-size: %v", err)
	}
	opt.MaxRecordSize = int(n)
	return opt, nil
}

// ingestObjects runs the pipeline with a progress display.
func ingestObjects(ctx context.Context, e *env, st *app.Store, objs []pipeline.Object, o ingestOptions, opt decode.Options) (ingestReport, error) {
	rep := ingestReport{objects: len(objs)}
	show := o.progress == "always" || (o.progress == "auto" && e.stderrIsTerminal())
	plain := o.progress == "plain"
	if o.quiet {
		show, plain = false, false
	}
	bar := newProgressLine(e.stderr, show, plain)
	shown := 0
	cfg := pipeline.Config{
		Quarantined: func(q *event.Quarantined) {
			shown++
			if o.quiet || shown > maxShownQuarantine {
				return
			}
			bar.println(quarantineMessage(q))
		},
		Decode:   opt,
		Workers:  o.workers,
		Force:    o.force,
		TxRows:   o.txRows,
		TxAge:    o.txAge,
		Progress: bar.update,
		Notice: func(msg string) {
			rep.notices = append(rep.notices, msg)
			if !o.quiet {
				bar.println(msg)
			}
		},
	}
	res, err := st.Ingest(ctx, pipeline.Objects(objs...), cfg)
	bar.finish()
	if shown > maxShownQuarantine && !o.quiet {
		fmt.Fprintf(e.stderr, "… and %d more quarantine entries\n", shown-maxShownQuarantine)
	}
	rep.res = res
	return rep, err
}

// maxShownQuarantine is how many quarantine entries an ingest prints.
const maxShownQuarantine = 10

// quarantineMessage says where a quarantined input is and why.
func quarantineMessage(q *event.Quarantined) string {
	where := q.Object
	switch {
	case q.Line > 0 && q.Offset >= 0:
		where += fmt.Sprintf(":%d (byte %d)", q.Line, q.Offset)
	case q.Line > 0:
		where += fmt.Sprintf(":%d", q.Line)
	case q.Offset > 0:
		where += fmt.Sprintf(" (byte %d)", q.Offset)
	}
	return "quarantined: " + where + ": " + q.Reason
}

func printIngestSummary(w io.Writer, db string, rep ingestReport) {
	r := rep.res
	secs := r.Elapsed.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	read := r.ObjectsDone - r.ObjectsSkipped
	fmt.Fprintf(w, "ingested %d of %d objects into %s in %s", read, rep.objects, db, r.Elapsed.Round(10*time.Millisecond))
	if r.ObjectsSkipped > 0 {
		fmt.Fprintf(w, " (%d unchanged, skipped: already ingested)", r.ObjectsSkipped)
	}
	fmt.Fprintln(w)
	var parts []string
	for _, k := range event.Kinds {
		if n := r.Records[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", formatCount(n), kindNoun(k, n)))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no new records")
	}
	rate := ""
	if st := r.Stored(); st > 0 && r.Elapsed > 200*time.Millisecond {
		rate = fmt.Sprintf(" (%s records/s)", formatCount(int64(float64(st)/secs)))
	}
	fmt.Fprintf(w, "  stored: %s%s\n", strings.Join(parts, ", "), rate)
	if r.Duplicates > 0 {
		fmt.Fprintf(w, "  duplicates skipped: %s (already stored)\n", formatCount(r.Duplicates))
	}
	if r.Warnings > 0 {
		fmt.Fprintf(w, "  values stored as NULL or rewritten: %s (see: trawl query \"SELECT object, record, field, reason FROM ingest_warning ORDER BY warned_at DESC\")\n", formatCount(r.Warnings))
	}
	if len(r.Unlisted) > 0 {
		fmt.Fprintf(w, "  could not be listed: %d\n", len(r.Unlisted))
	}
	if r.Quarantined > 0 {
		fmt.Fprintf(w, "  quarantined: %s (see: trawl query \"SELECT object, line, byte_offset, reason FROM quarantine ORDER BY quarantined_at DESC\")\n", formatCount(r.Quarantined))
	}
	if len(r.Failed) > 0 {
		sort.Strings(r.Failed)
		fmt.Fprintf(w, "  could not be read (will be retried by the next run): %d\n", len(r.Failed))
		for i, f := range r.Failed {
			if i == 10 {
				fmt.Fprintf(w, "    … and %d more\n", len(r.Failed)-10)
				break
			}
			fmt.Fprintf(w, "    %s\n", f)
		}
	}
}

func kindNoun(k event.Kind, n int64) string {
	one := map[event.Kind]string{
		event.KindCloudTrail:       "CloudTrail event",
		event.KindCloudTrailDigest: "digest file",
		event.KindVPCFlow:          "flow-log record",
		event.KindGuardDuty:        "GuardDuty finding version",
	}[k]
	if n == 1 {
		return one
	}
	return one + "s"
}

// formatCount writes n with thousands separators.
func formatCount(n int64) string {
	s := fmt.Sprintf("%d", n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// parseSize parses "32MiB", "64MB", "1048576".
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			mult = u.mult
			s = strings.TrimSpace(strings.TrimSuffix(s, u.suffix))
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size such as 32MiB", s)
	}
	return n * mult, nil
}
