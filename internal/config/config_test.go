package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// problems parses doc as /etc/trawl/trawl.yaml and returns its problems,
// one string each; it fails the test if doc parses.
func problems(t *testing.T, doc string) []string {
	t.Helper()
	_, err := Parse("/etc/trawl/trawl.yaml", []byte(doc))
	if err == nil {
		t.Fatalf("parsed without error:\n%s", doc)
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *config.Error", err, err)
	}
	var out []string
	for _, p := range ce.Problems {
		out = append(out, strings.TrimPrefix(p.Error(), "/etc/trawl/trawl.yaml:"))
	}
	return out
}

func TestParseErrors(t *testing.T) {
	t.Setenv("TRAWL_TEST_UNSET", "")
	os.Unsetenv("TRAWL_TEST_UNSET")
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"unknown key with suggestion", "store:\n  pth: x.duckdb\n",
			[]string{`2:3: store.pth: unknown key; did you mean "path"?`}},
		{"unknown top-level key lists the known ones", "bogus: []\n",
			[]string{`1:1: bogus: unknown key; known keys are store, aws, sources, ingest, retention, log, metrics, enrich, rules, alerts, serve, sinks`}},
		{"unknown source key", "sources:\n  - name: a\n    s3: {bucket: b-1, intervall: 1m}\n",
			[]string{`3:23: sources[0].s3.intervall: unknown key; did you mean "interval"?`}},
		{"wrong type", "ingest:\n  workers: many\nsources: {name: a}\n",
			[]string{`2:12: ingest.workers: "many" is not an integer`,
				`3:10: sources: expected a list, got a mapping`}},
		{"mapping where a string belongs", "store:\n  path: {a: b}\n",
			[]string{`2:9: store.path: expected a string, got a mapping`}},
		{"bad duration", "retention:\n  cloudtrail: 90x\n  vpcflow: 12h\n",
			[]string{`2:15: retention.cloudtrail: "90x" is not a duration (such as 90d, 12h, 5m or 30s)`}},
		{"retention of an unknown table", "retention:\n  cloudtrial: 90d\n",
			[]string{`2:3: retention.cloudtrial: not a table; did you mean "cloudtrail"?`}},
		{"bad size", "store:\n  memory_limit: lots\n",
			[]string{`2:17: store.memory_limit: "lots" is not a size (such as 512MB, 32MiB or 1.5GiB)`}},
		{"bad date and a duration for a date", "sources:\n  - name: a\n    s3:\n      bucket: logs\n      since: 2026-13-01\n      until: 7d\n",
			[]string{`5:14: sources[0].s3.since: "2026-13-01" is not a date (2026-11-01), a time (2026-11-01T08:00:00Z) or a relative time (-7d)`,
				`6:14: sources[0].s3.until: "7d" is not a date; write -7d for 7d ago`}},
		{"duplicate source name", "sources:\n  - name: a\n    s3: {bucket: logs}\n  - name: a\n    sqs: {queue_url: 'https://sqs.us-east-1.amazonaws.com/111122223333/q'}\n",
			[]string{`4:11: sources[1].name: duplicate source name "a" (also sources[0])`}},
		{"source with two kinds", "sources:\n  - name: a\n    s3: {bucket: logs}\n    sqs: {queue_url: 'https://example.com/q'}\n",
			[]string{`4:5: sources[0].sqs: a source has one kind, and this one already has s3; make another source`}},
		{"source without kind or name", "sources:\n  - enabled: true\n",
			[]string{`2:5: sources[0].name: required: every source needs a name`,
				`2:5: sources[0]: needs one of s3, sqs, cloudwatch_logs or cloudtrail_lookup`}},
		{"missing bucket", "sources:\n  - name: a\n    s3:\n      prefix: x\n",
			[]string{`4:7: sources[0].s3.bucket: required`}},
		{"non-loopback metrics without token", "metrics:\n  listen: 0.0.0.0:9464\n",
			[]string{`2:11: metrics.listen: "0.0.0.0:9464" is reachable from other hosts; set metrics.token, or listen on 127.0.0.1`}},
		{"all interfaces without token", "metrics:\n  listen: ':9464'\n",
			[]string{`2:11: metrics.listen: ":9464" is reachable from other hosts; set metrics.token, or listen on 127.0.0.1`}},
		{"unset variable", "aws:\n  profile: ${TRAWL_TEST_UNSET}\n",
			[]string{`2:12: aws.profile: environment variable TRAWL_TEST_UNSET is not set (use ${TRAWL_TEST_UNSET:-default} for a default)`}},
		{"enum with suggestion", "log:\n  format: jsno\n  level: verbose\n",
			[]string{`2:11: log.format: "jsno" is not one of text, json; did you mean "json"?`,
				`3:10: log.level: "verbose" is not one of debug, info, warn, error`}},
		{"account ids, regions, kinds", "sources:\n  - name: a\n    s3:\n      bucket: logs\n      accounts: [12345, '111122223333']\n      regions: [us-east-1, europe]\n      kinds: [cloudtrail, flowlogs]\n      verify: true\n",
			[]string{`5:18: sources[0].s3.accounts[0]: "12345" is not an AWS account id (12 digits)`,
				`6:28: sources[0].s3.regions[1]: "europe" is not an AWS region name (such as us-east-1)`,
				`7:27: sources[0].s3.kinds[1]: "flowlogs" is not one of cloudtrail, cloudtrail-digest, vpcflow, guardduty`,
				`8:15: sources[0].s3.verify: needs cloudtrail-digest in kinds`}},
		{"sqs limits and url", "sources:\n  - name: q\n    sqs:\n      queue_url: sqs-queue\n      wait: 30s\n      max_messages: 11\n",
			[]string{`4:18: sources[0].sqs.queue_url: "sqs-queue" is not an http or https URL`,
				`5:13: sources[0].sqs.wait: must be at most 20s (SQS's longest long poll)`,
				`6:21: sources[0].sqs.max_messages: must be 1 to 10`}},
		{"aws override", "aws:\n  region: us-east-1\nsources:\n  - name: a\n    s3: {bucket: logs}\n    aws:\n      region: Frankfurt\n      external_id: x\n      endpoint: localhost:9000\n",
			[]string{ // with an endpoint, region is whatever that store calls its region
				`8:20: sources[0].aws.external_id: needs role_arn: an external id is sent when assuming a role`,
				`9:17: sources[0].aws.endpoint: "localhost:9000" is not an http or https URL`}},
		{"cloudwatch logs", "sources:\n  - name: c\n    cloudwatch_logs:\n      log_groups: []\n      kind: cloudtrail\n      log_format: ${version} ${nope}\n",
			[]string{`4:19: sources[0].cloudwatch_logs.log_groups: required: at least one log group`,
				`6:19: sources[0].cloudwatch_logs.log_format: only for kind vpcflow`}},
		{"flow-log format", "sources:\n  - name: c\n    cloudwatch_logs:\n      log_groups: [g]\n      log_format: ${version} ${nope}\n",
			[]string{`5:19: sources[0].cloudwatch_logs.log_format: unknown flow-log field "nope" in format "${version} ${nope}"`}},
		{"lookup older than 90 days", "sources:\n  - name: l\n    cloudtrail_lookup: {regions: [eu-west-1], start: -100d}\n",
			[]string{`3:54: sources[0].cloudtrail_lookup.start: LookupEvents keeps only the last 90 days`}},
		{"a source that is not a mapping", "sources:\n  - org-trail\n",
			[]string{`2:5: sources[0]: expected a mapping of name, enabled, aws, s3, sqs, cloudwatch_logs, cloudtrail_lookup, got "org-trail"`}},
		{"a merge of a scalar", "log:\n  <<: text\n",
			[]string{`2:7: log.<<: a merge key takes a mapping or a list of mappings, got "text"`}},
		{"duplicate key", "log:\n  level: info\n  level: debug\n",
			[]string{`3:3: log.level: duplicate key`}},
		{"syntax error", "store:\n  path: a: b\n",
			[]string{`2: mapping values are not allowed in this context`}},
		{"two documents", "log: {level: info}\n---\nlog: {level: debug}\n",
			[]string{`2:1: a second YAML document; the configuration is one document`}},
		{"clickhouse url with an unknown parameter", "store:\n  path: clickhouse://u:pw@127.0.0.1:8123/trawl?tls=1\n",
			[]string{`2:9: store.path: not a DuckDB file or a ClickHouse database: clickhouse address "clickhouse://u:xxx@127.0.0.1:8123/trawl?tls=1": unknown parameter "tls" (only secure)`}},
		{"sinks", "sinks:\n  - name: l\n    lake: {file_size: 1KB}\n  - name: l\n    opensearch: {urls: [search.example.com], flavor: solr, password: x}\n  - name: both\n    lake: {target: s3://Bad_Bucket/p}\n    opensearch: {urls: ['https://a']}\n  - name: none\n",
			[]string{`3:11: sinks[0].lake.target: required: a directory or s3://bucket/prefix`,
				`3:23: sinks[0].lake.file_size: must be at least 1MiB (0 for the default, 128MiB)`,
				`4:11: sinks[1].name: duplicate sink name "l" (also sinks[0])`,
				`5:17: sinks[1].opensearch.username: required with a password`,
				`5:25: sinks[1].opensearch.urls[0]: "search.example.com" is not an http or https URL`,
				`5:54: sinks[1].opensearch.flavor: "solr" is not one of opensearch, elasticsearch, plain`,
				`8:5: sinks[2].opensearch: a sink has one kind, and this one already has lake; make another sink`,
				`9:5: sinks[3]: needs one of lake or opensearch`}},
		{"sigv4 with basic auth", "sinks:\n  - name: s\n    opensearch:\n      urls: ['https://a:443']\n      username: u\n      password_file: p\n      password: x\n      sigv4: {service: lambda}\n",
			[]string{`6:7: sinks[0].opensearch.password_file: give password or password_file, not both`,
				`8:7: sinks[0].opensearch.sigv4: signs requests with AWS credentials: leave out username and password`,
				`8:24: sinks[0].opensearch.sigv4.service: "lambda" is not one of es, aoss`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, tc.doc)
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestParseGood(t *testing.T) {
	t.Setenv("TRAWL_TEST_BUCKET", "org-trail")
	t.Setenv("TRAWL_TEST_EMPTY", "")
	t.Setenv("TRAWL_TEST_TOKEN", "s3cret-token")
	doc := `
store:
  path: data/trawl.duckdb
  memory_limit: 512MB
aws:
  region: eu-west-1
  role_arn: arn:aws:iam::111122223333:role/trawl
  external_id: ext-1234
sources:
  - name: trail
    s3:
      bucket: ${TRAWL_TEST_BUCKET}
      prefix: ${TRAWL_TEST_EMPTY:-o-abc}/
      since: 2026-11-01
      until: 2026-11-08T12:00:00+01:00
      accounts: ["011122223333"]
      kinds: [cloudtrail-digest]
      verify: true
  - name: queue
    enabled: false
    aws: {region: us-west-2, role_arn: 'arn:aws:iam::444455556666:role/other'}
    sqs: {queue_url: 'http://localhost:4566/000000000000/q', wait: 0s, visibility: 10m}
  - name: cwl
    cloudwatch_logs:
      log_groups: [/aws/cloudtrail]
      filter_pattern: '{ $.eventName = "ConsoleLogin" }'
      start: -12h
  - name: lookup
    cloudtrail_lookup: {start: -7d}
ingest: {workers: 2, max_record_size: 1.5GiB}
retention: {cloudtrail: 90d, quarantine: 2w}
log: {format: json, level: debug}
metrics: {listen: '0.0.0.0:9464', token: '${TRAWL_TEST_TOKEN}'}
`
	c, err := Parse("/etc/trawl/trawl.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	check("store.path", c.Store.Path, "/etc/trawl/data/trawl.duckdb")
	check("store.memory_limit", c.Store.MemoryLimit, int64(512_000_000))
	s3 := c.Sources[0].S3
	check("bucket (env)", s3.Bucket, "org-trail")
	check("prefix (default of an empty variable)", s3.Prefix, "o-abc/")
	check("since", s3.Since.Time, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	check("until", s3.Until.Time, time.Date(2026, 11, 8, 11, 0, 0, 0, time.UTC))
	check("accounts", s3.Accounts, []string{"011122223333"})
	check("interval (default)", s3.Interval, 5*time.Minute)
	check("trail enabled (default)", c.Sources[0].Enabled, true)
	check("trail aws (inherited)", *c.Sources[0].AWS, c.AWS)
	check("queue enabled", c.Sources[1].Enabled, false)
	check("queue aws (merged, no inherited external id)", *c.Sources[1].AWS,
		AWS{Region: "us-west-2", RoleARN: "arn:aws:iam::444455556666:role/other"})
	check("sqs", *c.Sources[1].SQS, SQS{QueueURL: "http://localhost:4566/000000000000/q", Visibility: 10 * time.Minute, MaxMessages: 10})
	cwl := c.Sources[2].CloudWatchLogs
	check("filter_pattern ($ kept)", cwl.FilterPattern, `{ $.eventName = "ConsoleLogin" }`)
	check("cwl start", cwl.Start, Moment{Ago: 12 * time.Hour})
	check("settle (default)", cwl.Settle, 15*time.Minute)
	check("lookup start resolved", c.Sources[3].CloudTrailLookup.Start.Resolve(time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)),
		time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	check("ingest", c.Ingest, Ingest{Workers: 2, MaxRecordSize: 3 << 29})
	check("retention", c.Retention, map[string]time.Duration{"cloudtrail": 90 * 24 * time.Hour, "quarantine": 14 * 24 * time.Hour})
	check("log", c.Log, Log{Format: "json", Level: "debug"})
	check("metrics token (env)", c.Metrics.Token, "s3cret-token")

	out := c.String()
	for _, secret := range []string{"s3cret-token", "ext-1234"} {
		if strings.Contains(out, secret) {
			t.Errorf("String() shows the secret %q:\n%s", secret, out)
		}
	}
	// The token, the global external id and that of the three sources that
	// inherit the global role (queue has a role of its own).
	if n := strings.Count(out, Redacted); n != 5 {
		t.Errorf("String() has %d %s, want 5:\n%s", n, Redacted, out)
	}
	// The normalised form parses back to the same configuration, secrets
	// aside.
	back, err := Parse("/elsewhere/trawl.yaml", []byte(out))
	if err != nil {
		t.Fatalf("String() does not parse back: %v\n%s", err, out)
	}
	back.File, back.Metrics.Token, back.AWS.ExternalID = c.File, c.Metrics.Token, c.AWS.ExternalID
	for i := range back.Sources {
		back.Sources[i].AWS.ExternalID = c.Sources[i].AWS.ExternalID
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("String() parses back differently:\n%s\nbecame:\n%s", out, back)
	}
}

// TestSinksAndStores: a ClickHouse URL and an s3:// lake stay as written,
// a lake directory is resolved, and with no store section the lake holds
// the ledger.
func TestSinksAndStores(t *testing.T) {
	doc := "sinks:\n  - name: lake\n    lake: {target: lake, file_size: 64MB}\n  - name: search\n    opensearch:\n      urls: ['https://search.example.com']\n      sigv4: {region: eu-west-1}\n"
	c, err := Parse("/etc/trawl/trawl.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if c.HasStore() || c.Store.Path != "" {
		t.Errorf("store.path = %q, want none (the lake holds the ledger)", c.Store.Path)
	}
	if l := c.Lake(); l == nil || l.Target != "/etc/trawl/lake" || l.FileSize != 64e6 {
		t.Errorf("lake = %+v, want /etc/trawl/lake of 64MB", l)
	}
	o := c.Sinks[1].OpenSearch
	if c.Sinks[1].Kind() != "opensearch" || o.Flavor != "opensearch" || o.SigV4 == nil || o.SigV4.Service != "es" || o.SigV4.Region != "eu-west-1" {
		t.Errorf("opensearch = %+v (sigv4 %+v), want the defaults flavor opensearch and service es", o, o.SigV4)
	}

	doc = "store: {path: 'clickhouse://trawl:pw@ch.internal:8123/trawl?secure=true'}\nsinks:\n  - name: lake\n    lake: {target: 's3://lake-bucket/trawl'}\n"
	if c, err = Parse("/etc/trawl/trawl.yaml", []byte(doc)); err != nil {
		t.Fatal(err)
	}
	if c.Store.Path != "clickhouse://trawl:pw@ch.internal:8123/trawl?secure=true" || c.Lake().Target != "s3://lake-bucket/trawl" {
		t.Errorf("store %q, lake %q: URLs must stay as written", c.Store.Path, c.Lake().Target)
	}

	// A store section with a lake: both, the store holding the ledger.
	doc = "store: {path: data/trawl.duckdb}\nsinks:\n  - name: lake\n    lake: {target: /srv/lake}\n"
	if c, err = Parse("/etc/trawl/trawl.yaml", []byte(doc)); err != nil {
		t.Fatal(err)
	}
	if c.Store.Path != "/etc/trawl/data/trawl.duckdb" {
		t.Errorf("store.path = %q", c.Store.Path)
	}
}

func TestParseEmptyUsesDefaults(t *testing.T) {
	c, err := Parse("conf/trawl.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(wd, "conf", "trawl.duckdb"); c.Store.Path != want {
		t.Errorf("store.path = %q, want %q (relative to the config file)", c.Store.Path, want)
	}
	if c.Metrics.Listen != DefaultMetricsListen || c.Log.Format != "text" || c.Log.Level != "info" || c.Ingest.MaxRecordSize != 32<<20 {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "trawl.yaml")
	if err := os.WriteFile(path, []byte("store: {path: ./x.duckdb}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "x.duckdb"); c.Store.Path != want {
		t.Errorf("store.path = %q, want %q", c.Store.Path, want)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestExampleParses(t *testing.T) {
	c, err := Parse("trawl.example.yaml", []byte(Example))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, s := range c.Sources {
		kinds[s.Kind()] = true
	}
	if len(kinds) != 4 {
		t.Errorf("the example shows source kinds %v, want all four", kinds)
	}
}

func TestDurationsAndSizes(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"90d": 90 * 24 * time.Hour, "12h": 12 * time.Hour, "1h30m": 90 * time.Minute,
		"2w": 14 * 24 * time.Hour, "1d12h": 36 * time.Hour, "0": 0, "1.5h": 90 * time.Minute,
	} {
		got, err := ParseDuration(s)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
		if back, err := ParseDuration(FormatDuration(got)); err != nil || back != got {
			t.Errorf("FormatDuration(%v) = %q does not parse back", got, FormatDuration(got))
		}
	}
	for _, s := range []string{"", "d", "90", "-1h", "1y", "5 m"} {
		if d, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", s, d)
		}
	}
	for _, n := range []int64{0, 1000, 1024, 512_000_000, 32 << 20, 3 << 29, 1001} {
		if back, err := ParseSize(FormatSize(n)); err != nil || back != n {
			t.Errorf("FormatSize(%d) = %q parses back as %d, %v", n, FormatSize(n), back, err)
		}
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "x", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for in, want := range map[string]string{
		"${A}": "x", "p/${A}/q": "p/x/q", "${B:-d}": "d", "${EMPTY:-d}": "d", "${EMPTY}": "",
		"$$": "$", "$${A}": "${A}", "$.eventName": "$.eventName", "plain": "plain",
	} {
		got, err := expand(in, lookup)
		if err != nil || got != want {
			t.Errorf("expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"${B}", "${A", "${account-id}"} {
		if got, err := expand(in, lookup); err == nil {
			t.Errorf("expand(%q) = %q, want an error", in, got)
		}
	}
}

// TestDocsCoverEveryKey checks that docs/config.md mentions every key the
// parser knows, and every table retention accepts.
func TestDocsCoverEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	var walk func(reflect.Type, string)
	walk = func(t reflect.Type, path string) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == momentType {
			return
		}
		for _, f := range fields(t) {
			ft, p := t.Field(f.index).Type, join(path, f.key)
			keys = append(keys, p)
			if p == "sources[].aws" || p == "alerts.notifiers[].sns.aws" {
				continue // the keys of aws, documented once
			}
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
				p += "[]"
			}
			walk(ft, p)
		}
	}
	walk(reflect.TypeFor[Config](), "")
	if len(keys) < 40 {
		t.Fatalf("found only %d keys: %v", len(keys), keys)
	}
	for _, k := range keys {
		if !strings.Contains(string(doc), "`"+k+"`") {
			t.Errorf("docs/config.md does not document `%s`", k)
		}
	}
	for _, table := range Tables {
		if !regexp.MustCompile("`retention\\." + table + "`|\\| `" + table + "` ").Match(doc) {
			t.Errorf("docs/config.md does not name the retention table `%s`", table)
		}
	}
}

// TestTablesArePrunable keeps retention's tables those the store prunes.
func TestTablesArePrunable(t *testing.T) {
	if got, want := slices.Sorted(slices.Values(Tables)), duckdb.PruneTables(); !slices.Equal(got, want) {
		t.Errorf("config.Tables = %v, the store prunes %v", got, want)
	}
}

// TestMergeKeys checks that YAML anchors and merge keys share settings
// between sources, a source's own keys winning, and that a merged key is
// checked like any other.
func TestMergeKeys(t *testing.T) {
	doc := `
sources:
  - &trail
    name: trail-a
    s3: &s3
      bucket: logs
      kinds: [cloudtrail]
      interval: 10m
  - <<: *trail
    name: trail-b
    s3:
      <<: *s3
      prefix: b
      interval: 1m
`
	c, err := Parse("/etc/trawl/trawl.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Sources[1]
	if b.Name != "trail-b" || b.S3.Bucket != "logs" || b.S3.Prefix != "b" || b.S3.Interval != time.Minute || !slices.Equal(b.S3.Kinds, []string{"cloudtrail"}) {
		t.Errorf("merged source = %+v, s3 %+v", b, *b.S3)
	}
	// Top-level keys starting with x- are left alone, to hold anchors;
	// what they hold is checked where it is merged.
	got := problems(t, "x-s3: &b {bucket: logs, intervl: 1m}\nbase: 1\nsources:\n  - name: a\n    s3: {<<: *b}\n")
	want := []string{
		`1:25: sources[0].s3.intervl: unknown key; did you mean "interval"?`,
		`2:1: base: unknown key; known keys are store, aws, sources, ingest, retention, log, metrics, enrich, rules, alerts, serve, sinks`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestEnrich parses the enrich section: paths relative to the config
// file, user_agent on by default, and files that must exist.
func TestEnrich(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"GeoLite2-City.mmdb", "GeoLite2-ASN.mmdb"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Parse(filepath.Join(dir, "trawl.yaml"), []byte("enrich:\n  geoip:\n    dir: .\n    city: GeoLite2-City.mmdb\n    asn: GeoLite2-ASN.mmdb\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Enrich.GeoIP.Dir != dir || c.Enrich.GeoIP.City != filepath.Join(dir, "GeoLite2-City.mmdb") || c.Enrich.GeoIP.ASN != filepath.Join(dir, "GeoLite2-ASN.mmdb") || !c.Enrich.UserAgent {
		t.Errorf("enrich: %+v", c.Enrich)
	}
	c, err = Parse(filepath.Join(dir, "trawl.yaml"), []byte("enrich: {user_agent: false}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Enrich.UserAgent || c.Enrich.GeoIP != (GeoIP{}) {
		t.Errorf("enrich: %+v", c.Enrich)
	}
	_, err = Parse(filepath.Join(dir, "trawl.yaml"), []byte("enrich:\n  geoip:\n    country: missing.mmdb\n    dir: GeoLite2-City.mmdb\n    cty: x\n"))
	for _, want := range []string{"enrich.geoip.country: stat " + filepath.Join(dir, "missing.mmdb") + ": no such file",
		"enrich.geoip.dir: " + filepath.Join(dir, "GeoLite2-City.mmdb") + " is not a directory", `enrich.geoip.cty: unknown key`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}
