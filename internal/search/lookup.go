package search

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/textindex"
)

// idColumn is the column that identifies a row of each table that has one.
var idColumn = map[*Table]string{CloudTrail: "event_id", GuardDuty: "id"}

// EventByID returns the SQL that reads the row of t whose id is id (every
// column, at most one row): a CloudTrail event by event_id, a GuardDuty
// finding by id. at, when not zero, is the row's time (its Table.Time
// value): with it the look-up reads only the row groups whose time range
// holds it (DuckDB's min/max zone maps). Without it a CloudTrail look-up
// reads only the free-text index blocks that may hold the id's words (an
// event id is in its raw record, "eventID":"…"), except for ids trawl made
// up for events that had none ("trawl-…"), which are looked up in the
// whole table. Findings are looked up by their primary key.
//
// vpcflow rows have no id: EventByID returns an error for them.
func EventByID(t *Table, id string, at time.Time) (string, []any, error) {
	return EventByIDFor(store.DuckDB, t, id, at)
}

// EventByIDFor is EventByID in the dialect d. ClickHouse has no free-text
// index: without a time, the id's column alone decides.
func EventByIDFor(d store.Dialect, t *Table, id string, at time.Time) (string, []any, error) {
	col, ok := idColumn[t]
	if !ok {
		return "", nil, fmt.Errorf("%s rows have no id to look up", t.Type)
	}
	var where []string
	var args []any
	if !at.IsZero() {
		where = append(where, t.Time+" = ?")
		args = append(args, at.UTC())
	} else if t.textIndex && d != store.ClickHouse && !strings.HasPrefix(id, "trawl-") {
		if toks := textindex.LikeTerm(likeEscape(id)).Tokens; len(toks) > 0 {
			where = append(where, "text_block IN ("+TextBlocksSQL(toks)+")")
		}
	}
	where = append(where, col+" = ?")
	args = append(args, id)
	return "SELECT * FROM " + t.Name + " WHERE " + strings.Join(where, " AND ") + " LIMIT 1", args, nil
}

// likeEscape makes a LIKE pattern that matches s literally.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// BucketExpr returns the SQL expression of the start of the interval-long
// time bucket that holds timeCol's value, as epoch milliseconds (BIGINT):
// integer arithmetic on the epoch, which avoids the ICU time-zone code
// that date_trunc and time_bucket on TIMESTAMPTZ go through (5–20 times
// slower, docs/performance.md). Buckets start at the Unix epoch, so days
// start at midnight UTC. timeCol must be a plain column name (it is
// quoted); interval is rounded down to whole milliseconds (at least 1).
func BucketExpr(timeCol string, interval time.Duration) string {
	ms := max(interval.Milliseconds(), 1)
	n := strconv.FormatInt(ms, 10)
	return "(epoch_ms(" + `"` + strings.ReplaceAll(timeCol, `"`, `""`) + `"` + ") // " + n + " * " + n + ")"
}

// BucketExprFor is BucketExpr in the dialect d. On ClickHouse (whose
// DateTime holds whole seconds, and 18.16 has no toStartOfInterval) it is
// intDiv(toUnixTimestamp(t) * 1000, ms) * ms, an Int64.
func BucketExprFor(d store.Dialect, timeCol string, interval time.Duration) string {
	if d != store.ClickHouse {
		return BucketExpr(timeCol, interval)
	}
	ms := max(interval.Milliseconds(), 1)
	n := strconv.FormatInt(ms, 10)
	return "(intDiv(toInt64(toUnixTimestamp(`" + strings.ReplaceAll(timeCol, "`", "") + "`)) * 1000, " + n + ") * " + n + ")"
}
