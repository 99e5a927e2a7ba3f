package pack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/trawl-project/trawl/internal/corpustest"
	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/decode/cloudtrail"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/rules/ruletest"
	"github.com/trawl-project/trawl/internal/sigma"
)

var writeDoc = flag.Bool("write-doc", false, "rewrite docs/rules-pack.md from the CloudTrail rules")

// packRule is a rule file as the pack format describes it (Sigma plus a
// trawl block). Unknown keys are an error, so a misspelt key is caught.
type packRule struct {
	Title          string    `yaml:"title"`
	ID             string    `yaml:"id"`
	Status         string    `yaml:"status"`
	Description    string    `yaml:"description"`
	References     []string  `yaml:"references"`
	Author         string    `yaml:"author"`
	Tags           []string  `yaml:"tags"`
	Logsource      yaml.Node `yaml:"logsource"`
	Detection      yaml.Node `yaml:"detection"`
	Falsepositives []string  `yaml:"falsepositives"`
	Level          string    `yaml:"level"`
	Trawl          struct {
		Title    string   `yaml:"title"`
		Dedup    []string `yaml:"dedup"`
		Suppress string   `yaml:"suppress"`
		Tests    struct {
			Match   []map[string]any `yaml:"match"`
			NoMatch []map[string]any `yaml:"no_match"`
		} `yaml:"tests"`
	} `yaml:"trawl"`

	file  string
	sigma *sigma.Rule
}

var (
	techniqueRE   = regexp.MustCompile(`^attack\.t[0-9]{4}(\.[0-9]{3})?$`)
	idRE          = regexp.MustCompile(`^aws-[a-z0-9]+(-[a-z0-9]+)+$`)
	placeholderRE = regexp.MustCompile(`\{\{\s*([^{}|]*?)\s*(?:\|[^{}]*)?\}\}`)
	levels        = map[string]bool{"informational": true, "low": true, "medium": true, "high": true, "critical": true}
	statuses      = map[string]bool{"stable": true, "test": true, "experimental": true}
	derived       = map[string]bool{"principal": true, "sessionName": true}
)

