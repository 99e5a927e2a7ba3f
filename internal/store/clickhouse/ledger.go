package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/trawl-project/trawl/internal/ledger"
)

// writeLedger writes the entries of objects. An object's newest entry wins
// (ReplacingMergeTree by ver, the commit's clock in ns); the time an
// object was first ingested is kept from its stored entry, as DuckDB's
// upsert does. Entries with a zero First get now.
func (s *Store) writeLedger(ctx context.Context, entries []ledger.Entry, now time.Time) error {
	objects := make([]string, len(entries))
	for i := range entries {
		objects[i] = entries[i].Object
	}
	stored, err := s.LedgerEntries(ctx, objects)
	if err != nil {
		return err
	}
	ver := uint64(time.Now().UnixNano())
	var j rowBuf
	for i := range entries {
		e := &entries[i]
		first := e.First
		if old, ok := stored[e.Object]; ok && !old.First.IsZero() {
			first = old.First
		}
		if first.IsZero() {
			first = now
		}
		j.str(e.Object, false)
		if e.Size >= 0 {
			j.i64(e.Size, true)
		} else {
			j.null()
		}
		j.optTime(e.ModifiedAt)
		j.optStr(e.ETag)
		j.optStr(e.SHA256)
		j.str(e.Status, false)
		j.i64(e.Units, false)
		j.i64(e.Records, false)
		j.i64(e.Duplicates, false)
		j.i64(e.Quarantined, false)
		j.optStr(e.Kinds)
		j.time(first, false)
		j.time(now, false)
		j.optStr(e.Error)
		j.optStr(e.Cursor)
		j.u64(ver)
	}
	tb := tableByName("ingest_ledger")
	if err := s.c.Insert(ctx, tb.name+"_data", names(tb), "RowBinary", j.b); err != nil {
		return fmt.Errorf("writing the ingest ledger: %w", err)
	}
	return nil
}

// LedgerEntries returns the ledger entries of the given objects that exist.
func (s *Store) LedgerEntries(ctx context.Context, objects []string) (map[string]ledger.Entry, error) {
	out := make(map[string]ledger.Entry, len(objects))
	const batch = 5000
	for i := 0; i < len(objects); i += batch {
		part := objects[i:min(i+batch, len(objects))]
		rows, err := s.c.query(ctx, `SELECT object, size, modified_at, etag, sha256, status, units, records,
			duplicates, quarantined, kinds, first_ingested_at, last_ingested_at, error, cursor
			FROM ingest_ledger_data FINAL WHERE object IN `+inList(part), bigQuery, nil)
		if err != nil {
			return nil, fmt.Errorf("reading the ingest ledger: %w", err)
		}
		for rows.Next() {
			v := rows.Values()
			var e ledger.Entry
			e.Object, _ = v[0].(string)
			e.Size = -1
			if n, ok := v[1].(int64); ok {
				e.Size = n
			}
			e.ModifiedAt, _ = v[2].(time.Time)
			e.ETag, _ = v[3].(string)
			e.SHA256, _ = v[4].(string)
			e.Status, _ = v[5].(string)
			e.Units, _ = v[6].(int64)
			e.Records, _ = v[7].(int64)
			e.Duplicates, _ = v[8].(int64)
			e.Quarantined, _ = v[9].(int64)
			e.Kinds, _ = v[10].(string)
			e.First, _ = v[11].(time.Time)
			e.Last, _ = v[12].(time.Time)
			e.Error, _ = v[13].(string)
			e.Cursor, _ = v[14].(string)
			out[e.Object] = e
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("reading the ingest ledger: %w", err)
		}
	}
	return out, nil
}
