// Package verify checks the completeness and integrity of CloudTrail log
// files from the digest files CloudTrail delivers with them: every log
// file a digest names must exist and hash to the value the digest
// records, every digest must be where the next one says and hash to the
// value it records, the newest digest of every chain must be recent, and,
// optionally, every digest's RSA signature must verify. With a ledger it
// also reports the log files that were never ingested.
//
// Hashes are over the uncompressed bytes, as AWS computes them: a log
// file's hashValue is the SHA-256 of the decompressed log file, and
// previousDigestHashValue the SHA-256 of the decompressed previous digest.
// The string a digest's signature signs is
//
//	digestEndTime + "\n" + digestS3Bucket + "/" + digestS3Object + "\n" +
//	hex(SHA-256(decompressed digest)) + "\n" + previousDigestSignature
//
// with "null" as the previous signature of a chain's first digest; the
// signature (hex, SHA256withRSA, PKCS#1 v1.5) is the object's
// x-amz-meta-signature, and the next digest repeats it as its
// previousDigestSignature.
package verify

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trawl-project/trawl/internal/ledger"
)

// Kind is a kind of problem.
type Kind string

// Problems Run reports.
const (
	// MissingLogFile: a digest names a log file the bucket does not hold.
	MissingLogFile Kind = "missing-log-file"
	// AlteredLogFile: the log file's SHA-256 differs from the digest's.
	AlteredLogFile Kind = "altered-log-file"
	// NotIngested: the log file verifies but the ledger has no done entry
	// for it.
	NotIngested Kind = "not-ingested"
	// MissingDigest: a digest names a previous digest that does not exist
	// (a gap in the chain: a digest was deleted).
	MissingDigest Kind = "missing-digest"
	// ChangedDigest: a digest's SHA-256 differs from the one the next
	// digest records, it is not valid digest JSON, or it is stored under
	// another key than the one it names as its own.
	ChangedDigest Kind = "changed-digest"
	// OverdueDigest: the newest digest of a chain ended more than
	// Options.MaxDelay before Until (digests come every hour; none came).
	OverdueDigest Kind = "overdue-digest"
	// BadSignature: a digest's signature does not verify, or its public
	// key cannot be found.
	BadSignature Kind = "bad-signature"
	// UnvouchedLogFile: a CloudTrail log file in the bucket that no digest
	// names, though it was delivered at least an hour inside the span the
	// digests of its account and region cover (a file added by someone
	// else than CloudTrail).
	UnvouchedLogFile Kind = "unvouched-log-file"
	// Unreadable: an object exists but could not be read (access denied,
	// a network error, a broken gzip stream).
	Unreadable Kind = "unreadable"
)

// Problem is one thing that does not verify.
type Problem struct {
	Kind Kind `json:"kind"`
	// Object is the key of the log file or digest concerned.
	Object string `json:"object"`
	// Digest is the digest that names Object (empty for a digest's own
	// problems and overdue chains).
	Digest string `json:"digest,omitempty"`
	Detail string `json:"detail"`
}

// Report is the outcome of Run.
type Report struct {
	Chains   int `json:"chains"`   // digest chains (trail, account, region) seen
	Digests  int `json:"digests"`  // digests in the time window, read and checked
	LogFiles int `json:"logFiles"` // distinct log files those digests name
	// Verified counts the log files that exist and hash as recorded.
	Verified int `json:"verified"`
	// Bytes and RawBytes are the log files' stored and decompressed sizes.
	Bytes    int64 `json:"bytes"`
	RawBytes int64 `json:"rawBytes"`
	// Signatures counts the digests whose signature verified.
	Signatures int `json:"signatures"`
	// Unsigned lists the digests whose signature could not be checked:
	// no x-amz-meta-signature (a local copy keeps no metadata) and no next
	// digest repeating it. Not a problem by itself.
	Unsigned []string `json:"unsigned,omitempty"`
	// Newest is the end of the newest digest seen.
	Newest   time.Time     `json:"newest,omitzero"`
	Problems []Problem     `json:"problems"`
	Elapsed  time.Duration `json:"elapsedNs"`
}

// OK reports whether everything verified.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Count returns the number of problems of a kind.
func (r *Report) Count(k Kind) int {
	n := 0
	for _, p := range r.Problems {
		if p.Kind == k {
			n++
		}
	}
	return n
}

