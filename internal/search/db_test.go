package search_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

var demo struct {
	once sync.Once
	st   *app.Store
	err  error
	dir  string
}

// demoStore generates a small demo data set (with the attack story) once
// per test binary and ingests it into a real DuckDB store.
func demoStore(t testing.TB) store.Querier {
	t.Helper()
	demo.once.Do(func() {
		ctx := context.Background()
		cfg := gen.DefaultConfig()
		cfg.CloudTrailEvents, cfg.FlowRecords, cfg.Findings = 3000, 6000, 12
		cfg.Attack = true
		dir, err := mkdirTemp()
		if err != nil {
			demo.err = err
			return
		}
		demo.dir = dir
		if _, err := gen.Generate(ctx, filepath.Join(dir, "logs"), cfg); err != nil {
			demo.err = err
			return
		}
		st, err := app.Open(ctx, app.Options{DB: filepath.Join(dir, "t.duckdb"), Mode: app.Ingest})
		if err != nil {
			demo.err = err
			return
		}
		objs, err := file.Objects([]string{filepath.Join(dir, "logs")}, nil)
		if err != nil {
			demo.err = err
			return
		}
		if _, err := st.Ingest(ctx, pipeline.Objects(objs...), pipeline.Config{}); err != nil {
			demo.err = err
			return
		}
		demo.st = st
	})
	if demo.err != nil {
		t.Fatalf("building the demo store: %v", demo.err)
	}
	return demo.st.Querier()
}

func count(t *testing.T, q store.Querier, query string, opt search.Options) int64 {
	t.Helper()
	c, err := search.ParseCompile(query, opt)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	n, err := search.Count(context.Background(), q, c)
	if err != nil {
		sql, args := c.Count()
		t.Fatalf("%s: %v\nSQL: %s\nargs: %v", query, err, sql, args)
	}
	return n
}

