package duckdb

import (
	"database/sql"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/decode/cloudtrail"
	"github.com/trawl-project/trawl/internal/event"
)

// viewRecords are records with values of every shape for the columns
// schema version 9 stores and the view computes: absent, JSON null,
// objects where text is expected, numbers and strings for booleans, both
// timestamp forms, escapes, duplicate keys, and one record large enough to
// be stored in parts (spill.go).
var viewRecords = []string{
	`{"eventID":"a","eventVersion":"1.08","userIdentity":{"principalId":"AID:x","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:r"},"attributes":{"creationDate":"20131102T010628Z"},"sourceIdentity":"si"},"onBehalfOf":{"userId":"u1"}},"sessionCredentialFromConsole":"true","requestID":"r1","sharedEventID":"s1","vpcEndpointId":"vpce-1","apiVersion":"2012","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"c","clientProvidedHostHeader":"h"},"resources":[{"ARN":"x"}],"requestParameters":{"userName":"bob","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess","roleName":"r","roleArn":"arn:aws:iam::1:role/r","groupName":"g"},"responseElements":null,"additionalEventData":{"MFAUsed":"No"},"serviceEventDetails":"text","insightDetails":{"a":1}}`,
	`{"eventID":"b","userIdentity":{"sessionContext":{"attributes":{"creationDate":"2026-11-02T10:00:00Z"}}},"sessionCredentialFromConsole":true,"requestID":{"nested":"obj"},"tlsDetails":null,"requestParameters":"HIDDEN_DUE_TO_SECURITY_REASONS","resources":[],"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"Yes","LoginTo":"x"}}`,
	`{"eventID":"c","eventVersion":null,"sessionCredentialFromConsole":"maybe","userIdentity":{"sessionContext":{"attributes":{"creationDate":"garbage"}}},"requestID":"quote \" and \u00e9 and\nnewline","apiVersion":12,"requestParameters":{"bucketName":"b\u00e9","key":{"id":{"S":"1"}},"userName":null,"groupName":7}}`,
	`{"eventID":"d","requestParameters":{"bucketName":"first","bucketName":"second","key":"k \\ x"},"responseElements":{"ConsoleLogin":"Failure"}}`,
	`{"eventID":"e"}`,
	`{"eventID":"f","requestParameters":{"bucketName":"big-bucket","policy":"` + strings.Repeat("x", spillOver+10) + `"},"additionalEventData":{"MFAUsed":"No"}}`,
}

// writeViewRecords stores viewRecords, decoded as ingest decodes them.
func writeViewRecords(t *testing.T, st *Store) {
	t.Helper()
	var evs []event.CloudTrail
	for _, r := range viewRecords {
		evs = append(evs, cloudtrail.FromRaw(r, nil))
	}
	tx := mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "v.json", CloudTrail: evs}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, `SELECT count(*) FROM cloudtrail_base WHERE spill_id IS NOT NULL`); n != 1 {
		t.Fatalf("%d records stored in parts, want 1", n)
	}
}

