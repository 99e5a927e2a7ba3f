package duckdb

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/decode/cloudtrail"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/ledger"
)

var ctx = context.Background()

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.duckdb")
	st, err := Open(context.Background(), path, Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

// dupsOf flushes tx and returns the duplicates counted for source.
func dupsOf(t *testing.T, tx *Tx, source string, kind event.Kind) int64 {
	t.Helper()
	d, err := tx.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return d[ledger.DupKey{Source: source, Kind: kind}]
}

func mustTx(t *testing.T, st *Store) *Tx {
	t.Helper()
	tx, err := st.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func count(t *testing.T, st *Store, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := st.db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func ctEvent(id string, ts time.Time, name string) event.CloudTrail {
	raw := `{"eventVersion":"1.08","eventID":"` + id + `","eventTime":"` + ts.Format(time.RFC3339) + `","eventName":"` + name +
		`","eventSource":"iam.amazonaws.com","requestParameters":{"userName":"bob"},"responseElements":null,` +
		`"userIdentity":{"type":"IAMUser","userName":"alice","sessionContext":{"attributes":{"creationDate":"20131102T010628Z"}}},"tlsDetails":{"tlsVersion":"TLSv1.3"}}`
	return cloudtrail.FromRaw(raw, nil)
}

func TestCloudTrailDedupAndView(t *testing.T) {
	st, _ := openTemp(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	tx := mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "a.json", CloudTrail: []event.CloudTrail{
		ctEvent("e1", t0, "CreateUser"), ctEvent("e2", t0.Add(time.Minute), "AttachUserPolicy"),
		ctEvent("e1", t0, "CreateUser"), // the same event twice in one batch
	}}); err != nil {
		t.Fatal(err)
	}
	if d := dupsOf(t, tx, "a.json", event.KindCloudTrail); d != 1 {
		t.Fatalf("first batch: %d duplicates", d)
	}
	// Rows written earlier in the same transaction count for de-duplication.
	if err := tx.Write(ctx, &event.Batch{Object: "b.json", CloudTrail: []event.CloudTrail{ctEvent("e2", t0.Add(time.Minute), "AttachUserPolicy"), ctEvent("e3", t0, "X")}}); err != nil {
		t.Fatal(err)
	}
	if d := dupsOf(t, tx, "b.json", event.KindCloudTrail); d != 1 {
		t.Fatalf("second batch: %d duplicates", d)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	tx = mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "c.json", CloudTrail: []event.CloudTrail{
		ctEvent("e1", t0, "CreateUser"),                       // stored in an earlier transaction
		ctEvent("e1", t0.Add(time.Hour), "CreateUser"),        // same id at another time: another event
		cloudtrail.FromRaw(`{"eventName":"NoIDNoTime"}`, nil), // synthetic id, no time
	}}); err != nil {
		t.Fatal(err)
	}
	if d := dupsOf(t, tx, "c.json", event.KindCloudTrail); d != 1 {
		t.Fatalf("third batch: %d duplicates", d)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	tx = mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "d.json", CloudTrail: []event.CloudTrail{cloudtrail.FromRaw(`{"eventName":"NoIDNoTime"}`, nil)}}); err != nil {
		t.Fatal(err)
	}
	if d := dupsOf(t, tx, "d.json", event.KindCloudTrail); d != 1 {
		t.Fatalf("untimed duplicate: %d", d)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, `SELECT count(*) FROM cloudtrail`); n != 5 {
		t.Errorf("%d events stored, want 5", n)
	}
	var user, params, tls, source string
	var created time.Time
	var resp sql.NullString
	err := st.db.QueryRow(`SELECT user_name, request_parameters->>'$.userName', tls_version, source, session_created_at, response_elements
		FROM cloudtrail WHERE event_id = 'e1' AND event_time = ?`, t0).Scan(&user, &params, &tls, &source, &created, &resp)
	if err != nil {
		t.Fatal(err)
	}
	if user != "alice" || params != "bob" || tls != "TLSv1.3" || source != "a.json" || !created.Equal(time.Date(2013, 11, 2, 1, 6, 28, 0, time.UTC)) || resp.Valid {
		t.Errorf("view columns: %q %q %q %q %v %v", user, params, tls, source, created, resp)
	}
}

