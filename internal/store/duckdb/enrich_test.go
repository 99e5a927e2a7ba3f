package duckdb

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/event"
)

// enrichedRecords returns a CloudTrail event and a flow record with every
// enrichment field set, and ones without.
func enrichedRecords() ([]event.CloudTrail, []event.VPCFlow) {
	gb := &event.Geo{Country: "GB", City: "London", ASN: 20712, ASOrg: "Andrews & Arnold Ltd"}
	us := &event.Geo{Country: "US", ASN: 4200000001} // a 32-bit private-use ASN: above INTEGER's range
	ct := ctEvent("e-geo", time.Now().UTC(), "X")
	ct.SrcGeo = gb
	ct.UA = &event.UserAgent{Class: "aws-cli", Family: "aws-cli", Version: "2.13.0", OS: "Linux"}
	plain := ctEvent("e-plain", time.Now().UTC(), "Y")
	f := flowRec("2 123 eni-1 81.2.69.142 10.0.0.1", func(r *event.VPCFlow) {
		r.SetStr(event.FlowSrcAddr, 12, 11)
		r.SetStr(event.FlowDstAddr, 24, 8)
	})
	f.SrcGeo = gb
	g := flowRec("2 123 eni-1 10.0.0.1 3.80.1.1", func(r *event.VPCFlow) {})
	g.DstGeo = us
	return []event.CloudTrail{ct, plain}, []event.VPCFlow{f, g}
}

func TestEnrichmentColumns(t *testing.T) {
	st, _ := openTemp(t)
	cts, flows := enrichedRecords()
	tx := mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "a.json", CloudTrail: cts, VPCFlow: flows}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int64{
		`SELECT count(*) FROM cloudtrail WHERE event_id = 'e-geo' AND src_country = 'GB' AND src_city = 'London' AND src_asn = 20712
		   AND src_as_org = 'Andrews & Arnold Ltd' AND ua_class = 'aws-cli' AND ua_family = 'aws-cli' AND ua_version = '2.13.0' AND ua_os = 'Linux'`: 1,
		`SELECT count(*) FROM cloudtrail WHERE event_id = 'e-plain' AND src_country IS NULL AND src_city IS NULL AND src_asn IS NULL
		   AND src_as_org IS NULL AND ua_class IS NULL AND ua_family IS NULL AND ua_version IS NULL AND ua_os IS NULL`: 1,
		`SELECT count(*) FROM vpcflow WHERE src_country = 'GB' AND src_city = 'London' AND src_asn = 20712 AND src_as_org = 'Andrews & Arnold Ltd'
		   AND dst_country IS NULL AND dst_asn IS NULL`: 1,
		`SELECT count(*) FROM vpcflow WHERE dst_country = 'US' AND dst_city IS NULL AND dst_asn = 4200000001 AND dst_as_org IS NULL AND src_country IS NULL`: 1,
	} {
		if n := count(t, st, q); n != want {
			t.Errorf("%d rows, want %d: %s", n, want, q)
		}
	}
}

// tableColumns returns the names of a table's or view's columns, sorted
// (a migration appends columns where a new store has them in place).
func tableColumns(t *testing.T, st *Store, table string) []string {
	return columnNames(t, st, table, "column_name")
}

// TestMigrateFromVersion5 opens a database at schema version 5 (before the
// enrichment columns) that holds rows: the columns are added to
// cloudtrail_base, the cloudtrail view and vpcflow, NULL in the old rows
// and filled in new ones, and the tables have the columns of a new store.
func TestMigrateFromVersion5(t *testing.T) {
	st, path := openTemp(t)
	wantView, wantFlow := viewColumns(t, st), tableColumns(t, st, "vpcflow")
	cts, flows := enrichedRecords()
	old := []event.CloudTrail{ctEvent("e-old", time.Now().UTC(), "X")}
	tx := mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "a.json", CloudTrail: old, VPCFlow: flows[:1]}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// Make it a version-5 file: without the columns, with the view of
	// version 5.
	var drop []string
	repl := make([]string, 0, 2*len(enrichCT))
	for _, c := range enrichCT {
		drop = append(drop, `ALTER TABLE cloudtrail_base DROP COLUMN `+c)
		repl = append(repl, "  \""+c+"\",\n", "")
	}
	for _, c := range enrichFlow {
		drop = append(drop, `ALTER TABLE vpcflow DROP COLUMN `+c)
	}
	v5view := strings.NewReplacer(repl...).Replace(cloudtrailDDL()[1])
	if v5view == cloudtrailDDL()[1] {
		t.Fatal("the view does not list the enrichment columns")
	}
	stmts := append([]string{`DROP VIEW cloudtrail`}, drop...)
	stmts = append(stmts, v5view, `UPDATE trawl_meta SET value = '5' WHERE key = 'schema_version'`)
	for _, q := range stmts {
		if _, err := st.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if got := tableColumns(t, st, "vpcflow"); slices.Contains(got, "src_country") {
		t.Fatal("the version-5 vpcflow still has src_country")
	}
	st.Close()

	st, err := Open(ctx, path, Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if v := count(t, st, `SELECT value::INT FROM trawl_meta WHERE key = 'schema_version'`); v != SchemaVersion {
		t.Errorf("schema version %d after opening, want %d", v, SchemaVersion)
	}
	if got := viewColumns(t, st); !slices.Equal(got, wantView) {
		t.Errorf("cloudtrail view columns after the migration:\n%v\nwant\n%v", got, wantView)
	}
	if got := tableColumns(t, st, "vpcflow"); !slices.Equal(got, wantFlow) {
		t.Errorf("vpcflow columns after the migration:\n%v\nwant\n%v", got, wantFlow)
	}
	tx = mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "b.json", CloudTrail: cts[:1], VPCFlow: flows[1:]}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int64{
		`SELECT count(*) FROM cloudtrail WHERE event_id = 'e-old' AND src_country IS NULL AND ua_class IS NULL`:    1,
		`SELECT count(*) FROM cloudtrail WHERE event_id = 'e-geo' AND src_country = 'GB' AND ua_class = 'aws-cli'`: 1,
		`SELECT count(*) FROM vpcflow WHERE source = 'a.json' AND src_country IS NULL AND src_asn IS NULL`:         1,
		`SELECT count(*) FROM vpcflow WHERE source = 'b.json' AND dst_country = 'US' AND dst_asn = 4200000001`:     1,
	} {
		if n := count(t, st, q); n != want {
			t.Errorf("%d rows, want %d: %s", n, want, q)
		}
	}
}