// TestStoredAsExtracted checks that every column schema version 9 stores
// at ingest holds what the SQL extraction from raw gives (the migration's
// backfill, which is also how the view of version 8 computed the text
// columns and how search read request parameters), and that the view's
// computed columns are those of the whole record, also for one stored in
// parts.
func TestStoredAsExtracted(t *testing.T) {
	st, _ := openTemp(t)
	writeViewRecords(t, st)
	check := func(name, expr string) {
		t.Helper()
		q := fmt.Sprintf(`SELECT string_agg(event_id, ',' ORDER BY event_id) FILTER (WHERE %s IS DISTINCT FROM %s), count(*), count(%[1]s)
			FROM cloudtrail`, quoteIdent(name), expr)
		var diff sql.NullString
		var n, set int64
		if err := st.db.QueryRowContext(ctx, q).Scan(&diff, &n, &set); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff.Valid || n != int64(len(viewRecords)) {
			t.Errorf("%s differs from %s in events %s (of %d)", name, expr, diff.String, n)
		}
		if set == 0 {
			t.Errorf("%s is NULL in every test event: the test checks nothing for it", name)
		}
	}
	for _, c := range v9Columns {
		check(c.name, fmt.Sprintf(c.expr, fmt.Sprintf("json_extract_string(raw, '%s')", c.path)))
	}
	for _, c := range ctText {
		check(c.name, fmt.Sprintf(c.expr, fmt.Sprintf("json_extract_string(raw, '%s')", c.path)))
	}
	for _, c := range ctComputed {
		check(c.name, fmt.Sprintf("nullif(json_extract(raw, '%s'), 'null'::JSON)", c.path))
	}
	if n := count(t, st, `SELECT count(*) FROM cloudtrail WHERE event_id = 'f' AND req_bucket_name = 'big-bucket' AND length(raw) > 65536 AND length(request_parameters) > 65536`); n != 1 {
		t.Error("the record stored in parts is not whole in the view")
	}
	// The view parses raw once for its text columns and once for each JSON
	// column.
	var def string
	if err := st.db.QueryRowContext(ctx, `SELECT sql FROM duckdb_views() WHERE view_name = 'cloudtrail'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(def, "json_extract"); n != 7 || strings.Contains(def, "->>") {
		t.Errorf("the view extracts from raw %d times (want 7: one list and six JSON members):\n%s", n, def)
	}
}

// v8View is the cloudtrail view of schema version 8 as trawl at that
// version created it (read back from a database it made).
//
//go:embed testdata/cloudtrail_view_v8.sql
var v8View string

// TestMigrateFromVersion8 turns a store into a version-8 file (without the
// columns version 9 adds, with the view of version 8) and opens it: the
// columns are added and filled from raw with the values ingest stores, the
// view has the columns of a new store, and new rows are written.
func TestMigrateFromVersion8(t *testing.T) {
	st, path := openTemp(t)
	wantView := viewColumns(t, st)
	writeViewRecords(t, st)
	names := make([]string, len(v9Columns))
	for i, c := range v9Columns {
		names[i] = c.name
	}
	snapshot := func(st *Store) [][]string {
		t.Helper()
		rows, err := st.db.QueryContext(ctx, `SELECT event_id, `+strings.Join(names, ", ")+`, request_parameters::VARCHAR, raw FROM cloudtrail ORDER BY event_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out [][]string
		for rows.Next() {
			vals := make([]sql.NullString, len(names)+3)
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			row := make([]string, len(vals))
			for i, v := range vals {
				row[i] = fmt.Sprint(v.Valid, v.String)
			}
			out = append(out, row)
		}
		return out
	}
	want := snapshot(st)
	stmts := []string{`DROP VIEW cloudtrail`}
	for _, n := range names {
		stmts = append(stmts, `ALTER TABLE cloudtrail_base DROP COLUMN `+n)
	}
	stmts = append(stmts, v8View, `UPDATE trawl_meta SET value = '8' WHERE key = 'schema_version'`)
	for _, q := range stmts {
		if _, err := st.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if n := count(t, st, `SELECT count(*) FROM cloudtrail WHERE request_id = 'r1' AND (request_parameters->>'$.userName') = 'bob'`); n != 1 {
		t.Fatal("the version-8 view does not work")
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
		t.Errorf("view columns after the migration:\n%v\nwant\n%v", got, wantView)
	}
	got := snapshot(st)
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("after the migration:\n%v\nwant (as ingest stores them)\n%v", got, want)
	}
	tx := mustTx(t, st)
	if err := tx.Write(ctx, &event.Batch{Object: "b.json", CloudTrail: []event.CloudTrail{cloudtrail.FromRaw(`{"eventID":"new","requestParameters":{"bucketName":"nb"}}`, nil)}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, `SELECT count(*) FROM cloudtrail WHERE req_bucket_name IN ('nb', 'big-bucket', 'first')`); n != 3 {
		t.Errorf("%d rows by bucket after the migration, want 3", n)
	}
}
