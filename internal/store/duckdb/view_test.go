package duckdb

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/decode/cloudtrail"
	"github.com/trawl-project/trawl/internal/event"
)

// oldComputed is how schema version 7's view computed a column: one
// extraction from raw per column.
func oldComputed(typ, path string) string {
	switch typ {
	case "JSON":
		return fmt.Sprintf(`nullif(json_extract(raw, '%s'), 'null'::JSON)`, path)
	case "BOOLEAN":
		return fmt.Sprintf(`TRY_CAST(raw->>'%s' AS BOOLEAN)`, path)
	case "TIMESTAMPTZ":
		return fmt.Sprintf(`coalesce(try_strptime(raw->>'%[1]s', '%%Y%%m%%dT%%H%%M%%SZ')::TIMESTAMPTZ, TRY_CAST(raw->>'%[1]s' AS TIMESTAMPTZ))`, path)
	}
	return fmt.Sprintf(`raw->>'%s'`, path)
}

// TestViewComputesAsBefore checks that the cloudtrail view of schema
// version 8 (one parse of raw for its text columns) gives every computed
// column the value the per-column extraction gave, on records with values
// of every shape: absent, JSON null, objects where text is expected,
// numbers and strings for booleans, both timestamp forms, escapes.
func TestViewComputesAsBefore(t *testing.T) {
	st, _ := openTemp(t)
	raws := []string{
		`{"eventID":"a","eventVersion":"1.08","userIdentity":{"principalId":"AID:x","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:r"},"attributes":{"creationDate":"20131102T010628Z"},"sourceIdentity":"si"},"onBehalfOf":{"userId":"u1"}},"sessionCredentialFromConsole":"true","requestID":"r1","sharedEventID":"s1","vpcEndpointId":"vpce-1","apiVersion":"2012","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"c","clientProvidedHostHeader":"h"},"resources":[{"ARN":"x"}],"requestParameters":{"userName":"bob"},"responseElements":null,"additionalEventData":{"MFAUsed":"No"},"serviceEventDetails":"text","insightDetails":{"a":1}}`,
		`{"eventID":"b","userIdentity":{"sessionContext":{"attributes":{"creationDate":"2026-11-02T10:00:00Z"}}},"sessionCredentialFromConsole":true,"requestID":{"nested":"obj"},"tlsDetails":null,"requestParameters":"HIDDEN_DUE_TO_SECURITY_REASONS","resources":[],"responseElements":{"ok":true}}`,
		`{"eventID":"c","eventVersion":null,"sessionCredentialFromConsole":"maybe","userIdentity":{"sessionContext":{"attributes":{"creationDate":"garbage"}}},"requestID":"quote \" and \\u00e9 and\nnewline","apiVersion":12}`,
		`{"eventID":"d"}`,
	}
	var evs []event.CloudTrail
	for _, r := range raws {
		evs = append(evs, cloudtrail.FromRaw(r, nil))
	}
	tx := mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "v.json", CloudTrail: evs}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range ctComputed {
		q := fmt.Sprintf(`SELECT string_agg(event_id, ',' ORDER BY event_id) FILTER (WHERE %s IS DISTINCT FROM CAST(%s AS %s)), count(*), count(%[1]s)
			FROM cloudtrail`, c.name, oldComputed(c.typ, c.path), c.typ)
		var diff *string
		var n, set int64
		if err := st.db.QueryRowContext(ctx, q).Scan(&diff, &n, &set); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if diff != nil || n != int64(len(raws)) {
			t.Errorf("%s differs from the per-column extraction in events %v (of %d)", c.name, *diff, n)
		}
		if set == 0 {
			t.Errorf("%s is NULL in every test event: the test checks nothing for it", c.name)
		}
	}
	// One parse of raw for the text columns, one per JSON column: not one
	// per computed column.
	var def string
	if err := st.db.QueryRowContext(ctx, `SELECT sql FROM duckdb_views() WHERE view_name = 'cloudtrail'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(def, "json_extract"); n != 7 || strings.Contains(def, "->>") {
		t.Errorf("the view extracts from raw %d times (want 7: one list and six JSON members):\n%s", n, def)
	}
}

// v7View is the cloudtrail view of schema version 7.
func v7View() string {
	var b strings.Builder
	b.WriteString("CREATE OR REPLACE VIEW cloudtrail AS SELECT\n")
	for _, c := range ctColumns {
		if c.name == "raw" {
			for _, v := range ctComputed {
				fmt.Fprintf(&b, "  CAST(%s AS %s) AS %s,\n", oldComputed(v.typ, v.path), v.typ, v.name)
			}
		}
		fmt.Fprintf(&b, "  %s,\n", quoteIdent(c.name))
	}
	b.WriteString(`  spill_id,
  source,
  ingested_at
FROM (SELECT * REPLACE (CASE WHEN b.spill_id IS NULL THEN b.raw
    ELSE (SELECT string_agg(text, '' ORDER BY part) FROM trawl_spill WHERE id = b.spill_id) END AS raw)
  FROM cloudtrail_base b)`)
	return b.String()
}

// TestMigrateFromVersion7 checks that a version-7 file (the view that
// extracts each column from raw) keeps working read-only, and gets the
// version-8 view, with the same columns and values, when opened for
// writing.
func TestMigrateFromVersion7(t *testing.T) {
	st, path := openTemp(t)
	wantView := viewColumns(t, st)
	tx := mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "a.json", CloudTrail: []event.CloudTrail{cloudtrail.FromRaw(
		`{"eventID":"m","requestID":"r7","requestParameters":{"userName":"bob"},"userIdentity":{"sessionContext":{"attributes":{"creationDate":"20131102T010628Z"}}}}`, nil)}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{v7View(), `UPDATE trawl_meta SET value = '7' WHERE key = 'schema_version'`} {
		if _, err := st.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	st.Close()
	const check = `SELECT count(*) FROM cloudtrail WHERE request_id = 'r7' AND param(request_parameters, 'userName') = 'bob' AND session_created_at = '2013-11-02 01:06:28+00'`
	viewDef := func(st *Store) string {
		var def string
		if err := st.db.QueryRowContext(ctx, `SELECT sql FROM duckdb_views() WHERE view_name = 'cloudtrail'`).Scan(&def); err != nil {
			t.Fatal(err)
		}
		return def
	}
	ro, err := Open(ctx, path, Options{MemoryLimit: "256MB", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, ro, check); n != 1 || !strings.Contains(viewDef(ro), "->>") {
		t.Errorf("read-only version 7: %d rows, view %s", n, viewDef(ro))
	}
	ro.Close()
	st, err = Open(ctx, path, Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if v := count(t, st, `SELECT value::INT FROM trawl_meta WHERE key = 'schema_version'`); v != SchemaVersion {
		t.Errorf("schema version %d after opening, want %d", v, SchemaVersion)
	}
	if got := viewColumns(t, st); !slices.Equal(got, wantView) {
		t.Errorf("view columns after the migration:\n%v\nwant\n%v", got, wantView)
	}
	if n := count(t, st, check); n != 1 || strings.Contains(viewDef(st), "->>") || !strings.Contains(viewDef(st), "trawl_s") {
		t.Errorf("version 8: %d rows, view %s", n, viewDef(st))
	}
}
