package api_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

func TestStats(t *testing.T) {
	f := getFixture(t)
	code, m := f.get(t, "/api/stats", nil)
	if code != 200 {
		t.Fatalf("status %d: %v", code, m)
	}
	want := map[string]string{"cloudtrail": "cloudtrail", "vpcflow": "vpcflow", "guardduty": "guardduty_finding"}
	tables := list(m["tables"])
	if len(tables) != 3 {
		t.Fatalf("%d tables, want 3: %v", len(tables), m)
	}
	for _, x := range tables {
		tb := obj(x)
		name := want[tb["type"].(string)]
		if n := f.scalar(t, "SELECT count(*) FROM "+name); n == 0 || num(tb["count"]) != n {
			t.Errorf("%s: count %v, the table has %d", name, tb["count"], n)
		}
		if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(tb["min_time"])); err != nil {
			t.Errorf("%s: min_time %v: %v", name, tb["min_time"], err)
		}
	}
}

func TestSearchPagesWithCursor(t *testing.T) {
	f := getFixture(t)
	for _, tc := range []struct{ typ, q, table string }{
		{"cloudtrail", "eventSource:iam.amazonaws.com", "cloudtrail"},
		{"vpcflow", "action:REJECT", "vpcflow"},
		{"guardduty", "", "guardduty_finding"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			code, m := f.get(t, "/api/count", vals("type", tc.typ, "q", tc.q))
			if code != 200 {
				t.Fatalf("count: %d %v", code, m)
			}
			want := num(m["count"])
			if want < 10 {
				t.Fatalf("only %d matches: the fixture should have more", want)
			}
			seen := map[string]bool{}
			var last time.Time
			cursor := ""
			pages := 0
			for {
				v := vals("type", tc.typ, "q", tc.q, "limit", "7")
				if cursor != "" {
					v.Set("cursor", cursor)
				}
				code, m := f.get(t, "/api/search", v)
				if code != 200 {
					t.Fatalf("search: %d %v", code, m)
				}
				pages++
				for _, r := range list(m["rows"]) {
					row := obj(r)
					id := row["_id"].(string)
					if seen[id] {
						t.Fatalf("row %s on two pages", id)
					}
					seen[id] = true
					tm, err := time.Parse(time.RFC3339Nano, row["_time"].(string))
					if err != nil {
						t.Fatal(err)
					}
					if !last.IsZero() && tm.After(last) {
						t.Fatalf("row at %s after one at %s: not newest first", tm, last)
					}
					last = tm
				}
				next, ok := m["next"].(string)
				if !ok {
					break
				}
				cursor = next
				if pages > 1000 {
					t.Fatal("no end of pages")
				}
			}
			if int64(len(seen)) != want {
				t.Errorf("paging returned %d rows, count says %d", len(seen), want)
			}
		})
	}
}

func TestSearchColumnsAndPattern(t *testing.T) {
	f := getFixture(t)
	code, m := f.get(t, "/api/search", vals("q", "eventName:CreateUser", "fields", "eventName,source_ip", "limit", "1000"))
	if code != 200 {
		t.Fatalf("%d %v", code, m)
	}
	if got := fmt.Sprint(m["columns"]); got != "[event_name source_ip]" {
		t.Errorf("columns %s, want [event_name source_ip]", got)
	}
	if m["type"] != "cloudtrail" || m["time_field"] != "event_time" {
		t.Errorf("type %v, time_field %v", m["type"], m["time_field"])
	}
	var ids []string
	for _, r := range list(m["rows"]) {
		row := obj(r)
		if row["event_name"] != "CreateUser" {
			t.Errorf("row %v is not CreateUser", row)
		}
		ids = append(ids, row["_id"].(string))
	}
	if len(ids) == 0 {
		t.Fatal("no CreateUser events in the fixture")
	}
	// The same events through a CloudWatch Logs filter pattern.
	code, m = f.get(t, "/api/search", vals("q", `{ $.eventName = "CreateUser" }`, "limit", "1000"))
	if code != 200 {
		t.Fatalf("%d %v", code, m)
	}
	var pids []string
	for _, r := range list(m["rows"]) {
		pids = append(pids, obj(r)["_id"].(string))
	}
	sort.Strings(ids)
	sort.Strings(pids)
	if fmt.Sprint(ids) != fmt.Sprint(pids) {
		t.Errorf("field search found %v, the filter pattern %v", ids, pids)
	}
}

