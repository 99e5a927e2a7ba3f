package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func trawlRun(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func TestRulesIngestAndBackfill(t *testing.T) {
	dir := t.TempDir()
	flows := filepath.Join(dir, "flows.log")
	writeFile(t, flows, strings.Join([]string{
		"2 111122223333 eni-0a1b2c3d4e5f60001 198.51.100.7 10.0.0.5 40000 22 6 3 180 1793613000 1793613060 REJECT OK",
		"2 111122223333 eni-0a1b2c3d4e5f60001 10.0.0.5 198.51.100.7 443 40001 6 10 8000 1793613000 1793613060 ACCEPT OK",
		"2 111122223333 eni-0a1b2c3d4e5f60001 198.51.100.8 10.0.0.5 40002 3389 6 1 60 1793613000 1793613060 ACCEPT OK",
	}, "\n")+"\n")
	db := filepath.Join(dir, "t.duckdb")
	out, errs, code := trawlRun(t, "ingest", "--db", db, "--progress", "never", flows)
	if code != 0 || !strings.Contains(out, "streaming rules matched 2 times") {
		t.Fatalf("ingest: %d\n%s\n%s", code, out, errs)
	}
	db2 := filepath.Join(dir, "t2.duckdb")
	out, _, code = trawlRun(t, "ingest", "--db", db2, "--progress", "never", "--no-rules", flows)
	if code != 0 || strings.Contains(out, "rules:") {
		t.Errorf("--no-rules: %d\n%s", code, out)
	}
	out, errs, code = trawlRun(t, "rules", "backfill", "--db", db, "--since", "2026-11-01", "--until", "2026-11-30", "--dry-run")
	if code != 0 {
		t.Fatalf("backfill: %d %s", code, errs)
	}
	rules := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var h map[string]any
		if err := json.Unmarshal([]byte(line), &h); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		rules[h["rule_id"].(string)] = h
	}
	rej, acc := rules["aws-vpcflow-rejected-admin-port-internet"], rules["aws-vpcflow-accepted-remote-admin-internet"]
	if len(rules) != 2 || rej == nil || acc == nil {
		t.Fatalf("backfill hits: %s", out)
	}
	if ids := rej["event_ids"].([]any); len(ids) != 1 || !strings.HasPrefix(ids[0].(string), flows+"#sha256:") {
		t.Errorf("flow row key: %v", ids)
	}
	if rej["title"] != "Internet traffic to admin port 22 rejected in account 111122223333, first 198.51.100.7 → 10.0.0.5 (interface eni-0a1b2c3d4e5f60001)" || acc["severity"] != "medium" {
		t.Errorf("hits: %v\n%v", rej, acc)
	}
	if !strings.Contains(errs, "3 records and ") || !strings.Contains(errs, ": 2 hits in") {
		t.Errorf("backfill summary: %s", errs)
	}
	_, errs, code = trawlRun(t, "rules", "backfill", "--db", db, "--since", "30d", "--rules", "nothing-*")
	if code != exitUsage || !strings.Contains(errs, "no rule matches nothing-*") {
		t.Errorf("--rules nothing: %d %s", code, errs)
	}
}

func TestRulesListAndTest(t *testing.T) {
	out, _, code := trawlRun(t, "rules", "list", "--format", "json")
	var list []ruleJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil || code != 0 {
		t.Fatalf("list: %d %v\n%s", code, err, out)
	}
	found := false
	for _, r := range list {
		if r.ID == "aws-vpcflow-port-scan" {
			found = r.Kind == "threshold" && r.LogType == "vpcflow" && r.Enabled && r.File == "pack:scheduled/aws-vpcflow-port-scan.yml" && r.MITRE[0] == "T1046"
		}
	}
	if !found {
		t.Errorf("port-scan rule not listed right:\n%s", out)
	}
	out, _, code = trawlRun(t, "rules", "test")
	if code != 0 || !strings.Contains(out, " 0 failed") {
		t.Errorf("rules test on the pack: %d\n%s", code, out)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "wrong.yml"), `title: Wrong
id: my-wrong
level: low
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: CreateUser
  condition: sel
trawl:
  tests:
    match: [{eventName: DeleteUser}]
    no_match: [{eventName: GetUser}]
`)
	writeFile(t, filepath.Join(dir, "broken.yml"), "title: x\nid: my-broken\nlevel: low\nlogsource: {product: aws, service: cloudtrail}\ndetection: {sel: {a: 1}}\ntrawl: {tests: {match: [{}], no_match: [{}]}}\n")
	out, _, code = trawlRun(t, "rules", "test", dir)
	if code != exitFailure || !strings.Contains(out, "FAIL  my-wrong ("+filepath.Join(dir, "wrong.yml")+")") ||
		!strings.Contains(out, "match[0]: the rule did not match") || !strings.Contains(out, "broken.yml: not loaded: sigma: detection has no condition") {
		t.Errorf("rules test with a failing rule: %d\n%s", code, out)
	}
}

