package duckdb

import (
	"context"
	"database/sql"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/trawl-project/trawl/internal/ledger"
)

type lentry = ledger.Entry

var ledgerColumns = []column[lentry]{
	strCol("object", func(e *lentry) string { return e.Object }),
	intCol("size", duckdb.TYPE_BIGINT, func(e *lentry) (int64, bool) { return e.Size, e.Size >= 0 }),
	timeCol("modified_at", func(e *lentry) time.Time { return e.ModifiedAt }),
	strCol("etag", func(e *lentry) string { return e.ETag }),
	strCol("sha256", func(e *lentry) string { return e.SHA256 }),
	strCol("status", func(e *lentry) string { return e.Status }),
	int64Col("units", func(e *lentry) int64 { return e.Units }),
	int64Col("records", func(e *lentry) int64 { return e.Records }),
	int64Col("duplicates", func(e *lentry) int64 { return e.Duplicates }),
	int64Col("quarantined", func(e *lentry) int64 { return e.Quarantined }),
	strCol("kinds", func(e *lentry) string { return e.Kinds }),
	timeCol("first_ingested_at", func(e *lentry) time.Time { return e.First }),
	strCol("error", func(e *lentry) string { return e.Error }),
	strCol("cursor", func(e *lentry) string { return e.Cursor }),
}

// ledger writes the entries of objects (insert or replace, keeping the time
// an object was first ingested). Entries with a zero First get the
// transaction's time.
func (t *Tx) ledger(ctx context.Context, entries []ledger.Entry) error {
	for i := range entries {
		if entries[i].First.IsZero() {
			entries[i].First = t.now
		}
	}
	return insertRows(ctx, t.st, t.conn, "ingest_ledger", entries, nil, ledgerColumns,
		`ON CONFLICT (object) DO UPDATE SET size = excluded.size, modified_at = excluded.modified_at,
		etag = excluded.etag, sha256 = excluded.sha256, status = excluded.status, units = excluded.units,
		records = excluded.records, duplicates = excluded.duplicates, quarantined = excluded.quarantined,
		kinds = excluded.kinds, last_ingested_at = excluded.last_ingested_at, error = excluded.error,
		cursor = excluded.cursor`,
		constant{"last_ingested_at", t.now})
}

// LedgerEntries returns the ledger entries of the given objects that exist.
func (s *Store) LedgerEntries(ctx context.Context, objects []string) (map[string]ledger.Entry, error) {
	out := make(map[string]ledger.Entry, len(objects))
	const batch = 5000
	for i := 0; i < len(objects); i += batch {
		part := objects[i:min(i+batch, len(objects))]
		err := eachRow(ctx, s.db, "reading the ingest ledger", `SELECT object, size, modified_at, etag, sha256, status, units, records,
			duplicates, quarantined, kinds, first_ingested_at, last_ingested_at, error, cursor
			FROM ingest_ledger WHERE object IN (SELECT unnest(?::VARCHAR[]))`,
			func(rows *sql.Rows) error {
				var e ledger.Entry
				var size sql.NullInt64
				var mod sql.NullTime
				var etag, sum, kinds, errText, cursor sql.NullString
				if err := rows.Scan(&e.Object, &size, &mod, &etag, &sum, &e.Status, &e.Units, &e.Records,
					&e.Duplicates, &e.Quarantined, &kinds, &e.First, &e.Last, &errText, &cursor); err != nil {
					return err
				}
				e.Size = -1
				if size.Valid {
					e.Size = size.Int64
				}
				e.ModifiedAt = mod.Time
				e.ETag, e.SHA256, e.Kinds, e.Error, e.Cursor = etag.String, sum.String, kinds.String, errText.String, cursor.String
				out[e.Object] = e
				return nil
			}, part)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