// TestOperatorsMatchHandWrittenSQL runs each operator of the language on
// the demo data and compares the number of matches with hand-written SQL.
// Each case must match at least one row (so a query that matched nothing
// by mistake cannot pass), except the ones marked zero.
func TestOperatorsMatchHandWrittenSQL(t *testing.T) {
	q := demoStore(t)
	cases := []struct {
		table *search.Table // nil: chosen from the query
		query string
		sql   string // a WHERE clause on the table
		zero  bool
	}{
		{nil, `eventName:CreateUser`, `event_name = 'CreateUser'`, false},
		{nil, `eventname:CreateUser`, `event_name = 'CreateUser'`, false},
		{nil, `event_name:CreateUser`, `event_name = 'CreateUser'`, false},
		{nil, `eventName:"CreateUser"`, `event_name = 'CreateUser'`, false},
		{nil, `eventName:createuser`, `event_name = 'createuser'`, true},
		{nil, `userIdentity.arn:*ci-deployer*`, `user_arn LIKE '%ci-deployer%'`, false},
		{nil, `userIdentity.arn:arn:aws:iam::*`, `user_arn LIKE 'arn:aws:iam::%'`, false},
		{nil, `eventName:Create????`, `event_name LIKE 'Create____'`, false},
		{nil, `requestParameters.bucketName:northwind-prod-*`, `request_parameters->>'$.bucketName' LIKE 'northwind-prod-%'`, false},
		{nil, `$.requestParameters.bucketName:*`, `(request_parameters->>'$.bucketName') IS NOT NULL`, false},
		{nil, `userIdentity.sessionContext.sessionIssuer.userName:*`, `session_issuer_name IS NOT NULL`, false},
		{nil, `eventName:CreateUser OR eventName:AttachUserPolicy`, `event_name IN ('CreateUser', 'AttachUserPolicy')`, false},
		{nil, `eventName:(CreateUser OR AttachUserPolicy)`, `event_name IN ('CreateUser', 'AttachUserPolicy')`, false},
		{nil, `eventName:(CreateUser || AttachUserPolicy) AND errorCode:*`, `event_name IN ('CreateUser', 'AttachUserPolicy') AND error_code IS NOT NULL`, true},
		{nil, `NOT errorCode:*`, `error_code IS NULL`, false},
		{nil, `errorCode:* AND NOT errorCode:AccessDenied`, `error_code IS NOT NULL AND error_code <> 'AccessDenied'`, false},
		{nil, `errorCode:* -errorCode:AccessDenied`, `error_code IS NOT NULL AND error_code <> 'AccessDenied'`, false},
		{nil, `NOT readOnly:true`, `read_only IS NOT TRUE`, false},
		{nil, `readOnly:false`, `read_only = false`, false},
		{nil, `(eventSource:iam.amazonaws.com OR eventSource:sts.amazonaws.com) errorCode:AccessDenied`, `event_source IN ('iam.amazonaws.com', 'sts.amazonaws.com') AND error_code = 'AccessDenied'`, false},
		{nil, `stoplogging`, `regexp_matches(raw, '(^|[^0-9A-Za-z])stoplogging([^0-9A-Za-z]|$)', 'i')`, false},
		{nil, `north*prod`, `regexp_matches(raw, '(^|[^0-9A-Za-z])north.*prod([^0-9A-Za-z]|$)', 'i')`, false},
		{nil, `Create????`, `regexp_matches(raw, '(^|[^0-9A-Za-z])create....', 'i')`, false},
		{nil, `"iam.amazonaws.com"`, `regexp_matches(raw, '(^|[^0-9A-Za-z])iam\.amazonaws\.com([^0-9A-Za-z]|$)', 'i')`, false},
		{nil, `"iam+amazonaws.com"`, `contains(lower(raw), 'iam+amazonaws.com')`, true},
		{nil, `"userName\":"`, `regexp_matches(raw, '(^|[^0-9A-Za-z])username":', 'i')`, false},
		{nil, `"northwind-prod-app-assets"`, `regexp_matches(raw, '(^|[^0-9A-Za-z])northwind-prod-app-assets([^0-9A-Za-z]|$)', 'i')`, false},
		{nil, `northwind prod`, `regexp_matches(raw, '(^|[^0-9A-Za-z])northwind([^0-9A-Za-z]|$)', 'i') AND regexp_matches(raw, '(^|[^0-9A-Za-z])prod([^0-9A-Za-z]|$)', 'i')`, false},
		{nil, `*north*`, `raw ILIKE '%north%'`, false},
		{nil, `AdministratorAccess AND eventName:AttachUserPolicy`, `regexp_matches(raw, '(^|[^0-9A-Za-z])administratoraccess([^0-9A-Za-z]|$)', 'i') AND event_name = 'AttachUserPolicy'`, false},
		{nil, `errorMessage:*\%*`, `contains(error_message, '%')`, true},
		{nil, `eventTime:[2000-01-01 TO *]`, `event_time >= TIMESTAMPTZ '2000-01-01 00:00:00+00'`, false},
		{search.VPCFlow, `action:REJECT`, `action = 'REJECT'`, false},
		{nil, `action:REJECT AND dstport:[0 TO 1023]`, `action = 'REJECT' AND dstport BETWEEN 0 AND 1023`, false},
		{nil, `dstport:{22 TO 443}`, `dstport > 22 AND dstport < 443`, false},
		{nil, `dstport:[1024 TO *]`, `dstport >= 1024`, false},
		{nil, `dstport:22`, `dstport = 22`, false},
		{nil, `bytes:>10000 protocol_name:TCP`, `bytes > 10000 AND protocol_name = 'TCP'`, false},
		{nil, `log-status:OK`, `log_status = 'OK'`, false},
		{nil, `dstaddr:10.*`, `dstaddr LIKE '10.%'`, false},
		{search.GuardDuty, `severity:>=7`, `severity >= 7`, false},
		{nil, `severity:[4 TO 7}`, `severity >= 4 AND severity < 7`, false},
		{nil, `service.action.actionType:PORT_PROBE`, `action_type = 'PORT_PROBE'`, false},
		{nil, `resource.instanceDetails.instanceId:i-*`, `raw->>'$.resource.instanceDetails.instanceId' LIKE 'i-%'`, false},
		{nil, `service.count:>1`, `count > 1`, false},
		{search.GuardDuty, `resource.resourceType:Instance AND NOT service.action.actionType:PORT_PROBE`, `resource_type = 'Instance' AND action_type IS DISTINCT FROM 'PORT_PROBE'`, false},
	}
	for _, tc := range cases {
		c, err := search.ParseCompile(tc.query, search.Options{Table: tc.table})
		if err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		want := duckdbtest.Scalar(t, q, "SELECT count(*) FROM "+c.Table.Name+" WHERE "+tc.sql)
		got := count(t, q, tc.query, search.Options{Table: tc.table})
		if got != want {
			sql, args := c.Count()
			t.Errorf("%s: %d matches, hand-written SQL (%s) finds %d\ncompiled: %s %v", tc.query, got, tc.sql, want, sql, args)
		}
		if (want == 0) != tc.zero {
			t.Errorf("%s: hand-written SQL finds %d rows; the case expects zero=%v", tc.query, want, tc.zero)
		}
	}
}

