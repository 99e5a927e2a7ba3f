package conformance

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/api"
	"github.com/trawl-project/trawl/internal/store"
)

// apis serves the HTTP API over each store.
type apis struct {
	duck, ch *httptest.Server
}

func startAPIs(t *testing.T) apis {
	t.Helper()
	duck, ch := loadBoth(t)
	serve := func(q store.Querier) *httptest.Server {
		a := api.New(api.Options{Store: q})
		mux := http.NewServeMux()
		a.Register(mux)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv
	}
	return apis{duck: serve(duck), ch: serve(ch)}
}

// get calls path on both APIs and returns the decoded answers, failing t
// unless both answer 200.
func (a apis) get(t *testing.T, path string, v url.Values) (duck, ch any) {
	t.Helper()
	var out [2]any
	for i, srv := range []*httptest.Server{a.duck, a.ch} {
		resp, err := http.Get(srv.URL + path + "?" + v.Encode())
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s?%s on %s: %d %s", "GET", path, v.Encode(), []string{"DuckDB", "ClickHouse"}[i], resp.StatusCode, b)
		}
		if strings.Contains(resp.Header.Get("Content-Type"), "json") && !strings.Contains(resp.Header.Get("Content-Type"), "ndjson") {
			if err := json.Unmarshal(b, &out[i]); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		} else {
			out[i] = string(b)
		}
	}
	return out[0], out[1]
}

// normJSON drops what legitimately differs between two answers (took_ms,
// ingested_at: the time each store ingested; the keyset cursor "next") and
// cuts times to the second (see stamp).
func normJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			switch k {
			case "took_ms", "ingested_at", "next":
				continue
			case "spill_id", "text_block":
				// DuckDB's internal columns (spilled raw records, the
				// free-text index): no ClickHouse twin.
				continue
			case "min_time_ms", "max_time_ms":
				// Epoch milliseconds: cut to the second (see stamp).
				if f, ok := e.(float64); ok {
					e = float64(int64(f) / 1000 * 1000)
				}
			}
			out[k] = normJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normJSON(e)
		}
		return out
	case string:
		if len(x) >= 20 && x[4] == '-' && x[10] == 'T' {
			if tm, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return tm.UTC().Truncate(time.Second).Format(time.RFC3339)
			}
		}
	}
	return v
}

// sameJSON fails t when the normalised answers differ, showing both.
func sameJSON(t *testing.T, what string, duck, ch any) bool {
	t.Helper()
	d, c := normJSON(duck), normJSON(ch)
	if reflect.DeepEqual(d, c) {
		return true
	}
	t.Errorf("%s differs: %s", what, diff("", d, c))
	return false
}

// diff describes the first difference between two JSON values.
func diff(path string, d, c any) string {
	switch x := d.(type) {
	case map[string]any:
		y, ok := c.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if !reflect.DeepEqual(x[k], y[k]) {
				return diff(path+"."+k, x[k], y[k])
			}
		}
	case []any:
		y, ok := c.([]any)
		if !ok || len(x) != len(y) {
			break
		}
		for i := range x {
			if !reflect.DeepEqual(x[i], y[i]) {
				return diff(fmt.Sprintf("%s[%d]", path, i), x[i], y[i])
			}
		}
	}
	db, _ := json.Marshal(d)
	cb, _ := json.Marshal(c)
	return fmt.Sprintf("at %s: DuckDB %.600s, ClickHouse %.600s", path, db, cb)
}

// rowsOf returns the rows of a /api/search answer, sorted by their JSON
// text when sorted is set (flow records of one time have no order both
// stores share: DuckDB breaks ties by row id, ClickHouse by _id;
// GuardDuty's times are cut to the second on ClickHouse).
func rowsOf(v any, sorted bool) []any {
	m, _ := v.(map[string]any)
	rows, _ := m["rows"].([]any)
	rows = normJSON(rows).([]any)
	if sorted {
		sort.Slice(rows, func(i, j int) bool { return fmt.Sprint(rows[i]) < fmt.Sprint(rows[j]) })
	}
	return rows
}

// apiQueries are the searches the API tests run: "type|query".
var apiQueries = []string{
	"cloudtrail|",
	"cloudtrail|eventName:Create* AND NOT errorCode:*",
	"cloudtrail|AccessDenied",
	"cloudtrail|sourceIPAddress:10.0.0.0/8 OR userIdentity.type:Root",
	"cloudtrail|requestParameters.keySpec:AES_256",
	`cloudtrail|{ $.errorCode = "AccessDenied" }`,
	"vpcflow|action:REJECT AND dstport:[0 TO 1023]",
	"vpcflow|srcaddr:10.0.0.0/8",
	"guardduty|severity:>=4",
	"guardduty|",
}

