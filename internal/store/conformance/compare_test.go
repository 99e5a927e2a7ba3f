package conformance

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/store"
)

// readAll reads every row of rows, its values normalised for comparison
// (times as RFC 3339 UTC text marked as times; every other value as the
// store returned it, so types are compared too).
func readAll(rows store.Rows) ([][]any, error) {
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		v := rows.Values()
		row := make([]any, len(v))
		for i, x := range v {
			row[i] = norm(x)
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// stamp is a time, normalised: RFC 3339 in UTC, to the second.
// ClickHouse 18.16's DateTime holds whole seconds (it has no DateTime64),
// so the sub-second part of GuardDuty's times (updatedAt, createdAt are
// milliseconds) is lost there: the one loss the suite accepts. Every
// other value is compared with its Go type.
type stamp string

func norm(v any) any {
	switch x := v.(type) {
	case time.Time:
		return stamp(x.UTC().Truncate(time.Second).Format(time.RFC3339))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = norm(e)
		}
		return out
	}
	return v
}

// query runs SQL on q and reads every row.
func query(t *testing.T, q store.Querier, sql string, args ...any) [][]any {
	t.Helper()
	rows, err := q.Query(context.Background(), store.Request{SQL: sql, Args: args})
	if err != nil {
		t.Fatalf("%s: %v\n%s", store.DialectOf(q), err, sql)
	}
	out, err := readAll(rows)
	if err != nil {
		t.Fatalf("%s: %v\n%s", store.DialectOf(q), err, sql)
	}
	return out
}

// sortRows sorts rows by their text, for results whose order the query
// leaves open (the order of rows of one time).
func sortRows(rows [][]any) {
	key := func(r []any) string { return fmt.Sprintf("%#v", r) }
	sort.Slice(rows, func(i, j int) bool { return key(rows[i]) < key(rows[j]) })
}

// sameRows fails t when got (ClickHouse) differs from want (DuckDB),
// naming the first differing row and value with its Go type.
func sameRows(t *testing.T, what string, cols []string, want, got [][]any) bool {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("%s: DuckDB has %d rows, ClickHouse %d", what, len(want), len(got))
		for i := 0; i < min(3, max(len(want), len(got))); i++ {
			if i < len(want) {
				t.Logf("  duckdb[%d]     %v", i, want[i])
			}
			if i < len(got) {
				t.Logf("  clickhouse[%d] %v", i, got[i])
			}
		}
		return false
	}
	for i := range want {
		if len(want[i]) != len(got[i]) {
			t.Errorf("%s: row %d has %d columns on DuckDB, %d on ClickHouse", what, i, len(want[i]), len(got[i]))
			return false
		}
		for j := range want[i] {
			if !reflect.DeepEqual(want[i][j], got[i][j]) {
				name := fmt.Sprint(j)
				if j < len(cols) {
					name = cols[j]
				}
				t.Errorf("%s: row %d column %s: DuckDB %#v (%T), ClickHouse %#v (%T)", what, i, name, want[i][j], want[i][j], got[i][j], got[i][j])
				return false
			}
		}
	}
	return true
}

// short abbreviates a query for a subtest name.
func short(s string) string {
	s = strings.NewReplacer("/", "∕", " ", "_").Replace(s)
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}
