package sigma

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/corpustest"
	"github.com/trawl-project/trawl/internal/event"
	"gopkg.in/yaml.v3"
)

// sigmaCorpus returns the Sigma rules of the shared corpus.
func sigmaCorpus(t testing.TB) string {
	t.Helper()
	return corpustest.Sub(t, "sigma")
}

func ymlFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// expectedUnsupported lists the corpus rules this package refuses, by file
// name, with a part of the reason.
var expectedUnsupported = map[string]string{
	"aws_cloudtrail_console_login_success_from_susp_locations.yml": `modifier "expand"`,
	"aws_ec2_download_userdata.yml":                                "aggregation",
	"aws_enum_backup.yml":                                          "aggregation",
	"aws_enum_listing.yml":                                         "aggregation",
	"aws_enum_network.yml":                                         "aggregation",
	"aws_enum_storage.yml":                                         "aggregation",
	"aws_lambda_function_created_or_invoked.yml":                   "near",
	"aws_macic_evasion.yml":                                        "aggregation",
	"aws_ses_messaging_enabled.yml":                                "timeframe 5m",
}

// TestCorpusLoads loads every rule file of the corpus: each one is either
// a rule or reported unsupported with its reason, none is dropped.
func TestCorpusLoads(t *testing.T) {
	dir := sigmaCorpus(t)
	files := ymlFiles(t, dir)
	rules, unsup, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files: %d rules loaded, %d unsupported", len(files), len(rules), len(unsup))
	if len(files) != 66 || len(rules) != 57 || len(unsup) != 9 {
		t.Errorf("%d files, %d loaded, %d unsupported; want 66, 57 and 9", len(files), len(rules), len(unsup))
	}
	// Every file is accounted for exactly once: loaded rules by their id,
	// unsupported ones by name.
	ids := map[string]int{}
	for _, r := range rules {
		if r.ID() == "" || r.Title() == "" || r.Level() == "" {
			t.Errorf("rule %q (%s) lacks an id, a title or a level", r.Title(), r.ID())
		}
		ids[r.ID()]++
	}
	refused := map[string]string{}
	for _, u := range unsup {
		if u.Reason == "" {
			t.Errorf("%s: unsupported with no reason", u.File)
		}
		refused[u.File] = u.Reason
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var head struct {
			ID string `yaml:"id"`
		}
		if err := yaml.Unmarshal(data, &head); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		reason, isRefused := refused[f]
		want, wantRefused := expectedUnsupported[filepath.Base(f)]
		switch {
		case isRefused && ids[head.ID] > 0:
			t.Errorf("%s: both loaded and refused", f)
		case isRefused != wantRefused:
			t.Errorf("%s: refused %v (%s), want refused %v", f, isRefused, reason, wantRefused)
		case isRefused && !strings.Contains(reason, want):
			t.Errorf("%s: reason %q, want one containing %q", f, reason, want)
		case !isRefused && ids[head.ID] != 1:
			t.Errorf("%s: id %s loaded %d times, want once", f, head.ID, ids[head.ID])
		}
	}
	for _, e := range []*event.CloudTrail{decoded(sampleRaw), decoded(benchRaw), {}} {
		for _, r := range rules {
			r.Match(e) // every rule runs on real and empty events
		}
	}
}

