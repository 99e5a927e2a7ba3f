package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/awsconf"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/decode/vpcflow"
	"github.com/trawl-project/trawl/internal/enrich"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/rules"
	"github.com/trawl-project/trawl/internal/source/file"
	s3src "github.com/trawl-project/trawl/internal/source/s3"
	"github.com/trawl-project/trawl/internal/source/s3/layout"
)

// minMemoryLimit is the smallest --memory-limit accepted: with less, DuckDB
// fails to create the schema or to buffer a batch.
const minMemoryLimit = app.MinMemoryLimit

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
	txBytes     string
	txBytesN    int64
	txAge       time.Duration
	region      string
	profile     string
	endpoint    string
	since       string
	until       string
	margin      time.Duration
	accounts    []string
	regions     []string
	kinds       []string
	enrich      enrich.Settings
	noUA        bool
	configFile  string               // --config: the rules, enrich and alerts sections of a trawl.yaml
	cfg         *config.Config       // loaded from configFile, nil without it
	procs       []pipeline.Processor // the enrichment stage, opened by openEnrichment
	noRules     bool
	rules       *rules.Engine // streaming rules, nil with --no-rules
	lake        string        // --lake: a Parquet lake to write to
	sinks       []pipeline.Sink
	dbSet       bool // --db given explicitly (with --lake: both)
}

// openEnrichment opens the enrichment stage o.enrich describes into
// o.procs, saying once on stderr whether geo enrichment is on. The
// returned function closes it.
func (o *ingestOptions) openEnrichment(e *env) (func() error, error) {
	procs, closeFn, err := app.OpenEnrichment(o.enrich, func(msg string) {
		if !o.quiet {
			fmt.Fprintln(e.stderr, msg)
		}
	})
	if err != nil {
		return closeFn, &exitError{code: exitFailure, err: err}
	}
	o.procs = procs
	return closeFn, nil
}

