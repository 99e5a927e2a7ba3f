package duckdb

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/trawl-project/trawl/internal/pipeline"
)

// Ledger writes an object's ledger entry (insert or replace, keeping the
// time it was first ingested).
func (t *Tx) Ledger(e pipeline.LedgerEntry) error {
	st, err := t.stmt(`INSERT INTO ingest_ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (object) DO UPDATE SET size = excluded.size, modified_at = excluded.modified_at,
		etag = excluded.etag, sha256 = excluded.sha256, status = excluded.status, units = excluded.units,
		records = excluded.records, duplicates = excluded.duplicates, quarantined = excluded.quarantined,
		kinds = excluded.kinds, last_ingested_at = excluded.last_ingested_at, error = excluded.error`)
	if err != nil {
		return err
	}
	first := e.First
	if first.IsZero() {
		first = t.now
	}
	var size any
	if e.Size >= 0 {
		size = e.Size
	}
	_, err = st.ExecContext(t.ctx, e.Object, size, tm(e.ModifiedAt), str(e.ETag), str(e.SHA256), e.Status,
		e.Units, e.Records, e.Duplicates, e.Quarantined, str(e.Kinds), first, t.now, str(e.Error))
	if err != nil {
		return fmt.Errorf("writing the ledger entry of %s: %w", e.Object, err)
	}
	return nil
}

// LedgerEntries returns the ledger entries of the given objects that exist.
func (s *Store) LedgerEntries(ctx context.Context, objects []string) (map[string]pipeline.LedgerEntry, error) {
	out := make(map[string]pipeline.LedgerEntry, len(objects))
	const batch = 5000
	for i := 0; i < len(objects); i += batch {
		part := objects[i:min(i+batch, len(objects))]
		rows, err := s.db.QueryContext(ctx, `SELECT object, size, modified_at, etag, sha256, status, units, records,
			duplicates, quarantined, kinds, first_ingested_at, last_ingested_at, error
			FROM ingest_ledger WHERE object IN (SELECT unnest(?::VARCHAR[]))`, part)
		if err != nil {
			return nil, fmt.Errorf("reading the ingest ledger: %w", err)
		}
		for rows.Next() {
			var e pipeline.LedgerEntry
			var size sql.NullInt64
			var mod sql.NullTime
			var etag, sum, kinds, errText sql.NullString
			if err := rows.Scan(&e.Object, &size, &mod, &etag, &sum, &e.Status, &e.Units, &e.Records,
				&e.Duplicates, &e.Quarantined, &kinds, &e.First, &e.Last, &errText); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reading the ingest ledger: %w", err)
			}
			e.Size = -1
			if size.Valid {
				e.Size = size.Int64
			}
			e.ModifiedAt = mod.Time
			e.ETag, e.SHA256, e.Kinds, e.Error = etag.String, sum.String, kinds.String, errText.String
			out[e.Object] = e
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