// Ledger looks up ingest ledger entries by object name (a store's
// LedgerEntries).
type Ledger interface {
	LedgerEntries(ctx context.Context, objects []string) (map[string]ledger.Entry, error)
}

// Options select what Run checks.
type Options struct {
	// Prefix limits the listing (an S3 prefix, or a path relative to a Dir).
	Prefix string
	// Since and Until select the digests whose hour overlaps [Since,
	// Until]; zero Since means from the first, zero Until means now.
	Since, Until time.Time
	// Accounts and Regions, if set, limit the digests checked.
	Accounts, Regions []string
	// Signatures verifies each digest's signature with PublicKeys.
	Signatures bool
	// PublicKeys returns CloudTrail's public key of a fingerprint in a
	// region (cloudtrail:ListPublicKeys in that region: CloudTrail signs
	// with a key pair per region).
	PublicKeys func(ctx context.Context, region, fingerprint string) (*rsa.PublicKey, error)
	// Ledger, if set, is asked whether verified log files were ingested.
	Ledger Ledger
	// LedgerName maps a key to its ledger object name (s3://bucket/key or
	// a local file's absolute path); nil uses the key.
	LedgerName func(key string) string
	// MaxDelay is how old the newest digest of a chain may be at Until
	// before it is overdue; default 2h (digests come every hour).
	MaxDelay time.Duration
	// Workers read and hash objects in parallel; default GOMAXPROCS.
	Workers int
}

// DefaultMaxDelay is Options.MaxDelay's default.
const DefaultMaxDelay = 2 * time.Hour

const (
	digestDir    = "/CloudTrail-Digest/"
	digestMarker = "_CloudTrail-Digest_"
	stampLayout  = "20060102T150405Z"
)

// digestName is what a digest's key says of it.
type digestName struct {
	key      string
	chain    string // the key without the date directories and time stamp
	account  string
	region   string
	end      time.Time
	backfill bool
}

// parseDigestKey parses
// …/<acct>_CloudTrail-Digest_<region>_<trail>_<home-region>_<YYYYMMDDTHHMMSSZ>[_backfill].json.gz.
func parseDigestKey(key string) (digestName, bool) {
	base := path.Base(key)
	i := strings.Index(base, digestMarker)
	if i <= 0 {
		return digestName{}, false
	}
	n := digestName{key: key, account: base[:i]}
	rest := strings.TrimSuffix(strings.TrimSuffix(base, ".gz"), ".json")
	if r, ok := strings.CutSuffix(rest, "_backfill"); ok {
		rest, n.backfill = r, true
	}
	j := strings.LastIndexByte(rest, '_')
	if j < 0 {
		return digestName{}, false
	}
	t, err := time.Parse(stampLayout, rest[j+1:])
	if err != nil {
		return digestName{}, false
	}
	n.end = t
	after := rest[i+len(digestMarker) : j]
	n.region, _, _ = strings.Cut(after, "_")
	dir := ""
	if k := strings.Index(key, digestDir); k >= 0 {
		dir = key[:k]
	}
	n.chain = dir + "|" + rest[:j]
	return n, true
}

// logName is what a CloudTrail log file's key says of it.
type logName struct {
	key, dir, account, region string
	at                        time.Time
}

const (
	logDir    = "/CloudTrail/"
	logMarker = "_CloudTrail_"
)

// parseLogKey parses …/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<random>.json.gz.
func parseLogKey(key string) (logName, bool) {
	k := strings.Index(key, logDir)
	base := path.Base(key)
	i := strings.Index(base, logMarker)
	if k < 0 || i <= 0 {
		return logName{}, false
	}
	parts := strings.Split(base[i+len(logMarker):], "_")
	if len(parts) < 3 {
		return logName{}, false
	}
	t, err := time.Parse("20060102T1504Z", parts[1])
	if err != nil {
		return logName{}, false
	}
	return logName{key: key, dir: key[:k], account: base[:i], region: parts[0], at: t}, true
}