func TestBadInputs(t *testing.T) {
	f := getFixture(t)
	for _, tc := range []struct {
		path     string
		params   url.Values
		status   int
		position int
		msg      string
	}{
		{"/api/search", vals("q", "eventName:(CreateUser"), 400, 11, "never closed"},
		{"/api/search", vals("q", "nosuchfield:x"), 400, 1, "unknown field"},
		{"/api/search", vals("q", "dstport:[a TO 3]", "type", "vpcflow"), 400, 10, "not a number"},
		{"/api/search", vals("type", "nginx"), 400, 0, "unknown type"},
		{"/api/search", vals("from", "yesterday"), 400, 0, "from"},
		{"/api/search", vals("to", "2026-13-45"), 400, 0, "to"},
		{"/api/search", vals("from", "2026-11-03", "to", "2026-11-02"), 400, 0, "before"},
		{"/api/search", vals("limit", "0"), 400, 0, "limit"},
		{"/api/search", vals("limit", "1001"), 400, 0, "limit"},
		{"/api/search", vals("limit", "ten"), 400, 0, "limit"},
		{"/api/search", vals("fields", "event_name,nosuch"), 400, 0, "nosuch"},
		{"/api/search", vals("cursor", "not-a-cursor"), 400, 0, "cursor"},
		{"/api/histogram", vals("buckets", "0"), 400, 0, "buckets"},
		{"/api/histogram", vals("q", "a AND"), 400, 0, ""},
		{"/api/fields", vals("top", "101"), 400, 0, "top"},
		{"/api/count", vals("q", "srcaddr:10.0.0.0/99"), 400, 9, "CIDR"},
		{"/api/event", vals("type", "cloudtrail"), 400, 0, "id"},
		{"/api/event", vals("type", "cloudtrail", "id", "no-such-event"), 404, 0, "no event"},
		{"/api/event", vals("id", "no-such-event"), 404, 0, "no event"},
		{"/api/event", vals("type", "cloudtrail", "id", "x", "time", "noon"), 400, 0, "time"},
		{"/api/export", vals("format", "xml"), 400, 0, "format"},
		{"/api/export", vals("limit", "1000001"), 400, 0, "limit"},
		{"/api/fieldlist", vals("type", "x"), 400, 0, "unknown type"},
		{"/api/alerts", vals("status", "pending"), 400, 0, "status"},
		{"/api/alerts", vals("severity", "urgent"), 400, 0, "severity"},
		{"/api/alerts/abc", nil, 400, 0, "alert id"},
		{"/api/alerts/999999", nil, 404, 0, "no alert"},
		{"/api/nosuch", nil, 404, 0, "no API endpoint"},
	} {
		code, m := f.get(t, tc.path, tc.params)
		name := tc.path + "?" + tc.params.Encode()
		if code != tc.status {
			t.Errorf("%s: status %d, want %d (%v)", name, code, tc.status, m)
			continue
		}
		msg, _ := m["error"].(string)
		if !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: error %q does not mention %q", name, msg, tc.msg)
		}
		if tc.position > 0 && num(m["position"]) != int64(tc.position) {
			t.Errorf("%s: position %v, want %d", name, m["position"], tc.position)
		}
	}
}