func TestAPI(t *testing.T) {
	a := startAPIs(t)
	for _, s := range apiQueries {
		typ, src, _ := cut(s)
		t.Run(short(s), func(t *testing.T) {
			v := url.Values{"type": {typ}, "q": {src}}

			d, c := a.get(t, "/api/count", v)
			sameJSON(t, "count", d, c)
			if n, _ := d.(map[string]any)["count"].(float64); n == 0 {
				t.Errorf("DuckDB counts no match for %q", s)
			}

			// Every match, in one page of up to 1000.
			sv := url.Values{"type": {typ}, "q": {src}, "limit": {"1000"}}
			d, c = a.get(t, "/api/search", sv)
			sorted := typ != "cloudtrail"
			sameJSON(t, "search", rowsOf(d, sorted), rowsOf(c, sorted))
			md, mc := d.(map[string]any), c.(map[string]any)
			sameJSON(t, "search columns", md["columns"], mc["columns"])

			// Pages of 7, each API following its own cursor (CloudTrail:
			// the same order on both).
			if typ == "cloudtrail" {
				dv := url.Values{"type": {typ}, "q": {src}, "limit": {"7"}}
				cv := url.Values{"type": {typ}, "q": {src}, "limit": {"7"}}
				for page := range 3 {
					dd, _ := a.getOne(t, a.duck, "/api/search", dv)
					cc, _ := a.getOne(t, a.ch, "/api/search", cv)
					sameJSON(t, fmt.Sprintf("page %d", page), rowsOf(dd, false), rowsOf(cc, false))
					nd, _ := dd.(map[string]any)["next"].(string)
					nc, _ := cc.(map[string]any)["next"].(string)
					if (nd == "") != (nc == "") {
						t.Errorf("page %d: DuckDB next %q, ClickHouse next %q", page, nd, nc)
					}
					if nd == "" || nc == "" {
						break
					}
					dv.Set("cursor", nd)
					cv.Set("cursor", nc)
				}
			}

			hv := url.Values{"type": {typ}, "q": {src}, "buckets": {"48"},
				"from": {"2026-11-02T00:00:00Z"}, "to": {"2026-11-05T00:00:00Z"}}
			d, c = a.get(t, "/api/histogram", hv)
			sameJSON(t, "histogram", d, c)
			if typ == "cloudtrail" {
				// An open range: the matches' own first and last times.
				d, c = a.get(t, "/api/histogram", url.Values{"type": {typ}, "q": {src}, "buckets": {"30"}})
				sameJSON(t, "histogram (open range)", d, c)
			}

			d, c = a.get(t, "/api/fields", url.Values{"type": {typ}, "q": {src}, "top": {"5"}})
			sameJSON(t, "fields", d, c)

			if typ == "cloudtrail" {
				ev := url.Values{"type": {typ}, "q": {src}, "format": {"ndjson"}, "limit": {"100000"}}
				d, c = a.get(t, "/api/export", ev)
				ld, lc := strings.Split(d.(string), "\n"), strings.Split(c.(string), "\n")
				sort.Strings(ld)
				sort.Strings(lc)
				if !reflect.DeepEqual(ld, lc) {
					t.Errorf("export: DuckDB %d lines, ClickHouse %d, or they differ", len(ld), len(lc))
				}
			}
		})
	}
}

// getOne calls one API.
func (a apis) getOne(t *testing.T, srv *httptest.Server, path string, v url.Values) (any, int) {
	t.Helper()
	resp, err := http.Get(srv.URL + path + "?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %v", path, resp.StatusCode, out)
	}
	return out, resp.StatusCode
}

// TestAPIEvent looks up events of every type by _id, with and without
// their time, on both APIs.
func TestAPIEvent(t *testing.T) {
	a := startAPIs(t)
	for _, typ := range []string{"cloudtrail", "vpcflow", "guardduty"} {
		d, _ := a.get(t, "/api/search", url.Values{"type": {typ}, "q": {""}, "limit": {"5"}})
		rows, _ := d.(map[string]any)["rows"].([]any)
		if len(rows) == 0 {
			t.Fatalf("%s: no rows", typ)
		}
		for _, r := range rows {
			row := r.(map[string]any)
			id, _ := row["_id"].(string)
			tm, _ := row["_time"].(string)
			for _, v := range []url.Values{{"id": {id}}, {"id": {id}, "type": {typ}}, {"id": {id}, "type": {typ}, "time": {tm}}} {
				if typ == "guardduty" && v.Get("time") != "" {
					// Its millisecond time is cut to the second on ClickHouse.
					continue
				}
				d, c := a.get(t, "/api/event", v)
				if sameJSON(t, typ+" event "+v.Encode(), d, c) {
					if got, _ := d.(map[string]any)["id"].(string); got != id {
						t.Errorf("%s: looked up %q, got %q", typ, id, got)
					}
				}
			}
		}
	}
}

// TestAPIStatsSchema compares /api/stats and checks that /api/schema on
// ClickHouse lists the tables users query with the columns DuckDB's have
// (ClickHouse lists them by name: 18.16 keeps no column positions).
func TestAPIStatsSchema(t *testing.T) {
	a := startAPIs(t)
	d, c := a.get(t, "/api/stats", url.Values{})
	sameJSON(t, "stats", d, c)
	d, c = a.get(t, "/api/schema", url.Values{})
	cols := func(v any) map[string][]string {
		out := map[string][]string{}
		tables, _ := v.(map[string]any)["tables"].([]any)
		for _, tb := range tables {
			m := tb.(map[string]any)
			name := m["name"].(string)
			for _, col := range m["columns"].([]any) {
				out[name] = append(out[name], col.(map[string]any)["name"].(string))
			}
			sort.Strings(out[name])
		}
		return out
	}
	dc, cc := cols(d), cols(c)
	for _, tb := range []string{"cloudtrail", "vpcflow", "guardduty_finding"} {
		if len(cc[tb]) == 0 {
			t.Errorf("ClickHouse schema has no table %s", tb)
			continue
		}
		var missing []string
		for _, col := range dc[tb] {
			if col != "spill_id" && col != "text_block" && !slicesContains(cc[tb], col) {
				missing = append(missing, col)
			}
		}
		if len(missing) > 0 {
			t.Errorf("ClickHouse %s lacks DuckDB's columns %v", tb, missing)
		}
	}
	for tb := range cc {
		if strings.HasSuffix(tb, "_data") || tb == "trawl_meta" {
			t.Errorf("ClickHouse schema lists internal table %s", tb)
		}
	}
}

func slicesContains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
