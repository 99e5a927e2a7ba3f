package layout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/gen"
)

// handKeys are layouts the generator does not write, and keys outside any
// layout.
const bucket = "trawl-test"

var handKeys = []string{
	"README.txt",
	"exports/2026/report.csv",
	"exports/deep/er/still/x.csv",
	"a/b/c/d/AWSLogs/444455556666/CloudTrail/us-west-2/2026/11/03/too-deep.json.gz",
	"AWSLogs/loose.txt",
	"AWSLogs/111122223333/CloudTrail/eu-central-1/2026/11/03/111122223333_CloudTrail_eu-central-1_20261103T0105Z_a1.json.gz",
	"AWSLogs/111122223333/CloudTrail/eu-central-1/2026/11/04/111122223333_CloudTrail_eu-central-1_20261104T0005Z_a2.json.gz",
	"AWSLogs/111122223333/CloudTrail/eu-central-1/notadate.txt",
	"AWSLogs/111122223333/CloudTrail-Digest/eu-central-1/2026/11/03/111122223333_CloudTrail-Digest_eu-central-1_t_eu-central-1_20261103T010000Z.json.gz",
	"AWSLogs/111122223333/Config/us-east-1/2026/11/3/ConfigSnapshot/x.json.gz",
	"AWSLogs/111122223333/GuardDuty/eu-central-1/2026/11/04/0b5f3c1e.jsonl.gz",
	"AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/03/23/111122223333_vpcflowlogs_eu-central-1_fl-0a_20261103T2355Z_h.log.gz",
	"AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/04/00/111122223333_vpcflowlogs_eu-central-1_fl-0a_20261104T0000Z_h.log.gz",
	"AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=eu-central-1/year=2026/month=11/day=03/hour=23/111122223333_vpcflowlogs_eu-central-1_fl-0b_20261103T2355Z_h.log.parquet",
	"AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=eu-central-1/year=2026/month=11/day=05/hour=00/111122223333_vpcflowlogs_eu-central-1_fl-0b_20261105T0000Z_h.log.parquet",
	"AWSLogs/aws-account-id=111122223333/aws-service=elasticloadbalancing/x.log",
	"AWSLogs/o-zz9yy8xx7w/loose",
	"AWSLogs/o-zz9yy8xx7w/notanaccount/x",
	"AWSLogs/o-zz9yy8xx7w/111122223333/CloudTrail-Insight/us-east-1/2026/11/03/111122223333_CloudTrail-Insight_us-east-1_20261103T1200Z_i.json.gz",
	"security/org-trail/AWSLogs/o-zz9yy8xx7w/444455556666/CloudTrail/us-west-2/2026/11/02/444455556666_CloudTrail_us-west-2_20261102T2359Z_c.json.gz",
	"security/org-trail/AWSLogs/o-zz9yy8xx7w/444455556666/CloudTrail/us-west-2/2026/11/03/444455556666_CloudTrail_us-west-2_20261103T0001Z_c.json.gz",
	"security/org-trail/AWSLogs/o-zz9yy8xx7w/444455556666/CloudTrail-Digest/us-west-2/2026/11/03/d.json.gz",
	"vpc/AWSLogs/444455556666/vpcflowlogs/us-west-2/2026/11/03/f.log.gz",
}

var genData struct {
	once  sync.Once
	dir   string
	keys  []string
	sizes map[string]int64
	err   error
}

