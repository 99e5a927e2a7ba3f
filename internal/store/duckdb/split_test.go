package duckdb

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/store"
)

func TestSplitStatements(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"SELECT 1", []string{"SELECT 1"}},
		{"SELECT 1;", []string{"SELECT 1"}},
		{" SELECT 1 ; SELECT 2 ;; ", []string{"SELECT 1", "SELECT 2"}},
		{"SELECT ';' AS a; SELECT 'it''s;' ", []string{"SELECT ';' AS a", "SELECT 'it''s;'"}},
		{`SELECT E'a\';b'; SELECT 2`, []string{`SELECT E'a\';b'`, "SELECT 2"}},
		{`SELECT 'a\'; SELECT 2`, []string{`SELECT 'a\'`, "SELECT 2"}}, // no E: the backslash is a character
		{`SELECT "a;b" FROM t; SELECT 2`, []string{`SELECT "a;b" FROM t`, "SELECT 2"}},
		{"SELECT 1 -- one; two\n; SELECT 2", []string{"SELECT 1 -- one; two", "SELECT 2"}},
		{"SELECT /* ; */ 1; /* only a comment; */ ; -- and this;", []string{"SELECT /* ; */ 1"}},
		{"SELECT $$a;b$$, $x$c;$$;d$x$; SELECT $1", []string{"SELECT $$a;b$$, $x$c;$$;d$x$", "SELECT $1"}},
		{"SELECT 'unterminated; SELECT 2", []string{"SELECT 'unterminated; SELECT 2"}},
		{"  ;  -- nothing\n", nil},
	} {
		if got := SplitStatements(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitStatements(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestQueryEach checks that every statement's result reaches the caller,
// in order, on one connection (a temporary table and a setting carry
// over), and that a failing statement is named.
func TestQueryEach(t *testing.T) {
	st := readOnlyStore(t)
	ctx := context.Background()
	var got [][]string
	err := st.QueryEach(ctx, store.Request{SQL: `CREATE TEMP TABLE t AS SELECT 41 AS x; SET threads = 1;
		SELECT x + 1 AS y FROM t; SELECT current_setting('threads') AS th, 'a;b' AS s`}, func(rows store.Rows) error {
		res := []string{strings.Join(rows.Columns(), ",")}
		for rows.Next() {
			for _, v := range rows.Values() {
				res = append(res, fmt.Sprint(v))
			}
		}
		got = append(got, res)
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || !reflect.DeepEqual(got[2], []string{"y", "42"}) || !reflect.DeepEqual(got[3], []string{"th,s", "1", "a;b"}) {
		t.Errorf("results: %q", got)
	}
	err = st.QueryEach(ctx, store.Request{SQL: "SELECT 1; SELECT nosuch; SELECT 3"}, func(rows store.Rows) error { return nil })
	var se *StatementError
	if !errors.As(err, &se) || se.N != 2 || se.Of != 3 || se.Statement != "SELECT nosuch" || !strings.Contains(err.Error(), "statement 2 of 3") {
		t.Errorf("failing statement: %v", err)
	}
	if err := st.QueryEach(ctx, store.Request{SQL: " ; -- none"}, func(store.Rows) error { return nil }); err == nil {
		t.Error("no statement: no error")
	}
}