func newIngestCmd(e *env) *cobra.Command {
	var o ingestOptions
	cmd := &cobra.Command{
		Use:   "ingest PATH... | s3://BUCKET/PREFIX... | -",
		Short: "Ingest CloudTrail, VPC Flow Log and GuardDuty files into the database",
		Long: `Ingest reads files, directories (recursively, in name order) and standard input
("-"), recognises each object's format and log type from its content, and
stores the records. Symbolic links are followed, never around a loop. A FIFO
named as a path is read like standard input; FIFOs, sockets and devices inside
directories are skipped with a notice. A path that cannot be read (missing, a
dangling link, a directory that cannot be listed) is reported and skipped,
and the rest is ingested.

s3://BUCKET/PREFIX reads every object under the prefix (in key order, listed
page by page as it goes), and may be mixed with local paths. Credentials come
from the AWS SDK's standard chain (AWS_ACCESS_KEY_ID..., AWS_PROFILE or
--profile, SSO, web identity, container and instance roles); the region from
--region, AWS_REGION or the profile; an S3-compatible server from --endpoint,
AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (path-style addressing is then used).
An object is known by s3://bucket/key and its ETag: unchanged objects are
skipped by the next run. Permissions: s3:ListBucket, s3:GetObject, and
kms:Decrypt for SSE-KMS objects (docs/collect-s3.md).

S3 prefixes are listed layout-aware: AWS's delivery layouts (CloudTrail,
digests, Insight, VPC flow logs, GuardDuty exports under AWSLogs/) are
found with delimiter listings, and every other key is listed plainly.
--since, --until, --accounts, --regions and --kinds select from those
layouts and list only what they select. The window follows the delivery
date and time in keys (UTC), widened by --margin on both sides; events are
not filtered by their own time. Keys outside the known layouts (kind
"other") have no date and are kept by a window. These filters apply only
to s3:// arguments: given with local paths only, they are a usage error;
local paths in the same command are read whole.

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

Ctrl-C (or SIGTERM) stops the ingest and keeps what was committed; when
reading only standard input or FIFOs, it ends their input and stores what was
read. A second Ctrl-C kills trawl at once.

Exit status: 0 everything ingested; 3 finished, but some input was
quarantined or some path or object could not be read (see the messages and
the quarantine table); 1 failed, or no path could be read; 2 bad usage (flags,
arguments, sizes); 130 interrupted (committed work is kept; run again to resume).`,
		Example: `  trawl ingest ./AWSLogs/
  trawl ingest --profile security s3://org-trail-bucket/AWSLogs/o-abc123/
  trawl ingest s3://trail-bucket/AWSLogs/ --since 2026-11-01 --until 2026-11-08 --accounts 111122223333 --regions eu-west-1,us-east-1
  trawl ingest s3://trail-bucket/AWSLogs/ --since 7d --kinds cloudtrail,guardduty
  trawl ingest --type vpcflow --vpc-format '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}' flows.log.gz
  aws s3 cp s3://bucket/AWSLogs/.../file.json.gz - | trawl ingest -`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.db, _ = cmd.Flags().GetString("db")
			o.dbSet = cmd.Flags().Changed("db")
			o.enrich.UserAgent = !o.noUA
			if o.configFile != "" {
				cfg, err := config.Load(o.configFile)
				if err != nil {
					var ce *config.Error
					if errors.As(err, &ce) {
						return &exitError{code: exitUsage, err: err}
					}
					return &exitError{code: exitFailure, err: err}
				}
				o.cfg = cfg
				// The file's enrich section, unless flags name databases.
				fl := cmd.Flags()
				if !fl.Changed("geoip-dir") && !fl.Changed("geoip-city") && !fl.Changed("geoip-country") && !fl.Changed("geoip-asn") {
					ua := o.enrich.UserAgent
					o.enrich = app.EnrichSettings(cfg.Enrich)
					o.enrich.UserAgent = ua && cfg.Enrich.UserAgent
				}
			}
			return runIngest(cmd.Context(), e, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.lake, "lake", "", "write to this Parquet lake (a directory or s3://bucket/prefix; docs/lake.md) instead of the database; with --db as well, to both")
	f.StringVar(&o.kind, "type", "auto", "log type: auto, cloudtrail, vpcflow or guardduty (records of other types are quarantined)")
	f.StringVar(&o.vpcFormat, "vpc-format", "", "flow-log format of lines without a header line, as an AWS LogFormat ('${version} ${account-id} ...')")
	f.StringVar(&o.maxRecord, "max-record-size", "32MiB", "largest record accepted; larger ones are quarantined (a size: 32MiB, 512KB, 1.5GiB; kB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024)")
	f.IntVar(&o.workers, "workers", 0, "objects decoded in parallel (default: number of CPUs)")
	f.BoolVar(&o.force, "force", false, "read objects again even if the ledger says they are ingested and unchanged")
	f.StringVar(&o.progress, "progress", "auto", "progress on stderr: auto (a live line on a terminal), always, plain (a line every 10s, for logs) or never")
	f.StringVar(&o.memoryLimit, "memory-limit", app.IngestMemoryLimit, "memory DuckDB may use, at least 16MiB (the whole process stays under about twice this)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only errors")
	f.BoolVar(&o.noRules, "no-rules", false, "do not run the built-in streaming rules on the records (docs/rules.md)")
	f.StringVarP(&o.configFile, "config", "c", "", "apply the rules, enrich and alerts sections of this trawl.yaml: your rule directories, overrides and watch list; GeoIP databases; alert routes (deliveries wait for trawl run)")
	f.IntVar(&o.txRows, "tx-rows", 0, "commit after this many rows (default 491520: four DuckDB row groups)")
	f.DurationVar(&o.txAge, "tx-age", 0, "commit at least this often (default 1m)")
	f.StringVar(&o.txBytes, "tx-bytes", "", "commit once a transaction holds this much record text (default 2GiB)")
	f.StringVar(&o.region, "region", "", "AWS region of s3:// inputs (default: AWS_REGION or the profile's)")
	f.StringVar(&o.profile, "profile", "", "AWS profile for s3:// inputs (default: AWS_PROFILE or the default profile)")
	f.StringVar(&o.endpoint, "endpoint", "", "S3-compatible endpoint URL for s3:// inputs (default: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL)")
	f.StringVar(&o.since, "since", "", "s3:// only: objects delivered from this time: a date (2026-11-01, UTC), an RFC 3339 time, or an age (7d or -7d: 7 days ago)")
	f.StringVar(&o.until, "until", "", "s3:// only: objects delivered before this time (exclusive; same forms as --since)")
	f.DurationVar(&o.margin, "margin", layout.DefaultMargin, "s3:// only: widen the --since/--until window by this much on both sides (delivery lags events; 0 for none, 6h to catch every GuardDuty export)")
	f.StringSliceVar(&o.accounts, "accounts", nil, "s3:// only: 12-digit account ids to read (comma-separated)")
	f.StringSliceVar(&o.regions, "regions", nil, "s3:// only: regions to read (comma-separated, such as eu-west-1,us-east-1)")
	f.StringVar(&o.enrich.GeoIPDir, "geoip-dir", "", "directory of GeoIP databases (GeoLite2-City.mmdb, GeoLite2-Country.mmdb, GeoLite2-ASN.mmdb) for geo enrichment (docs/enrich.md)")
	f.StringVar(&o.enrich.GeoIP.City, "geoip-city", "", "GeoIP City database (.mmdb); wins over --geoip-dir's")
	f.StringVar(&o.enrich.GeoIP.Country, "geoip-country", "", "GeoIP Country database (.mmdb); wins over --geoip-dir's")
	f.StringVar(&o.enrich.GeoIP.ASN, "geoip-asn", "", "GeoIP ASN database (.mmdb); wins over --geoip-dir's")
	f.BoolVar(&o.noUA, "no-user-agent", false, "do not classify CloudTrail user agents (ua_class, ua_family…)")
	f.StringSliceVar(&o.kinds, "kinds", nil, "s3:// only: layouts to read: "+strings.Join(layout.Kinds(), ", ")+" (comma-separated; other is every key outside the known layouts)")
	_ = f.MarkHidden("tx-rows")
	_ = f.MarkHidden("tx-bytes")
	_ = f.MarkHidden("tx-age")
	return cmd
}

// ingestReport is what an ingest did, for the summary.
type ingestReport struct {
	res        pipeline.Result
	notices    []string
	objects    int
	unreadable []error // paths that could not be read or listed
	rules      int     // streaming rules run (0: none)
	ruleHits   int64
}

// onlyStreams reports whether every object can be read only once.
func onlyStreams(objs []pipeline.Object) bool {
	for _, o := range objs {
		if !o.NoLedger {
			return false
		}
	}
	return true
}

func runIngest(ctx context.Context, e *env, o ingestOptions, paths []string) error {
	opt, err := o.decodeOptions()
	if err != nil {
		return err
	}
	memLimit, err := parseSizeFlag("memory-limit", o.memoryLimit, minMemoryLimit)
	if err != nil {
		return err
	}
	if o.txBytes != "" {
		if o.txBytesN, err = parseSizeFlag("tx-bytes", o.txBytes, 1); err != nil {
			return err
		}
	}
	var s3URLs []string
	paths, s3URLs = splitS3(paths)
	filter, filtered, err := o.s3Filter(time.Now())
	if err != nil {
		return err
	}
	if filtered && len(s3URLs) == 0 {
		return usageError("--since, --until, --margin, --accounts, --regions and --kinds apply only to s3:// arguments; local paths are read whole")
	}
	var srcs []pipeline.Source
	if len(s3URLs) > 0 {
		s3, err := s3Sources(ctx, o, s3URLs, filter, filtered)
		if err != nil {
			return err
		}
		srcs = s3
	}
	// Standard input and FIFOs end at the interrupt (ctx), as at the end of
	// their input.
	var list file.Listing
	if len(paths) > 0 {
		list = file.List(ctx, paths, e.stdin)
	}
	objs := list.Objects
	for _, p := range list.Problems {
		fmt.Fprintln(e.stderr, "trawl: skipped:", p)
	}
	if !o.quiet {
		for _, n := range list.Notices {
			fmt.Fprintln(e.stderr, n)
		}
	}
	if len(objs) == 0 && len(srcs) == 0 {
		if len(list.Problems) > 0 {
			return &exitError{code: exitFailure, err: errors.New("nothing to ingest: no path could be read")}
		}
		return &exitError{code: exitFailure, err: fmt.Errorf("no files found in %s", strings.Join(paths, ", "))}
	}
	// Inputs that can be read only once (stdin, FIFOs) cannot resume, so
	// when they are all there is, an interrupt only ends them and the
	// pipeline stores what was read; with files, it stops the pipeline,
	// which keeps what it committed and resumes the files next time.
	runCtx := ctx
	if len(srcs) == 0 && onlyStreams(objs) {
		runCtx = context.WithoutCancel(ctx)
	}
	closeEnrich, err := o.openEnrichment(e)
	if err != nil {
		return err
	}
	defer closeEnrich()
	st, sinks, dest, err := openIngestStore(ctx, o, memLimit)
	if err != nil {
		return err
	}
	defer st.Close()
	o.sinks = sinks
	src := pipeline.Objects(objs...)
	if len(srcs) > 0 {
		src = pipeline.Merge(append([]pipeline.Source{src}, srcs...)...)
	}
	if !o.noRules {
		if o.cfg != nil {
			if o.cfg.Rules.Enabled {
				if _, o.rules, err = app.Rules(o.cfg.Rules, func(file, reason string) {
					fmt.Fprintf(e.stderr, "trawl: rule %s not loaded: %s\n", file, reason)
				}); err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("%s: rules: %w", o.configFile, err)}
				}
			}
		} else if o.rules, err = packRules(e); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	}
	if o.cfg != nil {
		// Alerts get the file's suppression and routes: deliveries are
		// queued in the outbox with the alerts, and trawl run sends them.
		app.ConfigureAlerts(st, o.cfg.Alerts)
	}
	rep, err := ingestObjects(runCtx, e, st, src, o, opt)
	rep.unreadable = list.Problems
	if !o.quiet {
		printIngestSummary(e.stdout, dest, rep)
	}
	if ctx.Err() != nil {
		if runCtx != ctx && err == nil {
			return &exitError{code: exitInterrupted, err: errors.New("interrupted; the input read before the interrupt is stored")}
		}
		return &exitError{code: exitInterrupted, err: errors.New("interrupted; what was committed is kept, run the same command again to resume")}
	}
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if rep.res.ObjectsTotal == 0 && len(rep.res.Unlisted) == 0 && len(objs) == 0 {
		return &exitError{code: exitFailure, err: fmt.Errorf("no objects found in %s", strings.Join(append(paths, s3URLs...), ", "))}
	}
	if rep.res.Quarantined > 0 || len(rep.res.Failed) > 0 || len(rep.res.Unlisted) > 0 || len(rep.unreadable) > 0 {
		return &exitError{code: exitPartial}
	}
	return nil
}

