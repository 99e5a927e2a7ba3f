package clickhouse_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
)

var update = flag.Bool("update", false, "rewrite the golden DDL files in testdata")

// TestModernDDLGolden pins the Modern variant's text: no ClickHouse 20+
// server runs here, so a reviewed golden file is what checks it.
func TestModernDDLGolden(t *testing.T) {
	for name, opt := range map[string]clickhouse.DDLOptions{
		"modern.sql":         {},
		"modern-cluster.sql": {Cluster: "prod", Retention: 365 * 24 * time.Hour},
	} {
		got := strings.Join(clickhouse.DDLWith(clickhouse.Modern, "trawl", opt), ";\n\n") + ";\n"
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from DDLWith's output (review, then go test -run TestModernDDLGolden -update)", path)
		}
	}
}

func TestDDLVariants(t *testing.T) {
	legacy := strings.Join(clickhouse.DDL(clickhouse.Legacy, "trawl"), "\n")
	for _, banned := range []string{"LowCardinality", "CODEC", "TTL", "INDEX", "Replicated", "ON CLUSTER", "IPv4", "Map("} {
		if strings.Contains(legacy, banned) {
			t.Errorf("the legacy DDL uses %s, which ClickHouse 18.16 lacks", banned)
		}
	}
	modern := strings.Join(clickhouse.DDLWith(clickhouse.Modern, "trawl", clickhouse.DDLOptions{Cluster: "c", Retention: 48 * time.Hour}), "\n")
	for _, want := range []string{"LowCardinality(Nullable(String))", "CODEC(ZSTD(3))", "TTL ifNull(event_time, toDateTime(0, 'UTC')) + INTERVAL 2 DAY",
		"TYPE bloom_filter", "TYPE tokenbf_v1", "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/trawl/cloudtrail_data', '{replica}')",
		"ON CLUSTER c", "ENGINE = Distributed("} {
		if !strings.Contains(modern, want) {
			t.Errorf("the modern DDL lacks %s", want)
		}
	}
	if clickhouse.VariantFor("18.16.1") != clickhouse.Legacy || clickhouse.VariantFor("19.17.4.11") != clickhouse.Legacy ||
		clickhouse.VariantFor("23.8.2.7") != clickhouse.Modern || clickhouse.VariantFor("") != clickhouse.Legacy {
		t.Error("VariantFor picks the wrong variant")
	}
}

// TestLegacyDDLRuns runs the legacy DDL as `trawl clickhouse ddl` prints
// it on the real server, twice (it must be idempotent).
func TestLegacyDDLRuns(t *testing.T) {
	base := chtest.URL(t)
	for i := 0; i < 2; i++ {
		for _, stmt := range clickhouse.DDL(clickhouse.Legacy, "ddl_test") {
			if err := chtest.Exec(base, stmt); err != nil {
				t.Fatalf("run %d: %v\n%s", i+1, err, stmt)
			}
		}
	}
	out, err := chtest.Query(base, "SELECT count() FROM system.tables WHERE database = 'ddl_test'")
	if err != nil || strings.TrimSpace(out) != "19" {
		t.Errorf("tables and views created: %q, %v", out, err)
	}
	chtest.Exec(base, "DROP DATABASE ddl_test") //nolint:errcheck // cleanup
	_ = context.Background()
}

func TestParseDSN(t *testing.T) {
	t.Setenv(clickhouse.PasswordEnv, "")
	for _, c := range []struct {
		in   string
		want clickhouse.DSN
		err  bool
	}{
		{in: "clickhouse://127.0.0.1/trawl", want: clickhouse.DSN{User: "default", Host: "127.0.0.1:8123", Database: "trawl"}},
		{in: "clickhouse://u:p%40ss@db.example:9000/logs?secure=true", want: clickhouse.DSN{User: "u", Password: "p@ss", Host: "db.example:9000", Database: "logs", Secure: true}},
		{in: "clickhouse://h?secure=true", want: clickhouse.DSN{User: "default", Host: "h:8443", Database: "trawl", Secure: true}},
		{in: "clickhouse://[::1]/x", want: clickhouse.DSN{User: "default", Host: "[::1]:8123", Database: "x"}},
		{in: "clickhouse:///trawl", err: true},
		{in: "clickhouse://h/bad-name", err: true},
		{in: "clickhouse://h/x?compress=1", err: true},
		{in: "/var/lib/trawl.duckdb", err: true},
	} {
		got, err := clickhouse.ParseDSN(c.in)
		if (err != nil) != c.err || (!c.err && got != c.want) {
			t.Errorf("ParseDSN(%q) = %+v, %v", c.in, got, err)
		}
	}
	t.Setenv(clickhouse.PasswordEnv, "from-env")
	if d, _ := clickhouse.ParseDSN("clickhouse://u@h/x"); d.Password != "from-env" {
		t.Errorf("password from %s not used: %+v", clickhouse.PasswordEnv, d)
	}
	if d, _ := clickhouse.ParseDSN("clickhouse://u:secret@h/x"); strings.Contains(d.String(), "secret") {
		t.Errorf("String shows the password: %s", d)
	}
	d, _ := clickhouse.ParseDSN("clickhouse://u:p%40ss@h:1/x?secure=true")
	if again, err := clickhouse.ParseDSN(d.URL()); err != nil || again != d {
		t.Errorf("URL does not round-trip: %s → %+v, %v", d.URL(), again, err)
	}
	if !clickhouse.IsDSN("ClickHouse://h/x") || clickhouse.IsDSN("trawl.duckdb") {
		t.Error("IsDSN")
	}
}
