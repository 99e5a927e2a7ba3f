package search_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
)

// chCopy copies the demo store's searchable tables (their search columns
// and raw) into a fresh database of the test ClickHouse server, as plain
// MergeTree tables with the column types the ClickHouse store uses, and
// returns a Querier for it. The full store is tested by
// internal/store/conformance; this tests the compiler alone.
func chCopy(t *testing.T, duck store.Querier) store.Querier {
	t.Helper()
	ctx := context.Background()
	dsn := chtest.DSN(t)
	d, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	// The tables are made here, not by the store (opened read-only below,
	// which creates nothing).
	cl := clickhouse.NewClient(d, http.DefaultClient)
	for _, tb := range search.Tables {
		cols := append(tb.Columns(), "raw")
		defs := make([]string, len(cols))
		for i, c := range cols {
			typ := "Nullable(String)"
			switch tb.ColumnType(c) {
			case "int":
				typ = "Nullable(Int64)"
			case "float":
				typ = "Nullable(Float64)"
			case "bool":
				typ = "Nullable(UInt8)"
			case "time":
				typ = "Nullable(DateTime('UTC'))"
			}
			defs[i] = c + " " + typ
		}
		if err := cl.Exec(ctx, "CREATE TABLE "+tb.Name+" ("+strings.Join(defs, ", ")+") ENGINE = MergeTree ORDER BY tuple()"); err != nil {
			t.Fatal(err)
		}
		rows, err := duck.Query(ctx, store.Request{SQL: "SELECT " + strings.Join(cols, ", ") + " FROM " + tb.Name})
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		enc := json.NewEncoder(&body)
		n := 0
		for rows.Next() {
			m := make(map[string]any, len(cols))
			for i, v := range rows.Values() {
				switch x := v.(type) {
				case time.Time:
					v = x.UTC().Format(time.DateTime)
				case bool:
					v = 0
					if x {
						v = 1
					}
				}
				m[cols[i]] = v
			}
			if err := enc.Encode(m); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if n == 0 {
			t.Fatalf("the demo store has no %s rows", tb.Name)
		}
		if err := cl.InsertJSON(ctx, tb.Name, cols, body.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	st, err := clickhouse.Open(ctx, dsn, clickhouse.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestClickHouseDialect compiles searches covering every feature of the
// language for DuckDB and for ClickHouse and checks that both count the
// same matches in the same data (the demo store, copied to ClickHouse).
// Times on ClickHouse hold whole seconds, so the cases avoid sub-second
// boundaries.
func TestClickHouseDialect(t *testing.T) {
	duck := demoStore(t)
	ch := chCopy(t, duck)
	cases := []struct {
		typ, q string
	}{
		{"", "eventName:CreateUser"},
		{"", `eventName:"ConsoleLogin"`},
		{"", "eventName:Create*"},
		{"", "userIdentity.arn:*deployer*"},
		{"", "eventSource:*.amazonaws.com"},
		{"", "eventName:?etObject"},
		{"", "eventName:Create????"},
		{"", `userIdentity.arn:*\_*`},
		{"", "errorCode:*"},
		{"cloudtrail", "NOT errorCode:*"},
		{"", "(eventSource:iam.amazonaws.com OR eventSource:sts.amazonaws.com) AND NOT errorCode:* AND readOnly:false"},
		{"", "NOT (readOnly:true OR awsRegion:us-east-1)"},
		{"", "readOnly:true AND awsRegion:eu-west-1"},
		{"", "NOT readOnly:true"},
		{"", "sourceIPAddress:10.0.0.0/8"},
		{"", "sourceIPAddress:203.0.113.0/24"},
		{"", "sourceIPAddress:192.168.0.0/12"},
		{"", "sourceIPAddress:0.0.0.0/0"},
		{"", "eventTime:2026-11-03"},
		{"", "eventTime:[2026-11-02T06:00:00Z TO 2026-11-02T12:00:00Z}"},
		{"", "eventTime:>=2026-11-04T00:00:00Z"},
		{"cloudtrail", `"access denied"`},
		{"cloudtrail", "AccessDenied"},
		{"cloudtrail", "accessdenied"},
		{"cloudtrail", "stoplogging"},
		{"cloudtrail", "north*prod"},
		{"cloudtrail", "*"},
		{"", "requestParameters.bucketName:northwind-prod-*"},
		{"", "$.requestParameters.bucketName:*"},
		{"", "requestParameters.instanceType:*"},
		{"", "eventName:RunInstances AND NOT requestParameters.instanceType:*"},
		{"", "requestParameters.instanceType:t3.micro OR eventName:CreateUser"},
		{"", "resources[0].type:*"},
		{"", "requestParameters.maxResults:>=10"},
		{"", "NOT (requestParameters.policyName:* OR errorCode:*) AND eventSource:iam.amazonaws.com"},
		{"guardduty", "service.action.networkConnectionAction.remoteIpDetails.ipAddressV4:*"},
		{"", "action:REJECT"},
		{"", "srcaddr:10.0.0.0/8 AND action:REJECT AND dstport:[0 TO 1023]"},
		{"", "dstport:>1024 AND protocol:6"},
		{"vpcflow", "bytes:[1000 TO *]"},
		{"", "dstaddr:10.*"},
		{"", "log-status:OK AND NOT action:ACCEPT"},
		{"guardduty", "severity:>=7"},
		{"guardduty", "severity:[4 TO 7}"},
		{"", "service.archived:true"},
		{"", "service.count:>1"},
		{"", `{ ($.errorCode = "AccessDenied") || ($.eventName = "StopLogging") }`},
	}
	nonzero := 0
	for _, tc := range cases {
		var opt search.Options
		if tc.typ != "" {
			opt.Table = search.TableByType(tc.typ)
		}
		want := count(t, duck, tc.q, opt)
		opt.Dialect = store.ClickHouse
		got := count(t, ch, tc.q, opt)
		if got != want {
			c, _ := search.ParseCompile(tc.q, opt)
			t.Errorf("%s: DuckDB counts %d, ClickHouse %d\nClickHouse WHERE: %s %v", tc.q, want, got, c.Where, c.Args)
		}
		if want > 0 {
			nonzero++
		}
	}
	if nonzero < len(cases)*2/3 {
		t.Errorf("only %d of %d cases match rows", nonzero, len(cases))
	}
}