// TestBackfillMatchesLiveIngest: backfilling the streaming rules over the
// demo's three days of stored history (read an hour at a time, in time
// order) finds exactly the records live ingest found, rule by rule.
func TestBackfillMatchesLiveIngest(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.duckdb")
	out, errs, code := trawlRun(t, "demo", "--db", db, "--out", filepath.Join(dir, "data"), "--events", "4000", "--flows", "4000", "--progress", "never", "--no-serve")
	if code != 0 {
		t.Fatalf("demo: %d\n%s\n%s", code, out, errs)
	}
	live := map[string]int64{}
	qout, qerr, code := trawlRun(t, "query", "--db", db, "SELECT rule_id, count(*) FROM alert_hit GROUP BY 1")
	if code != 0 {
		t.Fatalf("query: %d %s", code, qerr)
	}
	for _, line := range strings.Split(strings.TrimSpace(qout), "\n")[1:] {
		id, n, _ := strings.Cut(line, ",")
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		live[id] = v
	}
	var list []ruleJSON
	lout, _, _ := trawlRun(t, "rules", "list", "--format", "json")
	if err := json.Unmarshal([]byte(lout), &list); err != nil {
		t.Fatal(err)
	}
	streaming := map[string]bool{}
	for _, r := range list {
		streaming[r.ID] = r.Kind == "streaming"
	}
	out, errs, code = trawlRun(t, "rules", "backfill", "--db", db, "--since", "2026-11-01", "--until", "2026-11-08", "--dry-run")
	if code != 0 {
		t.Fatalf("backfill: %d %s", code, errs)
	}
	// Every version of a GuardDuty finding is a hit, and the alert store
	// keeps the first of each finding id per rule: count distinct ids.
	back := map[string]int64{}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var h struct {
			RuleID   string   `json:"rule_id"`
			EventIDs []string `json:"event_ids"`
		}
		if err := json.Unmarshal([]byte(line), &h); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		key := h.RuleID + "|" + strings.Join(h.EventIDs, ",")
		if streaming[h.RuleID] && !seen[key] {
			seen[key] = true
			back[h.RuleID]++
		}
	}
	if len(live) < 5 || !maps.Equal(live, back) {
		t.Errorf("hits per rule, live ingest:\n%v\nbackfill:\n%v", live, back)
	}
}

// TestIngestConfig: trawl ingest --config applies the file's rules section
// (a watch-list entry) and alert routes: alice's call raises the watch
// alert, and its delivery waits in the outbox for trawl run. A bad file is
// a usage error.
func TestIngestConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "trawl.yaml")
	writeFile(t, cfg, `rules:
  watch:
    - name: alice
      principal: alice
alerts:
  notifiers:
    - name: hook
      webhook: {url: "http://127.0.0.1:9/hook", secret: s3cr3t}
  routes:
    - notifiers: [hook]
      rules: ["watch-*"]
`)
	ct := filepath.Join(dir, "ct.json")
	writeFile(t, ct, `{"Records":[`+lambdaCTRecord(1, "alice")+`,`+lambdaCTRecord(2, "bob")+`]}`)
	db := filepath.Join(dir, "t.duckdb")
	out, errs, code := trawlRun(t, "ingest", "--db", db, "--progress", "never", "--config", cfg, ct)
	if code != 0 {
		t.Fatalf("ingest: %d\n%s\n%s", code, out, errs)
	}
	q, qerr, code := trawlRun(t, "query", "--db", db, `SELECT a.rule_id, o.notifier, o.status FROM alert a JOIN alert_outbox o ON o.alert_id = a.id ORDER BY 1`)
	if code != 0 || strings.TrimSpace(q) != "rule_id,notifier,status\nwatch-alice,hook,pending" {
		t.Errorf("alerts routed: %d %s\n%s", code, qerr, q)
	}
	// Without --config the watch list is not there, and nothing is routed.
	db2 := filepath.Join(dir, "t2.duckdb")
	if _, errs, code := trawlRun(t, "ingest", "--db", db2, "--progress", "never", ct); code != 0 {
		t.Fatalf("ingest without --config: %d %s", code, errs)
	}
	q, _, _ = trawlRun(t, "query", "--db", db2, `SELECT count(*) FROM alert WHERE rule_id LIKE 'watch-%'`)
	if strings.TrimSpace(q) != "count_star()\n0" {
		t.Errorf("without --config: %s", q)
	}
	writeFile(t, cfg, "rules:\n  watch:\n    - name: x\n")
	if _, errs, code := trawlRun(t, "ingest", "--db", db2, "--config", cfg, ct); code != exitUsage || !strings.Contains(errs, "watch") {
		t.Errorf("bad config: %d %s", code, errs)
	}
}