// generated writes a small demo data set once and returns its keys.
func generated(t testing.TB) ([]string, map[string]int64, string) {
	t.Helper()
	genData.once.Do(func() {
		genData.dir, genData.err = os.MkdirTemp("", "trawl-layout-*")
		if genData.err != nil {
			return
		}
		cfg := gen.DefaultConfig()
		cfg.Start = time.Date(2026, 11, 2, 20, 0, 0, 0, time.UTC)
		cfg.Duration = 30 * time.Hour
		cfg.Accounts = 3
		cfg.Regions = []string{"us-east-1", "eu-west-1"}
		cfg.CloudTrailEvents = 600
		cfg.FlowRecords = 600
		cfg.Findings = 10
		cfg.Gzip = 1
		if _, genData.err = gen.Generate(context.Background(), genData.dir, cfg); genData.err != nil {
			return
		}
		genData.sizes = map[string]int64{}
		genData.err = filepath.WalkDir(genData.dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(genData.dir, p)
			k := filepath.ToSlash(rel)
			genData.keys = append(genData.keys, k)
			genData.sizes[k] = info.Size()
			return nil
		})
	})
	if genData.err != nil {
		t.Fatal(genData.err)
	}
	return genData.keys, genData.sizes, genData.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if genData.dir != "" {
		os.RemoveAll(genData.dir)
	}
	os.Exit(code)
}

// The oracle: what a key is, by regular expressions independent of the
// walker.
var (
	reKnown = regexp.MustCompile(`^((?:[^/]+/)*)AWSLogs/(?:(o-[a-z0-9]{10,32})/)?([0-9]{12})/(CloudTrail|CloudTrail-Digest|CloudTrail-Insight|vpcflowlogs|GuardDuty)/([^/]+)/(.*)$`)
	reHive  = regexp.MustCompile(`^((?:[^/]+/)*)AWSLogs/aws-account-id=([0-9]{12})/aws-service=vpcflowlogs/aws-region=([^/]+)/(.*)$`)
	reAcct  = regexp.MustCompile(`^((?:[^/]+/)*)AWSLogs/(?:(?:o-[a-z0-9]{10,32}/)?|aws-account-id=)([0-9]{12})/`)
	reDate  = regexp.MustCompile(`^(?:year=)?([0-9]{4})/(?:month=)?([0-9]{2})/(?:day=)?([0-9]{2})/`)
	kindOf  = map[string]string{"CloudTrail": KindCloudTrail, "CloudTrail-Digest": KindCloudTrailDigest,
		"CloudTrail-Insight": KindCloudTrailInsight, "vpcflowlogs": KindVPCFlow, "GuardDuty": KindGuardDuty}
)

type want struct {
	kind, account, region string
	day, time             time.Time
}

var reName = regexp.MustCompile(`_([0-9]{8}T[0-9]{4}(?:[0-9]{2})?Z)[_.]`)

func classify(key string) want { return classifyUnder("", key) }

// classifyUnder is classify for a walk from root: custom levels count from
// the root.
func classifyUnder(root, key string) want {
	custom := func(p string) bool { return len(p) < len(root) || strings.Count(p[len(root):], "/") <= MaxSearchDepth }
	var w want
	rest := ""
	if m := reKnown.FindStringSubmatch(key); m != nil && custom(m[1]) {
		w = want{kind: kindOf[m[4]], account: m[3], region: m[5]}
		rest = m[6]
	} else if m := reHive.FindStringSubmatch(key); m != nil && custom(m[1]) {
		w = want{kind: KindVPCFlow, account: m[2], region: m[3]}
		rest = m[4]
	} else {
		w.kind = KindOther
		if m := reAcct.FindStringSubmatch(key); m != nil && custom(m[1]) {
			w.account = m[2]
		}
		return w
	}
	if m := reDate.FindStringSubmatch(rest); m != nil {
		w.day, _ = time.Parse("2006-01-02", m[1]+"-"+m[2]+"-"+m[3])
	}
	base := key[strings.LastIndex(key, "/")+1:]
	if m := reName.FindAllStringSubmatch(base, -1); m != nil {
		ts := strings.TrimSuffix(m[len(m)-1][1], "Z")
		layout := "20060102T1504"
		if len(ts) == 15 {
			layout = "20060102T150405"
		}
		w.time, _ = time.Parse(layout, ts)
	}
	return w
}