// TestCIDR checks CIDR blocks, on and off octet boundaries, against Go's
// own netip on every distinct address of the table.
func TestCIDR(t *testing.T) {
	q := demoStore(t)
	ctx := context.Background()
	for _, tc := range []struct {
		table  *search.Table
		column string
		block  string
	}{
		{search.VPCFlow, "srcaddr", "10.0.0.0/8"},
		{search.VPCFlow, "dstaddr", "10.18.0.0/20"},
		{search.VPCFlow, "dstaddr", "10.18.2.214/32"},
		{search.VPCFlow, "srcaddr", "0.0.0.0/0"},
		{search.VPCFlow, "srcaddr", "10.18.8.0/21"},
		{search.VPCFlow, "srcaddr", "172.16.0.0/12"},
		{search.CloudTrail, "source_ip", "10.0.0.0/8"},
		{search.CloudTrail, "source_ip", "0.0.0.0/1"},
	} {
		rows, err := store.Collect(ctx, q, store.Request{SQL: "SELECT " + tc.column + ", count(*) FROM " + tc.table.Name + " GROUP BY 1"}, output.Text)
		if err != nil {
			t.Fatal(err)
		}
		pfx := netip.MustParsePrefix(tc.block)
		var want int64
		for _, r := range rows {
			if a, err := netip.ParseAddr(r[0]); err == nil && a.Is4() && pfx.Contains(a) {
				n, _ := strconv.ParseInt(r[1], 10, 64)
				want += n
			}
		}
		got := count(t, q, tc.column+":"+tc.block, search.Options{Table: tc.table})
		if got != want {
			t.Errorf("%s:%s on %s: %d matches, netip counts %d", tc.column, tc.block, tc.table.Name, got, want)
		}
		if want == 0 && tc.block != "172.16.0.0/12" {
			t.Errorf("%s:%s: no address of the demo data is in the block; the case proves nothing", tc.column, tc.block)
		}
	}
}

// TestTimeRange checks that --since and --until bound the search.
func TestTimeRange(t *testing.T) {
	q := demoStore(t)
	rows, err := store.Collect(context.Background(), q, store.Request{SQL: "SELECT epoch_us(quantile_disc(event_time, 0.3)), epoch_us(quantile_disc(event_time, 0.8)) FROM cloudtrail"}, output.Text)
	if err != nil {
		t.Fatal(err)
	}
	us := func(s string) time.Time {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return time.UnixMicro(n).UTC()
	}
	since, until := us(rows[0][0]), us(rows[0][1])
	opt := search.Options{Table: search.CloudTrail, Since: since, Until: until}
	got := count(t, q, "", opt)
	want := duckdbtest.Scalar(t, q, "SELECT count(*) FROM cloudtrail WHERE event_time >= ? AND event_time < ?", since, until)
	total := duckdbtest.Scalar(t, q, "SELECT count(*) FROM cloudtrail")
	if got != want || want == 0 || want == total {
		t.Errorf("time range: %d matches, SQL finds %d of %d", got, want, total)
	}
	got = count(t, q, "readOnly:true", opt)
	want = duckdbtest.Scalar(t, q, "SELECT count(*) FROM cloudtrail WHERE event_time >= ? AND event_time < ? AND read_only", since, until)
	if got != want || want == 0 {
		t.Errorf("time range and a field: %d matches, SQL finds %d", got, want)
	}
}

