package duckdb

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Prunable are the tables that grow with collection, each with the time
// column that ages its rows. Views (cloudtrail) prune through their table.
var Prunable = map[string]string{
	"cloudtrail":                "event_time",
	"vpcflow":                   "start_time",
	"guardduty_finding_history": "updated_at",
	"guardduty_finding":         "updated_at",
	"cloudtrail_digest":         "digest_end",
	"quarantine":                "quarantined_at",
	"ingest_warning":            "warned_at",
}

// PruneTables returns the names of Prunable, sorted.
func PruneTables() []string {
	out := make([]string, 0, len(Prunable))
	for t := range Prunable {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Prune deletes the rows of table older than before (by its time column;
// rows without a time are kept) and returns how many it deleted. Pruning
// cloudtrail also deletes the parts of large records in trawl_spill, and
// pruning cloudtrail_digest the log files the deleted digests listed. It
// is one transaction. The ledger is kept, so pruned objects are not
// ingested again.
func (s *Store) Prune(ctx context.Context, table string, before time.Time) (int64, error) {
	target, col, err := pruneTarget(table)
	if err != nil {
		return 0, err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return 0, err
	}
	done := false
	defer func() {
		if !done {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	switch table {
	case "cloudtrail":
		if _, err := conn.ExecContext(ctx, `DELETE FROM trawl_spill WHERE id IN
			(SELECT spill_id FROM cloudtrail_base WHERE spill_id IS NOT NULL AND event_time < ?)`, before); err != nil {
			return 0, fmt.Errorf("pruning large records of %s: %w", table, err)
		}
	case "cloudtrail_digest":
		if _, err := conn.ExecContext(ctx, `DELETE FROM cloudtrail_digest_file WHERE digest_object IN
			(SELECT digest_object FROM cloudtrail_digest WHERE digest_end < ?)`, before); err != nil {
			return 0, fmt.Errorf("pruning the log files of %s: %w", table, err)
		}
	}
	res, err := conn.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE %s < ?`, target, quoteIdent(col)), before)
	if err != nil {
		return 0, fmt.Errorf("pruning %s: %w", table, err)
	}
	n, _ := res.RowsAffected()
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return 0, fmt.Errorf("pruning %s: committing: %w", table, err)
	}
	done = true
	if target == "vpcflow" && n > 0 {
		s.flowsChanged()
	}
	return n, nil
}

// CountOlder counts the rows Prune would delete.
func (s *Store) CountOlder(ctx context.Context, table string, before time.Time) (int64, error) {
	target, col, err := pruneTarget(table)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s < ?`, target, quoteIdent(col)), before).Scan(&n)
	return n, err
}

// pruneTarget returns the stored table behind a prunable table or view,
// and its time column.
func pruneTarget(table string) (target, col string, err error) {
	col, ok := Prunable[table]
	if !ok {
		return "", "", fmt.Errorf("%s cannot be pruned (tables: %v)", table, PruneTables())
	}
	if table == "cloudtrail" {
		return "cloudtrail_base", col, nil
	}
	return table, col, nil
}