// wantedUnder is the oracle's answer to a filter, for a walk from root.
func wantedUnder(root string, keys []string, f Filter) map[string]want {
	in := func(s []string, v string) bool { return len(s) == 0 || slices.Contains(s, v) }
	first, last := time.Time{}, time.Time{}
	m := f.Margin
	if m == 0 {
		m = time.Hour
	} else if m < 0 {
		m = 0
	}
	if !f.Since.IsZero() {
		first = f.Since.Add(-m).UTC().Truncate(24 * time.Hour)
	}
	if !f.Until.IsZero() {
		last = f.Until.Add(m - 1).UTC().Truncate(24 * time.Hour)
	}
	out := map[string]want{}
	for _, k := range keys {
		if !strings.HasPrefix(k, root) {
			continue
		}
		w := classifyUnder(root, k)
		if !in(f.Kinds, w.kind) || (len(f.Accounts) > 0 && !slices.Contains(f.Accounts, w.account)) ||
			(len(f.Regions) > 0 && !slices.Contains(f.Regions, w.region)) {
			continue
		}
		if w.kind != KindOther && (!first.IsZero() || !last.IsZero()) {
			if w.day.IsZero() || (!first.IsZero() && w.day.Before(first)) || (!last.IsZero() && w.day.After(last)) {
				continue
			}
			if !w.time.IsZero() && ((!f.Since.IsZero() && w.time.Before(f.Since.Add(-m))) || (!f.Until.IsZero() && !w.time.Before(f.Until.Add(m)))) {
				continue
			}
		}
		out[k] = w
	}
	return out
}

// check walks and compares with the oracle: every wanted object exactly
// once, nothing else, keys in order within each part.
func check(t *testing.T, l Lister, keys []string, root string, f Filter, sizes map[string]int64) {
	t.Helper()
	exp := map[string]want{}
	for k, w := range wantedUnder(root, keys, f) {
		exp[k] = w
	}
	seen := map[string]int{}
	var prev Entry
	err := Walk(context.Background(), l, bucket, root, f, func(e Entry) error {
		seen[e.Key]++
		w, ok := exp[e.Key]
		switch {
		case !ok:
			t.Errorf("%+v: yielded %s, not wanted", f, e.Key)
		case w.kind != e.Kind || w.account != e.Account || w.region != e.Region || !w.day.Equal(e.Day) || !w.time.Equal(e.Time):
			t.Errorf("%s: got %s/%s/%s/%s, want %+v", e.Key, e.Kind, e.Account, e.Region, e.Day, w)
		}
		if sizes != nil && sizes[e.Key] != e.Size {
			t.Errorf("%s: size %d, want %d", e.Key, e.Size, sizes[e.Key])
		}
		if e.Kind != KindOther && prev.Kind == e.Kind && prev.Account == e.Account && prev.Region == e.Region && prev.Key >= e.Key {
			t.Errorf("out of order: %s after %s", e.Key, prev.Key)
		}
		prev = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range exp {
		if seen[k] != 1 {
			t.Errorf("%+v: %s yielded %d times", f, k, seen[k])
		}
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("%s yielded %d times", k, n)
		}
	}
}

func TestEveryLayoutIsFound(t *testing.T) {
	gk, sizes, dir := generated(t)
	keys := append(slices.Clone(gk), handKeys...)
	kinds := map[string]int{}
	for _, k := range keys {
		kinds[classify(k).kind]++
	}
	for _, k := range Kinds() {
		if kinds[k] == 0 {
			t.Fatalf("no %s key in the test data: %v", k, kinds)
		}
	}
	t.Logf("%d keys: %v", len(keys), kinds)

	mem := newMem(keys)
	mem.size = func(k string) int64 { return sizes[k] }
	check(t, mem, keys, "", Filter{}, sizes)
	// Roots inside the layouts, with and without a window.
	for _, root := range []string{"AWSLogs/", "security/", "AWSLogs/111122223333/", "AWSLogs/o-a1b2c3d4e5/",
		"AWSLogs/111122223333/CloudTrail/eu-central-1/", "AWSLogs/111122223333/CloudTrail/eu-central-1/2026/11/03/",
		"AWSLogs/111122223333/CloudTrail/eu-central-1/2026/", "AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/04/00/",
		"AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=eu-central-1/year=2026/",
		"AWSLogs/aws-account-id=111122223333/", "exports/", "nothing/", "a/b/c/d/", "a/b/c/d/AWSLogs/"} {
		check(t, mem, keys, root, Filter{}, sizes)
		check(t, mem, keys, root, Filter{Since: time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)}, sizes)
		check(t, mem, keys, root, Filter{Until: time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)}, sizes)
	}
	// A root is a folder.
	n := 0
	if err := Walk(context.Background(), mem, bucket, "AWSLogs", Filter{}, func(Entry) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if want := len(wantedUnder("AWSLogs/", keys, Filter{})); n != want {
		t.Errorf("root AWSLogs: %d objects, want %d", n, want)
	}

	t.Run("gofakes3", func(t *testing.T) {
		l := newFakeS3(t, bucket)
		for _, k := range gk {
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(k)))
			if err != nil {
				t.Fatal(err)
			}
			l.put(t, bucket, k, b)
		}
		for _, k := range handKeys {
			l.put(t, bucket, k, []byte(k))
			sizes[k] = int64(len(k))
		}
		defer func() {
			for _, k := range handKeys {
				delete(sizes, k)
			}
		}()
		check(t, l, keys, "", Filter{}, sizes)
		// The window listing (StartAfter, stop) against a real ListObjectsV2.
		check(t, l, keys, "", Filter{Since: time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC),
			Until: time.Date(2026, 11, 3, 23, 30, 0, 0, time.UTC)}, sizes)
	})
}

