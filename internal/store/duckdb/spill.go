package duckdb

import (
	"context"
	"database/sql"
	"strconv"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Large records are stored in parts. DuckDB reads and writes a column 2048
// rows (a vector) at a time and keeps every string of the vector in memory
// while it does, also when it checkpoints; a vector of 2048 records of
// 256 KB is 512 MB, more than the ingest's memory limit, and the commit or
// the checkpoint fails ("failed to pin block") whatever the transaction
// size. So a record text over spillOver is stored in trawl_spill in parts
// of at most spillPart bytes; the row keeps a placeholder,
// {"trawlSpill":<id>}, as its text and the id in spill_id, and the
// cloudtrail view puts the text together again. A vector then holds at
// most 128 MB of a column's text. A lower threshold lowers the peak (0.68
// instead of 0.80 GiB for records of 60 KB) but 32 KiB made the benchmark's
// CloudTrail ingest 2–8% slower: 0.6% of its events are over 32 KiB, none
// over 64 KiB.
const (
	spillOver = 64 << 10
	spillPart = 32 << 10
)

const spillPrefix = `{"trawlSpill":`

type spillRow struct {
	id   int64
	part int
	text string
}

var spillColumns = []column[spillRow]{
	int64Col("id", func(r *spillRow) int64 { return r.id }),
	intCol("part", duckdb.TYPE_INTEGER, func(r *spillRow) (int64, bool) { return int64(r.part), true }),
	strCol("text", func(r *spillRow) string { return r.text }),
}

// spill stores the texts over spillOver in trawl_spill and replaces them
// with their placeholders. It returns the spill id of each text, 0 for
// those stored whole, or nil when none is large.
func (t *Tx) spill(ctx context.Context, texts []*string) ([]int64, error) {
	var big []int // indexes in texts
	for i, s := range texts {
		if len(*s) > spillOver {
			big = append(big, i)
		}
	}
	if len(big) == 0 {
		return nil, nil
	}
	var ids []int64
	err := eachRow(ctx, t.conn, "numbering large records", `SELECT nextval('trawl_spill_id') FROM range(?)`,
		func(rows *sql.Rows) error {
			var id int64
			err := rows.Scan(&id)
			ids = append(ids, id)
			return err
		}, len(big))
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(texts))
	var rows []spillRow
	for i, j := range big {
		s := texts[j]
		out[j] = ids[i]
		for part, rest := 0, *s; rest != ""; part++ {
			n := min(len(rest), spillPart)
			for n < len(rest) && !utf8.RuneStart(rest[n]) {
				n-- // parts are valid UTF-8
			}
			rows = append(rows, spillRow{ids[i], part, rest[:n]})
			rest = rest[n:]
		}
		*s = spillPrefix + strconv.FormatInt(ids[i], 10) + "}"
	}
	return out, insertRows(ctx, t.st, t.conn, "trawl_spill", rows, nil, spillColumns, "")
}
