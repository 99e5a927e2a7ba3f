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
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/awsconf"
	"github.com/trawl-project/trawl/internal/ledger"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
	s3src "github.com/trawl-project/trawl/internal/source/s3"
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
	aws        awsFlags
}

// awsFlags are the AWS connection flags of a command (as trawl ingest's).
type awsFlags struct {
	region, profile, endpoint string
}

func (a *awsFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&a.region, "region", "", "AWS region of the s3:// bucket (default: AWS_REGION or the profile's); not a filter (see --regions)")
	f.StringVar(&a.profile, "profile", "", "AWS profile (default: AWS_PROFILE or the default profile)")
	f.StringVar(&a.endpoint, "endpoint", "", "S3-compatible endpoint URL for s3:// (default: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL)")
}

func (a awsFlags) load(ctx context.Context) (aws.Config, error) {
	return awsconf.Load(ctx, awsconf.Options{Region: a.region, Profile: a.profile, Endpoint: a.endpoint})
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

Log files found not ingested are ingested into --db unless --dry-run, through
the same pipeline as trawl ingest (from s3://, the version verified: read by
its ETag), so that trawl ingest finds them done.

For s3://, credentials come from the AWS SDK's standard chain (environment,
AWS_PROFILE or --profile, SSO, web identity, container and instance roles);
the region from --region, AWS_REGION or the profile; an S3-compatible server
from --endpoint, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (path-style
addressing is then used). Permissions: s3:ListBucket, s3:GetObject, kms:Decrypt
for SSE-KMS, and cloudtrail:ListPublicKeys with --signatures.

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
	o.aws.add(cmd)
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
	var s3b *verify.S3
	var cfg aws.Config
	if strings.HasPrefix(src, "s3://") {
		name, prefix, err := s3src.ParseURL(src)
		if err != nil {
			return usageError("%v", err)
		}
		cfg, err = o.aws.load(ctx)
		if err != nil {
			return &exitError{code: exitUnverified, err: err}
		}
		s3b = verify.NewS3(awsconf.NewS3(cfg), name)
		// The versions read, to ingest the never-ingested ones.
		s3b.KeepVersions = !o.dryRun
		bucket = s3b
		opt.Prefix = prefix
		opt.LedgerName = func(key string) string { return s3src.URL(name, key) }
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
			c, err := o.aws.load(ctx)
			if errors.Is(err, awsconf.ErrNoRegion) {
				// ListPublicKeys is sent to each digest's own region.
				a := o.aws
				a.region = "us-east-1"
				c, err = a.load(ctx)
			}
			if err != nil {
				return &exitError{code: exitUnverified, err: fmt.Errorf("loading AWS configuration for cloudtrail:ListPublicKeys: %w", err)}
			}
			cfg = c
		}
		opt.PublicKeys = cloudTrailKeys(cfg, since, until)
	}

	// The ledger: written to when log files are to be ingested (without
	// --dry-run), read-only otherwise.
	ingest := !o.dryRun
	var st *app.Store
	switch {
	case ingest:
		st, err = app.Open(ctx, app.Options{DB: o.db, Mode: app.Ingest})
	case app.IsClickHouse(o.db) || fileExists(o.db):
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
		var src pipeline.Source
		var n int
		var skipped []error
		if dir != nil {
			src, n, skipped = dirSource(ctx, dir, rep)
		} else {
			src, n = s3Source(cfg, s3b, rep)
		}
		out.Ingested, ingestErr = ingestMissing(ctx, e, o, st, src, n, skipped, rep, opt.LedgerName)
	}
	out.OK = rep.OK()
	if o.format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		printVerify(e.stdout, out, o.db)
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

// notIngested returns the keys of the not-ingested problems.
func notIngested(rep *verify.Report) []string {
	var keys []string
	for _, p := range rep.Problems {
		if p.Kind == verify.NotIngested {
			keys = append(keys, p.Object)
		}
	}
	return keys
}

// dirSource returns the local files of the not-ingested log files, as
// trawl ingest lists them, their number, and the ones that could not be
// read.
func dirSource(ctx context.Context, dir *verify.Dir, rep *verify.Report) (pipeline.Source, int, []error) {
	var paths []string
	for _, k := range notIngested(rep) {
		paths = append(paths, dir.Path(k))
	}
	list := file.List(ctx, paths, nil)
	return pipeline.Objects(list.Objects...), len(list.Objects), list.Problems
}

// s3Source returns the not-ingested log files as the S3 source reads them,
// pinned to the version verify read (its ETag), and their number.
func s3Source(cfg aws.Config, b *verify.S3, rep *verify.Report) (pipeline.Source, int) {
	keys := notIngested(rep)
	c := s3src.New(awsconf.NewS3(cfg), s3src.Options{})
	next := func(ctx context.Context) (string, int64, string, error) {
		if len(keys) == 0 {
			return "", 0, "", io.EOF
		}
		k := keys[0]
		keys = keys[1:]
		// A key verify did not read has no ETag here: the source asks
		// HeadObject for it.
		size, etag, _ := b.Read(k)
		return k, size, etag, nil
	}
	return c.Keys(b.Bucket, next), len(keys)
}

// ingestMissing ingests the verified log files the ledger lacks (src, n
// objects; skipped could not be listed) through the same pipeline as trawl
// ingest, then drops the not-ingested problems of those it finished.
func ingestMissing(ctx context.Context, e *env, o verifyOptions, st *app.Store, src pipeline.Source, n int, skipped []error, rep *verify.Report, name func(string) string) ([]string, error) {
	for _, p := range skipped {
		fmt.Fprintln(e.stderr, "trawl: skipped:", p)
	}
	iopt := ingestOptions{db: o.db, maxRecord: "32MiB", progress: "auto", quiet: o.format == "json"}
	dopt, err := iopt.decodeOptions()
	if err != nil {
		return nil, err
	}
	irep, err := ingestObjects(ctx, e, st, src, iopt, dopt)
	irep.unreadable = skipped
	if o.format != "json" {
		fmt.Fprintf(e.stdout, "ingesting %d log files that verify but were never ingested:\n", n)
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

func printVerify(w io.Writer, out verifyOutput, db string) {
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
