package search

import (
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/store"
)

// TestResidual compiles queries with JSON paths for ClickHouse and checks
// the pre-filter's shape and the Go residual's verdict on raw records,
// with the truth of the query's SQL terms given as SQL would return them.
func TestResidual(t *testing.T) {
	const rec = `{"eventName":"RunInstances","requestParameters":{"instanceType":"t3.micro","maxCount":3,` +
		`"tags":[{"key":"env","value":"prod"},{"key":"team"}],"blank":null,"nested":{"a":{"b":"x\"y"}}},"errorCode":"AccessDenied"}`
	cases := []struct {
		q     string
		terms []any // the truth of the SQL terms, in order
		want  bool
	}{
		{"requestParameters.instanceType:t3.micro", nil, true},
		{"requestParameters.instanceType:t3*", nil, true},
		{"requestParameters.instanceType:*micro", nil, true},
		{"requestParameters.instanceType:t2*", nil, false},
		{"requestParameters.instanceType:T3.MICRO", nil, false}, // case-sensitive, as SQL's =
		{"requestParameters.instanceType:t?.micro", nil, true},
		{"requestParameters.maxCount:3", nil, true}, // a number's text
		{"requestParameters.maxCount:>=3", nil, true},
		{"requestParameters.maxCount:>3", nil, false},
		{"requestParameters.maxCount:[1 TO 3]", nil, true},
		{"requestParameters.maxCount:[1 TO 3}", nil, false},
		{"requestParameters.instanceType:>1", nil, false}, // not a number
		{"requestParameters.tags[0].value:prod", nil, true},
		{"requestParameters.tags[1].value:*", nil, false},
		{"requestParameters.tags[2].key:*", nil, false},
		{"requestParameters.blank:*", nil, false}, // JSON null is NULL
		{"requestParameters.missing:*", nil, false},
		{`requestParameters.nested.a.b:"x\"y"`, nil, true}, // escapes read
		{"NOT requestParameters.missing:*", nil, true},
		{"NOT requestParameters.instanceType:*", nil, false},
		// with SQL terms: eventName:RunInstances is term 0
		{"eventName:RunInstances AND requestParameters.instanceType:t3.micro", []any{int64(1)}, true},
		{"eventName:RunInstances AND requestParameters.instanceType:t3.micro", []any{int64(0)}, false},
		{"eventName:Other OR requestParameters.instanceType:t3.micro", []any{int64(0)}, true},
		{"NOT (eventName:RunInstances OR requestParameters.missing:*)", []any{int64(0)}, true},
		{"NOT (eventName:RunInstances OR requestParameters.missing:*)", []any{int64(1)}, false},
	}
	for _, tc := range cases {
		c, err := ParseCompile(tc.q, Options{Table: CloudTrail, Dialect: store.ClickHouse})
		if err != nil {
			t.Fatalf("%s: %v", tc.q, err)
		}
		if c.Residual == nil || !c.InGo() {
			t.Fatalf("%s: no residual", tc.q)
		}
		if strings.Contains(c.Where, "json_extract") || strings.Contains(c.Where, "TRUE") {
			t.Errorf("%s: DuckDB SQL in the ClickHouse pre-filter: %s", tc.q, c.Where)
		}
		if len(c.Residual.sql) != len(tc.terms) {
			t.Fatalf("%s: %d SQL terms, the case gives %d", tc.q, len(c.Residual.sql), len(tc.terms))
		}
		if got := c.Match(append([]any{rec}, tc.terms...)); got != tc.want {
			t.Errorf("%s: Match = %v, want %v (pre-filter %s)", tc.q, got, tc.want, c.Where)
		}
	}
	// The pre-filter looks for the path's last key, and is dropped under
	// NOT (it would exclude rows the residual keeps).
	c, _ := ParseCompile("requestParameters.instanceType:x", Options{Table: CloudTrail, Dialect: store.ClickHouse})
	if !strings.Contains(c.Where, "position(raw, ?)") || c.Args[0] != `"instanceType"` {
		t.Errorf("pre-filter %s %v", c.Where, c.Args)
	}
	c, _ = ParseCompile("NOT requestParameters.instanceType:x", Options{Table: CloudTrail, Dialect: store.ClickHouse})
	if strings.Contains(c.Where, "position") {
		t.Errorf("pre-filter under NOT: %s", c.Where)
	}
	// DuckDB compiles paths in SQL: no residual.
	if c, _ := ParseCompile("requestParameters.instanceType:x", Options{Table: CloudTrail}); c.Residual != nil || !strings.Contains(c.Where, "json_extract_string") {
		t.Errorf("DuckDB: %s, residual %v", c.Where, c.Residual != nil)
	}
	// Select lists raw and the SQL terms, with the terms' arguments first.
	c, _ = ParseCompile("eventName:RunInstances AND requestParameters.instanceType:x", Options{Table: CloudTrail, Dialect: store.ClickHouse})
	sql, args := c.Select([]string{"event_time"}, 0)
	if !strings.HasPrefix(sql, "SELECT event_time, raw, coalesce((event_name = ?), 0) FROM cloudtrail WHERE ") || args[0] != "RunInstances" {
		t.Errorf("Select: %s %v", sql, args)
	}
}

// BenchmarkResidualMatch is the Go side of a JSON-path search on
// ClickHouse: the residual evaluated on one CloudTrail record (MB/s of raw
// records, events/s).
func BenchmarkResidualMatch(b *testing.B) {
	const rec = `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/ci/deployer"},` +
		`"eventTime":"2026-11-02T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"eu-west-1",` +
		`"sourceIPAddress":"10.1.2.3","requestParameters":{"instancesSet":{"items":[{"imageId":"ami-1","minCount":1}]},"instanceType":"t3.micro","maxCount":3},` +
		`"responseElements":null,"eventID":"6f1c0d6e-0000-4000-8000-000000000001","readOnly":false,"recipientAccountId":"111122223333"}`
	c, err := ParseCompile("eventName:RunInstances AND requestParameters.instanceType:t3* AND NOT requestParameters.missing:*", Options{Table: CloudTrail, Dialect: store.ClickHouse})
	if err != nil {
		b.Fatal(err)
	}
	extra := []any{rec, int64(1)}
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for range b.N {
		if !c.Match(extra) {
			b.Fatal("no match")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