// loadRules reads and parses every CloudTrail rule of the pack.
func loadRules(t testing.TB) []*packRule {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("cloudtrail", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var rules []*packRule
	for _, f := range files {
		if filepath.Ext(f) != ".yml" {
			t.Errorf("%s: every file of the pack is a .yml rule", f)
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r packRule
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&r); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		r.file = f
		r.sigma, err = sigma.Parse(data)
		if err != nil {
			t.Errorf("%s: sigma.Parse: %v", f, err)
			continue
		}
		rules = append(rules, &r)
	}
	if len(rules) < 50 {
		t.Errorf("the pack has %d CloudTrail rules, want at least 50", len(rules))
	}
	return rules
}

// testTime is when test events happen (the default record's time).
var testTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// decodeRecord turns a record into the event trawl's CloudTrail decoder
// makes of it, derived fields included.
func decodeRecord(t *testing.T, rec map[string]any) *event.CloudTrail {
	t.Helper()
	raw, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	e := cloudtrail.FromRaw(string(raw), nil)
	return &e
}

// has reports whether the dotted path reaches a value in v (crossing
// arrays as the Sigma engine does).
func has(v any, path []string) bool {
	if len(path) == 0 {
		return v != nil
	}
	switch x := v.(type) {
	case map[string]any:
		c, ok := x[path[0]]
		return ok && has(c, path[1:])
	case []any:
		for _, el := range x {
			if has(el, path) {
				return true
			}
		}
	}
	return false
}

func TestCloudTrailPack(t *testing.T) {
	rules := loadRules(t)
	ids := map[string]string{}
	for _, r := range rules {
		name := strings.TrimSuffix(filepath.Base(r.file), ".yml")
		t.Run(name, func(t *testing.T) {
			if r.ID != name {
				t.Errorf("id %q differs from the file name", r.ID)
			}
			if !idRE.MatchString(r.ID) {
				t.Errorf("id %q is not lowercase, dash-separated, aws-AREA-…", r.ID)
			}
			if prev, dup := ids[r.ID]; dup {
				t.Errorf("id %q also in %s", r.ID, prev)
			}
			ids[r.ID] = r.file
			if r.sigma.ID() != r.ID || r.sigma.Level() != r.Level {
				t.Errorf("the Sigma engine reads id %q level %q", r.sigma.ID(), r.sigma.Level())
			}
			if !levels[r.Level] {
				t.Errorf("level %q", r.Level)
			}
			if !statuses[r.Status] {
				t.Errorf("status %q", r.Status)
			}
			if r.Title == "" || r.Description == "" || r.Author != "trawl" || len(r.References) == 0 || len(r.Falsepositives) == 0 {
				t.Errorf("title, description, author trawl, references and falsepositives are required")
			}
			var ls struct{ Product, Service string }
			if err := r.Logsource.Decode(&ls); err != nil || ls.Product != "aws" || ls.Service != "cloudtrail" {
				t.Errorf("logsource %+v (%v), want product aws, service cloudtrail", ls, err)
			}
			technique, tactic := false, false
			for _, tag := range r.Tags {
				if techniqueRE.MatchString(tag) {
					technique = true
				} else if strings.HasPrefix(tag, "attack.") && !strings.HasPrefix(tag, "attack.t") {
					tactic = true
				}
			}
			if !technique || !tactic {
				t.Errorf("tags %v: want an ATT&CK tactic and an attack.tNNNN technique", r.Tags)
			}
			if r.Trawl.Title == "" {
				t.Errorf("trawl.title is missing")
			}
			if r.Trawl.Suppress != "" {
				if d, err := time.ParseDuration(r.Trawl.Suppress); err != nil || d <= 0 {
					t.Errorf("trawl.suppress %q: %v", r.Trawl.Suppress, err)
				}
			}
			if len(r.Trawl.Tests.Match) == 0 || len(r.Trawl.Tests.NoMatch) == 0 {
				t.Fatalf("want at least one match and one no_match test")
			}
			var matchRecs []map[string]any
			for i, over := range r.Trawl.Tests.Match {
				rec := ruletest.CloudTrailRecord(over, testTime)
				matchRecs = append(matchRecs, rec)
				if !r.sigma.Match(decodeRecord(t, rec)) {
					raw, _ := json.Marshal(over)
					t.Errorf("match test %d does not match: %s", i, raw)
				}
			}
			for i, over := range r.Trawl.Tests.NoMatch {
				if r.sigma.Match(decodeRecord(t, ruletest.CloudTrailRecord(over, testTime))) {
					raw, _ := json.Marshal(over)
					t.Errorf("no_match test %d matches: %s", i, raw)
				}
			}
			// Every placeholder and dedup field names something the match
			// events have (or a derived name).
			var names []string
			for _, m := range placeholderRE.FindAllStringSubmatch(r.Trawl.Title, -1) {
				names = append(names, m[1])
			}
			names = append(names, r.Trawl.Dedup...)
			for _, n := range names {
				if derived[n] {
					continue
				}
				found := false
				for _, rec := range matchRecs {
					found = found || has(rec, strings.Split(n, "."))
				}
				if !found {
					t.Errorf("%q (title or dedup) is in no match test event", n)
				}
			}
		})
	}
}

// counter runs every rule on the CloudTrail events of a data set.
type counter struct {
	rules  []*packRule
	events int
	hits   map[string]int
	where  map[string][]string // rule id → objects it fired on
	object string              // the object being decoded
}

func (c *counter) emit(b *event.Batch) error {
	for i := range b.CloudTrail {
		e := &b.CloudTrail[i]
		c.events++
		for _, r := range c.rules {
			if r.sigma.Match(e) {
				c.hits[r.ID]++
				if c.where != nil {
					c.where[r.ID] = append(c.where[r.ID], c.object)
				}
			}
		}
	}
	return nil
}

func (c *counter) decodeTree(t *testing.T, dir string, want func(rel string) bool) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !want(filepath.ToSlash(rel)) {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		c.object = filepath.ToSlash(rel)
		return decode.Decode(context.Background(), decode.Object{Name: rel, Key: filepath.ToSlash(rel)}, f, decode.Options{Kind: event.KindCloudTrail}, c.emit)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPackNoise runs the pack over the CloudTrail events of the shared
// corpus and of the demo data set and prints the matches per rule. No rule
// may fire on more than 1% of the demo's events (its benign background),
// and the demo's attack must be seen by the rules written for its steps.
func TestPackNoise(t *testing.T) {
	rules := loadRules(t)
	corpus := corpustest.Dir(t)
	cc := &counter{rules: rules, hits: map[string]int{}, where: map[string][]string{}}
	for _, sub := range []string{"elastic-integrations/cloudtrail", "elastic-beats/cloudtrail"} {
		cc.decodeTree(t, filepath.Join(corpus, sub), func(rel string) bool {
			return strings.HasSuffix(rel, ".log") && !strings.Contains(rel, "digest")
		})
	}
	if cc.events < 100 {
		t.Fatalf("decoded %d corpus events, expected over 100", cc.events)
	}

	dir := t.TempDir()
	cfg := gen.DefaultConfig() // trawl demo's data set, without the flow logs and findings
	cfg.FlowRecords, cfg.Findings = -1, -1
	if _, err := gen.Generate(context.Background(), dir, cfg); err != nil {
		t.Fatal(err)
	}
	dc := &counter{rules: rules, hits: map[string]int{}, where: map[string][]string{}}
	dc.decodeTree(t, dir, func(rel string) bool { return strings.Contains(rel, "/CloudTrail/") })
	if dc.events < 10000 {
		t.Fatalf("decoded %d demo events, expected about 20000", dc.events)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "%-48s %8s %8s\n", "rule", "corpus", "demo")
	fmt.Fprintf(&b, "%-48s %8d %8d\n", "(events)", cc.events, dc.events)
	firing := 0
	for _, r := range rules {
		fmt.Fprintf(&b, "%-48s %8d %8d\n", r.ID, cc.hits[r.ID], dc.hits[r.ID])
		if cc.hits[r.ID]+dc.hits[r.ID] > 0 {
			firing++
		}
		if dc.hits[r.ID]*100 > dc.events {
			t.Errorf("%s fires on %d of %d demo events: too noisy", r.ID, dc.hits[r.ID], dc.events)
		}
	}
	fmt.Fprintf(&b, "%d of %d rules fire on the corpus or the demo\n", firing, len(rules))
	for _, r := range rules {
		if w := cc.where[r.ID]; len(w) > 0 {
			fmt.Fprintf(&b, "corpus %s: %s\n", r.ID, strings.Join(w, ", "))
		}
	}
	for _, r := range rules {
		if w := dc.where[r.ID]; len(w) > 0 {
			fmt.Fprintf(&b, "demo %s: %d in %s\n", r.ID, len(w), w[0])
		}
	}
	t.Log("\n" + b.String())

	// The corpus's real records: exactly these fire (each was checked by
	// hand); among those that must not are real near misses such as a
	// security group opened to 203.0.113.0/24, a snapshot and an AMI made
	// private again, an RDS snapshot unshared, a trust policy naming its
	// own account and a Lambda permission for SNS.
	for id, want := range expectedCorpusHits {
		if !slices.Contains(ids(rules), id) {
			t.Errorf("expectedCorpusHits names %s, which is not a rule", id)
		}
		if got := strings.Join(cc.where[id], ", "); got != want {
			t.Errorf("%s fires on corpus files [%s], want [%s]", id, got, want)
		}
	}
	for id, w := range cc.where {
		if _, ok := expectedCorpusHits[id]; !ok {
			t.Errorf("%s fires on corpus files %v, which nobody checked: review them and add them to expectedCorpusHits", id, w)
		}
	}

	// The demo's attack story: each step that is a CloudTrail call.
	for _, id := range []string{
		"aws-iam-create-user",
		"aws-iam-attach-admin-policy",
		"aws-iam-create-access-key-other-user",
		"aws-iam-create-login-profile",
		"aws-login-console-no-mfa",
		"aws-cloudtrail-stop-logging",
		"aws-ec2-flow-logs-deleted",
	} {
		if dc.hits[id] == 0 {
			t.Errorf("%s does not fire on the demo's attack", id)
		}
	}
}

// expectedCorpusHits lists, per rule, the corpus files (in decoding order)
// whose records it matches.
var expectedCorpusHits = map[string]string{
	"aws-cloudtrail-delete-trail":               "delete-trail-json.log",
	"aws-cloudtrail-update-trail":               "test-update-trail-json.log",
	"aws-config-recording-disabled":             "test-stop-configuration-recorder.log",
	"aws-ec2-flow-logs-deleted":                 "test-delete-flow-log-json.log",
	"aws-ec2-traffic-mirroring":                 "test-create-traffic-mirror-session-request-json.log",
	"aws-guardduty-detector-deleted":            "test-delete-detector-json.log",
	"aws-iam-add-user-to-admin-group":           "add-user-to-group-json.log",
	"aws-iam-attach-admin-policy":               "test-attach-user-policy-json.log",
	"aws-iam-attach-user-policy":                "test-attach-user-role-json.log",
	"aws-iam-create-user":                       "create-user-json.log",
	"aws-iam-mfa-device-deactivated":            "deactivate-mfa-device-json.log, delete-virtual-mfa-device-json.log",
	"aws-iam-password-policy-weakened":          "update-accout-password-policy-json.log",
	"aws-iam-update-login-profile-other-user":   "update-login-profile-json.log",
	"aws-kms-key-deletion-scheduled":            "test-schedule-key-deletion-json.log",
	"aws-kms-key-disabled":                      "test-disable-key-json.log",
	"aws-login-console-failure":                 "test-console-login-json.log, test-console-login-json.log",
	"aws-login-console-no-mfa":                  "test-console-login-json.log",
	"aws-logs-security-log-group-deleted":       "test-delete-log-group-json.log, test-delete-log-stream-json.log",
	"aws-rds-instance-made-public":              "test-modify-db-instance-json.log",
	"aws-rds-master-password-changed":           "test-modify-db-cluster-json.log",
	"aws-root-activity":                         "test-terminate-session-json.log",
	"aws-route53resolver-query-logging-deleted": "test-delete-resolver-query-log-config-json.log",
	"aws-waf-web-acl-deleted":                   "test-delete-web-acl-json.log",
}

func ids(rules []*packRule) []string {
	var s []string
	for _, r := range rules {
		s = append(s, r.ID)
	}
	return s
}

// TestPackDoc checks docs/rules-pack.md lists every rule as the rules say
// (go test ./internal/rules/pack -run TestPackDoc -write-doc rewrites it).
func TestPackDoc(t *testing.T) {
	rules := loadRules(t)
	sort.Slice(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	var b strings.Builder
	b.WriteString(docHead)
	fmt.Fprintf(&b, "%d rules, by id.\n\n", len(rules))
	b.WriteString("| id | level | MITRE ATT&CK | detects |\n| --- | --- | --- | --- |\n")
	for _, r := range rules {
		var tech []string
		for _, tag := range r.Tags {
			if techniqueRE.MatchString(tag) {
				tech = append(tech, strings.ToUpper(strings.TrimPrefix(tag, "attack.")))
			}
		}
		desc := strings.Join(strings.Fields(r.Description), " ")
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.ID, r.Level, strings.Join(tech, ", "), strings.ReplaceAll(desc, "|", "\\|"))
	}
	b.WriteString(docTail)
	path := filepath.Join("..", "..", "..", "docs", "rules-pack.md")
	if *writeDoc {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != b.String() {
		t.Errorf("%s is out of date: go test ./internal/rules/pack -run TestPackDoc -write-doc", path)
	}
}

const docHead = "# The built-in CloudTrail rule pack\n" + `
trawl ships detection rules for CloudTrail, embedded in the binary from
` + "`internal/rules/pack/cloudtrail/`" + ` (one rule per ` + "`<id>.yml`" + ` file). They are
streaming rules: each looks at one event as it is ingested (or as
` + "`trawl rules backfill`" + ` replays history). Rules that count events over a window
(bursts of AccessDenied, bulk secret reads) or remember what was seen before
(first console login from a new country) are scheduled rules, and rules over
VPC flow logs and GuardDuty findings live beside these; neither is listed
here.

## Format

A rule is a Sigma rule (see [sigma.md](sigma.md) for the fields and modifiers
the engine supports) with a ` + "`trawl:`" + ` block the Sigma engine ignores:

` + "```yaml" + `
title: Access key created for another IAM user
id: aws-iam-create-access-key-other-user
status: stable
description: An access key was created for an IAM user other than the caller. …
references: [https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html]
author: trawl
tags: [attack.persistence, attack.privilege_escalation, attack.t1098.001]
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventSource: iam.amazonaws.com
    eventName: CreateAccessKey
    requestParameters.userName|exists: true
  self:
    requestParameters.userName|fieldref: userIdentity.userName
  failed:
    errorCode|exists: true
  condition: selection and not self and not failed
falsepositives: [Administrators issuing keys to service users (prefer roles)]
level: high
trawl:
  title: "{{principal}} created an access key for IAM user {{requestParameters.userName}} in account {{recipientAccountId}}"
  dedup: [principal, requestParameters.userName]
  suppress: 1h
  tests:
    match:
      - eventSource: iam.amazonaws.com
        eventName: CreateAccessKey
        requestParameters: {userName: svc-backup-sync}
    no_match:
      - eventSource: iam.amazonaws.com
        eventName: CreateAccessKey
        requestParameters: {userName: alice}     # the caller's own key
` + "```" + `

- Field names are CloudTrail's JSON paths, plus trawl's derived ` + "`principal`" + `
  (the person or actor behind the call) and ` + "`sessionName`" + `
  ([schema.md](schema.md)).
- ` + "`trawl.title`" + ` is the alert title; ` + "`{{path}}`" + ` renders the field's value, or
  ` + "`-`" + ` when the event does not have it; ` + "`{{path|text}}`" + ` renders text instead
  (` + "`({{errorCode|succeeded}})`" + `).
- ` + "`trawl.dedup`" + ` lists the fields whose values form an alert's key: inside the
  ` + "`suppress`" + ` window another matching event with the same key updates the alert
  (its count and last-seen time) instead of opening a new one. The pack keys
  on the target (the user, bucket, key or security group) where one exists,
  so ten changes to one bucket are one alert and changes to ten buckets are
  ten.
- ` + "`trawl.tests`" + `: events that must match and near misses that must not (the
  same API with safe parameters, failed, or its undo). Each is a partial
  record: the test starts from a default record (an IAM user ` + "`alice`" + ` in account
  111122223333 calling from 198.51.100.7 with the AWS CLI, ` + "`eventType`" + `
  AwsApiCall) and replaces its top-level keys with the test's.

## Conventions

- Persistence and exposure rules (a user created, a bucket made public)
  ignore failed calls (` + "`errorCode`" + ` present): nothing changed. Rules about
  turning off logging or security services (CloudTrail, GuardDuty, Config,
  Security Hub, Macie, flow logs, log groups, WAF, DNS query logs,
  Organizations, domain transfers) also fire on failed attempts, since an
  attempt, even one a service control policy denied, shows intent; their
  titles end with the error code.
- Levels: ` + "`critical`" + ` is reserved for what has no legitimate use (a root access
  key); ` + "`high`" + ` for changes that expose data or blind monitoring; ` + "`medium`" + ` for
  changes worth a look that administrators also make; ` + "`low`" + ` for common
  changes that matter in context.
- Policy documents (IAM inline policies, trust policies, bucket and key
  policies) are matched per statement with a regular expression over the
  JSON text: "a statement with Effect Allow and Principal \"*\"" is one statement
  having both, not a policy having both somewhere (a ` + "`Deny`" + ` for ` + "`\"*\"`" + ` with
  ` + "`aws:SecureTransport`" + ` is not public). The expression follows objects nested
  up to three levels inside a statement (Principal and Condition blocks) and
  assumes no braces inside string values. IAM policy documents are also
  matched URL-encoded, as older records carry them.

## Rules

`

const docTail = `
## How the pack is tested

` + "`go test ./internal/rules/pack`" + ` (` + "`cloudtrail_pack_test.go`" + `):

- every file parses with the Sigma engine and with a strict reader of the
  pack format (an unknown or misspelt key fails); ids are unique, equal the
  file name and start with ` + "`aws-`" + `; levels and statuses are valid; every rule
  has an ATT&CK tactic and technique tag, a title template, references,
  false positives and at least one match and one near-miss test;
- every test event is built as above, serialised to JSON, decoded by trawl's
  CloudTrail decoder (so ` + "`principal`" + ` and the other derived fields are what
  ingest would make) and must match or not as it says;
- every ` + "`{{placeholder}}`" + ` of a title and every dedup field is a derived field or
  present in a match test event;
- the pack runs over the 128 CloudTrail events of the shared test corpus
  (real records: Elastic's CloudTrail pipeline test inputs) and the ~20,000
  events of the demo data set (` + "`trawl demo`" + `). On the corpus exactly the
  reviewed rules must fire on exactly the reviewed records (23 rules; the
  real near misses, such as a security group opened to 203.0.113.0/24, a
  snapshot and an AMI made private again, a trust policy naming its own
  account or a Lambda permission for SNS, must not). No rule may fire on
  more than 1% of the demo's events (the most any rule fires is 3 of
  20,028), and each step of the demo's attack that is a CloudTrail call (the
  backdoor user, its AdministratorAccess, access key and console password,
  its console login without MFA, StopLogging, the denied DeleteFlowLogs)
  must be caught. ` + "`go test -v -run TestPackNoise`" + ` prints the count per rule.
- this file is generated from the rules and checked against them
  (` + "`go test ./internal/rules/pack -run TestPackDoc -write-doc`" + ` rewrites it).

Against real AWS: nothing was run against a live account. Event shapes come
from the AWS API references and CloudTrail documentation, the real records
of the shared corpus (security group, snapshot, AMI, RDS snapshot, trust
policy, flow log, console sign-in, NACL records among them) and test events
published with open-source detection rules. Shapes that are known to vary
(EC2's newer APIs wrap parameters in ` + "`XxxRequest`" + ` objects; Lambda event names
carry API-version suffixes such as ` + "`AddPermission20150331v2`" + `) are handled,
but a rule whose shape guess is wrong would stay silent, not noisy: report
a real event it misses.

## Cost

` + "`go test ./internal/rules/pack -run XXX -bench CloudTrailPack`" + ` evaluates every rule
on each CloudTrail event of a generated data set (20,000 events with 5% of
them carrying 5–40 KB request parameters: policy documents, launch
specifications). On the build machine (Xeon, one core) the whole pack takes
about 8 µs per event (120,000–130,000 events/s, no allocations per event);
on the demo's ordinary events, without the large ones, about 5 µs
(200,000 events/s). Most rules stop at ` + "`eventSource`" + `, a string comparison;
the costliest are those that read large request parameters (inline
policies, policy versions, bucket policies, about 0.2–1 µs per event on
average). The policy rules look for a literal ` + "`\"*\"`" + ` value (or ` + "`\"Action\"`" + ` with
` + "`*`" + `) before their per-statement expression, which costs milliseconds on a
40 KB policy and so runs only on the rare policy that has such a value.

## Known limits

- One call may carry several security group rules
  (` + "`ipPermissions.items`" + `); the security group rules check the port and the
  address independently, so a call adding 22 from an office range and 8080
  from 0.0.0.0/0 is reported as port 22 open to the world.
- Security group rules changed in place with ` + "`ModifySecurityGroupRules`" + ` (the
  newer API that edits an existing rule's address or ports) are not
  covered; only ` + "`AuthorizeSecurityGroupIngress`" + ` is.
- ` + "`aws-ec2-snapshot-shared`" + `, ` + "`aws-iam-role-trust-external-account`" + ` and the
  other sharing rules cannot tell your own accounts from others; add an
  override with your account ids to silence sharing inside the
  organization.
- ` + "`aws-iam-role-trust-external-account`" + ` cannot know your other accounts; it
  fires when a trust policy names an AWS principal and not the role's own
  account, and misses a policy that names both.
- ` + "`aws-s3-bucket-policy-public`" + ` and ` + "`aws-kms-key-policy-public`" + ` treat any of the
  usual restricting condition keys anywhere in the policy as restricting the
  public statement.
- ` + "`aws-iam-password-policy-weakened`" + ` follows the API: a setting the call leaves
  out is reset to its default (off), so it is reported as weak.
`

// collector keeps the CloudTrail events of a data set.
type collector struct{ events []event.CloudTrail }

func (c *collector) emit(b *event.Batch) error {
	c.events = append(c.events, b.CloudTrail...)
	return nil
}

// BenchmarkCloudTrailPack evaluates every CloudTrail rule of the pack on the
// background events of a generated data set, 5% of them with large
// requestParameters (policy documents, launch specifications): ns/op is
// per event for the whole pack. It then logs the slowest rules.
func BenchmarkCloudTrailPack(b *testing.B) {
	rules := loadRules(b)
	dir := b.TempDir()
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents, cfg.FlowRecords, cfg.Findings, cfg.LargeParams = 20000, -1, -1, true
	if _, err := gen.Generate(context.Background(), dir, cfg); err != nil {
		b.Fatal(err)
	}
	var col collector
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(filepath.ToSlash(p), "/CloudTrail/") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return decode.Decode(context.Background(), decode.Object{Name: p, Key: filepath.ToSlash(p)}, f, decode.Options{Kind: event.KindCloudTrail}, col.emit)
	})
	if err != nil {
		b.Fatal(err)
	}
	events := col.events
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		e := &events[i%len(events)]
		i++
		for _, r := range rules {
			r.sigma.Match(e)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.StopTimer()

	type cost struct {
		id string
		ns float64
	}
	var costs []cost
	hits := 0
	for _, r := range rules {
		for j := range events {
			if r.sigma.Match(&events[j]) {
				hits++
			}
		}
		best := time.Duration(1<<63 - 1)
		for range 3 { // the fastest of three passes, the least disturbed
			start := time.Now()
			for j := range events {
				r.sigma.Match(&events[j])
			}
			best = min(best, time.Since(start))
		}
		costs = append(costs, cost{r.ID, float64(best.Nanoseconds()) / float64(len(events))})
	}
	sort.Slice(costs, func(i, j int) bool { return costs[i].ns > costs[j].ns })
	var s strings.Builder
	fmt.Fprintf(&s, "%d rules, %d events, %d hits; slowest rules (ns/event):", len(rules), len(events), hits)
	for _, c := range costs[:5] {
		fmt.Fprintf(&s, " %s %.0f", c.id, c.ns)
	}
	b.Log(s.String())
}