// openIngestStore opens where an ingest writes: the database; or, with
// --lake, the lake instead (it holds the ledger), or with --db as well the
// database with the lake as a sink. dest names it for the summary.
func openIngestStore(ctx context.Context, o ingestOptions, memLimit int64) (st *app.Store, sinks []pipeline.Sink, dest string, err error) {
	if o.lake == "" {
		if st, err = app.Open(ctx, app.Options{DB: o.db, Mode: app.Ingest, MemoryLimit: fmt.Sprintf("%dB", memLimit)}); err != nil {
			return nil, nil, "", openFailure(err)
		}
		return st, nil, app.DescribeDB(o.db), nil
	}
	l, err := app.OpenLake(ctx, o.lake, 0, &config.AWS{Region: o.region, Profile: o.profile, Endpoint: o.endpoint})
	if err != nil {
		return nil, nil, "", &exitError{code: exitFailure, err: fmt.Errorf("lake %s: %w", o.lake, err)}
	}
	if !o.dbSet {
		return app.LakeStore(l, app.Ingest), nil, o.lake, nil
	}
	st, err = app.Open(ctx, app.Options{DB: o.db, Mode: app.Ingest, MemoryLimit: fmt.Sprintf("%dB", memLimit)})
	if err != nil {
		l.Close()
		return nil, nil, "", openFailure(err)
	}
	// The lake closes with the store.
	return st.WithCloser(l.Close), []pipeline.Sink{l.Sink()}, app.DescribeDB(o.db) + " and " + o.lake, nil
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
	n, err := parseSizeFlag("max-record-size", o.maxRecord, 1)
	if err != nil {
		return opt, err
	}
	opt.MaxRecordSize = int(n)
	return opt, nil
}

