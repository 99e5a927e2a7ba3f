package textindex

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// MaxTokens bounds the tokens of one term looked up: the first are kept
// (LikeTerm puts the rarer first; any subset still only narrows).
const MaxTokens = 6

// BlocksSQL returns a subquery listing the blocks (text_block values) that
// may hold every token of hashes, and block -1, which holds the rows stored
// before the index existed (every block for no hashes). Its numbers come
// from hashes, not from user text, so they are written into the SQL.
//
// A caller writes it as `text_block IN (BlocksSQL)`; Resolve turns that
// into block ranges before the statement runs.
func BlocksSQL(hashes []uint64) string {
	if len(hashes) == 0 {
		return "SELECT DISTINCT blk FROM trawl_text_bloom UNION ALL SELECT -1"
	}
	if len(hashes) > MaxTokens {
		hashes = hashes[:MaxTokens]
	}
	byPart := map[int][]int{}
	var parts []int
	for _, h := range hashes {
		p := ProbeOf(h)
		if _, ok := byPart[p.Part]; !ok {
			parts = append(parts, p.Part)
		}
		byPart[p.Part] = append(byPart[p.Part], p.Bits[:]...)
	}
	var b strings.Builder
	b.WriteString("SELECT blk FROM trawl_text_bloom WHERE ")
	for i, p := range parts {
		if i > 0 {
			b.WriteString(" OR ")
		}
		fmt.Fprintf(&b, "(part = %d", p)
		bits := byPart[p]
		slices.Sort(bits)
		for j, bit := range bits {
			if j == 0 || bit != bits[j-1] {
				fmt.Fprintf(&b, " AND get_bit(bits::BIT, %d) = 1", bit)
			}
		}
		b.WriteString(")")
	}
	if len(parts) > 1 {
		fmt.Fprintf(&b, " GROUP BY blk HAVING count(*) = %d", len(parts))
	}
	b.WriteString(" UNION ALL SELECT -1")
	return b.String()
}

// ErrNoIndex is what a Resolve callback returns when the database has no
// free-text index (a store older than schema version 10 opened read-only):
// the look-up is then replaced by TRUE, so every row is read, as before
// the index.
var ErrNoIndex = errors.New("no free-text index")

// lookup matches `text_block IN (BlocksSQL…)`; group 1 is the subquery.
var lookup = regexp.MustCompile(`text_block IN \((SELECT (?:DISTINCT blk FROM trawl_text_bloom|blk FROM trawl_text_bloom WHERE \(part = \d+(?: AND get_bit\(bits::BIT, \d+\) = 1)+\)(?: OR \(part = \d+(?: AND get_bit\(bits::BIT, \d+\) = 1)+\))*(?: GROUP BY blk HAVING count\(\*\) = \d+)?) UNION ALL SELECT -1)\)`)

// maxRanges bounds the block ranges a look-up becomes: nearer ranges are
// merged (reading a few more blocks) beyond it.
const maxRanges = 64

// Resolve replaces every `text_block IN (BlocksSQL…)` of sql by the
// ranges of the blocks its subquery returns (blocks runs it), as
// `(text_block BETWEEN a AND b OR …)`. DuckDB skips the row groups and
// vectors of rows outside such ranges, as it does not for an IN list or
// an IN subquery (docs/performance.md), so a rare word reads only its
// blocks. SQL without a look-up is returned as it is.
func Resolve(sql string, blocks func(subquery string) ([]int64, error)) (string, error) {
	if !strings.Contains(sql, "trawl_text_bloom") {
		return sql, nil
	}
	var err error
	out := lookup.ReplaceAllStringFunc(sql, func(m string) string {
		if err != nil {
			return m
		}
		var bs []int64
		bs, err = blocks(lookup.FindStringSubmatch(m)[1])
		if errors.Is(err, ErrNoIndex) {
			err = nil
			return "TRUE"
		}
		if err != nil {
			return m
		}
		return rangesSQL(bs)
	})
	if err != nil {
		return "", fmt.Errorf("looking up the free-text index: %w", err)
	}
	return out, nil
}

// rangesSQL is the condition that keeps the blocks bs.
func rangesSQL(bs []int64) string {
	slices.Sort(bs)
	bs = slices.Compact(bs)
	if len(bs) == 0 {
		return "FALSE"
	}
	type span struct{ lo, hi int64 }
	var spans []span
	for _, b := range bs {
		if n := len(spans); n > 0 && spans[n-1].hi+1 == b {
			spans[n-1].hi = b
		} else {
			spans = append(spans, span{b, b})
		}
	}
	if len(spans) > maxRanges {
		// Merge across the smallest gaps.
		gaps := make([]int64, len(spans)-1)
		for i := range gaps {
			gaps[i] = spans[i+1].lo - spans[i].hi
		}
		sorted := slices.Clone(gaps)
		slices.Sort(sorted)
		limit := sorted[len(spans)-maxRanges-1]
		merged := spans[:1]
		for i, g := range gaps {
			if g <= limit && len(merged)+len(spans)-i-1 > maxRanges-1 {
				merged[len(merged)-1].hi = spans[i+1].hi
			} else {
				merged = append(merged, spans[i+1])
			}
		}
		spans = merged
	}
	var b strings.Builder
	b.WriteString("(")
	for i, s := range spans {
		if i > 0 {
			b.WriteString(" OR ")
		}
		// BETWEEN even for one block: DuckDB 1.5 applies an OR of
		// ranges in the scan, skipping the rows outside them, but turns
		// an OR of equalities (or an IN list) into an optional filter
		// that only prunes whole row groups by min/max.
		fmt.Fprintf(&b, "text_block BETWEEN %d AND %d", s.lo, s.hi)
	}
	b.WriteString(")")
	return b.String()
}
