package app

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/enrich/geo/geobuild"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

const enrichCT = `{"Records":[
{"eventVersion":"1.08","eventID":"e1","eventTime":"2026-11-02T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"81.2.69.142","userAgent":"aws-cli/2.13.0 Python/3.11.4 Linux/5.15.0 exe/x86_64.ubuntu.22 prompt/off command/iam.create-user"},
{"eventVersion":"1.08","eventID":"e2","eventTime":"2026-11-02T10:00:01Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"athena.amazonaws.com","userAgent":"athena.amazonaws.com"},
{"eventVersion":"1.08","eventID":"e3","eventTime":"2026-11-02T10:00:02Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"10.1.2.3","userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"}
]}`

const enrichFlows = `version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
2 123456789012 eni-0a1b2c3d 185.220.101.7 10.0.1.5 44321 22 6 3 180 1793613000 1793613060 REJECT OK
2 123456789012 eni-0a1b2c3d 10.0.1.5 2a02:c7c::1 443 51000 6 10 5000 1793613000 1793613060 ACCEPT OK
2 123456789012 eni-0a1b2c3d 10.0.1.5 10.0.2.9 443 51000 6 10 5000 1793613000 1793613060 ACCEPT OK
`

// collectWithEnrich runs a collector once over a directory holding a
// CloudTrail file and a flow log, with enrich as trawl.yaml's enrich
// section, and returns the store's path and the collector's log.
func collectWithEnrich(t *testing.T, enrich string) (*Store, string, error) {
	t.Helper()
	in := t.TempDir()
	for name, text := range map[string]string{"ct.json": enrichCT, "flows.log": enrichFlows} {
		if err := os.WriteFile(filepath.Join(in, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	saved := SourceBuilders["s3"]
	t.Cleanup(func() { SourceBuilders["s3"] = saved })
	SourceBuilders["s3"] = func(_ context.Context, src config.Source, _ SourceEnv) (pipeline.Source, error) {
		objs, err := file.Objects([]string{in}, nil)
		return pipeline.Objects(objs...), err
	}
	db := filepath.Join(t.TempDir(), "t.duckdb")
	cfg, err := config.Parse(filepath.Join(t.TempDir(), "trawl.yaml"), fmt.Appendf(nil, "store:\n  path: %s\nsources:\n  - name: one\n    s3: {bucket: xxx}\n%s", db, enrich))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(context.Background(), Options{DB: db, Mode: Serve})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var log bytes.Buffer
	c := &Collector{Store: st, Config: cfg, Log: slog.New(slog.NewTextHandler(&log, nil)), Once: true}
	_, err = c.Run(context.Background())
	return st, log.String(), err
}

// TestCollectEnriches collects with GeoIP databases and user agents on,
// and reads the enrichment columns back from DuckDB.
func TestCollectEnriches(t *testing.T) {
	dir := t.TempDir()
	_, err := geobuild.Write(dir, []geobuild.Net{
		{Prefix: netip.MustParsePrefix("81.2.69.0/24"), Country: "GB", City: "London", ASN: 20712, ASOrg: "Andrews & Arnold Ltd"},
		{Prefix: netip.MustParsePrefix("185.220.101.0/24"), Country: "DE", City: "Berlin", ASN: 60729, ASOrg: "Stiftung Erneuerbare Freiheit"},
		{Prefix: netip.MustParsePrefix("2a02:c7c::/32"), Country: "GB", ASN: 5607, ASOrg: "Sky UK Limited"},
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Country: "ZZ", ASN: 64512, ASOrg: "PRIVATE"}, // private: never used
	})
	if err != nil {
		t.Fatal(err)
	}
	st, log, err := collectWithEnrich(t, fmt.Sprintf("enrich:\n  geoip: {dir: %s}\n", dir))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log, "geo enrichment is on") {
		t.Errorf("the log does not say geo enrichment is on:\n%s", log)
	}
	for q, want := range map[string]int64{
		`SELECT count(*) FROM cloudtrail WHERE event_id = 'e1' AND src_country = 'GB' AND src_city = 'London' AND src_asn = 20712 AND src_as_org = 'Andrews & Arnold Ltd' AND ua_class = 'aws-cli' AND ua_family = 'aws-cli' AND ua_version = '2.13.0' AND ua_os = 'Linux'`: 1,
		`SELECT count(*) FROM cloudtrail WHERE event_id = 'e2' AND src_country IS NULL AND src_asn IS NULL AND ua_class = 'aws-service' AND ua_family = 'athena.amazonaws.com'`:                                                                                             1,
		`SELECT count(*) FROM cloudtrail WHERE event_id = 'e3' AND src_country IS NULL AND ua_class = 'browser' AND ua_family = 'Chrome' AND ua_os = 'Windows'`:                                                                                                             1,
		`SELECT count(*) FROM vpcflow WHERE srcaddr = '185.220.101.7' AND src_country = 'DE' AND src_city = 'Berlin' AND src_asn = 60729 AND dst_country IS NULL AND dst_asn IS NULL`:                                                                                       1,
		`SELECT count(*) FROM vpcflow WHERE dstaddr = '2a02:c7c::1' AND dst_country = 'GB' AND dst_city IS NULL AND dst_asn = 5607 AND dst_as_org = 'Sky UK Limited' AND src_country IS NULL`:                                                                               1,
		`SELECT count(*) FROM vpcflow WHERE src_country IS NULL AND dst_country IS NULL AND src_asn IS NULL AND dst_asn IS NULL`:                                                                                                                                            1,
	} {
		if n := duckdbtest.Scalar(t, st, q); n != want {
			t.Errorf("%d rows, want %d: %s", n, want, q)
		}
	}
}

// TestCollectWithoutGeoIP collects with no database: the ingest works, user
// agents are classified, and the log says once that geo is off.
func TestCollectWithoutGeoIP(t *testing.T) {
	st, log, err := collectWithEnrich(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log, "geo enrichment is off: no GeoIP database configured (enrich.geoip"); n != 1 {
		t.Errorf("the log says %d times that geo is off, want once:\n%s", n, log)
	}
	if n := duckdbtest.Scalar(t, st, `SELECT count(*) FROM cloudtrail WHERE ua_class IS NOT NULL AND src_country IS NULL`); n != 3 {
		t.Errorf("%d events classified without geo, want 3", n)
	}
	if n := duckdbtest.Scalar(t, st, `SELECT count(*) FROM vpcflow WHERE src_country IS NULL AND dst_country IS NULL`); n != 3 {
		t.Errorf("%d flows without geo, want 3", n)
	}
	// user_agent: false turns classification off.
	st, _, err = collectWithEnrich(t, "enrich: {user_agent: false}\n")
	if err != nil {
		t.Fatal(err)
	}
	if n := duckdbtest.Scalar(t, st, `SELECT count(*) FROM cloudtrail WHERE ua_class IS NULL`); n != 3 {
		t.Errorf("%d events without a class with user_agent off, want 3", n)
	}
}

// TestCollectCorruptGeoIP checks that a corrupt database stops the
// collector at start with an error naming the file.
func TestCollectCorruptGeoIP(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "GeoLite2-City.mmdb")
	if err := os.WriteFile(bad, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := collectWithEnrich(t, fmt.Sprintf("enrich:\n  geoip: {city: %s}\n", bad))
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("error %v does not name %s", err, bad)
	}
}