// TestSearchNewestFirst checks that Search returns at most limit rows,
// newest first, with the table's columns.
func TestSearchNewestFirst(t *testing.T) {
	q := demoStore(t)
	var times [2][]time.Time
	for qi, query := range []string{`eventSource:s3.amazonaws.com`, `{ $.eventSource = "s3.amazonaws.com" }`} {
		c, err := search.ParseCompile(query, search.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := search.Search(context.Background(), q, c, nil, 25)
		if err != nil {
			t.Fatal(err)
		}
		cols := rows.Columns()
		if len(cols) != len(search.CloudTrail.Show) || cols[0] != "event_time" {
			t.Errorf("%s: columns %v, want %v", query, cols, search.CloudTrail.Show)
		}
		var prev time.Time
		n := 0
		for rows.Next() {
			v := rows.Values()
			ts, ok := v[0].(time.Time)
			if !ok {
				t.Fatalf("%s: event_time is %T", query, v[0])
			}
			if n > 0 && ts.After(prev) {
				t.Errorf("%s: row %d (%s) is newer than the row before (%s)", query, n, ts, prev)
			}
			if v[2] != "s3.amazonaws.com" {
				t.Errorf("%s: row %d has event_source %v", query, n, v[2])
			}
			prev = ts
			times[qi] = append(times[qi], ts)
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if n != 25 {
			t.Errorf("%s: %d rows, want the limit 25", query, n)
		}
	}
	// The filter pattern, read window by window and stopped early, finds
	// the same newest rows as SQL's ORDER BY … LIMIT.
	if !slices.EqualFunc(times[0], times[1], time.Time.Equal) {
		t.Errorf("newest 25: SQL %v\nfilter pattern %v", times[0], times[1])
	}
}

// TestFilterPatternDelegation checks that a box starting with { or [ is a
// CloudWatch Logs filter pattern evaluated on the raw record, with the same
// matches as the equivalent SQL.
func TestFilterPatternDelegation(t *testing.T) {
	q := demoStore(t)
	for _, tc := range []struct {
		query, table, sql string
	}{
		{`{ $.eventName = "CreateUser" }`, "cloudtrail", `event_name = 'CreateUser'`},
		{`{ ($.errorCode = "AccessDenied") || ($.eventName = "StopLogging") }`, "cloudtrail", `error_code = 'AccessDenied' OR event_name = 'StopLogging'`},
		{`{ $.userIdentity.type = "Root" && $.eventType != "AwsServiceEvent" }`, "cloudtrail", `user_type = 'Root' AND event_type <> 'AwsServiceEvent'`},
		{`[version, account, eni, src, dst, sp, dp="22", ...]`, "vpcflow", `dstport = 22`},
		{`[version, account, eni, src, dst, sp, dp, proto, packets, bytes>=1000, ...]`, "vpcflow", `bytes >= 1000`},
	} {
		c, err := search.ParseCompile(tc.query, search.Options{})
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		if c.Table.Name != tc.table || c.Pattern == nil {
			t.Fatalf("%s: table %s, pattern %v; want %s and a pattern", tc.query, c.Table.Name, c.Pattern, tc.table)
		}
		got := count(t, q, tc.query, search.Options{})
		want := duckdbtest.Scalar(t, q, "SELECT count(*) FROM "+tc.table+" WHERE "+tc.sql)
		if got != want || want == 0 {
			t.Errorf("%s: %d matches, SQL (%s) finds %d", tc.query, got, tc.sql, want)
		}
	}
}

func mkdirTemp() (string, error) { return os.MkdirTemp("", "trawl-search-test-") }

// TestMain removes the shared demo store after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if demo.st != nil {
		demo.st.Close()
	}
	if demo.dir != "" {
		os.RemoveAll(demo.dir)
	}
	chtest.Stop()
	os.Exit(code)
}
