package rules_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/rules"
	"github.com/trawl-project/trawl/internal/rules/ruletest"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

var _ pipeline.Processor = (*rules.Engine)(nil)

const createUser = `title: IAM user created
id: aws-iam-create-user
level: medium
tags: [attack.persistence, attack.t1136.003]
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventSource: iam.amazonaws.com
    eventName: CreateUser
  failed:
    errorCode|exists: true
  condition: selection and not failed
trawl:
  title: "IAM user {{requestParameters.userName}} created by {{principal}} in account {{recipientAccountId}}, {{nothing.here}}"
  dedup: [principal, requestParameters.userName]
  suppress: 2h
  tests:
    match:
      - {eventSource: iam.amazonaws.com, eventName: CreateUser, requestParameters: {userName: backdoor}}
    no_match:
      - {eventSource: iam.amazonaws.com, eventName: CreateUser, errorCode: AccessDenied}
`

const anyDenied = `title: Denied
id: x-denied
level: informational
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    errorCode: AccessDenied
  condition: selection
trawl:
  tests:
    match: [{errorCode: AccessDenied}]
    no_match: [{}]
`

func load(t *testing.T, files map[string]string) *rules.Set {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	s, err := rules.Load(rules.Source{Name: "t/", FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadReportsBadFilesAndDuplicates(t *testing.T) {
	s := load(t, map[string]string{
		"a.yml":         createUser,
		"b/c.yml":       anyDenied,
		"bad.yml":       "title: [",
		"noid.yml":      "title: t\nlevel: low\n",
		"notests.yml":   strings.Replace(anyDenied[:strings.Index(anyDenied, "trawl:")], "id: x-denied", "id: x-2", 1),
		"other.yaml":    strings.Replace(strings.Replace(anyDenied, "id: x-denied", "id: x-3", 1), "service: cloudtrail", "service: cloudfront", 1),
		"readme.txt":    "not a rule",
		"badfield.yml":  strings.Replace(strings.Replace(anyDenied, "id: x-denied", "id: x-4", 1), "service: cloudtrail", "service: vpcflow", 1),
		"badwindow.yml": strings.Replace(strings.Replace(anyDenied, "id: x-denied", "id: x-5", 1), "trawl:\n", "trawl:\n  kind: threshold\n", 1),
	})
	if len(s.Rules) != 2 || s.Rules[0].ID != "aws-iam-create-user" || s.Rules[1].File != "t/b/c.yml" {
		t.Errorf("rules = %v", s.Rules)
	}
	want := map[string]string{
		"t/bad.yml": "invalid YAML", "t/noid.yml": "no id", "t/notests.yml": "at least one match",
		"t/other.yaml": "cloudfront", "t/badfield.yml": `no field "errorCode"`, "t/badwindow.yml": "window is required",
	}
	if len(s.Errors) != len(want) {
		t.Errorf("errors = %v", s.Errors)
	}
	for _, e := range s.Errors {
		if !strings.Contains(e.Reason, want[e.File]) {
			t.Errorf("%s: %q, want it to say %q", e.File, e.Reason, want[e.File])
		}
	}
	fsys := fstest.MapFS{"a.yml": {Data: []byte(anyDenied)}}
	_, err := rules.Load(rules.Source{Name: "one/", FS: fsys}, rules.Source{Name: "two/", FS: fsys})
	if err == nil || !strings.Contains(err.Error(), "one/a.yml") || !strings.Contains(err.Error(), "two/a.yml") {
		t.Errorf("duplicate ids: %v", err)
	}
}

func TestConfigure(t *testing.T) {
	s := load(t, map[string]string{"a.yml": createUser, "b.yml": anyDenied})
	hour, no := time.Hour, false
	err := s.Configure(config.Rules{Disable: []string{"x-*"}, Override: map[string]config.RuleOverride{
		"aws-iam-create-user": {Level: "critical", Suppress: &hour},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Rules[0]; r.Level != "critical" || r.Severity() != "critical" || r.Suppress != time.Hour || !r.Enabled {
		t.Errorf("override: %+v", r)
	}
	if s.Rules[1].Enabled || len(s.Enabled()) != 1 {
		t.Error("x-denied is not disabled")
	}
	err = s.Configure(config.Rules{Disable: []string{"nope-*"}, Override: map[string]config.RuleOverride{"typo": {Enabled: &no}}})
	if err == nil || !strings.Contains(err.Error(), `"nope-*" matches no rule`) || !strings.Contains(err.Error(), `no rule has id "typo"`) {
		t.Errorf("bad config: %v", err)
	}
}

func ctBatch(t *testing.T, recs ...map[string]any) *event.Batch {
	t.Helper()
	b := &event.Batch{Object: "o"}
	for i, r := range recs {
		e, err := ruletest.CloudTrail(r, ruletest.Base.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		b.CloudTrail = append(b.CloudTrail, e)
	}
	return b
}

func TestEngineHits(t *testing.T) {
	s := load(t, map[string]string{"a.yml": createUser, "b.yml": anyDenied})
	w, err := rules.NewWatchList([]config.Watch{
		{Name: "alice", Principal: "Alice", Severity: "high"},
		{Name: "deletes", Filter: `{ $.eventName = "Delete*" }`},
	})
	if err != nil {
		t.Fatal(err)
	}
	eng := rules.NewEngine(s.Rules, w)
	b := ctBatch(t,
		map[string]any{"eventSource": "iam.amazonaws.com", "eventName": "CreateUser", "requestParameters": map[string]any{"userName": "backdoor"}},
		map[string]any{"eventSource": "iam.amazonaws.com", "eventName": "createuser", "errorCode": "AccessDenied",
			"userIdentity": map[string]any{"type": "IAMUser", "userName": "bob", "arn": "arn:aws:iam::111122223333:user/bob"}},
		map[string]any{"eventSource": "s3.amazonaws.com", "eventName": "DeleteBucket",
			"userIdentity": map[string]any{"type": "IAMUser", "userName": "bob", "arn": "arn:aws:iam::111122223333:user/bob"}},
	)
	if err := eng.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	got := map[string][]event.Hit{}
	for _, h := range b.Hits {
		got[h.RuleID] = append(got[h.RuleID], h)
	}
	cu := got["aws-iam-create-user"]
	if len(cu) != 1 {
		t.Fatalf("create-user hits: %v", cu)
	}
	h := cu[0]
	if h.Title != "IAM user backdoor created by alice in account 111122223333, -" || h.Severity != "medium" ||
		h.DedupKey != "aws-iam-create-user|alice|backdoor" || h.Suppress != 2*time.Hour || h.Count != 1 ||
		len(h.EventIDs) != 1 || h.EventIDs[0] != b.CloudTrail[0].EventID || !h.First.Equal(ruletest.Base) ||
		h.Fields["principal"] != "alice" || h.Fields["event_name"] != "CreateUser" || h.Fields["source_ip"] != "198.51.100.7" ||
		len(h.Tags) != 1 || h.Tags[0] != "T1136.003" || h.LogType != event.KindCloudTrail {
		t.Errorf("hit = %+v", h)
	}
	if d := got["x-denied"]; len(d) != 1 || d[0].Severity != "info" || d[0].DedupKey != "x-denied|"+b.CloudTrail[1].EventID || d[0].Title != "Denied" {
		t.Errorf("x-denied hits: %+v", d)
	}
	if a := got["watch-alice"]; len(a) != 1 || a[0].Severity != "high" || !strings.Contains(a[0].Title, "alice called iam.amazonaws.com CreateUser from 198.51.100.7 (aws-cli/2.15.0") {
		t.Errorf("watch-alice hits: %+v", a)
	}
	if d := got["watch-deletes"]; len(d) != 1 || !strings.Contains(d[0].Title, "bob called s3.amazonaws.com DeleteBucket") || !strings.Contains(d[0].Title, "in us-east-1, account 111122223333 at 2026-03-01T12:00:02Z") {
		t.Errorf("watch-deletes hits: %+v", d)
	}
	if len(b.Hits) != 4 {
		t.Errorf("%d hits", len(b.Hits))
	}
	if _, err := rules.NewWatchList([]config.Watch{{Name: "x", Principal: "a", Filter: "b"}}); err == nil {
		t.Error("a watch entry with principal and filter was accepted")
	}
	if _, err := rules.NewWatchList([]config.Watch{{Name: "x", Filter: "{ $.a = "}}); err == nil {
		t.Error("a bad filter pattern was accepted")
	}
}

// TestEngineConcurrent runs the engine on several batches at once, as the
// pipeline's workers do (go test -race checks it).
func TestEngineConcurrent(t *testing.T) {
	s := load(t, map[string]string{"a.yml": createUser})
	eng := rules.NewEngine(s.Rules, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				b := ctBatch(t, map[string]any{"eventSource": "iam.amazonaws.com", "eventName": "CreateUser"},
					map[string]any{"eventSource": "iam.amazonaws.com", "eventName": "GetUser"})
				if err := eng.Process(context.Background(), b); err != nil || len(b.Hits) != 1 {
					t.Errorf("hits %d, err %v", len(b.Hits), err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// recorder is the HitRecorder boundary: it keeps what it is given.
type recorder struct{ hits []event.Hit }

func (r *recorder) RecordHits(_ context.Context, hits []event.Hit) (int, int, error) {
	r.hits = append(r.hits, hits...)
	return len(hits), 0, nil
}

func TestSchedulerRunsDueWindows(t *testing.T) {
	set, err := rules.Load(rules.Pack())
	if err != nil {
		t.Fatal(err)
	}
	var burst *rules.Rule
	for _, r := range set.Rules {
		if r.ID == "aws-cloudtrail-access-denied-burst" {
			burst = r
		}
	}
	st, _ := duckdbtest.Open(t)
	var recs []map[string]any
	for range 30 {
		recs = append(recs, map[string]any{"eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances", "errorCode": "UnauthorizedOperation"})
	}
	if err := ruletest.Store(context.Background(), st, ctBatch(t, recs...)); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	now := ruletest.Base.Add(10 * time.Minute) // the burst is not settled yet
	s := &rules.Scheduler{Rules: []*rules.Rule{burst}, Store: st, Recorder: rec, Settle: 20 * time.Minute, Now: func() time.Time { return now }}
	if n, err := s.RunDue(context.Background()); err != nil || n != 0 {
		t.Fatalf("first run: %d hits, %v", n, err)
	}
	now = ruletest.Base.Add(36 * time.Minute) // window [12:00,12:15) settled at 12:35
	if n, err := s.RunDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("second run: %d hits, %v", n, err)
	}
	if n, err := s.RunDue(context.Background()); err != nil || n != 0 {
		t.Fatalf("the same window ran twice: %d hits, %v", n, err)
	}
	h := rec.hits[0]
	if h.Count != 30 || h.Fields["principal"] != "alice" || h.DedupKey != "aws-cloudtrail-access-denied-burst|111122223333|alice" ||
		h.Title != "alice was denied 30 times in 15 minutes in account 111122223333" || !h.First.Equal(ruletest.Base) || len(h.EventIDs) != 2 {
		t.Errorf("hit = %+v", h)
	}
	hs, err := burst.RunRange(context.Background(), st, ruletest.Base.Add(-24*time.Hour), ruletest.Base.Add(24*time.Hour))
	if err != nil || len(hs) != 1 || hs[0].Count != 30 || hs[0].Fields["window_start"] != "2026-03-01T12:00:00Z" || hs[0].DedupKey != h.DedupKey {
		t.Errorf("RunRange: %+v %v", hs, err)
	}
	sql, _, err := burst.SQL(ruletest.Base, ruletest.Base.Add(time.Hour))
	if err != nil || !strings.Contains(sql, "GROUP BY recipient_account_id, principal") || !strings.Contains(sql, "HAVING COUNT(*) >= 20") {
		t.Errorf("SQL:\n%s\n%v", sql, err)
	}
}

func TestUserDirAndPack(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mine.yml"), []byte(anyDenied), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := rules.LoadConfigured(config.Rules{Dirs: []string{dir}, Disable: []string{"aws-vpcflow-*"}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range s.Rules {
		if r.ID == "x-denied" && r.File == filepath.Join(dir, "mine.yml") {
			found = true
		}
		if strings.HasPrefix(r.ID, "aws-vpcflow-") && r.Enabled {
			t.Errorf("%s is enabled", r.ID)
		}
	}
	if !found {
		t.Error("the user's rule was not loaded")
	}
	if _, err := rules.LoadConfigured(config.Rules{Dirs: []string{dir, dir}}); err == nil {
		t.Error("the same rule loaded twice")
	}
}

// TestLoginNewCountry runs the first-seen rules on the GeoIP columns the
// enrichment stage fills.
func TestLoginNewCountry(t *testing.T) {
	set, err := rules.Load(rules.Pack())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*rules.Rule{}
	for _, r := range set.Rules {
		byID[r.ID] = r
	}
	ctx := context.Background()
	st, _ := duckdbtest.Open(t)
	login := func(ip string, ago time.Duration, user string) map[string]any {
		return map[string]any{"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "eventType": "AwsConsoleSignIn",
			"sourceIPAddress": ip, "eventTime": ruletest.Base.Add(-ago).Format(time.RFC3339),
			"userIdentity": map[string]any{"type": "IAMUser", "userName": user, "arn": "arn:aws:iam::111122223333:user/" + user}}
	}
	b := ctBatch(t,
		login("81.2.69.142", 240*time.Hour, "alice"), login("175.16.199.1", 0, "alice"), // alice: GB before, CN now
		login("81.2.69.142", 240*time.Hour, "bob"), login("81.2.69.142", 0, "bob"), // bob: GB both times
		login("175.16.199.1", 0, "carol"), // carol: no history
	)
	// The enrichment stage adds src_country and src_asn (GB and AS20712
	// for 81.2.69.142, CN and AS4837 for 175.16.199.1).
	en, err := ruletest.Enricher()
	if err != nil {
		t.Fatal(err)
	}
	if err := en.Process(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := ruletest.Store(ctx, st, b); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"aws-login-new-country", "aws-login-new-asn"} {
		r := byID[id]
		if miss, err := r.MissingColumns(ctx, st); err != nil || len(miss) != 0 {
			t.Fatalf("%s: missing columns: %v %v", id, miss, err)
		}
		start, end := ruletest.Window(r)
		hits, err := r.RunWindow(ctx, st, start, end)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 1 || hits[0].Fields["principal"] != "alice" {
			t.Errorf("%s: hits %+v", id, hits)
			continue
		}
		if id == "aws-login-new-country" && hits[0].Title != "alice signed in to the console from CN for the first time in 90 days" {
			t.Errorf("title %q", hits[0].Title)
		}
	}
}
