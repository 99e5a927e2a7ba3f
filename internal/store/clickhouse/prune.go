package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// Retention on ClickHouse. A Modern server (20.3+) can age rows out by
// itself: the DDL's TTL clauses (store retention). ClickHouse 18.16 has no
// TTL, so `trawl prune` does it: Prune drops every partition wholly older
// than the cutoff (ALTER TABLE … DROP PARTITION: instant, whole days for
// cloudtrail and vpcflow, whole months for the tables partitioned by
// month) and deletes the rest of the older rows with ALTER TABLE … DELETE,
// a mutation that 18.16 runs in the background, rewriting every part of
// the table; Prune waits for it to finish. Tables without partitions
// (guardduty_finding, cloudtrail_digest) are pruned by the mutation alone.

// PruneTables returns the names of the tables Prune accepts (DuckDB's),
// sorted.
func PruneTables() []string { return duckdb.PruneTables() }

// pruneCol returns the time column of a prunable table.
func pruneCol(table string) (string, error) {
	col, ok := duckdb.Prunable[table]
	if !ok {
		return "", fmt.Errorf("%s cannot be pruned (tables: %v)", table, PruneTables())
	}
	return col, nil
}

// cutoff is before as a ClickHouse DateTime literal, rounded up to the
// second: stored times are whole seconds, and a row of second S is older
// than S plus a fraction.
func cutoff(before time.Time) string {
	t := before.UTC()
	if t.Truncate(time.Second) != t {
		t = t.Truncate(time.Second).Add(time.Second)
	}
	return TimeLiteral(t)
}

// CountOlder counts the rows Prune would delete: those of the table users
// query (de-duplicated) older than before.
func (s *Store) CountOlder(ctx context.Context, table string, before time.Time) (int64, error) {
	col, err := pruneCol(table)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.each(ctx, fmt.Sprintf(`SELECT count() FROM %s WHERE %s < %s`, QuoteIdent(table), QuoteIdent(col), cutoff(before)), func(v []any) error {
		n = i64(v[0])
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("counting the rows of %s older than %s: %w", table, before.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}

// Prune deletes the rows of table older than before (rows without a time
// are kept) and returns how many it deleted (as CountOlder counts them).
// Pruning cloudtrail_digest also deletes the log files the deleted digests
// listed. The ledger is kept, so pruned objects are not ingested again.
// Unlike DuckDB's, it is not one transaction: a Prune that fails half way
// is finished by running it again.
func (s *Store) Prune(ctx context.Context, table string, before time.Time) (int64, error) {
	col, err := pruneCol(table)
	if err != nil {
		return 0, err
	}
	if s.readOnly {
		return 0, fmt.Errorf("pruning %s: the store is read-only", table)
	}
	n, err := s.CountOlder(ctx, table, before)
	if err != nil || n == 0 {
		return 0, err
	}
	data := table + "_data"
	lit := cutoff(before)
	if table == "cloudtrail_digest" {
		var objs []string
		err := s.each(ctx, `SELECT DISTINCT digest_object FROM cloudtrail_digest_data WHERE digest_end < `+lit, func(v []any) error {
			objs = append(objs, str(v[0]))
			return nil
		})
		if err == nil {
			err = chunks(objs, func(part []string) error {
				return s.mutate(ctx, "cloudtrail_digest_file_data", `digest_object IN `+literalList(part))
			})
		}
		if err != nil {
			return 0, fmt.Errorf("pruning the log files of %s: %w", table, err)
		}
	}
	if err := s.dropPartitions(ctx, data, before); err != nil {
		return 0, fmt.Errorf("pruning %s: %w", table, err)
	}
	var left int64
	if err := s.each(ctx, fmt.Sprintf(`SELECT count() FROM %s WHERE %s < %s`, QuoteIdent(data), QuoteIdent(col), lit), func(v []any) error {
		left = i64(v[0])
		return nil
	}); err != nil {
		return 0, fmt.Errorf("pruning %s: %w", table, err)
	}
	if left > 0 {
		if err := s.mutate(ctx, data, QuoteIdent(col)+" < "+lit); err != nil {
			return 0, fmt.Errorf("pruning %s: %w", table, err)
		}
	}
	return n, nil
}

// dropPartitions drops the partitions of table (partitioned by day or by
// month of a time) that hold only rows older than before. The partition of
// 1970-01-01 (or January 1970) is kept: rows without a time sort there.
func (s *Store) dropPartitions(ctx context.Context, table string, before time.Time) error {
	var key string
	if err := s.each(ctx, `SELECT partition_key FROM system.tables WHERE database = currentDatabase() AND name = ?`, func(v []any) error {
		key = str(v[0])
		return nil
	}, table); err != nil {
		return err
	}
	b := before.UTC()
	var limit int64
	switch {
	case strings.HasPrefix(key, "toYYYYMMDD("):
		limit = int64(b.Year()*10000 + int(b.Month())*100 + b.Day())
	case strings.HasPrefix(key, "toYYYYMM("):
		limit = int64(b.Year()*100 + int(b.Month()))
	default:
		return nil // not partitioned by time
	}
	var parts []string
	err := s.each(ctx, `SELECT DISTINCT partition FROM system.parts WHERE database = currentDatabase() AND table = ? AND active`, func(v []any) error {
		parts = append(parts, str(v[0]))
		return nil
	}, table)
	if err != nil {
		return err
	}
	for _, p := range parts {
		v, err := strconv.ParseInt(strings.Trim(p, "'"), 10, 64)
		if err != nil || v >= limit || v == 19700101 || v == 197001 {
			continue
		}
		if err := s.c.Exec(ctx, fmt.Sprintf(`ALTER TABLE %s DROP PARTITION %d`, QuoteIdent(table), v)); err != nil {
			return fmt.Errorf("dropping partition %d: %w", v, err)
		}
	}
	return nil
}

// mutate deletes the rows of table matching where and waits until the
// mutation has run (ClickHouse runs mutations in the background).
func (s *Store) mutate(ctx context.Context, table, where string) error {
	if err := s.c.Exec(ctx, fmt.Sprintf(`ALTER TABLE %s DELETE WHERE %s`, QuoteIdent(table), where)); err != nil {
		return err
	}
	wait := 20 * time.Millisecond
	for {
		var pending int64 = -1
		err := s.each(ctx, `SELECT count() FROM system.mutations WHERE database = currentDatabase() AND table = ? AND is_done = 0`, func(v []any) error {
			pending = i64(v[0])
			return nil
		}, table)
		if err != nil {
			return fmt.Errorf("waiting for the deletion in %s: %w", table, err)
		}
		if pending == 0 {
			return nil
		}
		if pending < 0 {
			return errors.New("no answer from system.mutations")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the deletion in %s (it goes on in the server): %w", table, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}