// genEvent builds a CloudTrail record that satisfies a rule's positive
// searches from the rule's own detection: the first value of each field
// (all of them for |contains|all), wildcards filled, on top of a baseline
// record. It returns "" for rules it cannot build an event for (|re).
func genEvent(t *testing.T, data []byte) (raw string, fields []string) {
	t.Helper()
	var doc struct {
		Detection map[string]yaml.Node `yaml:"detection"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	cond := doc.Detection["condition"].Value
	var names []string
	for k := range doc.Detection {
		if k != "condition" && k != "timeframe" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	// Positive searches: not preceded by "not"; "1 of X" takes the first
	// match, "all of X" every one.
	var pos []string
	toks := tokenize(cond)
	for i := 0; i < len(toks); i++ {
		tok := toks[i]
		negated := i > 0 && toks[i-1] == "not"
		switch {
		case tok == "and" || tok == "or" || tok == "not" || tok == "(" || tok == ")":
		case i+2 < len(toks) && toks[i+1] == "of":
			var match []string
			for _, n := range names {
				if ok, _ := filepath.Match(toks[i+2], n); ok || toks[i+2] == "them" {
					match = append(match, n)
				}
			}
			if !negated && len(match) > 0 {
				if tok == "1" {
					match = match[:1]
				}
				pos = append(pos, match...)
			}
			i += 2
		case !negated:
			pos = append(pos, tok)
		}
	}
	rec := map[string]any{
		"eventVersion": "1.09", "eventTime": "2026-11-01T10:05:00Z", "eventID": "gen-1",
		"awsRegion": "eu-west-1", "sourceIPAddress": "198.51.100.9", "userAgent": "trawl-test",
		"eventType": "AwsApiCall", "recipientAccountId": "111122223333",
		"userIdentity": map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/tester", "accountId": "111122223333"},
	}
	for _, name := range pos {
		n := doc.Detection[name]
		if n.Kind == yaml.SequenceNode {
			n = *n.Content[0]
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			parts := strings.Split(n.Content[i].Value, "|")
			mods := strings.Join(parts[1:], "|")
			v := n.Content[i+1]
			vals := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				vals = v.Content
			}
			var val any
			switch {
			case strings.Contains(mods, "re"):
				return "", nil
			case strings.Contains(mods, "all"):
				var s []string
				for _, x := range vals {
					s = append(s, x.Value)
				}
				val = strings.Join(s, " ")
			case vals[0].Tag == "!!null":
				continue
			case vals[0].Tag == "!!int" || vals[0].Tag == "!!bool":
				if err := vals[0].Decode(&val); err != nil {
					t.Fatal(err)
				}
			default:
				s := strings.NewReplacer(`\*`, "*", `\?`, "?", "*", "", "?", "x").Replace(vals[0].Value)
				if strings.Contains(mods, "contains") {
					s = "pre " + s + " post"
				}
				val = s
			}
			set(rec, strings.Split(parts[0], "."), val)
			fields = append(fields, parts[0])
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), fields
}

func set(m map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		sub, ok := m[p].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[p] = sub
		}
		m = sub
	}
	m[path[len(path)-1]] = v
}

// TestCorpusOwnDetection builds, for each loadable corpus rule, an event
// from the rule's own detection that must match, and events that must not:
// the baseline record alone, and the matching one with another eventName
// (or eventSource).
func TestCorpusOwnDetection(t *testing.T) {
	dir := sigmaCorpus(t)
	built, negatives := 0, 0
	baseline, _ := genEvent(t, []byte("detection:\n  condition: none\n"))
	for _, f := range ymlFiles(t, filepath.Join(dir, "rules")) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Parse(data)
		var u *UnsupportedError
		if errors.As(err, &u) {
			continue
		} else if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		raw, fields := genEvent(t, data)
		name := filepath.Base(f)
		if r.Match(decoded(baseline)) {
			t.Errorf("%s matches the baseline event %s", name, baseline)
		}
		if raw == "" {
			t.Logf("%s: no generated event (|re); covered by hand-written cases", name)
			continue
		}
		built++
		if !r.Match(decoded(raw)) {
			t.Errorf("%s: its own detection's event does not match:\n%s", name, raw)
			continue
		}
		var base map[string]any
		_ = json.Unmarshal([]byte(raw), &base)
		for _, key := range []string{"eventName", "eventSource"} {
			if !contains(fields, key) {
				continue
			}
			base[key] = "TrawlNoSuch" + key
			b, _ := json.Marshal(base)
			if r.Match(decoded(string(b))) {
				t.Errorf("%s: matches with %s changed:\n%s", name, key, b)
			}
			negatives++
			break
		}
	}
	t.Logf("%d rules matched an event built from their detection; %d refused it with eventName or eventSource changed", built, negatives)
	if built < 50 || negatives < 45 {
		t.Errorf("only %d positive and %d negative cases", built, negatives)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestCorpusHandWritten checks a few rules against events written by hand.
func TestCorpusHandWritten(t *testing.T) {
	dir := filepath.Join(sigmaCorpus(t), "rules", "cloud", "aws", "cloudtrail")
	load := func(name string) *Rule {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		r, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return r
	}
	ev := func(s string) *event.CloudTrail {
		return decoded(`{"eventVersion":"1.08","eventTime":"2026-11-01T10:00:00Z",` + s + `}`)
	}
	cases := []struct {
		rule, event string
		want        bool
	}{
		{"aws_root_account_usage.yml", `"userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root"},"eventType":"AwsApiCall","eventName":"ListBuckets"`, true},
		{"aws_root_account_usage.yml", `"userIdentity":{"type":"Root"},"eventType":"AwsServiceEvent","eventName":"x"`, false},
		{"aws_root_account_usage.yml", `"userIdentity":{"type":"IAMUser"},"eventType":"AwsApiCall"`, false},
		{"aws_cloudtrail_imds_malicious_usage.yml", `"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/aws:ec2-instance/i-0abc"},"eventSource":"s3.amazonaws.com","eventName":"ListBuckets","sourceIPAddress":"198.51.100.9"`, true},
		{"aws_cloudtrail_imds_malicious_usage.yml", `"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/aws:ec2-instance/i-0abc"},"eventSource":"s3.amazonaws.com","eventName":"ListBuckets","sourceIPAddress":"AWS Internal"`, false},
		{"aws_cloudtrail_imds_malicious_usage.yml", `"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice"},"eventSource":"s3.amazonaws.com","eventName":"ListBuckets"`, false},
		{"aws_cloudtrail_console_login_success_without_mfa.yml", `"eventName":"ConsoleLogin","additionalEventData":{"LoginTo":"https://console.aws.amazon.com","MobileVersion":"No","MFAUsed":"No"},"responseElements":{"ConsoleLogin":"Success"}`, true},
		{"aws_cloudtrail_console_login_success_without_mfa.yml", `"eventName":"ConsoleLogin","additionalEventData":{"MFAUsed":"Yes"},"responseElements":{"ConsoleLogin":"Success"}`, false},
		{"aws_cloudtrail_console_login_success_without_mfa.yml", `"eventName":"ConsoleLogin","additionalEventData":{"MFAUsed":"No"},"responseElements":{"ConsoleLogin":"Failure"}`, false},
		{"aws_update_login_profile.yml", `"eventSource":"iam.amazonaws.com","eventName":"UpdateLoginProfile","userIdentity":{"arn":"arn:aws:iam::1:user/admin"},"requestParameters":{"userName":"bob"}`, true},
		{"aws_update_login_profile.yml", `"eventSource":"iam.amazonaws.com","eventName":"UpdateLoginProfile","userIdentity":{"arn":"bob"},"requestParameters":{"userName":"bob"}`, false},
		{"aws_ecs_task_definition_cred_endpoint_query.yml", `"eventSource":"ecs.amazonaws.com","eventName":"RegisterTaskDefinition","requestParameters":{"containerDefinitions":[{"name":"a","command":["sh"]},{"name":"b","command":["sh","-c","curl 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]}]}`, true},
		{"aws_ecs_task_definition_cred_endpoint_query.yml", `"eventSource":"ecs.amazonaws.com","eventName":"RegisterTaskDefinition","requestParameters":{"containerDefinitions":[{"name":"a","command":["sh"]}]}`, false},
	}
	for _, c := range cases {
		r := load(c.rule)
		if got := r.Match(ev(c.event)); got != c.want {
			t.Errorf("%s on {%s}: %v, want %v", c.rule, c.event, got, c.want)
		}
	}
}