func TestRollbackLeavesNothing(t *testing.T) {
	st, _ := openTemp(t)
	tx := mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "a", CloudTrail: []event.CloudTrail{ctEvent("e1", time.Now().UTC(), "X")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.ledger(ctx, []ledger.Entry{{Object: "a", Status: ledger.StatusDone}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, `SELECT count(*) FROM cloudtrail`) + count(t, st, `SELECT count(*) FROM ingest_ledger`); n != 0 {
		t.Errorf("%d rows after rollback", n)
	}
}

func flowRec(raw string, set func(r *event.VPCFlow)) event.VPCFlow {
	r := event.VPCFlow{Raw: raw}
	set(&r)
	return r
}

func TestVPCFlowColumns(t *testing.T) {
	st, _ := openTemp(t)
	tx := mustTx(t, st)
	recs := []event.VPCFlow{
		flowRec("v2 line 10.0.0.1", func(r *event.VPCFlow) {
			r.SetInt(event.FlowVersion, 2)
			r.SetStr(event.FlowSrcAddr, 8, 8)
			r.SetInt(event.FlowProtocol, 17)
			r.SetInt(event.FlowBytes, 5_000_000_000)
			r.SetStart(1793613000)
		}),
		flowRec("nodata line NODATA", func(r *event.VPCFlow) { r.SetStr(event.FlowLogStatus, 12, 6) }),
	}
	if err := tx.Write(ctx, &event.Batch{Object: "f1", VPCFlow: recs}); err != nil {
		t.Fatal(err)
	}
	// A batch with other columns present (Transit Gateway fields).
	if err := tx.Write(ctx, &event.Batch{Object: "f2", VPCFlow: []event.VPCFlow{flowRec("tgw line tgw-1", func(r *event.VPCFlow) {
		r.SetStr(event.FlowTGWID, 9, 5)
		r.SetInt(event.FlowPacketsLostBlackhole, 3)
	})}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var proto string
	var bytes int64
	var start time.Time
	if err := st.db.QueryRow(`SELECT protocol_name, bytes, start_time FROM vpcflow WHERE raw = 'v2 line 10.0.0.1' AND srcaddr = '10.0.0.1'`).Scan(&proto, &bytes, &start); err != nil {
		t.Fatal(err)
	}
	if proto != "UDP" || bytes != 5_000_000_000 || start.Unix() != 1793613000 {
		t.Errorf("v2 row: %q %d %v", proto, bytes, start)
	}
	if n := count(t, st, `SELECT count(*) FROM vpcflow WHERE tgw_id = 'tgw-1' AND packets_lost_blackhole = 3 AND srcaddr IS NULL AND source = 'f2'`); n != 1 {
		t.Errorf("tgw row not stored as expected (%d)", n)
	}
	if n := count(t, st, `SELECT count(*) FROM vpcflow WHERE log_status = 'NODATA' AND protocol IS NULL AND protocol_name IS NULL`); n != 1 {
		t.Errorf("NODATA row: %d", n)
	}
}

func mkFinding(id string, updated time.Time, sev float64, count int64) event.Finding {
	return event.Finding{ID: id, Type: "Recon:EC2/Portscan", Severity: sev, UpdatedAt: updated, CreatedAt: updated.Add(-time.Hour),
		Count: event.IntOf(count), Raw: `{"id":"` + id + `"}`}
}

func TestFindingsCurrentStateAndHistory(t *testing.T) {
	st, _ := openTemp(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	tx := mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "e1", Findings: []event.Finding{mkFinding("f1", t0, 5, 1), mkFinding("f1", t0.Add(time.Hour), 8, 4), mkFinding("f2", t0, 2, 1)}}); err != nil {
		t.Fatal(err)
	}
	if d := dupsOf(t, tx, "e1", event.KindGuardDuty); d != 0 {
		t.Fatalf("dups %d", d)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	tx = mustTx(t, st)
	// An older version arriving late, and a version seen before.
	if err := tx.Write(ctx, &event.Batch{Object: "e2", Findings: []event.Finding{mkFinding("f1", t0.Add(30*time.Minute), 6, 2), mkFinding("f2", t0, 2, 1)}}); err != nil {
		t.Fatal(err)
	}
	if d := dupsOf(t, tx, "e2", event.KindGuardDuty); d != 1 {
		t.Fatalf("dups %d", d)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var sev float64
	var label string
	var cnt int64
	if err := st.db.QueryRow(`SELECT severity, severity_label, "count" FROM guardduty_finding WHERE id = 'f1'`).Scan(&sev, &label, &cnt); err != nil {
		t.Fatal(err)
	}
	if sev != 8 || label != "High" || cnt != 4 {
		t.Errorf("current state of f1: severity %v %q count %d; the newest version must win", sev, label, cnt)
	}
	if n := count(t, st, `SELECT count(*) FROM guardduty_finding_history`); n != 4 {
		t.Errorf("history has %d versions, want 4", n)
	}
	if n := count(t, st, `SELECT count(*) FROM guardduty_finding`); n != 2 {
		t.Errorf("current state has %d findings, want 2", n)
	}
}

func TestDigestsQuarantineLedger(t *testing.T) {
	st, path := openTemp(t)
	tx := mustTx(t, st)
	d := event.Digest{AccountID: "1", DigestS3Object: "AWSLogs/1/CloudTrail-Digest/x.json.gz", Raw: "{}",
		LogFiles: []event.DigestLogFile{{S3Object: "a.json.gz", HashValue: "aa"}, {S3Object: "b.json.gz", HashValue: "bb"}}}
	if err := tx.Write(ctx, &event.Batch{Object: "x", Digests: []event.Digest{d, d}}); err != nil {
		t.Fatal(err)
	}
	if n := dupsOf(t, tx, "x", event.KindCloudTrailDigest); n != 1 {
		t.Fatalf("digest duplicates: %d", n)
	}
	q := event.Quarantined{Object: "bad.json", Kind: event.KindCloudTrail, Line: 3, Offset: 120, Record: 2, Reason: "invalid JSON", Snippet: "{"}
	if err := tx.Write(ctx, &event.Batch{Quarantined: []event.Quarantined{q, q}}); err != nil {
		t.Fatal(err)
	}
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := tx.Commit(ctx, []ledger.Entry{{Object: "bad.json", Size: 10, Status: ledger.StatusPartial, Units: 5, First: first}}); err != nil {
		t.Fatal(err)
	}
	tx = mustTx(t, st)
	if err := tx.ForgetObject(ctx, "bad.json"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, []ledger.Entry{{Object: "bad.json", Size: 10, Status: ledger.StatusDone, Units: 9, Records: 7, Quarantined: 2}}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, `SELECT count(*) FROM cloudtrail_digest_file WHERE digest_object = ?`, d.DigestS3Object); n != 2 {
		t.Errorf("%d digest files", n)
	}
	if n := count(t, st, `SELECT count(*) FROM quarantine`); n != 0 {
		t.Errorf("ForgetObject left %d entries", n)
	}
	st.Close()
	// Reopen: the schema is there and the ledger entry kept its first time.
	st2, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	led, err := st2.LedgerEntries(context.Background(), []string{"bad.json", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	e, ok := led["bad.json"]
	if !ok || len(led) != 1 || e.Status != ledger.StatusDone || e.Units != 9 || e.Records != 7 || !e.First.Equal(first) || e.Size != 10 {
		t.Errorf("ledger entry after reopen: %+v", led)
	}
}

func TestReadOnlyAndVersion(t *testing.T) {
	st, path := openTemp(t)
	v, err := st.Version(context.Background())
	if err != nil || !strings.HasPrefix(v, "v1.") {
		t.Errorf("version %q %v", v, err)
	}
	st.Close()
	ro, err := Open(context.Background(), path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.db.Exec(`CREATE TABLE x (a INT)`); err == nil {
		t.Error("a read-only store accepted a write")
	}
	if n := count(t, ro, `SELECT count(*) FROM cloudtrail`); n != 0 {
		t.Errorf("%d rows", n)
	}
}

// TestDedupAcrossProcesses: events stored by an earlier process are found
// through the stored time range; events of this process through the filter.
func TestDedupAcrossProcesses(t *testing.T) {
	st, path := openTemp(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	tx := mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "a", CloudTrail: []event.CloudTrail{ctEvent("e1", t0, "X"), ctEvent("e2", t0.Add(time.Hour), "Y")}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st2, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	tx = mustTx(t, st2)
	// e1 and e2 are in the old range; e3 is later and new.
	if err := tx.Write(ctx, &event.Batch{Object: "b", CloudTrail: []event.CloudTrail{ctEvent("e1", t0, "X"), ctEvent("e2", t0.Add(time.Hour), "Y"), ctEvent("e3", t0.Add(48*time.Hour), "Z")}}); err != nil {
		t.Fatal(err)
	}
	if d := dupsOf(t, tx, "b", event.KindCloudTrail); d != 2 {
		t.Errorf("%d duplicates of earlier-process events, want 2", d)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	tx = mustTx(t, st2)
	// e3 is outside the old range: only the filter knows it.
	if err := tx.Write(ctx, &event.Batch{Object: "c", CloudTrail: []event.CloudTrail{ctEvent("e3", t0.Add(48*time.Hour), "Z")}}); err != nil {
		t.Fatal(err)
	}
	if d := dupsOf(t, tx, "c", event.KindCloudTrail); d != 1 {
		t.Errorf("%d duplicates of this process's event, want 1", d)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st2, `SELECT count(*) FROM cloudtrail_base`); n != 3 {
		t.Errorf("%d events, want 3", n)
	}
}

func TestBloom(t *testing.T) {
	b := newBloom(100000, 0.01)
	for i := uint64(0); i < 100000; i++ {
		b.add(i * 0x9E3779B97F4A7C15)
	}
	for i := uint64(0); i < 100000; i++ {
		if !b.has(i * 0x9E3779B97F4A7C15) {
			t.Fatalf("false negative for %d", i)
		}
	}
	fp := 0
	for i := uint64(100000); i < 200000; i++ {
		if b.has(i * 0x9E3779B97F4A7C15) {
			fp++
		}
	}
	if fp > 2000 {
		t.Errorf("%d false positives in 100000 (want about 1%%)", fp)
	}
	if !b.full() {
		t.Error("a filter at capacity should say so")
	}
}

// TestMigrateFromVersion1 opens a database at schema version 1 (before
// ingest_warning): it is brought to the current version and keeps its rows.
func TestMigrateFromVersion1(t *testing.T) {
	st, path := openTemp(t)
	tx := mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "a.json", CloudTrail: []event.CloudTrail{ctEvent("e1", time.Now().UTC(), "X")}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// Make it a version-1 file.
	for _, q := range []string{`DROP TABLE ingest_warning`, `UPDATE trawl_meta SET value = '1' WHERE key = 'schema_version'`} {
		if _, err := st.db.Exec(q); err != nil {
			t.Fatal(err)
		}
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
	if n := count(t, st, `SELECT count(*) FROM ingest_warning`); n != 0 {
		t.Errorf("%d warnings in a migrated database", n)
	}
	if n := count(t, st, `SELECT count(*) FROM cloudtrail`); n != 1 {
		t.Errorf("%d events after the migration, want 1", n)
	}
}

// viewColumns returns the names of the cloudtrail view's columns, in order.
func viewColumns(t *testing.T, st *Store) []string {
	return columnNames(t, st, "cloudtrail", "ordinal_position")
}

// columnNames returns the names of table's columns ordered by orderBy, a
// column of information_schema.columns.
func columnNames(t *testing.T, st *Store, table, orderBy string) []string {
	t.Helper()
	rows, err := st.db.Query(`SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY `+orderBy, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	return cols
}

// TestMigrateFromVersion4 opens a database at schema version 4 (before
// session_name and principal): the columns are added, NULL in the rows
// stored before, filled in rows stored after, and the cloudtrail view is
// the same as in a new store.
func TestMigrateFromVersion4(t *testing.T) {
	st, path := openTemp(t)
	want := viewColumns(t, st)
	tx := mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "a.json", CloudTrail: []event.CloudTrail{ctEvent("e1", time.Now().UTC(), "X")}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// Make it a version-4 file: without the columns, with the view of
	// version 4.
	v4view := strings.NewReplacer("  \"session_name\",\n", "", "  \"principal\",\n", "").Replace(cloudtrailDDL()[1])
	if v4view == cloudtrailDDL()[1] {
		t.Fatal("the view does not list session_name and principal")
	}
	for _, q := range []string{`DROP VIEW cloudtrail`, `ALTER TABLE cloudtrail_base DROP COLUMN session_name`,
		`ALTER TABLE cloudtrail_base DROP COLUMN principal`, v4view,
		`UPDATE trawl_meta SET value = '4' WHERE key = 'schema_version'`} {
		if _, err := st.db.Exec(q); err != nil {
			t.Fatal(err)
		}
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
	if got := viewColumns(t, st); !slices.Equal(got, want) {
		t.Errorf("view columns after the migration:\n%v\nwant\n%v", got, want)
	}
	tx = mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "b.json", CloudTrail: []event.CloudTrail{ctEvent("e2", time.Now().UTC(), "Y")}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, `SELECT count(*) FROM cloudtrail WHERE event_id = 'e1' AND principal IS NULL AND session_name IS NULL`); n != 1 {
		t.Errorf("%d old rows without a principal, want 1", n)
	}
	if n := count(t, st, `SELECT count(*) FROM cloudtrail WHERE event_id = 'e2' AND principal = 'alice' AND session_name IS NULL`); n != 1 {
		t.Errorf("%d new rows with principal alice, want 1", n)
	}
}

// TestFindingConflictWarns checks that a finding version with the id and
// updatedAt of a stored one but other content is not dropped silently,
// while an exact repeat is only counted as a duplicate.
func TestFindingConflictWarns(t *testing.T) {
	st, _ := openTemp(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	tx := mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "a", Findings: []event.Finding{mkFinding("f1", t0, 5, 1)}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	tx = mustTx(t, st)
	repeat, conflict := mkFinding("f1", t0, 5, 1), mkFinding("f1", t0, 8, 3)
	conflict.Unit = 7
	if err := tx.Write(ctx, &event.Batch{Object: "b", Findings: []event.Finding{repeat, conflict}}); err != nil {
		t.Fatal(err)
	}
	if n := dupsOf(t, tx, "b", event.KindGuardDuty); n != 2 {
		t.Errorf("%d duplicates, want 2", n)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, `SELECT count(*) FROM ingest_warning WHERE object = 'b' AND record = 7 AND reason LIKE '%same updatedAt%severity 8%'`); n != 1 {
		t.Errorf("%d conflict warnings, want 1", n)
	}
	if n := count(t, st, `SELECT count(*) FROM ingest_warning`); n != 1 {
		t.Errorf("%d warnings in all, want 1 (the exact repeat is no conflict)", n)
	}
	if n := count(t, st, `SELECT count(*) FROM guardduty_finding WHERE severity = 5`); n != 1 {
		t.Error("the stored version was replaced")
	}
}

// TestPrune deletes old rows of a table, with the parts of large records,
// and keeps newer rows and rows without a time.
func TestPrune(t *testing.T) {
	st, _ := openTemp(t)
	old, recent := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	bigOld := ctEvent("big", old, "X")
	bigOld.Raw = `{"eventID":"big","pad":"` + strings.Repeat("x", 200<<10) + `"}`
	tx := mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "a", CloudTrail: []event.CloudTrail{
		ctEvent("e1", old, "X"), ctEvent("e2", recent, "Y"), ctEvent("e3", time.Time{}, "Z"), bigOld}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, `SELECT count(*) FROM trawl_spill`); n == 0 {
		t.Fatal("the large record was not spilled; the test needs it")
	}
	n, err := st.Prune(ctx, "cloudtrail", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want 2", n, err)
	}
	if n := count(t, st, `SELECT count(*) FROM cloudtrail`); n != 2 {
		t.Errorf("%d events left, want the recent one and the one without a time", n)
	}
	if n := count(t, st, `SELECT count(*) FROM trawl_spill`); n != 0 {
		t.Errorf("%d spill parts left of a pruned record", n)
	}
	if _, err := st.Prune(ctx, "ingest_ledger", recent); err == nil {
		t.Error("the ledger can be pruned")
	}
}
