package main

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/enrich/geo/geobuild"
)

// TestIngestEnrichment runs trawl ingest with --geoip-dir, without it, and
// with a corrupt database.
func TestIngestEnrichment(t *testing.T) {
	dir := t.TempDir()
	geoDir := filepath.Join(dir, "GeoIP")
	writeFile(t, filepath.Join(geoDir, "README"), "GeoLite2 databases\n")
	if _, err := geobuild.Write(geoDir, []geobuild.Net{
		{Prefix: netip.MustParsePrefix("81.2.69.0/24"), Country: "GB", City: "London", ASN: 20712, ASOrg: "Andrews & Arnold Ltd"},
	}); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "in", "ct.json")
	writeFile(t, in, `{"eventVersion":"1.08","eventID":"e1","eventTime":"2026-11-02T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","sourceIPAddress":"81.2.69.142","userAgent":"Boto3/1.35.50 md/Botocore#1.35.50 ua/2.0 os/linux#6.8.0 lang/python#3.12.3 Botocore/1.35.50"}`+"\n")

	db := filepath.Join(dir, "on.duckdb")
	out, stderr, code := trawl(t, nil, "ingest", "--db", db, "--geoip-dir", geoDir, in)
	if code != exitOK || !strings.Contains(stderr, "geo enrichment is on") {
		t.Fatalf("ingest with --geoip-dir: exit %d\n%s%s", code, out, stderr)
	}
	out, _, _ = trawl(t, nil, "query", "--db", db, "--format", "csv", "SELECT src_country, src_city, src_asn, src_as_org, ua_class, ua_family, ua_version, ua_os FROM cloudtrail")
	if want := "GB,London,20712,Andrews & Arnold Ltd,sdk-python,Boto3,1.35.50,Linux"; !strings.Contains(out, want) {
		t.Errorf("enriched columns:\n%s\nwant %s", out, want)
	}

	db = filepath.Join(dir, "off.duckdb")
	out, stderr, code = trawl(t, nil, "ingest", "--db", db, "--no-user-agent", in)
	if code != exitOK || strings.Count(stderr, "geo enrichment is off: no GeoIP database configured") != 1 {
		t.Fatalf("ingest without a database: exit %d (want the notice once)\n%s%s", code, out, stderr)
	}
	out, _, _ = trawl(t, nil, "query", "--db", db, "--format", "csv", "SELECT count(*) FROM cloudtrail WHERE src_country IS NULL AND ua_class IS NULL")
	if !strings.Contains(out, "\n1") {
		t.Errorf("without enrichment:\n%s", out)
	}

	bad := filepath.Join(dir, "bad", "GeoLite2-ASN.mmdb")
	writeFile(t, bad, "not a database\n")
	_, stderr, code = trawl(t, nil, "ingest", "--db", filepath.Join(dir, "bad.duckdb"), "--geoip-asn", bad, in)
	if code != exitFailure || !strings.Contains(stderr, bad) {
		t.Errorf("corrupt database: exit %d, want %d and the file named:\n%s", code, exitFailure, stderr)
	}
	_, stderr, code = trawl(t, nil, "ingest", "--db", filepath.Join(dir, "bad.duckdb"), "--geoip-dir", filepath.Join(dir, "in"), in)
	if code != exitFailure || !strings.Contains(stderr, "GeoLite2-City.mmdb") {
		t.Errorf("directory without databases: exit %d, want %d and the names looked for:\n%s", code, exitFailure, stderr)
	}
}
