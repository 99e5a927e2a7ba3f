package duckdb

import (
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/decode/cloudtrail"
	"github.com/trawl-project/trawl/internal/event"
)

// TestSpill migrates a schema version 2 database, stores a record over
// 64 KiB whose multi-byte characters cross the part boundaries, and reads
// it back whole through the view.
func TestSpill(t *testing.T) {
	st, path := openTemp(t)
	// Back to version 2: no spill table, a view that reads raw as stored.
	for _, q := range []string{`DROP VIEW cloudtrail`, `DROP TABLE trawl_spill`, `DROP SEQUENCE trawl_spill_id`,
		`CREATE VIEW cloudtrail AS SELECT * FROM cloudtrail_base`, `UPDATE trawl_meta SET value = '2' WHERE key = 'schema_version'`} {
		if _, err := st.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	st, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := count(t, st, `SELECT value::INT FROM trawl_meta WHERE key = 'schema_version'`); n != SchemaVersion {
		t.Errorf("schema version %d after migration", n)
	}
	big := `{"eventID":"big","eventTime":"2026-11-02T10:00:00Z","eventVersion":"1.09","requestParameters":{"p":"` +
		strings.Repeat("é€😀x", 20000) + `"}}`
	tx := mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "a.json", CloudTrail: []event.CloudTrail{
		cloudtrail.FromRaw(big, nil), ctEvent("small", time.Now(), "X"),
		cloudtrail.FromRaw(`{"trawlSpill":1}`, nil), // looks like a placeholder, is not one
	}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var raw, version string
	if err := st.db.QueryRow(`SELECT raw, event_version FROM cloudtrail WHERE event_id = 'big'`).Scan(&raw, &version); err != nil {
		t.Fatal(err)
	}
	if raw != big || version != "1.09" {
		t.Errorf("read back %d bytes (want %d), event_version %q", len(raw), len(big), version)
	}
	if n := count(t, st, `SELECT count(*) FROM trawl_spill`); n != int64(len(big)/spillPart+1) {
		t.Errorf("%d parts, want %d", n, len(big)/spillPart+1)
	}
	if n := count(t, st, `SELECT count(*) FROM cloudtrail WHERE raw LIKE '%trawlSpill%'`); n != 1 {
		t.Errorf("%d placeholders in the view, want only the record that looks like one", n)
	}
}
