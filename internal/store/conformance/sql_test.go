package conformance

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/api"
)

// TestSQLConsole runs the SQL console on both stores: reads give the same
// rows, the row limit truncates on both, and on ClickHouse (readonly=1)
// writes, table functions, setting changes and several statements are
// refused with 403 and change nothing.
func TestSQLConsole(t *testing.T) {
	s := loadStores(t)
	duck, ch := loadBoth(t)
	serve := func(a *api.API) *httptest.Server {
		mux := http.NewServeMux()
		a.Register(mux)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv
	}
	dsrv := serve(api.New(api.Options{Store: duck, SQL: s.Duck}))
	csrv := serve(api.New(api.Options{Store: ch, SQL: api.ClickHouseSQL{Store: s.CH}}))
	post := func(srv *httptest.Server, sql string, limit int) (int, map[string]any) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"sql": sql, "limit": limit})
		resp, err := http.Post(srv.URL+"/api/sql", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v: %s", sql, err, b)
		}
		return resp.StatusCode, m
	}
	for _, q := range []string{
		"SELECT event_name, count(*) AS n FROM cloudtrail GROUP BY event_name ORDER BY n DESC, event_name LIMIT 5",
		"SELECT id, severity, updated_at FROM guardduty_finding ORDER BY id LIMIT 20",
		"SELECT srcaddr, sum(bytes) AS b FROM vpcflow WHERE action = 'REJECT' GROUP BY srcaddr ORDER BY b DESC, srcaddr LIMIT 10",
	} {
		ds, dm := post(dsrv, q, 100)
		cs, cm := post(csrv, q, 100)
		if ds != 200 || cs != 200 {
			t.Fatalf("%s: DuckDB %d %v, ClickHouse %d %v", q, ds, dm, cs, cm)
		}
		if len(list(dm["rows"])) == 0 {
			t.Errorf("%s: no rows", q)
		}
		sameJSON(t, q, dm["rows"], cm["rows"])
	}
	// The row limit.
	for name, srv := range map[string]*httptest.Server{"duckdb": dsrv, "clickhouse": csrv} {
		st, m := post(srv, "SELECT event_id FROM cloudtrail ORDER BY event_id", 10)
		if st != 200 || len(list(m["rows"])) != 10 || m["truncated"] != true {
			t.Errorf("%s: limit 10: %d, %d rows, truncated %v", name, st, len(list(m["rows"])), m["truncated"])
		}
	}
	before := query(t, ch, "SELECT count(*) FROM cloudtrail")
	for _, q := range []string{
		"INSERT INTO cloudtrail_data (event_id, event_time) VALUES ('x', now())",
		"CREATE TABLE evil (a Int8) ENGINE = Memory",
		"DROP TABLE cloudtrail_data",
		"SELECT * FROM url('http://127.0.0.1:1/', CSV, 'a String')",
		"SELECT * FROM file('/etc/passwd', CSV, 'a String')",
		"SELECT 1; DROP TABLE cloudtrail_data",
		"SELECT 1 SETTINGS readonly = 0",
	} {
		st, m := post(csrv, q, 10)
		if st != http.StatusForbidden {
			t.Errorf("ClickHouse: %q: %d %v, want 403", q, st, m)
		}
	}
	after := query(t, ch, "SELECT count(*) FROM cloudtrail")
	sameRows(t, "cloudtrail rows after refused statements", nil, before, after)
	if got := query(t, ch, "EXISTS TABLE evil"); len(got) != 1 || got[0][0] != int64(0) {
		t.Errorf("table evil exists: %v", got)
	}
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}
