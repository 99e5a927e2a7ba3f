package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/dashboard"
	"github.com/trawl-project/trawl/internal/store"
)

// get requests path from the handler and decodes the JSON answer into v.
func get(t testing.TB, srv *httptest.Server, path string, v any) int {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: content type %q", path, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return resp.StatusCode
}

// TestHandler drives the HTTP API as the UI does: the list, the filters,
// every panel in the contract's shape, and the errors.
func TestHandler(t *testing.T) {
	srv := httptest.NewServer(dashboard.Handler(demo(t)))
	defer srv.Close()

	var list struct {
		Dashboards []struct {
			ID, Title, Type string
			Panels          []struct {
				ID, Title, Kind string
				Width           int
			}
		}
	}
	if code := get(t, srv, "/api/dashboards", &list); code != http.StatusOK {
		t.Fatalf("list: %d", code)
	}
	var ids []string
	for _, d := range list.Dashboards {
		ids = append(ids, d.ID)
		if d.Title == "" || d.Type == "" || len(d.Panels) < 5 {
			t.Errorf("dashboard %+v", d)
		}
	}
	if strings.Join(ids, ",") != "cloudtrail,vpcflow,guardduty" {
		t.Errorf("dashboards %v", ids)
	}

	var filters struct{ Accounts, Regions []string }
	if code := get(t, srv, "/api/dashboards/cloudtrail/filters", &filters); code != http.StatusOK || len(filters.Accounts) < 2 || len(filters.Regions) < 2 {
		t.Fatalf("filters: %d %+v", code, filters)
	}
	if !sort.StringsAreSorted(filters.Accounts) || !sort.StringsAreSorted(filters.Regions) {
		t.Errorf("filters not sorted: %+v", filters)
	}

	type result struct {
		ID, Title, Kind, Type, Unit string
		Columns                     []string
		Rows                        [][]any
		Search                      []string
		IntervalMS                  int64  `json:"interval_ms"`
		TookMS                      *int64 `json:"took_ms"`
	}
	for _, d := range list.Dashboards {
		for _, p := range d.Panels {
			var res result
			path := "/api/dashboards/" + d.ID + "/panels/" + p.ID
			if code := get(t, srv, path, &res); code != http.StatusOK {
				t.Fatalf("%s: %d", path, code)
			}
			if res.ID != p.ID || res.Kind != p.Kind || res.Type != d.Type || res.Unit == "" || res.TookMS == nil ||
				len(res.Rows) == 0 || len(res.Search) != len(res.Rows) {
				t.Errorf("%s: %+v", path, res)
			}
			if p.Kind == "timeseries" {
				if res.IntervalMS <= 0 {
					t.Errorf("%s: interval %d", path, res.IntervalMS)
				}
				if _, ok := res.Rows[0][0].(float64); !ok {
					t.Errorf("%s: t_ms %T", path, res.Rows[0][0])
				}
			}
			if p.ID == "iam_changes" {
				ts, _ := res.Rows[0][0].(string)
				if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || !strings.HasSuffix(ts, "Z") {
					t.Errorf("%s: event_time %q is not RFC 3339 UTC", path, ts)
				}
			}
		}
	}

	// Filters in the URL: accounts and regions as lists, times as RFC 3339
	// or epoch milliseconds.
	acct := filters.Accounts[0]
	var res result
	v := url.Values{"account": {acct}, "region": {strings.Join(filters.Regions[:2], ",")},
		"from": {"2026-11-02T00:00:00Z"}, "to": {fmt.Sprint(time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC).UnixMilli())}}
	if code := get(t, srv, "/api/dashboards/cloudtrail/panels/events_by_account?"+v.Encode(), &res); code != http.StatusOK || len(res.Rows) == 0 {
		t.Fatalf("filtered: %d %+v", code, res)
	}
	for i, r := range res.Rows {
		if r[1] != acct || !strings.Contains(res.Search[i], acct) || !strings.Contains(res.Search[i], filters.Regions[1]) {
			t.Fatalf("row %v search %q with account %s", r, res.Search[i], acct)
		}
		if tm := int64(r[0].(float64)); tm < time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixMilli() || tm >= time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC).UnixMilli() {
			t.Fatalf("bucket %d outside the range", tm)
		}
	}
	if res.IntervalMS != 1800000 {
		t.Errorf("2 days in ≤ 100 buckets: interval %d, want 30m", res.IntervalMS)
	}

	for _, c := range []struct {
		path string
		code int
		msg  string
	}{
		{"/api/dashboards/nope/panels/x", 404, `no dashboard "nope"`},
		{"/api/dashboards/nope/filters", 404, `no dashboard "nope"`},
		{"/api/dashboards/cloudtrail/panels/nope", 404, `no panel "nope"`},
		{"/api/dashboards/cloudtrail/nope", 404, "no such dashboards endpoint"},
		{"/api/dashboards/cloudtrail/panels/top_event_names?from=yesterday", 400, "from: \"yesterday\" is neither"},
		{"/api/dashboards/cloudtrail/panels/top_event_names?to=2026-13-01", 400, "to: "},
		{"/api/dashboards/cloudtrail/filters?from=2026-11-03T00:00:00Z&to=2026-11-02T00:00:00Z", 400, "must be before"},
		{"/api/dashboards/vpcflow/panels/top_pairs?from=5&to=5", 400, "must be before"},
		{"/api/dashboards/vpcflow/panels/top_pairs?to=999999999999999999", 400, "outside the years 1-9999"},
		{"/api/dashboards/guardduty/panels/newest_high?from=-99999999999999999", 400, "outside the years 1-9999"},
	} {
		var e struct{ Error string }
		if code := get(t, srv, c.path, &e); code != c.code || !strings.Contains(e.Error, c.msg) {
			t.Errorf("%s: %d %q, want %d %q", c.path, code, e.Error, c.code, c.msg)
		}
	}
	resp, err := srv.Client().Post(srv.URL+"/api/dashboards/cloudtrail/panels/top_event_names", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

// BenchmarkPanels measures every panel (and the filters) through the HTTP handler, over
// the whole data set ("all") and its last 24 hours ("24h"), and reports
// p50 and p95 in ms. It uses the test's demo store, or the database at
// $TRAWL_BENCH_DB (opened read-only) to measure a big one.
func BenchmarkPanels(b *testing.B) {
	var q dashboard.Querier
	if path := os.Getenv("TRAWL_BENCH_DB"); path != "" {
		st, err := app.Open(context.Background(), app.Options{DB: path, Mode: app.Query})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		q = st.Querier()
	} else {
		q = demo(b)
	}
	srv := httptest.NewServer(dashboard.Handler(q))
	defer srv.Close()
	for _, d := range dashboard.Dashboards() {
		tb := d.SearchTable()
		rows, err := q.Query(context.Background(), storeRequest("SELECT max("+tb.Time+") FROM "+tb.Name))
		if err != nil {
			b.Fatal(err)
		}
		var hi time.Time
		if rows.Next() {
			hi, _ = rows.Values()[0].(time.Time)
		}
		rows.Close()
		if hi.IsZero() {
			continue // no data of this kind
		}
		ranges := []struct{ name, query string }{
			{"all", ""},
			{"24h", "?from=" + fmt.Sprint(hi.Add(-24*time.Hour).UnixMilli()) + "&to=" + fmt.Sprint(hi.Add(time.Millisecond).UnixMilli())},
		}
		paths := []string{"filters"}
		for _, p := range d.Panels {
			paths = append(paths, "panels/"+p.ID)
		}
		for _, path := range paths {
			for _, r := range ranges {
				b.Run(d.ID+"/"+strings.TrimPrefix(path, "panels/")+"/"+r.name, func(b *testing.B) {
					var took []time.Duration
					for b.Loop() {
						start := time.Now()
						resp, err := srv.Client().Get(srv.URL + "/api/dashboards/" + d.ID + "/" + path + r.query)
						if err != nil {
							b.Fatal(err)
						}
						var res any
						err = json.NewDecoder(resp.Body).Decode(&res)
						resp.Body.Close()
						if err != nil || resp.StatusCode != http.StatusOK {
							b.Fatalf("%d %v", resp.StatusCode, err)
						}
						took = append(took, time.Since(start))
					}
					slices.Sort(took)
					b.ReportMetric(ms(took[len(took)/2]), "p50_ms")
					b.ReportMetric(ms(took[(len(took)*95+99)/100-1]), "p95_ms")
				})
			}
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func storeRequest(sql string) store.Request { return store.Request{SQL: sql} }