func TestCountAndHistogram(t *testing.T) {
	f := getFixture(t)
	want := f.scalar(t, "SELECT count(*) FROM vpcflow WHERE action = 'REJECT'")
	code, m := f.get(t, "/api/count", vals("q", "action:REJECT"))
	if code != 200 || num(m["count"]) != want || m["type"] != "vpcflow" {
		t.Fatalf("count: %d %v, want %d vpcflow", code, m, want)
	}
	lo := f.scalar(t, "SELECT epoch_ms(min(start_time)) FROM vpcflow")
	from := time.UnixMilli(lo).UTC().Truncate(time.Hour)
	to := from.Add(24 * time.Hour)
	inRange := f.scalar(t, "SELECT count(*) FROM vpcflow WHERE action = 'REJECT' AND start_time >= ? AND start_time < ?", from, to)
	code, m = f.get(t, "/api/histogram", vals("q", "action:REJECT", "from", from.Format(time.RFC3339), "to", fmt.Sprint(to.UnixMilli()), "buckets", "24"))
	if code != 200 {
		t.Fatalf("histogram: %d %v", code, m)
	}
	if num(m["interval_ms"]) != time.Hour.Milliseconds() {
		t.Errorf("interval %v, want 1h for 24 buckets over a day", m["interval_ms"])
	}
	buckets := list(m["buckets"])
	if len(buckets) != 24 {
		t.Fatalf("%d buckets, want 24 (empty ones included)", len(buckets))
	}
	var sum int64
	for i, b := range buckets {
		bk := obj(b)
		if num(bk["t_ms"]) != from.Add(time.Duration(i)*time.Hour).UnixMilli() {
			t.Errorf("bucket %d starts at %v", i, bk["t_ms"])
		}
		got := f.scalar(t, "SELECT count(*) FROM vpcflow WHERE action = 'REJECT' AND start_time >= ? AND start_time < ?",
			time.UnixMilli(num(bk["t_ms"])), time.UnixMilli(num(bk["t_ms"])).Add(time.Hour))
		if num(bk["count"]) != got {
			t.Errorf("bucket %d: %v, the table has %d", i, bk["count"], got)
		}
		sum += num(bk["count"])
	}
	if sum != inRange || num(m["total"]) != inRange {
		t.Errorf("buckets add up to %d, total %v, want %d", sum, m["total"], inRange)
	}
	// An open range covers every match; a filter pattern counts the same.
	for _, q := range []string{"eventName:ConsoleLogin", `{ $.eventName = "ConsoleLogin" }`} {
		want := f.scalar(t, "SELECT count(*) FROM cloudtrail WHERE event_name = 'ConsoleLogin'")
		code, m = f.get(t, "/api/histogram", vals("q", q))
		if code != 200 || num(m["total"]) != want || want == 0 {
			t.Errorf("%s: histogram total %v (%d), want %d", q, m["total"], code, want)
		}
		if n := len(list(m["buckets"])); n == 0 || n > 60 {
			t.Errorf("%s: %d buckets, want 1..60", q, n)
		}
	}
}

func TestFields(t *testing.T) {
	f := getFixture(t)
	code, m := f.get(t, "/api/fields", vals("type", "cloudtrail", "fields", "eventName,errorCode,read_only", "top", "3"))
	if code != 200 {
		t.Fatalf("%d %v", code, m)
	}
	total := f.scalar(t, "SELECT count(*) FROM cloudtrail")
	fs := list(m["fields"])
	if len(fs) != 3 {
		t.Fatalf("%d fields, want 3", len(fs))
	}
	first := obj(fs[0])
	if first["name"] != "eventName" || first["column"] != "event_name" {
		t.Errorf("first field %v %v, want eventName event_name", first["name"], first["column"])
	}
	rows := duckdbtestRows(t, f, "SELECT event_name, count(*) FROM cloudtrail GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3")
	for i, tv := range list(first["top"]) {
		v := obj(tv)
		if fmt.Sprint(v["value"]) != rows[i][0] || fmt.Sprint(num(v["count"])) != rows[i][1] {
			t.Errorf("top %d: %v, SQL says %v", i, v, rows[i])
		}
	}
	for _, x := range fs {
		fd := obj(x)
		sum := num(fd["other"]) + num(fd["missing"])
		for _, tv := range list(fd["top"]) {
			sum += num(obj(tv)["count"])
		}
		if sum != total {
			t.Errorf("%v: top + other + missing = %d, want %d", fd["name"], sum, total)
		}
	}
	if missing := f.scalar(t, "SELECT count(*) FROM cloudtrail WHERE error_code IS NULL"); num(obj(fs[1])["missing"]) != missing {
		t.Errorf("errorCode missing %v, want %d", obj(fs[1])["missing"], missing)
	}
	if v := obj(list(obj(fs[2])["top"])[0])["value"]; v != true && v != false {
		t.Errorf("read_only's top value %v (%T), want a JSON boolean", v, v)
	}
	// Default fields, and a filter pattern counted in Go.
	for _, q := range []string{"", `{ $.eventSource = "iam.amazonaws.com" }`} {
		code, m = f.get(t, "/api/fields", vals("q", q, "type", "cloudtrail"))
		if code != 200 || len(list(m["fields"])) < 5 {
			t.Errorf("%q: %d, %d default fields", q, code, len(list(m["fields"])))
		}
	}
}

