package clickhouse_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
)

func open(t testing.TB) *clickhouse.Store {
	t.Helper()
	st, err := clickhouse.Open(context.Background(), openDSN(t), clickhouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openDSN(t testing.TB) string { return chtest.DSN(t) }

func collect(t testing.TB, q store.Querier, sql string, args ...any) [][]any {
	t.Helper()
	rows, err := q.Query(context.Background(), store.Request{SQL: sql, Args: args})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		out = append(out, append([]any(nil), rows.Values()...))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

var hostile = []string{
	"", "plain", "it's", `back\slash`, `\'`, `'\`, "quote''twice", "nul\x00byte", "tab\tnew\nline\rcr",
	"unicode é 日本 🙂", "\x01\x1f\x7f", "?", "'?'", "-- comment", "/* c */", "`tick`", `"dq"`,
	"'); DROP TABLE x; --", `\x41`, `\0`, "\xff\xfe not utf-8",
}

func TestBindRoundTrip(t *testing.T) {
	st := open(t)
	for _, s := range hostile {
		got := collect(t, st, "SELECT ? AS v, length(?) AS n, '?' AS q -- ? here\n", s, s)
		want := s
		if !strings.HasPrefix(s, "\xff") {
			if got[0][0] != want {
				t.Errorf("%q came back as %q", s, got[0][0])
			}
		}
		if got[0][1] != int64(len(s)) {
			t.Errorf("%q: length %v, want %d", s, got[0][1], len(s))
		}
		if got[0][2] != "?" {
			t.Errorf("quoted ? was replaced: %v", got[0][2])
		}
	}
}

func TestBindErrors(t *testing.T) {
	if _, err := clickhouse.Bind("SELECT ?, ?", []any{1}); err == nil {
		t.Error("too few arguments: no error")
	}
	if _, err := clickhouse.Bind("SELECT ?", []any{1, 2}); err == nil {
		t.Error("too many arguments: no error")
	}
	if _, err := clickhouse.Bind("SELECT ?", []any{struct{}{}}); err == nil {
		t.Error("a struct argument: no error")
	}
	q, err := clickhouse.Bind(`SELECT 'a\'?' , "c?", `+"`d?`"+`, /* ? */ ?`, []any{int64(7)})
	if err != nil || !strings.HasSuffix(q, "/* ? */ 7") {
		t.Errorf("Bind = %q, %v", q, err)
	}
}

func TestQueryTypes(t *testing.T) {
	st := open(t)
	ts := time.Date(2024, 3, 1, 12, 30, 45, 0, time.UTC)
	got := collect(t, st, `SELECT toUInt64(18446744073709551) AS u, toInt64(-5) AS i, toFloat64(1.5) AS f, 'x' AS s,
		toDateTime('2024-03-01 12:30:45', 'UTC') AS t, ? AS t2, NULL AS n, toNullable(toInt64(3)) AS nn,
		[1, 2] AS arr, ['a', 'b'] AS sarr, toDate('2024-03-01') AS d, ? AS b`, ts, true)
	if len(got) != 1 {
		t.Fatalf("%d rows", len(got))
	}
	want := []any{int64(18446744073709551), int64(-5), 1.5, "x", ts, ts, nil, int64(3), []any{int64(1), int64(2)}, []any{"a", "b"},
		time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), int64(1)}
	for i, w := range want {
		g := got[0][i]
		if wt, ok := w.(time.Time); ok {
			if gt, ok := g.(time.Time); !ok || !gt.Equal(wt) || gt.Location() != time.UTC {
				t.Errorf("column %d = %#v, want %v", i, g, w)
			}
			continue
		}
		if !equal(g, w) {
			t.Errorf("column %d = %#v (%T), want %#v", i, g, g, w)
		}
	}
}

func equal(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok != bok {
		return false
	}
	if aok {
		if len(as) != len(bs) {
			return false
		}
		for i := range as {
			if !equal(as[i], bs[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestQueryError(t *testing.T) {
	st := open(t)
	_, err := st.Query(context.Background(), store.Request{SQL: "SELECT * FROM no_such_table"})
	if err == nil || !clickhouse.IsCode(err, clickhouse.CodeUnknownTable) {
		t.Errorf("error = %v, want code %d", err, clickhouse.CodeUnknownTable)
	}
}

func TestInsertJSON(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	c := st.Client()
	if err := c.Exec(ctx, "CREATE TABLE x (a String, t DateTime('UTC'), n Nullable(Int64)) ENGINE = MergeTree ORDER BY t"); err != nil {
		t.Fatal(err)
	}
	body := `{"a":"it's \u0000 é","t":"2024-01-02T03:04:05Z","n":null}` + "\n" + `{"a":"b","t":"2024-01-02 03:04:06","n":7}` + "\n"
	if err := c.InsertJSON(ctx, "x", []string{"a", "t", "n"}, []byte(body)); err != nil {
		t.Fatal(err)
	}
	got := collect(t, st, "SELECT a, t, n FROM x ORDER BY t")
	if len(got) != 2 || got[0][0] != "it's \x00 é" || got[0][2] != nil || got[1][2] != int64(7) ||
		!got[0][1].(time.Time).Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("rows = %v", got)
	}
}

func TestQueryEachSession(t *testing.T) {
	st := open(t)
	var n []any
	err := st.QueryEach(context.Background(), store.Request{SQL: "SET max_threads = 1; SELECT value FROM system.settings WHERE name = 'max_threads'; SELECT 'a;b' AS s"},
		func(r store.Rows) error {
			for r.Next() {
				n = append(n, r.Values()[0])
			}
			return r.Err()
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(n) != 2 || n[0] != "1" || n[1] != "a;b" {
		t.Errorf("values = %v", n)
	}
}

// TestZeroTime: 18.16 writes the zero DateTime (min or max over no rows)
// as 0000-00-00 00:00:00; it reads as the Unix epoch, not as an error.
func TestZeroTime(t *testing.T) {
	st := open(t)
	got := collect(t, st, "SELECT count(*), min(ingested_at), max(ingested_at), toDateTime(0, 'UTC'), toDate(0) FROM cloudtrail")
	epoch := time.Unix(0, 0).UTC()
	if got[0][0] != int64(0) {
		t.Fatalf("count = %v, want 0 on a new database", got[0][0])
	}
	for i := 1; i < 5; i++ {
		if got[0][i] != epoch {
			t.Errorf("column %d = %#v, want %v", i, got[0][i], epoch)
		}
	}
}
