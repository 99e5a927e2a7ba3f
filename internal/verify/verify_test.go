package verify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/ledger"
)

// dataset is a generated bucket: two accounts, two regions, 6 hours.
type dataset struct {
	dir     string
	m       *gen.Manifest
	until   time.Time
	digests []string // keys, sorted
	logs    []string // CloudTrail log file keys, sorted
}

func generate(t testing.TB, key *rsa.PrivateKey, events int) *dataset {
	t.Helper()
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Attack = false
	cfg.Accounts = 2
	cfg.Regions = []string{"us-east-1", "eu-west-1"}
	cfg.Duration = 6 * time.Hour
	cfg.CloudTrailEvents = events
	cfg.FlowRecords, cfg.Findings = -1, -1
	cfg.DigestKey = key
	m, err := gen.Generate(context.Background(), dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ds := &dataset{dir: dir, m: m, until: cfg.Start.Add(cfg.Duration + time.Hour)}
	err = Dir{Root: dir}.List(context.Background(), "", func(key string, _ int64) error {
		switch {
		case strings.Contains(key, "/CloudTrail-Digest/"):
			ds.digests = append(ds.digests, key)
		case strings.Contains(key, "/CloudTrail/"):
			ds.logs = append(ds.logs, key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.digests) != m.DigestFiles || len(ds.logs) == 0 {
		t.Fatalf("%d digests listed, %d written; %d log files", len(ds.digests), m.DigestFiles, len(ds.logs))
	}
	return ds
}

// ledgerOf is a ledger that has every listed object done.
type ledgerOf map[string]ledger.Entry

func (l ledgerOf) LedgerEntries(_ context.Context, objects []string) (map[string]ledger.Entry, error) {
	out := map[string]ledger.Entry{}
	for _, o := range objects {
		if e, ok := l[o]; ok {
			out[o] = e
		}
	}
	return out, nil
}

func allDone(keys []string, name func(string) string) ledgerOf {
	l := ledgerOf{}
	for _, k := range keys {
		l[name(k)] = ledger.Entry{Object: name(k), Status: ledger.StatusDone}
	}
	return l
}

func (ds *dataset) options() Options {
	return Options{Until: ds.until, Ledger: allDone(ds.logs, func(k string) string { return k })}
}

func run(t *testing.T, b Bucket, opt Options) *Report {
	t.Helper()
	rep, err := Run(context.Background(), b, opt)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// only fails unless the report has exactly the problems wanted, by kind.
func only(t *testing.T, rep *Report, want map[Kind]int) {
	t.Helper()
	n := 0
	for k, c := range want {
		n += c
		if got := rep.Count(k); got != c {
			t.Errorf("%s: %d problems, want %d", k, got, c)
		}
	}
	if len(rep.Problems) != n {
		t.Errorf("%d problems, want %d: %+v", len(rep.Problems), n, rep.Problems)
	}
}

func TestClean(t *testing.T) {
	ds := generate(t, nil, 800)
	rep := run(t, Dir{Root: ds.dir}, ds.options())
	only(t, rep, nil)
	if rep.Digests != len(ds.digests) || rep.LogFiles != len(ds.logs) || rep.Verified != len(ds.logs) || rep.Chains != 4 {
		t.Errorf("report %+v; %d digests, %d log files on disk", rep, len(ds.digests), len(ds.logs))
	}
	// A copy of part of the bucket (aws s3 sync s3://b/AWSLogs/o-…/ DIR):
	// the digests' keys end with their paths in it.
	sub := filepath.Join(ds.dir, "AWSLogs", ds.m.Config.OrgID)
	opt := ds.options()
	opt.LedgerName = func(k string) string { return "AWSLogs/" + ds.m.Config.OrgID + "/" + k }
	rep = run(t, Dir{Root: sub}, opt)
	only(t, rep, nil)
	if rep.Verified != len(ds.logs) {
		t.Errorf("from a sub-directory: %d of %d verified", rep.Verified, len(ds.logs))
	}
	// The window and the filters.
	opt = ds.options()
	opt.Accounts = []string{ds.m.Accounts[0].ID}
	opt.Regions = []string{"eu-west-1"}
	opt.Since = ds.until.Add(-3 * time.Hour)
	rep = run(t, Dir{Root: ds.dir}, opt)
	only(t, rep, nil)
	if rep.Chains != 1 || rep.Digests == 0 || rep.Digests >= len(ds.digests)/4 {
		t.Errorf("one account and region, the last 3h: %d chains, %d digests (of %d)", rep.Chains, rep.Digests, len(ds.digests))
	}
}

func TestMissingLogFile(t *testing.T) {
	ds := generate(t, nil, 800)
	gone := ds.logs[len(ds.logs)/2]
	if err := os.Remove(filepath.Join(ds.dir, gone)); err != nil {
		t.Fatal(err)
	}
	rep := run(t, Dir{Root: ds.dir}, ds.options())
	only(t, rep, map[Kind]int{MissingLogFile: 1})
	if p := rep.Problems[0]; p.Object != gone || p.Digest == "" || !strings.Contains(p.Detail, "ingested before") {
		t.Errorf("problem %+v, want %s (ingested before)", p, gone)
	}
}

// rewrite replaces a gzip file's content by edit(content).
func rewrite(t *testing.T, path string, edit func([]byte) []byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(edit(data))
	zw.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestModifiedLogFile(t *testing.T) {
	ds := generate(t, nil, 800)
	key := ds.logs[3]
	rewrite(t, filepath.Join(ds.dir, key), func(b []byte) []byte {
		// Remove the first record: an attacker hiding an event.
		i := bytes.Index(b, []byte(`},{"eventVersion"`))
		if i < 0 {
			return append(b, ' ')
		}
		return append([]byte(`{"Records":[`), b[i+2:]...)
	})
	rep := run(t, Dir{Root: ds.dir}, ds.options())
	only(t, rep, map[Kind]int{AlteredLogFile: 1})
	if rep.Problems[0].Object != key {
		t.Errorf("problem %+v, want %s", rep.Problems[0], key)
	}
	// Re-compressing the same content is not a change: hashes are of the
	// decompressed bytes.
	rewrite(t, filepath.Join(ds.dir, ds.logs[4]), func(b []byte) []byte { return b })
	rep = run(t, Dir{Root: ds.dir}, ds.options())
	only(t, rep, map[Kind]int{AlteredLogFile: 1})
}

func TestNeverIngested(t *testing.T) {
	ds := generate(t, nil, 800)
	opt := ds.options()
	l := opt.Ledger.(ledgerOf)
	delete(l, ds.logs[0])
	l[ds.logs[1]] = ledger.Entry{Object: ds.logs[1], Status: ledger.StatusPartial}
	rep := run(t, Dir{Root: ds.dir}, opt)
	only(t, rep, map[Kind]int{NotIngested: 2})
	if rep.Problems[0].Detail != "no ledger entry" || rep.Problems[1].Detail != "ledger status partial" {
		t.Errorf("problems %+v", rep.Problems)
	}
	// Without a ledger, nothing is said about ingestion.
	opt.Ledger = nil
	only(t, run(t, Dir{Root: ds.dir}, opt), nil)
}

func TestDeletedDigest(t *testing.T) {
	ds := generate(t, nil, 800)
	gone := ds.digests[2] // the third of the first chain: one before and after it
	if err := os.Remove(filepath.Join(ds.dir, gone)); err != nil {
		t.Fatal(err)
	}
	rep := run(t, Dir{Root: ds.dir}, ds.options())
	// The log files it named are no longer vouched for by any digest.
	n, _ := parseDigestKey(gone)
	unvouched := 0
	for _, p := range rep.Problems {
		l, _ := parseLogKey(p.Object)
		if p.Kind == UnvouchedLogFile && l.at.After(n.end.Add(-time.Hour-time.Minute)) && l.at.Before(n.end) {
			unvouched++
		}
	}
	only(t, rep, map[Kind]int{MissingDigest: 1, UnvouchedLogFile: unvouched})
	if p := rep.Problems[0]; p.Object != gone || p.Digest != ds.digests[3] || unvouched == 0 {
		t.Errorf("problem %+v, want %s named by %s; %d unvouched log files", p, gone, ds.digests[3], unvouched)
	}
	// The window starting after the deleted digest still sees the gap:
	// the first digest in it names the missing one.
	opt := ds.options()
	n, _ = parseDigestKey(ds.digests[3])
	opt.Since = n.end.Add(-time.Minute)
	rep = run(t, Dir{Root: ds.dir}, opt)
	only(t, rep, map[Kind]int{MissingDigest: 1})
}

func TestChangedDigest(t *testing.T) {
	ds := generate(t, nil, 800)
	key := ds.digests[1]
	// Drop a log file from the digest: hides the log file's deletion.
	rewrite(t, filepath.Join(ds.dir, key), func(b []byte) []byte {
		return bytes.Replace(b, []byte(`"logFiles":[{`), []byte(`"logFiles":[{"x":1},{`), 1)
	})
	rep := run(t, Dir{Root: ds.dir}, ds.options())
	only(t, rep, map[Kind]int{ChangedDigest: 1, MissingLogFile: 1})
	if p := rep.Problems[0]; p.Kind != ChangedDigest || p.Object != key || p.Digest != ds.digests[2] {
		t.Errorf("problem %+v, want %s named by %s", p, key, ds.digests[2])
	}
	// The last digest of a window is vouched for by the one after it.
	opt := ds.options()
	n, _ := parseDigestKey(key)
	opt.Until = n.end.Add(-time.Minute)
	rep = run(t, Dir{Root: ds.dir}, opt)
	only(t, rep, map[Kind]int{ChangedDigest: 1, MissingLogFile: 1})
	if rep.Digests >= len(ds.digests)/2 {
		t.Errorf("%d digests read of %d", rep.Digests, len(ds.digests))
	}
	// A digest copied over another: it names itself elsewhere.
	ds = generate(t, nil, 800)
	data, err := os.ReadFile(filepath.Join(ds.dir, ds.digests[0]))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ds.dir, ds.digests[1]), data, 0o644); err != nil {
		t.Fatal(err)
	}
	rep = run(t, Dir{Root: ds.dir}, ds.options())
	if rep.Count(ChangedDigest) != 1 || rep.Count(UnvouchedLogFile) == 0 || len(rep.Problems) != 1+rep.Count(UnvouchedLogFile) || !strings.Contains(rep.Problems[0].Detail, "names itself") {
		t.Errorf("copied digest: %+v", rep.Problems)
	}
	// Not gzip, not JSON.
	ds = generate(t, nil, 800)
	os.WriteFile(filepath.Join(ds.dir, ds.digests[5]), []byte("\x1f\x8bgarbage"), 0o644)
	rep = run(t, Dir{Root: ds.dir}, ds.options())
	if rep.Count(ChangedDigest) < 1 || rep.Count(Unreadable) != 0 {
		t.Errorf("garbage digest: %+v", rep.Problems)
	}
}

func TestUnvouchedLogFile(t *testing.T) {
	ds := generate(t, nil, 800)
	// A log file added under a name CloudTrail would use, in the middle
	// of the covered span, and one after it (not reported: its digest may
	// still be to come).
	var src string
	var l logName
	for _, k := range ds.logs {
		if l, _ = parseLogKey(k); l.at.After(ds.m.Config.Start.Add(3 * time.Hour)) {
			src = k
			break
		}
	}
	data, err := os.ReadFile(filepath.Join(ds.dir, src))
	if err != nil {
		t.Fatal(err)
	}
	added := strings.Replace(src, l.at.Format("20060102T1504Z"), l.at.Add(2*time.Minute).Format("20060102T1504Z"), 1)
	added = added[:len(added)-len("XXXXXXXXXXXXXXXX.json.gz")] + "FORGEDFORGEDFORG.json.gz"
	late := strings.Replace(added, l.at.Format("20060102"), "20261103", 2)
	for _, k := range []string{added, late} {
		os.MkdirAll(filepath.Dir(filepath.Join(ds.dir, k)), 0o755)
		if err := os.WriteFile(filepath.Join(ds.dir, k), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep := run(t, Dir{Root: ds.dir}, ds.options())
	only(t, rep, map[Kind]int{UnvouchedLogFile: 1})
	if len(rep.Problems) > 0 && rep.Problems[0].Object != added {
		t.Errorf("problem %+v, want %s", rep.Problems[0], added)
	}
}

func TestOverdue(t *testing.T) {
	ds := generate(t, nil, 800)
	opt := ds.options()
	opt.Until = ds.until.Add(3 * time.Hour)
	rep := run(t, Dir{Root: ds.dir}, opt)
	only(t, rep, map[Kind]int{OverdueDigest: 4})
	opt.MaxDelay = 6 * time.Hour
	only(t, run(t, Dir{Root: ds.dir}, opt), nil)
	// Deleting the newest digests of a chain makes it overdue.
	n, _ := parseDigestKey(ds.digests[0])
	var last []string
	for _, k := range ds.digests {
		if m, _ := parseDigestKey(k); m.chain == n.chain {
			last = append(last, k)
		}
	}
	for _, k := range last[len(last)-4:] {
		os.Remove(filepath.Join(ds.dir, k))
	}
	rep = run(t, Dir{Root: ds.dir}, ds.options())
	only(t, rep, map[Kind]int{OverdueDigest: 1})
}

// keys serves one public key for every fingerprint of us-east-1 and
// eu-west-1, and counts the look-ups.
type keys struct {
	pub *rsa.PublicKey
	mu  sync.Mutex
	n   int
}

func (k *keys) get(_ context.Context, region, fp string) (*rsa.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.n++
	if fp == "" || (region != "us-east-1" && region != "eu-west-1") {
		return nil, errors.New("no such key")
	}
	return k.pub, nil
}

var (
	keyOnce sync.Once
	key1    *rsa.PrivateKey
	key2    *rsa.PrivateKey
)

func testKeys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	keyOnce.Do(func() {
		var err error
		if key1, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if key2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return key1, key2
}

func TestBadSignature(t *testing.T) {
	good, other := testKeys(t)
	ds := generate(t, good, 800)
	if len(ds.m.DigestSignatures) != len(ds.digests) {
		t.Fatalf("%d signatures for %d digests", len(ds.m.DigestSignatures), len(ds.digests))
	}
	// A local copy: signatures from the next digests.
	k := &keys{pub: &good.PublicKey}
	opt := ds.options()
	opt.Signatures, opt.PublicKeys = true, k.get
	rep := run(t, Dir{Root: ds.dir}, opt)
	only(t, rep, nil)
	if rep.Signatures != len(ds.digests)-4 || len(rep.Unsigned) != 4 {
		t.Errorf("%d signatures verified, %d unsigned; %d digests in 4 chains", rep.Signatures, len(rep.Unsigned), len(ds.digests))
	}
	if k.n > 4 {
		t.Errorf("%d public key look-ups, want one per fingerprint", k.n)
	}
	// Another key: nothing verifies.
	opt.PublicKeys = (&keys{pub: &other.PublicKey}).get
	rep = run(t, Dir{Root: ds.dir}, opt)
	only(t, rep, map[Kind]int{BadSignature: len(ds.digests) - 4})
	// Without a key source, Run refuses.
	opt.PublicKeys = nil
	if _, err := Run(context.Background(), Dir{Root: ds.dir}, opt); err == nil {
		t.Error("no error without PublicKeys")
	}
}

func TestSignatureFromMetadata(t *testing.T) {
	good, _ := testKeys(t)
	ds := generate(t, good, 800)
	b := &metaDir{Dir: Dir{Root: ds.dir}, sigs: ds.m.DigestSignatures}
	opt := ds.options()
	opt.Signatures, opt.PublicKeys = true, (&keys{pub: &good.PublicKey}).get
	rep := run(t, b, opt)
	only(t, rep, nil)
	if rep.Signatures != len(ds.digests) || len(rep.Unsigned) != 0 {
		t.Errorf("%d signatures verified of %d, %d unsigned", rep.Signatures, len(ds.digests), len(rep.Unsigned))
	}
	// A forged newest digest: its metadata signature does not verify.
	newest := ds.digests[len(ds.digests)-1]
	s := []byte(b.sigs[newest])
	s[10] ^= 1
	b.sigs[newest] = string(s)
	rep = run(t, b, opt)
	only(t, rep, map[Kind]int{BadSignature: 1})
	if rep.Problems[0].Object != newest {
		t.Errorf("problem %+v, want %s", rep.Problems[0], newest)
	}
}

// metaDir is a Dir whose digests have their signatures as metadata.
type metaDir struct {
	Dir
	sigs map[string]string
}

func (m *metaDir) Get(ctx context.Context, key string) (io.ReadCloser, map[string]string, error) {
	rc, _, err := m.Dir.Get(ctx, key)
	if s, ok := m.sigs[key]; ok && err == nil {
		return rc, map[string]string{"Signature": s, "signature-algorithm": "SHA256withRSA"}, nil
	}
	return rc, nil, err
}

func TestDirKeysStayInside(t *testing.T) {
	d := Dir{Root: t.TempDir()}
	if _, _, err := d.Get(context.Background(), "../etc/passwd"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a key outside the directory: %v", err)
	}
}

func TestParseDigestKey(t *testing.T) {
	n, ok := parseDigestKey("p/AWSLogs/o-1/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_my_trail_us-east-1_20150817T150131Z_backfill.json.gz")
	if !ok || n.account != "111122223333" || n.region != "us-east-2" || !n.backfill || !n.end.Equal(time.Date(2015, 8, 17, 15, 1, 31, 0, time.UTC)) ||
		n.chain != "p/AWSLogs/o-1/111122223333|111122223333_CloudTrail-Digest_us-east-2_my_trail_us-east-1" {
		t.Errorf("%+v %v", n, ok)
	}
	for _, k := range []string{"AWSLogs/1/CloudTrail/us-east-1/x.json.gz", "a_CloudTrail-Digest_b.json.gz", "1_CloudTrail-Digest_r_t_r_2015.json.gz"} {
		if _, ok := parseDigestKey(k); ok {
			t.Errorf("%s parsed", k)
		}
	}
}

// BenchmarkRun measures log files verified per second, reading and
// hashing included (files in the page cache), with small and large files.
func BenchmarkRun(b *testing.B) {
	for _, events := range []int{4000, 200000} {
		b.Run(fmt.Sprintf("events=%d", events), func(b *testing.B) {
			ds := generate(b, nil, events)
			opt := Options{Until: ds.until}
			var files, raw int64
			b.ResetTimer()
			for b.Loop() {
				rep, err := Run(context.Background(), Dir{Root: ds.dir}, opt)
				if err != nil || !rep.OK() {
					b.Fatal(err, rep.Problems)
				}
				files += int64(rep.LogFiles)
				raw += rep.RawBytes
			}
			b.ReportMetric(float64(files)/b.Elapsed().Seconds(), "files/s")
			b.ReportMetric(float64(raw)/b.Elapsed().Seconds()/1e6, "rawMB/s")
			b.ReportMetric(float64(raw)/float64(files)/1e3, "rawKB/file")
		})
	}
}
