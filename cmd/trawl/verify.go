package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/ledger"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/verify"
)

// exitUnverified: the check itself could not be done (the bucket could
// not be listed, the database not opened, the ingest failed).
const exitUnverified = 4

type verifyOptions struct {
	db         string
	since      string
	until      string
	accounts   []string
	regions    []string
	signatures bool
	dryRun     bool
	format     string
	maxDelay   time.Duration
	workers    int
}

func newVerifyCmd(e *env) *cobra.Command {
	var o verifyOptions
	cmd := &cobra.Command{
		Use:   "verify PATH | s3://BUCKET[/PREFIX]",
		Short: "Verify CloudTrail log files against their digest files: missing, altered, never ingested",
		Long: `Verify reads the CloudTrail digest files in a bucket, or in a local copy of one
(aws s3 sync), and checks what they vouch for:

  missing-log-file   a log file a digest names is not in the bucket
  altered-log-file   a log file's SHA-256 (of its decompressed bytes) differs from the digest's
  not-ingested       a log file verifies but the database's ledger has no finished ingest of it
  unvouched-log-file a log file in the bucket no digest names, delivered an hour or more inside
                     the span its account's and region's digests cover (added by someone else)
  missing-digest     a digest names a previous digest that does not exist (a gap in the chain)
  changed-digest     a digest's SHA-256 differs from what the next digest records, or it is
                     not a digest, or it is stored under another key than it names
  overdue-digest     the newest digest of a chain ended more than --max-delay before --until
  bad-signature      with --signatures: a digest's RSA signature does not verify
  unreadable         an object exists but could not be read

Log files found not ingested are ingested into --db, for a local directory,
unless --dry-run (from S3 they are listed: ingesting from S3 comes with the S3
source).

Signatures are read from the digests' x-amz-meta-signature metadata, or, for a
local copy (which keeps no metadata), from the next digest's
previousDigestSignature; public keys come from cloudtrail:ListPublicKeys in
each digest's region.

Exit status: 0 everything verified; 1 problems were found (see the report);
2 bad usage; 4 the check could not be done (the bucket could not be listed,
the database not read, the ingest failed); 130 interrupted.`,
		Example: `  trawl verify ./trawl-demo --since 2026-11-02 --until 2026-11-05
  trawl verify s3://org-trail-bucket/AWSLogs/o-a1b2c3d4e5/ --accounts 111122223333 --regions us-east-1 --signatures
  trawl verify --dry-run --format json ./AWSLogs`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.db, _ = cmd.Flags().GetString("db")
			return runVerify(cmd.Context(), e, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.since, "since", "", "check digests ending after this time: RFC 3339, a date (2026-11-02) or a duration before --until (24h)")
	f.StringVar(&o.until, "until", "", "check digests up to this time (default now); digests are overdue relative to it")
	f.StringSliceVar(&o.accounts, "accounts", nil, "only these account ids (comma-separated)")
	f.StringSliceVar(&o.regions, "regions", nil, "only these regions (comma-separated)")
	f.BoolVar(&o.signatures, "signatures", false, "verify the digests' RSA signatures (public keys from cloudtrail:ListPublicKeys)")
	f.BoolVar(&o.dryRun, "dry-run", false, "do not ingest the log files found not ingested; only list them")
	f.StringVarP(&o.format, "format", "f", "text", "output: text or json")
	f.DurationVar(&o.maxDelay, "max-delay", verify.DefaultMaxDelay, "a chain whose newest digest is older than this at --until is overdue")
	f.IntVar(&o.workers, "workers", 0, "objects read and hashed in parallel (default: number of CPUs)")
	return cmd
}

// parseTime parses a --since or --until value; rel is what a duration
// counts back from.
func parseTime(flag, v string, rel time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return rel.Add(-d).UTC(), nil
	}
	return time.Time{}, usageError("--%s %q: use a time (2026-11-02T15:04:05Z), a date (2026-11-02) or a duration (24h)", flag, v)
}

