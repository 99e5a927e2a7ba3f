package duckdb

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/decode/cloudtrail"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/textindex"
)

// textEvent is an event of block b, row i: its user name, address and
// access key are words of that block only.
func textEvent(b, i int) event.CloudTrail {
	ts := time.Date(2026, 11, 1+b, 10, 0, i, 0, time.UTC)
	return cloudtrail.FromRaw(fmt.Sprintf(`{"eventVersion":"1.08","eventID":"ev-%d-%d","eventTime":"%s","eventName":"GetObject",`+
		`"eventSource":"s3.amazonaws.com","sourceIPAddress":"10.%d.2.%d","userAgent":"aws-cli/2.13.0",`+
		`"userIdentity":{"type":"IAMUser","userName":"user_%d","accessKeyId":"AKIA%04dEXAMPLE"},`+
		`"requestParameters":{"bucketName":"shared-bucket","key":"common/report.csv"}}`,
		b, i, ts.Format(time.RFC3339), b, i%250, b, b), nil)
}

// writeBlocks writes n blocks of rows events, one transaction each.
func writeBlocks(t *testing.T, st *Store, n, rows int) {
	t.Helper()
	for b := 0; b < n; b++ {
		var recs []event.CloudTrail
		for i := 0; i < rows; i++ {
			recs = append(recs, textEvent(b, i))
		}
		tx := mustTx(t, st)
		if err := tx.Write(ctx, &event.Batch{Object: fmt.Sprintf("o%d.json", b), CloudTrail: recs}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// blocksOf returns the blocks the index keeps for a free-text term.
func blocksOf(t *testing.T, st *Store, like string) []int64 {
	t.Helper()
	rows, err := st.db.Query(`SELECT blk FROM (` + search.TextBlocksSQL(textindex.LikeTerm(like).Tokens) + `) ORDER BY blk`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var b int64
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// freeText counts the matches of a search box through search's SQL (with
// the index) and through the regular expression alone.
func freeText(t *testing.T, st *Store, box string) (indexed, scanned int64) {
	t.Helper()
	c, err := search.ParseCompile(box, search.Options{Table: search.CloudTrail})
	if err != nil {
		t.Fatal(err)
	}
	sql, args := c.Count()
	indexed = count(t, st, sql, args...)
	re := textindex.LikeTerm(likeOf(box)).Regexp
	scanned = count(t, st, `SELECT count(*) FROM cloudtrail WHERE regexp_matches(raw, ?, 'i')`, re)
	return indexed, scanned
}

// likeOf is the LIKE pattern of a one-word box (no wildcards).
func likeOf(box string) string {
	if len(box) > 1 && box[0] == '"' {
		box = box[1 : len(box)-1]
	}
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(box)
}

// TestTextIndexNarrowsAndKeepsEveryMatch: each transaction's rows are one
// block with its own filter; a rare word's look-up keeps only its block
// (and -1), a common word's keeps every block, and search counts the
// same matches with the index as the regular expression alone.
func TestTextIndexNarrowsAndKeepsEveryMatch(t *testing.T) {
	st, _ := openTemp(t)
	writeBlocks(t, st, 4, 300)
	var blocks []int64
	rows, err := st.db.Query(`SELECT DISTINCT text_block FROM cloudtrail_base ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var b int64
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, b)
	}
	rows.Close()
	if len(blocks) != 4 || blocks[0] < 1 {
		t.Fatalf("blocks %v, want 4 numbered from 1", blocks)
	}
	if n := count(t, st, `SELECT count(DISTINCT blk) FROM trawl_text_bloom`); n != 4 {
		t.Errorf("%d blocks have a filter, want 4", n)
	}
	for _, tc := range []struct {
		box   string
		block int // -1: every block
		want  int64
	}{
		{"user_2", 2, 300},
		{"USER_2", 2, 300},
		{"AKIA0003EXAMPLE", 3, 300},
		{`"10.1.2.7"`, 1, 2}, // rows 7 and 257
		{"ev-0-299", 0, 1},
		{"shared-bucket", -1, 1200},
		{"getobject", -1, 1200},
		{"report.csv", -1, 1200},
	} {
		got := blocksOf(t, st, likeOf(tc.box))
		want := append([]int64{-1}, blocks...)
		if tc.block >= 0 {
			want = []int64{-1, blocks[tc.block]}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: index keeps blocks %v, want %v", tc.box, got, want)
		}
		indexed, scanned := freeText(t, st, tc.box)
		if indexed != tc.want || scanned != tc.want {
			t.Errorf("%s: %d matches with the index, %d by the regular expression, want %d", tc.box, indexed, scanned, tc.want)
		}
	}
	// Parts of words are not words: no block, no match.
	for _, box := range []string{"user", "AKIA0003"} {
		if got := blocksOf(t, st, box); box != "user" && !slices.Equal(got, []int64{-1}) {
			t.Errorf("%s: index keeps blocks %v", box, got)
		}
	}
	if indexed, scanned := freeText(t, st, "AKIA0003"); indexed != 0 || scanned != 0 {
		t.Errorf("AKIA0003: %d/%d matches, want none", indexed, scanned)
	}
	if n := count(t, st, `SELECT count(*) FROM cloudtrail WHERE regexp_matches(raw, '.*AKIA0003.*')`); n != 300 {
		t.Errorf("AKIA0003 as part of a word: %d rows, want 300", n)
	}
}

// TestTextIndexAfterMigration: rows stored before schema version 10 are
// in block -1, which every look-up keeps, so searches still find them;
// rows written after the migration are indexed.
func TestTextIndexAfterMigration(t *testing.T) {
	st, path := openTemp(t)
	writeBlocks(t, st, 1, 50)
	// Make the store a version-8 one: no index, no text_block column.
	for _, q := range []string{
		`DROP VIEW cloudtrail`,
		`ALTER TABLE cloudtrail_base DROP COLUMN text_block`,
		`DROP TABLE trawl_text_bloom`,
		`DROP SEQUENCE trawl_text_block`,
		strings.Replace(cloudtrailDDL()[1], ",\n  text_block\n", "\n", 1),
		`UPDATE trawl_meta SET value = '8' WHERE key = 'schema_version'`,
	} {
		if _, err := st.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	st.Close()
	// Read-only, the store stays at version 8: search reads every row.
	ro, err := Open(ctx, path, Options{MemoryLimit: "256MB", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := search.ParseCompile("user_0", search.Options{Table: search.CloudTrail})
	if err != nil {
		t.Fatal(err)
	}
	q, args := c.Count()
	rows, err := ro.Query(ctx, store.Request{SQL: q, Args: args})
	if err != nil {
		t.Fatalf("searching a version-8 store: %v", err)
	}
	if !rows.Next() || rows.Values()[0] != int64(50) {
		t.Errorf("version 8, read-only: %v matches, want 50", rows.Values())
	}
	rows.Close()
	ro.Close()
	st, err = Open(ctx, path, Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := count(t, st, `SELECT count(*) FROM cloudtrail WHERE text_block = -1`); n != 50 {
		t.Errorf("%d old rows in block -1, want 50", n)
	}
	writeBlocks(t, st, 2, 50) // block 0 again: duplicates, dropped; block 1 new
	if indexed, scanned := freeText(t, st, "user_0"); indexed != 50 || scanned != 50 {
		t.Errorf("old rows: %d/%d matches, want 50", indexed, scanned)
	}
	if indexed, scanned := freeText(t, st, "user_1"); indexed != 50 || scanned != 50 {
		t.Errorf("new rows: %d/%d matches, want 50", indexed, scanned)
	}
	if got := blocksOf(t, st, "user_1"); len(got) != 2 || got[1] < 1 {
		t.Errorf("new rows: index keeps %v", got)
	}
}

// TestEventByID: with its time or without, by the index, an event is
// found by its id; a finding by its id.
func TestEventByID(t *testing.T) {
	st, _ := openTemp(t)
	writeBlocks(t, st, 3, 100)
	e := textEvent(1, 42)
	for _, at := range []time.Time{e.EventTime, {}} {
		sql, args, err := search.EventByID(search.CloudTrail, e.EventID, at)
		if err != nil {
			t.Fatal(err)
		}
		var id, raw string
		q := "SELECT event_id, raw FROM (" + sql + ")"
		if err := st.db.QueryRow(q, args...).Scan(&id, &raw); err != nil || id != e.EventID || raw != e.Raw {
			t.Errorf("time %v: %q, %v; SQL %s", at, id, err, sql)
		}
	}
	sql, args, _ := search.EventByID(search.CloudTrail, "ev-1-4", e.EventTime)
	if n := count(t, st, "SELECT count(*) FROM ("+sql+")", args...); n != 0 {
		t.Errorf("ev-1-4 found at the time of ev-1-42")
	}
	sql, args, _ = search.EventByID(search.CloudTrail, "ev-1-400", time.Time{})
	if n := count(t, st, "SELECT count(*) FROM ("+sql+")", args...); n != 0 {
		t.Errorf("ev-1-400 found")
	}
	if _, _, err := search.EventByID(search.VPCFlow, "x", time.Time{}); err == nil {
		t.Error("a vpcflow id looked up")
	}
	sql, args, err := search.EventByID(search.GuardDuty, "f1", time.Time{})
	if err != nil || sql != "SELECT * FROM guardduty_finding WHERE id = ? LIMIT 1" || len(args) != 1 {
		t.Errorf("finding: %s %v %v", sql, args, err)
	}
}

// TestBucketExpr: the integer bucket is date_trunc's bucket in UTC.
func TestBucketExpr(t *testing.T) {
	st, _ := openTemp(t)
	writeBlocks(t, st, 3, 100)
	for _, tc := range []struct {
		d     time.Duration
		trunc string
	}{{time.Hour, "hour"}, {24 * time.Hour, "day"}, {time.Minute, "minute"}, {time.Second, "second"}} {
		q := fmt.Sprintf(`SELECT count(*) FROM cloudtrail WHERE %s <> epoch_ms(date_trunc('%s', event_time))`, search.BucketExpr("event_time", tc.d), tc.trunc)
		if n := count(t, st, q); n != 0 {
			t.Errorf("%s: %d rows in another bucket than date_trunc's", tc.d, n)
		}
	}
	if got := search.BucketExpr("event_time", 5*time.Minute); got != `(epoch_ms("event_time") // 300000 * 300000)` {
		t.Errorf("5m: %s", got)
	}
}
