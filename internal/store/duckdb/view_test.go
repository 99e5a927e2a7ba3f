package duckdb

import (
	"fmt"
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
	if n := strings.Count(def, "json_extract"); n != 7 || strings.Contains(def, "raw->>") {
		t.Errorf("the view extracts from raw %d times (want 7: one list and six JSON members):\n%s", n, def)
	}
}