// verifyOutput is the JSON output: the report, and what verify did about it.
type verifyOutput struct {
	OK     bool   `json:"ok"`
	Source string `json:"source"`
	*verify.Report
	// Ingested lists the log files ingested by this run (they were
	// not-ingested problems, and are no longer).
	Ingested []string `json:"ingested"`
	// LogFilesPerSecond is the verification speed, hashing included.
	LogFilesPerSecond float64 `json:"logFilesPerSecond"`
}

func runVerify(ctx context.Context, e *env, o verifyOptions, src string) error {
	if o.format != "text" && o.format != "json" {
		return usageError("--format %q: use text or json", o.format)
	}
	now := time.Now().UTC()
	until, err := parseTime("until", o.until, now)
	if err != nil {
		return err
	}
	if until.IsZero() {
		until = now
	}
	since, err := parseTime("since", o.since, until)
	if err != nil {
		return err
	}
	if !since.IsZero() && since.After(until) {
		return usageError("--since %s is after --until %s", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	opt := verify.Options{Since: since, Until: until, Accounts: o.accounts, Regions: o.regions,
		Signatures: o.signatures, MaxDelay: o.maxDelay, Workers: o.workers}

	var bucket verify.Bucket
	var dir *verify.Dir
	var cfg aws.Config
	if rest, ok := strings.CutPrefix(src, "s3://"); ok {
		name, prefix, _ := strings.Cut(rest, "/")
		if name == "" {
			return usageError("%q: no bucket name", src)
		}
		client, c, err := newS3Client(ctx)
		if err != nil {
			return &exitError{code: exitUnverified, err: err}
		}
		cfg = c
		bucket = verify.NewS3(client, name)
		opt.Prefix = prefix
		opt.LedgerName = func(key string) string { return "s3://" + name + "/" + key }
	} else {
		info, err := os.Stat(src)
		if err != nil {
			return &exitError{code: exitUnverified, err: err}
		}
		if !info.IsDir() {
			return usageError("%s: not a directory (verify a local copy of a bucket, or s3://bucket/prefix)", src)
		}
		dir = &verify.Dir{Root: src}
		bucket = *dir
		opt.LedgerName = func(key string) string { return absPath(dir.Path(key)) }
	}
	if o.signatures {
		if dir != nil {
			c, err := config.LoadDefaultConfig(ctx)
			if err != nil {
				return &exitError{code: exitUnverified, err: fmt.Errorf("loading AWS configuration for cloudtrail:ListPublicKeys: %w", err)}
			}
			cfg = c
		}
		opt.PublicKeys = cloudTrailKeys(cfg, since, until)
	}

	// The ledger: written to when log files are to be ingested (a local
	// directory without --dry-run), read-only otherwise.
	ingest := dir != nil && !o.dryRun
	var st *app.Store
	switch {
	case ingest:
		st, err = app.Open(ctx, app.Options{DB: o.db, Mode: app.Ingest})
	case fileExists(o.db):
		st, err = app.Open(ctx, app.Options{DB: o.db, Mode: app.Query})
	}
	if err != nil {
		return openFailure(err)
	}
	if st != nil {
		defer st.Close()
		opt.Ledger = st
	} else {
		opt.Ledger = emptyLedger{}
	}

	rep, err := verify.Run(ctx, bucket, opt)
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: exitInterrupted, err: errors.New("interrupted")}
		}
		return &exitError{code: exitUnverified, err: err}
	}
	out := verifyOutput{Source: src, Report: rep, Ingested: []string{}}
	if secs := rep.Elapsed.Seconds(); secs > 0 {
		out.LogFilesPerSecond = float64(rep.LogFiles) / secs
	}
	var ingestErr error
	if ingest && rep.Count(verify.NotIngested) > 0 {
		out.Ingested, ingestErr = ingestMissing(ctx, e, o, st, dir, rep, opt.LedgerName)
	}
	out.OK = rep.OK()
	if o.format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		printVerify(e.stdout, out, dir == nil && !o.dryRun, o.db)
	}
	switch {
	case ctx.Err() != nil:
		return &exitError{code: exitInterrupted, err: errors.New("interrupted")}
	case ingestErr != nil:
		return &exitError{code: exitUnverified, err: fmt.Errorf("ingesting the log files not ingested: %w", ingestErr)}
	case !rep.OK():
		return &exitError{code: exitFailure}
	}
	return nil
}