// TestFiltersMatchTheOracle runs filters over the demo and hand-made keys.
func TestFiltersMatchTheOracle(t *testing.T) {
	gk, _, _ := generated(t)
	keys := append(slices.Clone(gk), handKeys...)
	mem := newMem(keys)
	d := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, time.UTC) }
	filters := []Filter{
		{},
		{Since: d(3, 0, 0)},
		{Since: d(3, 0, 30)},
		{Since: d(3, 1, 30)},
		{Until: d(3, 0, 0)},
		{Until: d(3, 23, 30)},
		{Until: d(3, 22, 0)},
		{Since: d(3, 12, 0), Until: d(3, 13, 0), Margin: -1},
		{Since: d(3, 0, 0), Until: d(4, 0, 0), Margin: -1},
		{Since: d(3, 0, 0), Until: d(4, 0, 0)},
		{Since: d(2, 0, 0), Until: d(9, 0, 0), Margin: 6 * time.Hour},
		{Accounts: []string{"111122223333"}},
		{Accounts: []string{"111122223333", "444455556666"}, Regions: []string{"us-west-2"}},
		{Regions: []string{"eu-central-1"}, Kinds: []string{KindVPCFlow}},
		{Kinds: []string{KindCloudTrailInsight, KindGuardDuty}},
		{Kinds: []string{KindOther}},
		{Kinds: []string{KindOther, KindCloudTrail}, Accounts: []string{"111122223333"}},
		{Kinds: []string{KindCloudTrailDigest}, Since: d(3, 0, 0), Until: d(3, 6, 0)},
	}
	for _, a := range gk {
		if m := reKnown.FindStringSubmatch(a); m != nil {
			filters = append(filters, Filter{Accounts: []string{m[3]}, Regions: []string{m[5]}, Kinds: []string{KindCloudTrail},
				Since: d(3, 0, 0), Until: d(3, 3, 0)})
			break
		}
	}
	for _, f := range filters {
		check(t, mem, keys, "", f, nil)
		check(t, mem, keys, "AWSLogs/", f, nil)
	}
	if err := Walk(context.Background(), mem, bucket, "", Filter{Kinds: []string{"cloudtrial"}}, nil); err == nil {
		t.Error("unknown kind accepted")
	}
	if err := Walk(context.Background(), mem, bucket, "", Filter{Since: d(3, 0, 0), Until: d(3, 0, 0)}, nil); err == nil {
		t.Error("empty window accepted")
	}
	if err := Walk(context.Background(), mem, bucket, "", Filter{Accounts: []string{"1234"}}, nil); err == nil {
		t.Error("bad account accepted")
	}
}

