package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/api"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// TestFieldsSampled forces /api/fields to sample (a low threshold) over a
// real store of 200,000 flows where ACCEPT is 90% of actions: the answer
// says it sampled, its counts are scaled back to the range (about the
// range's row count, multiples of 100/percent), and the dominant value
// is still on top. The same request with the threshold high is exact.
func TestFieldsSampled(t *testing.T) {
	ctx := context.Background()
	st, _ := duckdbtest.Open(t)
	const n = 200_000
	ins := fmt.Sprintf(`INSERT INTO vpcflow BY NAME SELECT
  TIMESTAMPTZ '2026-11-04 00:00:00+00' + to_milliseconds(i) AS start_time,
  TIMESTAMPTZ '2026-11-04 00:00:01+00' + to_milliseconds(i) AS end_time,
  CASE WHEN i %% 10 = 0 THEN 'REJECT' ELSE 'ACCEPT' END AS action,
  '10.0.' || (i %% 250) || '.' || (i %% 7) AS srcaddr,
  'eni-' || (i %% 3) AS interface_id,
  CASE WHEN i %% 4 = 0 THEN NULL ELSE 'ingress' END AS flow_direction,
  '123456789012' AS account_id,
  'x' AS raw, 'test' AS source, now() AS ingested_at
FROM range(%d) r(i)`, n)
	rows, err := st.Query(ctx, store.Request{SQL: ins})
	if err != nil {
		t.Fatalf("filling vpcflow: %v", err)
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("filling vpcflow: %v", err)
	}
	rows.Close()
	if got := duckdbtest.Scalar(t, st, "SELECT count(*) FROM vpcflow"); got != n {
		t.Fatalf("%d flows, want %d", got, n)
	}
	a := api.New(api.Options{Store: st})
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f := &fixture{srv: srv}
	params := vals("type", "vpcflow", "fields", "action,srcaddr,flow_direction", "top", "3",
		"from", "2026-11-04T00:00:00Z", "to", "2026-11-05T00:00:00Z")

	defer func(above, rows int64) { api.SampleAbove, api.SampleRows = above, rows }(api.SampleAbove, api.SampleRows)
	api.SampleAbove, api.SampleRows = 1000, n/4 // a 25% sample: counts are multiples of 4
	code, m := f.get(t, "/api/fields", params)
	if code != 200 {
		t.Fatalf("%d %v", code, m)
	}
	if p, ok := m["sample_percent"].(float64); !ok || p != 25 {
		t.Fatalf("sample_percent %v, want 25", m["sample_percent"])
	}
	for _, x := range list(m["fields"]) {
		fd := obj(x)
		sum := num(fd["other"]) + num(fd["missing"])
		for _, tv := range list(fd["top"]) {
			c := num(obj(tv)["count"])
			if c%4 != 0 {
				t.Errorf("%v: count %d of %v is not scaled by 4", fd["name"], c, obj(tv)["value"])
			}
			sum += c
		}
		// A 25% system sample keeps each of the ~98 vectors with p = 1/4:
		// about 24.5 ± 4.3 vectors, so the scaled sum has a standard
		// deviation near 18% of n (CI once drew 3.3σ high). Half to twice
		// n is ≥ 5.7σ away on both sides, and still fails if the counts
		// were not scaled (about n/4).
		if sum < n/2 || sum > 2*n {
			t.Errorf("%v: top + other + missing = %d, want about %d", fd["name"], sum, n)
		}
	}
	action := obj(list(m["fields"])[0])
	top := list(action["top"])
	if len(top) != 2 || obj(top[0])["value"] != "ACCEPT" || obj(top[1])["value"] != "REJECT" {
		t.Fatalf("action top %v, want ACCEPT then REJECT", top)
	}
	if acc, rej := num(obj(top[0])["count"]), num(obj(top[1])["count"]); acc < 6*rej {
		t.Errorf("ACCEPT %d, REJECT %d: ACCEPT is 9 in 10 flows", acc, rej)
	}
	if miss := num(obj(list(m["fields"])[2])["missing"]); miss == 0 || miss%4 != 0 {
		t.Errorf("flow_direction missing %d, want a non-zero multiple of 4", miss)
	}

	api.SampleAbove = n // the range holds n rows: exact
	code, m = f.get(t, "/api/fields", params)
	if code != 200 {
		t.Fatalf("%d %v", code, m)
	}
	if p, ok := m["sample_percent"]; ok {
		t.Errorf("exact answer has sample_percent %v", p)
	}
	action = obj(list(m["fields"])[0])
	if c := num(obj(list(action["top"])[0])["count"]); c != n*9/10 {
		t.Errorf("exact ACCEPT count %d, want %d", c, n*9/10)
	}
	if miss := num(obj(list(m["fields"])[2])["missing"]); miss != n/4 {
		t.Errorf("exact flow_direction missing %d, want %d", miss, n/4)
	}
}

// TestFieldsSampledCloudTrail samples the fixture's cloudtrail view: a
// query on base columns reads cloudtrail_base under the view's name; one
// on a column only the view computes (free text, a JSON path) is exact.
func TestFieldsSampledCloudTrail(t *testing.T) {
	f := getFixture(t)
	defer func(above, rows int64) { api.SampleAbove, api.SampleRows = above, rows }(api.SampleAbove, api.SampleRows)
	api.SampleAbove, api.SampleRows = 10, 1500
	for _, tc := range []struct{ q, from string }{
		{"", "FROM cloudtrail_base AS cloudtrail TABLESAMPLE"},
		{"eventSource:iam.amazonaws.com", "FROM cloudtrail_base AS cloudtrail TABLESAMPLE"},
	} {
		resp, err := http.Get(f.srv.URL + "/api/fields?" + vals("type", "cloudtrail", "q", tc.q).Encode())
		if err != nil {
			t.Fatal(err)
		}
		sql := resp.Header.Get("X-Trawl-SQL")
		code, m := decode(t, resp)
		if code != 200 {
			t.Fatalf("%q: %d %v", tc.q, code, m)
		}
		if p, ok := m["sample_percent"].(float64); !ok || p >= 100 {
			t.Errorf("%q: sample_percent %v, want below 100", tc.q, m["sample_percent"])
		}
		if !strings.Contains(sql, tc.from) {
			t.Errorf("%q: SQL does not read %q: %s", tc.q, tc.from, sql)
		}
	}
	for _, q := range []string{"requestParameters.instanceType:*", "ConsoleLogin"} {
		resp, err := http.Get(f.srv.URL + "/api/fields?" + vals("type", "cloudtrail", "q", q).Encode())
		if err != nil {
			t.Fatal(err)
		}
		sql := resp.Header.Get("X-Trawl-SQL")
		code, m := decode(t, resp)
		if code != 200 {
			t.Fatalf("%q: %d %v", q, code, m)
		}
		if p, ok := m["sample_percent"]; ok || strings.Contains(sql, "TABLESAMPLE") {
			t.Errorf("%q: sampled (%v) though it needs the view: %s", q, p, sql)
		}
	}
}
