package main

import (
	"strings"
	"testing"
)

func TestClickHouseDDL(t *testing.T) {
	out, stderr, code := trawl(t, nil, "clickhouse", "ddl", "--variant", "legacy", "--database", "logs")
	if code != 0 || !strings.Contains(out, "CREATE TABLE IF NOT EXISTS logs.cloudtrail_data") || strings.Contains(out, "LowCardinality") {
		t.Errorf("legacy: exit %d: %s %s", code, stderr, out[:min(len(out), 300)])
	}
	out, _, code = trawl(t, nil, "clickhouse", "ddl", "--cluster", "prod", "--retention-days", "30")
	if code != 0 || !strings.Contains(out, "ON CLUSTER prod") || !strings.Contains(out, "INTERVAL 30 DAY") {
		t.Errorf("modern: exit %d: %s", code, out[:min(len(out), 300)])
	}
	for _, args := range [][]string{
		{"clickhouse", "ddl", "--variant", "ancient"},
		{"clickhouse", "ddl", "--database", "a-b"},
		{"clickhouse", "ddl", "--variant", "legacy", "--cluster", "x"},
		{"clickhouse", "ddl", "--variant", "legacy", "--retention-days", "3"},
	} {
		if _, stderr, code := trawl(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage): %s", args, code, stderr)
		}
	}
}