func TestFieldList(t *testing.T) {
	f := getFixture(t)
	code, m := f.get(t, "/api/fieldlist", vals("type", "vpcflow"))
	if code != 200 || m["type"] != "vpcflow" {
		t.Fatalf("%d %v", code, m)
	}
	found := false
	for _, x := range list(m["fields"]) {
		fd := obj(x)
		if fd["column"] == "srcaddr" {
			found = fd["type"] == "ip" && fd["description"] != ""
		}
	}
	if !found {
		t.Error("srcaddr is not listed as an ip field with a description")
	}
	_, m = f.get(t, "/api/fieldlist", vals("type", "cloudtrail"))
	for _, x := range list(m["fields"]) {
		if fd := obj(x); fd["column"] == "event_name" && fd["name"] != "eventName" {
			t.Errorf("event_name is named %v, want eventName", fd["name"])
		}
	}
}

func TestEventDetail(t *testing.T) {
	f := getFixture(t)
	for _, typ := range []string{"cloudtrail", "vpcflow", "guardduty"} {
		_, m := f.get(t, "/api/search", vals("type", typ, "limit", "3"))
		for _, r := range list(m["rows"]) {
			row := obj(r)
			id, tm := row["_id"].(string), row["_time"].(string)
			for _, p := range []url.Values{vals("type", typ, "id", id, "time", tm), vals("type", typ, "id", id), vals("id", id)} {
				code, ev := f.get(t, "/api/event", p)
				if code != 200 {
					t.Fatalf("%s %s: %d %v", typ, p.Encode(), code, ev)
				}
				if ev["id"] != id || ev["type"] != typ || ev["time"] != tm {
					t.Errorf("%s: got id %v type %v time %v, want %s %s %s", p.Encode(), ev["id"], ev["type"], ev["time"], id, typ, tm)
				}
				raw, _ := ev["raw"].(string)
				if raw == "" || len(obj(ev["fields"])) < 5 {
					t.Errorf("%s: raw %q, %d fields", p.Encode(), raw, len(obj(ev["fields"])))
				}
			}
			// A wrong time does not find it.
			code, _ := f.get(t, "/api/event", vals("type", typ, "id", id, "time", "2001-01-01T00:00:00Z"))
			if code != 404 {
				t.Errorf("%s with a wrong time: %d, want 404", id, code)
			}
		}
	}
}