// ingestMissing ingests the verified log files the ledger lacks through
// the same pipeline as trawl ingest, then drops the not-ingested problems
// of those it finished.
func ingestMissing(ctx context.Context, e *env, o verifyOptions, st *app.Store, dir *verify.Dir, rep *verify.Report, name func(string) string) ([]string, error) {
	var paths []string
	for _, p := range rep.Problems {
		if p.Kind == verify.NotIngested {
			paths = append(paths, dir.Path(p.Object))
		}
	}
	list := file.List(ctx, paths, nil)
	for _, p := range list.Problems {
		fmt.Fprintln(e.stderr, "trawl: skipped:", p)
	}
	iopt := ingestOptions{db: o.db, maxRecord: "32MiB", progress: "auto", quiet: o.format == "json"}
	dopt, err := iopt.decodeOptions()
	if err != nil {
		return nil, err
	}
	irep, err := ingestObjects(ctx, e, st, pipeline.Objects(list.Objects...), iopt, dopt)
	if o.format != "json" {
		fmt.Fprintf(e.stdout, "ingesting %d log files that verify but were never ingested:\n", len(list.Objects))
		printIngestSummary(e.stdout, o.db, irep)
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range rep.Problems {
		if p.Kind == verify.NotIngested {
			names = append(names, name(p.Object))
		}
	}
	entries, err := st.LedgerEntries(ctx, names)
	if err != nil {
		return nil, err
	}
	var done []string
	kept := rep.Problems[:0]
	for _, p := range rep.Problems {
		if p.Kind == verify.NotIngested && entries[name(p.Object)].Status == ledger.StatusDone {
			done = append(done, p.Object)
			continue
		}
		kept = append(kept, p)
	}
	rep.Problems = kept
	return done, nil
}

func printVerify(w io.Writer, out verifyOutput, s3NoIngest bool, db string) {
	r := out.Report
	fmt.Fprintf(w, "verified %s: %d digests in %d chains, %s of %s log files intact (%s, %s decompressed) in %s",
		out.Source, r.Digests, r.Chains, humanize.Comma(int64(r.Verified)), humanize.Comma(int64(r.LogFiles)),
		humanize.IBytes(uint64(r.Bytes)), humanize.IBytes(uint64(r.RawBytes)), r.Elapsed.Round(time.Millisecond))
	if out.LogFilesPerSecond > 0 && r.Elapsed > 100*time.Millisecond {
		fmt.Fprintf(w, " (%s log files/s)", humanize.Comma(int64(out.LogFilesPerSecond)))
	}
	fmt.Fprintln(w)
	if r.Signatures > 0 || len(r.Unsigned) > 0 {
		fmt.Fprintf(w, "  signatures verified: %d", r.Signatures)
		if len(r.Unsigned) > 0 {
			fmt.Fprintf(w, "; %d digests without a signature to check (a local copy keeps no metadata; the newest digest of a chain has no next digest repeating it)", len(r.Unsigned))
		}
		fmt.Fprintln(w)
	}
	if !r.Newest.IsZero() {
		fmt.Fprintf(w, "  newest digest: %s\n", r.Newest.Format(time.RFC3339))
	}
	if len(out.Ingested) > 0 {
		fmt.Fprintf(w, "  ingested now into %s: %d log files that had never been ingested\n", db, len(out.Ingested))
	}
	if r.OK() {
		fmt.Fprintln(w, "OK: every log file the digests name is present, unaltered and ingested; the digest chains are complete")
		return
	}
	byKind := map[verify.Kind][]verify.Problem{}
	var kinds []string
	for _, p := range r.Problems {
		if byKind[p.Kind] == nil {
			kinds = append(kinds, string(p.Kind))
		}
		byKind[p.Kind] = append(byKind[p.Kind], p)
	}
	sort.Strings(kinds)
	fmt.Fprintf(w, "PROBLEMS: %d\n", len(r.Problems))
	for _, k := range kinds {
		ps := byKind[verify.Kind(k)]
		fmt.Fprintf(w, "  %s: %d\n", k, len(ps))
		for i, p := range ps {
			if i == 20 {
				fmt.Fprintf(w, "    … and %d more (--format json lists all)\n", len(ps)-20)
				break
			}
			fmt.Fprintf(w, "    %s: %s\n", p.Object, p.Detail)
			if p.Digest != "" {
				fmt.Fprintf(w, "      named by %s\n", p.Digest)
			}
		}
	}
	if s3NoIngest && r.Count(verify.NotIngested) > 0 {
		fmt.Fprintln(w, "  not ingested from S3: trawl cannot ingest from S3 yet (that comes with the S3 source); copy them locally (aws s3 sync) and run trawl verify or trawl ingest on the copy")
	}
}

// emptyLedger stands for a database that does not exist yet.
type emptyLedger struct{}

func (emptyLedger) LedgerEntries(context.Context, []string) (map[string]ledger.Entry, error) {
	return nil, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// newS3Client builds an S3 client from the default AWS configuration, with
// path-style addressing when an endpoint is set (AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL: MinIO, LocalStack, a test server).
// It will be replaced by internal/awsconf when that lands.
func newS3Client(ctx context.Context) (*s3.Client, aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, cfg, fmt.Errorf("loading AWS configuration: %w", err)
	}
	endpoint := os.Getenv("AWS_ENDPOINT_URL_S3")
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	})
	return client, cfg, nil
}