func TestStops(t *testing.T) {
	gk, _, _ := generated(t)
	mem := newMem(append(slices.Clone(gk), handKeys...))
	boom := errors.New("boom")
	n := 0
	if err := Walk(context.Background(), mem, bucket, "", Filter{}, func(Entry) error {
		if n++; n == 5 {
			return boom
		}
		return nil
	}); !errors.Is(err, boom) || n != 5 {
		t.Fatalf("Walk: %v after %d", err, n)
	}
	n = 0
	for _, err := range All(context.Background(), mem, bucket, "", Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 7 {
			break
		}
	}
	if n != 7 {
		t.Fatal(n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Walk(ctx, mem, bucket, "", Filter{}, func(Entry) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

// TestPlanMatchesWalk: listing the parts of a plan yields what Walk yields.
func TestPlanMatchesWalk(t *testing.T) {
	gk, _, _ := generated(t)
	keys := append(slices.Clone(gk), handKeys...)
	mem := newMem(keys)
	for _, f := range []Filter{{}, {Since: time.Date(2026, 11, 3, 5, 0, 0, 0, time.UTC), Accounts: []string{"111122223333"}}} {
		var walked, planned []string
		if err := Walk(context.Background(), mem, bucket, "", f, func(e Entry) error {
			walked = append(walked, e.Key)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := Plan(context.Background(), mem, bucket, "", f, func(p Part) error {
			return p.List(context.Background(), mem, bucket, func(e Entry) error {
				planned = append(planned, e.Key)
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(walked) != fmt.Sprint(planned) {
			t.Errorf("%+v: plan gives %d keys, walk %d", f, len(planned), len(walked))
		}
	}
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		key  string
		want string
	}{
		{"a/1_CloudTrail_us-east-1_20261103T0105Z_x.json.gz", "2026-11-03T01:05:00Z"},
		{"a/1_CloudTrail-Digest_us-east-1_t_us-east-1_20261103T010000Z.json.gz", "2026-11-03T01:00:00Z"},
		{"a/1_vpcflowlogs_eu-west-1_fl-1_20261103T2355Z_h.log.gz", "2026-11-03T23:55:00Z"},
		{"a/20261103T2355Z_h.log.gz", ""},
		{"a/x_20261303T2355Z_h.log.gz", ""},
		{"a/x_20261103T2460Z_h.log.gz", ""},
		{"a/x_20261103T2355Z", ""},
		{"a_20261103T2355Z_/0b5f3c1e.jsonl.gz", ""},
	} {
		got := ""
		if tm := nameTime(c.key); !tm.IsZero() {
			got = tm.Format(time.RFC3339)
		}
		if got != c.want {
			t.Errorf("nameTime(%q) = %q, want %q", c.key, got, c.want)
		}
	}
	for _, c := range []struct {
		rest string
		hive bool
		ok   bool
	}{
		{"2026/11/03/x", false, true}, {"2026/02/30/x", false, false}, {"2026/11/3/x", false, false},
		{"2026/11/03", false, false}, {"year=2026/month=11/day=03/hour=00/x", true, true},
		{"year=2026/month=11/day=3/x", true, false}, {"notadate.txt", false, false},
	} {
		if _, ok := parseDay(c.rest, c.hive); ok != c.ok {
			t.Errorf("parseDay(%q) ok = %v", c.rest, ok)
		}
	}
}

func TestPull(t *testing.T) {
	gk, _, _ := generated(t)
	keys := append(slices.Clone(gk), handKeys...)
	mem := newMem(keys)
	next, stop := Pull(context.Background(), mem, bucket, "", Filter{})
	defer stop()
	n := 0
	for {
		_, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != len(keys) {
		t.Fatalf("pulled %d of %d", n, len(keys))
	}
	next, stop = Pull(context.Background(), mem, bucket, "", Filter{})
	if _, err := next(); err != nil {
		t.Fatal(err)
	}
	stop()
	if _, err := next(); err != io.EOF {
		t.Fatalf("after stop: %v", err)
	}
}