func TestExport(t *testing.T) {
	f := getFixture(t)
	want := f.scalar(t, "SELECT count(*) FROM cloudtrail WHERE event_source = 'iam.amazonaws.com'")
	resp, err := http.Get(f.srv.URL + "/api/export?" + vals("q", "eventSource:iam.amazonaws.com", "fields", "eventName,errorCode").Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="trawl-cloudtrail-`) {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(recs[0]) != "[event_name error_code]" || int64(len(recs)-1) != want {
		t.Errorf("header %v, %d rows, want %d", recs[0], len(recs)-1, want)
	}
	resp, err = http.Get(f.srv.URL + "/api/export?" + vals("type", "vpcflow", "format", "ndjson", "limit", "5").Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d NDJSON lines, want 5", len(lines))
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil || rec["srcaddr"] == nil {
		t.Errorf("line %q: %v", lines[0], err)
	}
}

func TestSchemaAndRules(t *testing.T) {
	f := getFixture(t)
	code, m := f.get(t, "/api/schema", nil)
	if code != 200 {
		t.Fatal(code, m)
	}
	names := map[string]bool{}
	for _, x := range list(m["tables"]) {
		tb := obj(x)
		names[tb["name"].(string)] = true
		if tb["name"] == "cloudtrail" && (len(list(tb["columns"])) < 20 || obj(list(tb["columns"])[0])["description"] == "") {
			t.Errorf("cloudtrail: %d columns, first %v", len(list(tb["columns"])), list(tb["columns"])[0])
		}
	}
	if !names["cloudtrail"] || !names["vpcflow"] || !names["alert"] || names["trawl_meta"] {
		t.Errorf("tables %v: want cloudtrail, vpcflow, alert and no internal tables", names)
	}
	_, m = f.get(t, "/api/rules", nil)
	rs := list(m["rules"])
	if len(rs) != len(f.rules) || len(rs) == 0 {
		t.Fatalf("%d rules, %d loaded", len(rs), len(f.rules))
	}
	for _, x := range rs {
		r := obj(x)
		if r["kind"] != "streaming" && r["kind"] != "scheduled" || r["id"] == "" || r["service"] == "" {
			t.Errorf("rule %v", r)
		}
	}
}

func TestAlerts(t *testing.T) {
	f := getFixture(t)
	code, m := f.get(t, "/api/alerts", vals("status", "all"))
	if code != 200 {
		t.Fatal(code, m)
	}
	as := list(m["alerts"])
	if int64(len(as)) != f.scalar(t, "SELECT count(*) FROM alert") || len(as) == 0 {
		t.Fatalf("%d alerts listed", len(as))
	}
	// A CloudTrail alert: its search finds its events.
	var id int64
	var search string
	for _, x := range as {
		a := obj(x)
		if a["type"] == "cloudtrail" && a["status"] == "open" {
			id, search = num(a["id"]), a["search"].(string)
			break
		}
	}
	if id == 0 || search == "" {
		t.Fatal("no open CloudTrail alert with a search")
	}
	code, a := f.get(t, fmt.Sprintf("/api/alerts/%d", id), nil)
	if code != 200 || len(list(a["hits"])) == 0 || obj(list(a["hits"])[0])["time"] == nil {
		t.Fatalf("alert %d: %d, hits %v", id, code, a["hits"])
	}
	code, c := f.get(t, "/api/count", vals("q", search, "type", "cloudtrail"))
	if code != 200 || num(c["count"]) != int64(len(list(a["hits"]))) {
		t.Errorf("the alert's search %q counts %v (%d), it has %d hits", search, c["count"], code, len(list(a["hits"])))
	}
	for _, step := range []struct{ verb, status string }{{"ack", "acknowledged"}, {"close", "closed"}, {"reopen", "open"}} {
		code, a := f.post(t, fmt.Sprintf("/api/alerts/%d/%s", id, step.verb), `{"note":"from the API test"}`)
		if code != 200 || a["status"] != step.status || a["note"] != "from the API test" {
			t.Errorf("%s: %d %v %v", step.verb, code, a["status"], a["note"])
		}
	}
	if code, _ := f.post(t, "/api/alerts/999999/ack", ""); code != 404 {
		t.Errorf("ack of an unknown alert: %d, want 404", code)
	}
	if code, _ := f.post(t, fmt.Sprintf("/api/alerts/%d/ack", id), "{not json"); code != 400 {
		t.Errorf("ack with a bad body: %d, want 400", code)
	}
	_, m = f.get(t, "/api/alerts", vals("severity", "critical", "status", "all"))
	for _, x := range list(m["alerts"]) {
		if s := obj(x)["severity"]; s != "critical" {
			t.Errorf("severity=critical listed a %v alert", s)
		}
	}
}

func TestSQL(t *testing.T) {
	f := getFixture(t)
	before := f.counts(t)
	code, m := f.post(t, "/api/sql", `{"sql":"SELECT event_name AS n, count(*) AS c FROM cloudtrail GROUP BY 1 ORDER BY 2 DESC","limit":2}`)
	if code != 200 {
		t.Fatalf("%d %v", code, m)
	}
	if fmt.Sprint(m["columns"]) != "[map[name:n type:VARCHAR] map[name:c type:BIGINT]]" || len(list(m["rows"])) != 2 || m["truncated"] != true {
		t.Errorf("columns %v, %d rows, truncated %v", m["columns"], len(list(m["rows"])), m["truncated"])
	}
	for _, q := range []string{"DESCRIBE cloudtrail", "SHOW TABLES", "SUMMARIZE SELECT 1 AS x", "EXPLAIN SELECT * FROM vpcflow",
		"PRAGMA table_info('vpcflow')", "WITH x AS (SELECT 1 AS a) SELECT * FROM x", "SELECT 1; -- a comment"} {
		if code, m := f.post(t, "/api/sql", mustJSON(map[string]any{"sql": q})); code != 200 {
			t.Errorf("%s: %d %v", q, code, m)
		}
	}
	for _, q := range []string{
		"SELECT * FROM read_csv('/etc/passwd')",
		"SELECT * FROM read_text('/etc/hostname')",
		"SELECT * FROM read_json_auto('/etc/passwd')",
		"SELECT * FROM glob('/etc/*')",
		"COPY (SELECT 1) TO '/tmp/trawl-api-test-copy.csv'",
		"COPY cloudtrail_base TO '/tmp/trawl-api-test-copy.csv'",
		"EXPORT DATABASE '/tmp/trawl-api-test-export'",
		"ATTACH '/tmp/trawl-api-test-attach.duckdb' AS x",
		"INSTALL httpfs",
		"LOAD httpfs",
		"CREATE TABLE x AS SELECT 1",
		"CREATE TEMP TABLE x AS SELECT 1",
		"CREATE MACRO m(a) AS a",
		"INSERT INTO trawl_meta VALUES ('k', 'v')",
		"UPDATE alert_base SET status = 'closed'",
		"DELETE FROM vpcflow",
		"DROP TABLE vpcflow",
		"ALTER TABLE vpcflow ADD COLUMN z INT",
		"SET enable_external_access = true",
		"SET memory_limit = '1GB'",
		"RESET memory_limit",
		"PRAGMA memory_limit = '1GB'",
		"PRAGMA enable_profiling",
		"CALL pragma_table_info('vpcflow')",
		"CHECKPOINT",
		"VACUUM",
		"BEGIN TRANSACTION",
		"SELECT 1; DELETE FROM vpcflow",
		"DELETE FROM vpcflow; SELECT 1",
		"EXPLAIN ANALYZE DELETE FROM vpcflow",
		"EXPLAIN ANALYZE CREATE TABLE y AS SELECT 1",
		"DETACH DATABASE t",
		"USE memory",
	} {
		code, m := f.post(t, "/api/sql", mustJSON(map[string]any{"sql": q}))
		if code != 403 && code != 400 {
			t.Errorf("%s: %d %v, want it refused", q, code, m)
		}
		if code == 500 {
			t.Errorf("%s: 500", q)
		}
	}
	if after := f.counts(t); after != before {
		t.Errorf("the database changed: %s → %s", before, after)
	}
	// The writer still writes after the sandbox's refusals.
	if n := f.scalar(t, "SELECT count(*) FROM trawl_meta"); n == 0 {
		t.Error("trawl_meta is empty")
	}
	for _, body := range []string{`{"sql":""}`, `not json`, `{"sql":"SELECT 1","limit":-1}`, `{"sql":"SELECT 1","limit":100001}`} {
		if code, m := f.post(t, "/api/sql", body); code != 400 {
			t.Errorf("%s: %d %v, want 400", body, code, m)
		}
	}
	if code, m := f.post(t, "/api/sql", `{"sql":"SELEC 1"}`); code != 400 || !strings.Contains(fmt.Sprint(m["error"]), "syntax") {
		t.Errorf("a syntax error: %d %v", code, m)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func duckdbtestRows(t *testing.T, f *fixture, sql string) [][]string {
	t.Helper()
	return duckdbtest.Rows(t, f.st.Querier(), sql)
}
