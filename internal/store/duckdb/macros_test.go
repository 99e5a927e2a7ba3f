package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/store"
)

// readOnlyStore creates a database file and opens it read-only, as
// `trawl query` does: the helpers must work there too.
func readOnlyStore(t *testing.T) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.duckdb")
	st, err := Open(context.Background(), path, Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = Open(context.Background(), path, Options{MemoryLimit: "256MB", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func nullBool(t *testing.T, st *Store, q string, args ...any) sql.NullBool {
	t.Helper()
	var b sql.NullBool
	if err := st.db.QueryRowContext(context.Background(), q, args...).Scan(&b); err != nil {
		t.Fatalf("%s %v: %v", q, args, err)
	}
	return b
}

// TestCIDRHelpersMatchNetip checks cidr_contains and is_private on real
// DuckDB against Go's net/netip, edge cases included: /0, /32, an address
// without a prefix, host bits set, IPv6, leading zeros, non-IP strings.
func TestCIDRHelpersMatchNetip(t *testing.T) {
	st := readOnlyStore(t)
	cidrs := []string{"0.0.0.0/0", "10.0.0.0/8", "10.0.0.5/8", "172.16.0.0/12", "192.168.1.1/32", "192.168.1.0/24",
		"255.255.255.255/32", "100.64.0.0/10", "1.2.3.4/31", "8.8.8.8"}
	ips := []string{"0.0.0.0", "10.0.0.0", "10.255.255.255", "11.0.0.0", "9.255.255.255", "172.15.255.255", "172.16.0.0",
		"172.31.255.255", "172.32.0.0", "192.168.1.1", "192.168.1.2", "192.168.0.255", "255.255.255.255", "100.127.1.1",
		"1.2.3.5", "1.2.3.6", "8.8.8.8", "fd00::1", "FC12:3::", "fe80::1", "::1", "2001:db8::1", "::ffff:10.0.0.1", "fc::1"}
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a := netip.MustParseAddr(c)
			p = netip.PrefixFrom(a, 32)
		}
		for _, ip := range ips {
			a := netip.MustParseAddr(ip)
			want := a.Is4() && p.Contains(a)
			if got := nullBool(t, st, `SELECT cidr_contains(?, ?)`, c, ip); !got.Valid || got.Bool != want {
				t.Errorf("cidr_contains(%q, %q) = %v, want %v", c, ip, got, want)
			}
		}
	}
	for _, ip := range ips {
		want := netip.MustParseAddr(ip).IsPrivate()
		if got := nullBool(t, st, `SELECT is_private(?)`, ip); !got.Valid || got.Bool != want {
			t.Errorf("is_private(%q) = %v, want %v", ip, got, want)
		}
	}
	// Not addresses: false, never an error.
	for _, bad := range []string{"", "x", "10.0.0", "10.0.0.256", "010.0.0.1", "10.0.0.1/8", "1.2.3.4.5", "fd00::zz"} {
		if got := nullBool(t, st, `SELECT cidr_contains('10.0.0.0/8', ?)`, bad); !got.Valid || got.Bool {
			t.Errorf("cidr_contains('10.0.0.0/8', %q) = %v, want false", bad, got)
		}
		if got := nullBool(t, st, `SELECT is_private(?)`, bad); !got.Valid || got.Bool {
			t.Errorf("is_private(%q) = %v, want false", bad, got)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "10.0.0.0/", "x/8", "", "fd00::/8", "10.0.0.0/-1"} {
		if got := nullBool(t, st, `SELECT cidr_contains(?, '10.0.0.1')`, bad); !got.Valid || got.Bool {
			t.Errorf("cidr_contains(%q, '10.0.0.1') = %v, want false", bad, got)
		}
	}
	if got := nullBool(t, st, `SELECT cidr_contains(NULL, '10.0.0.1')`); got.Valid {
		t.Errorf("cidr_contains(NULL, ip) = %v, want NULL", got)
	}
	if got := nullBool(t, st, `SELECT is_private(NULL)`); got.Valid {
		t.Errorf("is_private(NULL) = %v, want NULL", got)
	}
	// On a column, in a filter.
	var n int64
	if err := st.db.QueryRowContext(context.Background(), `SELECT count(*) FROM (VALUES ('10.1.1.1'), ('8.8.8.8'), (NULL), ('junk')) t(ip) WHERE is_private(ip)`).Scan(&n); err != nil || n != 1 {
		t.Errorf("is_private in WHERE: %d rows, %v; want 1", n, err)
	}
}

// TestHelpersStayOutOfTheFile checks that the helpers are not stored: the
// file has no macros of its own and SHOW TABLES lists no extra names.
func TestHelpersStayOutOfTheFile(t *testing.T) {
	st := readOnlyStore(t)
	var n int64
	if err := st.db.QueryRowContext(context.Background(), `SELECT count(*) FROM duckdb_functions() WHERE function_name IN ('param', 'cidr_contains', 'is_private') AND NOT database_name = 'temp'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("helpers outside the temp catalog: %d, %v", n, err)
	}
	if err := st.db.QueryRowContext(context.Background(), `SELECT count(*) FROM duckdb_functions() WHERE function_name IN ('param', 'cidr_contains', 'is_private') AND database_name = 'temp'`).Scan(&n); err != nil || n != 3 {
		t.Errorf("helpers in the temp catalog: %d, %v; want 3", n, err)
	}
}

// TestParamAndArrowHint checks param() and the hint given when ->> meets
// = without parentheses.
func TestParamAndArrowHint(t *testing.T) {
	st := readOnlyStore(t)
	ctx := context.Background()
	from := `FROM (VALUES ('{"userName":"alice","policy":{"arn":"p"},"a.b":"dot"}'::JSON, 1), ('{"userName":"bob"}'::JSON, 2), ('{"x":{"y":1}}'::JSON, 3)) t(request_parameters, n)`
	var got string
	if err := st.db.QueryRowContext(ctx, `SELECT string_agg(n::VARCHAR, ',' ORDER BY n) `+from+` WHERE n > 0 AND param(request_parameters, 'userName') = 'alice' OR param(request_parameters, '$.policy.arn') = 'p' OR param(request_parameters, 'a.b') = 'dot'`).Scan(&got); err != nil || got != "1" {
		t.Errorf("param: %q, %v; want 1", got, err)
	}
	_, err := st.Query(ctx, store.Request{SQL: `SELECT n ` + from + ` WHERE n > 0 AND request_parameters->>'$.userName' = 'alice'`})
	if err == nil {
		t.Fatal("DuckDB accepted x AND j->>'$.k' = 'v': the hint may no longer be needed")
	}
	want := `hint: in DuckDB ->> binds more loosely than = and AND, so put the JSON lookup in parentheses: (request_parameters->>'$.userName') = 'alice', or use param(): param(request_parameters, 'userName') = 'alice'`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error without the hint:\n%v", err)
	}
	// Other errors get no hint.
	_, err = st.Query(ctx, store.Request{SQL: `SELECT nosuchcolumn->>'$.a' = 'b'`})
	if err == nil || strings.Contains(err.Error(), "hint:") || errors.Is(err, context.Canceled) {
		t.Errorf("unrelated error: %v", err)
	}
}