// digestFile is a digest's JSON.
type digestFile struct {
	AccountID               string  `json:"awsAccountId"`
	DigestEndTime           string  `json:"digestEndTime"`
	DigestS3Bucket          string  `json:"digestS3Bucket"`
	DigestS3Object          string  `json:"digestS3Object"`
	PublicKeyFingerprint    string  `json:"digestPublicKeyFingerprint"`
	SignatureAlgorithm      string  `json:"digestSignatureAlgorithm"`
	PreviousDigestS3Object  *string `json:"previousDigestS3Object"`
	PreviousDigestHashValue *string `json:"previousDigestHashValue"`
	PreviousDigestSignature *string `json:"previousDigestSignature"`
	LogFiles                []struct {
		S3Object  string `json:"s3Object"`
		HashValue string `json:"hashValue"`
	} `json:"logFiles"`
}

// digest is a digest read from the bucket.
type digest struct {
	name  digestName
	key   string
	err   error // reading it
	bad   string
	hash  string // hex SHA-256 of the decompressed bytes
	meta  map[string]string
	f     digestFile
	strip string // what to remove from the keys it names to find them here
	extra bool   // outside the window, read because the next digest names it
}

// Run verifies the CloudTrail log files in bucket from their digests.
// Problems found are in the report; an error means the check could not
// be done (the bucket could not be listed, the ledger not read).
func Run(ctx context.Context, bucket Bucket, opt Options) (*Report, error) {
	start := time.Now()
	if opt.Until.IsZero() {
		opt.Until = start
	}
	if opt.MaxDelay <= 0 {
		opt.MaxDelay = DefaultMaxDelay
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.Signatures && opt.PublicKeys == nil {
		return nil, errors.New("verifying signatures needs a source of public keys")
	}
	name := opt.LedgerName
	if name == nil {
		name = func(k string) string { return k }
	}
	rep := &Report{Problems: []Problem{}}
	add := func(p Problem) { rep.Problems = append(rep.Problems, p) }

	// 1. The digests, by chain, from the listing.
	chains := map[string][]digestName{}
	var listed []logName
	err := bucket.List(ctx, opt.Prefix, func(key string, _ int64) error {
		n, ok := parseDigestKey(key)
		if !ok {
			if l, ok := parseLogKey(key); ok &&
				(len(opt.Accounts) == 0 || slices.Contains(opt.Accounts, l.account)) &&
				(len(opt.Regions) == 0 || slices.Contains(opt.Regions, l.region)) {
				listed = append(listed, l)
			}
			return nil
		}
		if len(opt.Accounts) > 0 && !slices.Contains(opt.Accounts, n.account) {
			return nil
		}
		if len(opt.Regions) > 0 && !slices.Contains(opt.Regions, n.region) {
			return nil
		}
		chains[n.chain] = append(chains[n.chain], n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var selected, after []digestName
	for _, ds := range chains {
		slices.SortFunc(ds, func(a, b digestName) int { return a.end.Compare(b.end) })
		newest := time.Time{}
		last := -1
		for i, d := range ds {
			if !d.backfill && d.end.After(newest) {
				newest = d.end
			}
			if !opt.Since.IsZero() && !d.end.After(opt.Since) {
				continue
			}
			if d.end.Add(-time.Hour).After(opt.Until) {
				continue
			}
			selected = append(selected, d)
			if !d.backfill {
				last = i
			}
		}
		// The digest after the window vouches for the last one in it
		// (its hash and, in a local copy, its signature).
		if last >= 0 {
			for _, d := range ds[last+1:] {
				if !d.backfill {
					after = append(after, d)
					break
				}
			}
		}
		if newest.After(rep.Newest) {
			rep.Newest = newest
		}
		if !newest.IsZero() && newest.Before(opt.Until.Add(-opt.MaxDelay)) {
			add(Problem{Kind: OverdueDigest, Object: ds[len(ds)-1].key,
				Detail: fmt.Sprintf("the newest digest of this chain ended at %s, %s before %s; CloudTrail delivers one every hour", newest.Format(time.RFC3339), opt.Until.Sub(newest).Round(time.Minute), opt.Until.Format(time.RFC3339))})
		}
	}
	rep.Chains = len(chains)
	slices.SortFunc(selected, func(a, b digestName) int { return strings.Compare(a.key, b.key) })
	rep.Digests = len(selected)

	// 2. Read the digests.
	digests := make([]*digest, len(selected))
	parallel(ctx, opt.Workers, len(selected), func(i int) {
		digests[i] = readDigest(ctx, bucket, selected[i])
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	afterDigests := make([]*digest, len(after))
	parallel(ctx, opt.Workers, len(after), func(i int) {
		afterDigests[i] = readDigest(ctx, bucket, after[i])
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	byKey := make(map[string]*digest, len(digests))
	for _, d := range digests {
		byKey[d.key] = d
	}
	// The digests named as previous that are outside the window.
	var extra []*digest
	for _, d := range append(digests[:len(digests):len(digests)], afterDigests...) {
		if p := d.previous(); p != "" && byKey[p] == nil {
			n, _ := parseDigestKey(p)
			n.key = p
			e := &digest{name: n, key: p, extra: true}
			byKey[p] = e
			extra = append(extra, e)
		}
	}
	parallel(ctx, opt.Workers, len(extra), func(i int) {
		*extra[i] = *readDigest(ctx, bucket, extra[i].name)
		extra[i].extra = true
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// 3. Each digest, its place in the chain and its signature.
	next := map[string]*digest{} // previous digest's key → the digest naming it
	for _, d := range append(digests[:len(digests):len(digests)], afterDigests...) {
		if p := d.previous(); p != "" {
			next[p] = d
		}
	}
	// The link from a digest to its previous one.
	link := func(d *digest) {
		p := d.previous()
		if p == "" {
			return
		}
		prev := byKey[p]
		switch {
		case errors.Is(prev.err, fs.ErrNotExist):
			add(Problem{Kind: MissingDigest, Object: p, Digest: d.key, Detail: "the previous digest this digest names does not exist: a gap in the chain"})
		case prev.err != nil:
			if prev.extra {
				add(Problem{Kind: Unreadable, Object: p, Digest: d.key, Detail: prev.err.Error()})
			}
		case prev.bad != "":
			if prev.extra {
				add(Problem{Kind: ChangedDigest, Object: p, Digest: d.key, Detail: prev.bad})
			}
		case d.f.PreviousDigestHashValue == nil || !strings.EqualFold(prev.hash, *d.f.PreviousDigestHashValue):
			want := "none"
			if d.f.PreviousDigestHashValue != nil {
				want = *d.f.PreviousDigestHashValue
			}
			add(Problem{Kind: ChangedDigest, Object: p, Digest: d.key, Detail: fmt.Sprintf("its SHA-256 is %s, the next digest records %s", prev.hash, want)})
		}
	}
	for _, a := range afterDigests {
		if a.err == nil && a.bad == "" {
			link(a)
		}
	}
	keys := map[string]*rsa.PublicKey{}
	for _, d := range digests {
		switch {
		case errors.Is(d.err, fs.ErrNotExist):
			add(Problem{Kind: MissingDigest, Object: d.key, Detail: "listed but gone when read"})
			continue
		case d.err != nil:
			add(Problem{Kind: Unreadable, Object: d.key, Detail: d.err.Error()})
			continue
		case d.bad != "":
			add(Problem{Kind: ChangedDigest, Object: d.key, Detail: d.bad})
			continue
		}
		link(d)
		if opt.Signatures {
			checkSignature(ctx, d, next[d.key], opt, keys, rep)
		}
	}

	// 4. The log files.
	type logFile struct {
		key, digest, hash string
		err               error
		sum               string
		bytes, raw        int64
	}
	var logs []*logFile
	seen := map[string]bool{}
	for _, d := range digests {
		if d.err != nil || d.bad != "" {
			continue
		}
		for _, lf := range d.f.LogFiles {
			k := strings.TrimPrefix(lf.S3Object, d.strip)
			if seen[k] {
				continue
			}
			seen[k] = true
			logs = append(logs, &logFile{key: k, digest: d.key, hash: lf.HashValue})
		}
	}
	rep.LogFiles = len(logs)
	parallel(ctx, opt.Workers, len(logs), func(i int) {
		l := logs[i]
		l.sum, l.bytes, l.raw, l.err = hashObject(ctx, bucket, l.key)
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Log files no digest names, well inside the span the digests of their
	// account and region cover.
	type span struct{ from, to time.Time }
	spans := map[string]span{}
	for _, d := range digests {
		if d.err != nil || d.bad != "" || d.name.backfill {
			continue
		}
		k := d.name.chain[:strings.IndexByte(d.name.chain, '|')] + "|" + d.name.region
		sp, ok := spans[k]
		if !ok || d.name.end.Add(-time.Hour).Before(sp.from) {
			sp.from = d.name.end.Add(-time.Hour)
		}
		if d.name.end.After(sp.to) {
			sp.to = d.name.end
		}
		spans[k] = sp
	}
	for _, l := range listed {
		sp, ok := spans[l.dir+"|"+l.region]
		if ok && !seen[l.key] && l.at.After(sp.from.Add(time.Hour)) && l.at.Before(sp.to.Add(-time.Hour)) {
			add(Problem{Kind: UnvouchedLogFile, Object: l.key, Detail: fmt.Sprintf("delivered at %s, but no digest of its account and region names it", l.at.Format("2006-01-02T15:04Z"))})
		}
	}

	var names []string
	for _, l := range logs {
		rep.Bytes += l.bytes
		rep.RawBytes += l.raw
		switch {
		case errors.Is(l.err, fs.ErrNotExist):
		case l.err != nil:
			add(Problem{Kind: Unreadable, Object: l.key, Digest: l.digest, Detail: l.err.Error()})
			continue
		case !strings.EqualFold(l.sum, l.hash):
			add(Problem{Kind: AlteredLogFile, Object: l.key, Digest: l.digest, Detail: fmt.Sprintf("its SHA-256 is %s, the digest records %s", l.sum, l.hash)})
			continue
		default:
			rep.Verified++
		}
		names = append(names, name(l.key))
	}
	var entries map[string]ledger.Entry
	if opt.Ledger != nil {
		entries, err = opt.Ledger.LedgerEntries(ctx, names)
		if err != nil {
			return nil, fmt.Errorf("reading the ingest ledger: %w", err)
		}
	}
	for _, l := range logs {
		e, ok := entries[name(l.key)]
		done := ok && e.Status == ledger.StatusDone
		switch {
		case errors.Is(l.err, fs.ErrNotExist):
			detail := "named by a digest but not in the bucket"
			if done {
				detail += " (it was ingested before: the database holds its records)"
			}
			add(Problem{Kind: MissingLogFile, Object: l.key, Digest: l.digest, Detail: detail})
		case l.err != nil || !strings.EqualFold(l.sum, l.hash):
		case opt.Ledger != nil && !done:
			detail := "no ledger entry"
			if ok {
				detail = "ledger status " + e.Status
			}
			add(Problem{Kind: NotIngested, Object: l.key, Digest: l.digest, Detail: detail})
		}
	}
	slices.SortStableFunc(rep.Problems, func(a, b Problem) int {
		if c := strings.Compare(string(a.Kind), string(b.Kind)); c != 0 {
			return c
		}
		return strings.Compare(a.Object, b.Object)
	})
	slices.Sort(rep.Unsigned)
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// previous returns the key here of the digest d names as its previous.
func (d *digest) previous() string {
	if d.err != nil || d.bad != "" || d.f.PreviousDigestS3Object == nil || *d.f.PreviousDigestS3Object == "" {
		return ""
	}
	return strings.TrimPrefix(*d.f.PreviousDigestS3Object, d.strip)
}

// readDigest reads, hashes and parses a digest.
func readDigest(ctx context.Context, b Bucket, n digestName) *digest {
	d := &digest{name: n, key: n.key}
	rc, meta, err := b.Get(ctx, n.key)
	if err != nil {
		d.err = err
		return d
	}
	defer rc.Close()
	d.meta = meta
	data, err := readAll(rc)
	if err != nil {
		var ge gzipError
		if errors.As(err, &ge) {
			d.bad = "not a gzip file: " + err.Error()
		} else {
			d.err = err
		}
		return d
	}
	sum := sha256.Sum256(data)
	d.hash = hex.EncodeToString(sum[:])
	if err := json.Unmarshal(data, &d.f); err != nil {
		d.bad = "not a digest file: " + err.Error()
		return d
	}
	obj := d.f.DigestS3Object
	switch {
	case obj == d.key:
	case strings.HasSuffix(obj, "/"+d.key):
		d.strip = strings.TrimSuffix(obj, d.key)
	default:
		d.bad = fmt.Sprintf("it names itself %s: another digest stored in its place", obj)
	}
	return d
}

// gzipError marks a broken gzip stream.
type gzipError struct{ err error }

func (e gzipError) Error() string { return e.err.Error() }

// readAll reads an object, decompressing it when it is gzip.
func readAll(r io.Reader) ([]byte, error) {
	var b bytes.Buffer
	_, err := decompressTo(&b, r, nil)
	return b.Bytes(), err
}

// decompressTo copies r, decompressed when it starts with gzip's magic
// bytes, to w, and returns the decompressed size; stored counts the bytes
// read from r when not nil.
func decompressTo(w io.Writer, r io.Reader, stored *int64) (int64, error) {
	cr := &countReader{r: r}
	br := bufio.NewReaderSize(cr, 64<<10)
	defer func() {
		if stored != nil {
			*stored = cr.n
		}
	}()
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, gzipError{err}
		}
		n, err := io.Copy(w, zr)
		if err != nil && !cr.failed {
			return n, gzipError{err}
		}
		return n, err
	}
	return io.Copy(w, br)
}

// countReader counts bytes and remembers whether the underlying reader
// failed (to tell I/O errors from broken gzip).
type countReader struct {
	r      io.Reader
	n      int64
	failed bool
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.failed = true
	}
	return n, err
}

// hashObject returns the hex SHA-256 of an object's decompressed bytes,
// and its stored and decompressed sizes.
func hashObject(ctx context.Context, b Bucket, key string) (string, int64, int64, error) {
	rc, _, err := b.Get(ctx, key)
	if err != nil {
		return "", 0, 0, err
	}
	defer rc.Close()
	h := sha256.New()
	var stored int64
	raw, err := decompressTo(h, rc, &stored)
	if err != nil {
		return "", stored, raw, err
	}
	return hex.EncodeToString(h.Sum(nil)), stored, raw, nil
}

// checkSignature verifies a digest's signature: the object's metadata, or
// failing that the next digest's previousDigestSignature.
func checkSignature(ctx context.Context, d, next *digest, opt Options, keys map[string]*rsa.PublicKey, rep *Report) {
	sig := metadata(d.meta, "signature")
	var chained string
	if next != nil && next.err == nil && next.bad == "" && next.f.PreviousDigestSignature != nil {
		chained = *next.f.PreviousDigestSignature
	}
	if sig != "" && chained != "" && !strings.EqualFold(sig, chained) {
		rep.Problems = append(rep.Problems, Problem{Kind: BadSignature, Object: next.key, Digest: d.key, Detail: "its previousDigestSignature differs from the previous digest's x-amz-meta-signature"})
	}
	if sig == "" {
		sig = chained
	}
	if sig == "" {
		rep.Unsigned = append(rep.Unsigned, d.key)
		return
	}
	bad := func(detail string) {
		rep.Problems = append(rep.Problems, Problem{Kind: BadSignature, Object: d.key, Detail: detail})
	}
	if a := d.f.SignatureAlgorithm; a != "" && a != "SHA256withRSA" {
		bad("unknown signature algorithm " + a)
		return
	}
	fp := d.f.PublicKeyFingerprint
	pub, ok := keys[d.name.region+"/"+fp]
	if !ok {
		var err error
		pub, err = opt.PublicKeys(ctx, d.name.region, fp)
		if err != nil {
			pub = nil
			bad(fmt.Sprintf("public key %s: %v", fp, err))
		}
		keys[d.name.region+"/"+fp] = pub
		if err != nil {
			return
		}
	}
	if pub == nil {
		bad(fmt.Sprintf("no public key %s", fp))
		return
	}
	raw, err := hex.DecodeString(sig)
	if err != nil {
		bad("the signature is not hex")
		return
	}
	prev := "null"
	if d.f.PreviousDigestSignature != nil {
		prev = *d.f.PreviousDigestSignature
	}
	toSign := d.f.DigestEndTime + "\n" + d.f.DigestS3Bucket + "/" + d.f.DigestS3Object + "\n" + d.hash + "\n" + prev
	h := sha256.Sum256([]byte(toSign))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], raw); err != nil {
		bad("the signature does not verify with public key " + fp)
		return
	}
	rep.Signatures++
}

// metadata looks a metadata key up in any case, with or without the
// x-amz-meta- prefix.
func metadata(m map[string]string, key string) string {
	for k, v := range m {
		k = strings.ToLower(k)
		if k == key || k == "x-amz-meta-"+key {
			return v
		}
	}
	return ""
}

// parallel runs fn(0…n-1) on workers goroutines, until ctx is done.
func parallel(ctx context.Context, workers, n int, fn func(i int)) {
	var wg sync.WaitGroup
	idx := make(chan int)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				fn(i)
			}
		}()
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		idx <- i
	}
	close(idx)
	wg.Wait()
}