// cloudTrailKeys returns CloudTrail's public keys (cloudtrail:ListPublicKeys)
// of the window, per region, listed once per region.
func cloudTrailKeys(cfg aws.Config, since, until time.Time) func(ctx context.Context, region, fingerprint string) (*rsa.PublicKey, error) {
	var mu sync.Mutex
	cache := map[string]map[string]*rsa.PublicKey{}
	return func(ctx context.Context, region, fingerprint string) (*rsa.PublicKey, error) {
		mu.Lock()
		defer mu.Unlock()
		keys, ok := cache[region]
		if !ok {
			keys = map[string]*rsa.PublicKey{}
			client := cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.Region = region })
			in := &cloudtrail.ListPublicKeysInput{EndTime: aws.Time(until)}
			if !since.IsZero() {
				in.StartTime = aws.Time(since)
			}
			for {
				out, err := client.ListPublicKeys(ctx, in)
				if err != nil {
					return nil, fmt.Errorf("cloudtrail:ListPublicKeys in %s: %w", region, err)
				}
				for _, k := range out.PublicKeyList {
					pub, err := parseRSAPublicKey(k.Value)
					if err != nil {
						continue
					}
					keys[aws.ToString(k.Fingerprint)] = pub
				}
				if out.NextToken == nil {
					break
				}
				in.NextToken = out.NextToken
			}
			cache[region] = keys
		}
		pub := keys[fingerprint]
		if pub == nil {
			return nil, fmt.Errorf("cloudtrail:ListPublicKeys in %s lists no key with this fingerprint for %s – %s", region, since.Format(time.RFC3339), until.Format(time.RFC3339))
		}
		return pub, nil
	}
}

// parseRSAPublicKey parses a DER public key, PKCS#1 (as CloudTrail
// returns them) or PKIX.
func parseRSAPublicKey(der []byte) (*rsa.PublicKey, error) {
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}