// ingestObjects runs the pipeline with a progress display.
func ingestObjects(ctx context.Context, e *env, st *app.Store, src pipeline.Source, o ingestOptions, opt decode.Options) (ingestReport, error) {
	var rep ingestReport
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
		Decode:  opt,
		Workers: o.workers,
		// Enrichment first (rules read its columns), then the streaming
		// rules, which append their hits to the batches.
		Processors: append(slices.Clip(o.procs), ruleProcessors(o.rules)...),
		Sinks:      o.sinks,
		Force:      o.force,
		TxRows:     o.txRows,
		TxBytes:    o.txBytesN,
		TxAge:      o.txAge,
		Progress:   bar.update,
		Notice: func(msg string) {
			rep.notices = append(rep.notices, msg)
			if !o.quiet {
				bar.println(msg)
			}
		},
	}
	res, err := st.Ingest(ctx, src, cfg)
	bar.finish()
	if err == nil {
		err = refreshRollups(ctx, e.stderr, st, o.quiet)
	}
	if shown > maxShownQuarantine && !o.quiet {
		fmt.Fprintf(e.stderr, "… and %d more quarantine entries\n", shown-maxShownQuarantine)
	}
	rep.res, rep.objects = res, res.ObjectsTotal
	if o.rules != nil {
		rep.rules, rep.ruleHits = o.rules.Rules(), o.rules.Hits()
	}
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
	if rep.rules > 0 {
		fmt.Fprintf(w, "rules: %d streaming rules matched %s times\n", rep.rules, humanize.Comma(rep.ruleHits))
	}
	var parts []string
	for _, k := range event.Kinds {
		if n := r.Records[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", humanize.Comma(n), kindNoun(k, n)))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no new records")
	}
	rate := ""
	if st := r.Stored(); st > 0 && r.Elapsed > 200*time.Millisecond {
		rate = fmt.Sprintf(" (%s records/s)", humanize.Comma(int64(float64(st)/secs)))
	}
	fmt.Fprintf(w, "  stored: %s%s\n", strings.Join(parts, ", "), rate)
	if r.Duplicates > 0 {
		fmt.Fprintf(w, "  duplicates skipped: %s (already stored)\n", humanize.Comma(r.Duplicates))
	}
	if r.Warnings > 0 {
		fmt.Fprintf(w, "  values stored as NULL or rewritten: %s (see: trawl query \"SELECT object, record, field, reason FROM ingest_warning ORDER BY warned_at DESC\")\n", humanize.Comma(r.Warnings))
	}
	if len(r.Unlisted) > 0 {
		fmt.Fprintf(w, "  could not be listed: %d\n", len(r.Unlisted))
	}
	if r.Quarantined > 0 {
		fmt.Fprintf(w, "  quarantined: %s (see: trawl query \"SELECT object, line, byte_offset, reason FROM quarantine ORDER BY quarantined_at DESC\")\n", humanize.Comma(r.Quarantined))
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
	if len(rep.unreadable) > 0 {
		fmt.Fprintf(w, "  skipped, could not be read or listed: %d\n", len(rep.unreadable))
		for i, err := range rep.unreadable {
			if i == 10 {
				fmt.Fprintf(w, "    … and %d more\n", len(rep.unreadable)-10)
				break
			}
			fmt.Fprintf(w, "    %s\n", err)
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

// parseSizeFlag parses the value of a size flag: a number with an optional
// unit, "32MiB", "512MB", "1.5GiB" or "1048576" (bytes), with SI (kB, MB:
// powers of 1000) and IEC units (KiB, MiB: powers of 1024), in any case.
// Values that are not sizes, smaller than least or too large for an int64
// are usage errors naming the flag.
func parseSizeFlag(flag, value string, least int64) (int64, error) {
	s := strings.TrimSpace(value)
	n, err := humanize.ParseBigBytes(s)
	switch {
	case err != nil || s == "":
		return 0, usageError("--%s %q: not a size; use a number with an optional unit, such as 32MiB, 512MB or 1.5GiB", flag, value)
	case !n.IsInt64():
		return 0, usageError("--%s %q: too large (at most %s bytes)", flag, value, humanize.Comma(math.MaxInt64))
	case n.Int64() < least:
		return 0, usageError("--%s %q: must be at least %s", flag, value, humanize.IBytes(uint64(least)))
	}
	return n.Int64(), nil
}

// splitS3 separates s3:// URLs from local paths.
func splitS3(args []string) (paths, urls []string) {
	for _, a := range args {
		if strings.HasPrefix(a, "s3://") {
			urls = append(urls, a)
		} else {
			paths = append(paths, a)
		}
	}
	return paths, urls
}

// s3Filter returns the layout filter of the S3 flags, and whether any of
// them was given. Bad values are usage errors naming the flag.
func (o ingestOptions) s3Filter(now time.Time) (layout.Filter, bool, error) {
	var f layout.Filter
	given := o.since != "" || o.until != "" || o.margin != layout.DefaultMargin ||
		len(o.accounts) > 0 || len(o.regions) > 0 || len(o.kinds) > 0
	var err error
	if f.Since, err = parseMomentFlag("since", o.since, now); err != nil {
		return f, given, err
	}
	if f.Until, err = parseMomentFlag("until", o.until, now); err != nil {
		return f, given, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return f, given, usageError("--until %q is not after --since %q: the window is empty", o.until, o.since)
	}
	switch {
	case o.margin < 0:
		return f, given, usageError("--margin %s: must not be negative", o.margin)
	case o.margin == 0:
		f.Margin = -1 // none
	default:
		f.Margin = o.margin
	}
	for _, a := range o.accounts {
		a = strings.TrimSpace(a)
		if len(a) != 12 || strings.Trim(a, "0123456789") != "" {
			return f, given, usageError("--accounts %q: not a 12-digit AWS account id", a)
		}
		f.Accounts = append(f.Accounts, a)
	}
	for _, r := range o.regions {
		r = strings.TrimSpace(r)
		if !regionRE.MatchString(r) {
			return f, given, usageError("--regions %q: not a region name (such as eu-west-1)", r)
		}
		f.Regions = append(f.Regions, r)
	}
	for _, k := range o.kinds {
		k = strings.ToLower(strings.TrimSpace(k))
		if !slices.Contains(layout.Kinds(), k) {
			return f, given, usageError("--kinds %q: use %s", k, strings.Join(layout.Kinds(), ", "))
		}
		f.Kinds = append(f.Kinds, k)
	}
	if err := f.Validate(); err != nil {
		return f, given, usageError("%v", err)
	}
	return f, given, nil
}

// regionRE matches AWS region names (us-east-1, us-gov-west-1, eu-central-2).
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// parseMomentFlag parses --since or --until: a date, an RFC 3339 time, or
// an age before now (7d or -7d). Empty is the zero time.
func parseMomentFlag(flag, value string, now time.Time) (time.Time, error) {
	if value == "" {
		return time.Time{}, nil
	}
	m, err := config.ParseMoment(value)
	if err != nil {
		d, derr := config.ParseDuration(value)
		if derr != nil || d <= 0 {
			return time.Time{}, usageError("--%s: %v", flag, err)
		}
		m = config.Moment{Ago: d}
	}
	return m.Resolve(now).UTC(), nil
}

// s3Sources returns a layout-aware listing source per s3:// URL, with one
// client: AWS's delivery layouts are listed as filter selects, every other
// key plainly.
func s3Sources(ctx context.Context, o ingestOptions, urls []string, filter layout.Filter, filtered bool) ([]pipeline.Source, error) {
	type loc struct{ bucket, prefix string }
	var locs []loc
	for _, u := range urls {
		b, p, err := s3src.ParseURL(u)
		if err != nil {
			return nil, usageError("%v", err)
		}
		if filtered && !isFolder(p) {
			return nil, usageError("%s: --since, --until, --accounts, --regions and --kinds need a folder prefix (ending in /)", u)
		}
		locs = append(locs, loc{b, p})
	}
	cfg, err := awsconf.Load(ctx, awsconf.Options{Region: o.region, Profile: o.profile, Endpoint: o.endpoint})
	if err != nil {
		return nil, &exitError{code: exitFailure, err: err}
	}
	c := s3src.New(awsconf.NewS3(cfg), s3src.Options{})
	var srcs []pipeline.Source
	for _, l := range locs {
		if isFolder(l.prefix) {
			srcs = append(srcs, c.Layout(l.bucket, l.prefix, filter))
		} else {
			// A key prefix (s3://b/logs/2026-11, a single object): every
			// key that starts with it, as before.
			srcs = append(srcs, c.List(l.bucket, l.prefix))
		}
	}
	return srcs, nil
}

// isFolder reports whether an S3 prefix names a folder (the bucket's root
// or a prefix ending in /), which the layout-aware listing walks.
func isFolder(prefix string) bool { return prefix == "" || strings.HasSuffix(prefix, "/") }
