package textindex

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	sub := BlocksSQL(LikeTerm("AKIA0003EXAMPLE").Tokens)
	stmt := "SELECT count(*) FROM cloudtrail WHERE (text_block IN (" + sub + ") AND regexp_matches(raw, ?, 'i')) AND (text_block IN (" + BlocksSQL(nil) + "))"
	var asked []string
	answers := [][]int64{{-1, 7, 3, 4, 5, 9}, {-1}}
	got, err := Resolve(stmt, func(s string) ([]int64, error) {
		asked = append(asked, s)
		return answers[len(asked)-1], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT count(*) FROM cloudtrail WHERE ((text_block BETWEEN -1 AND -1 OR text_block BETWEEN 3 AND 5 OR text_block BETWEEN 7 AND 7 OR text_block BETWEEN 9 AND 9) AND regexp_matches(raw, ?, 'i')) AND ((text_block BETWEEN -1 AND -1))"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if len(asked) != 2 || asked[0] != sub {
		t.Errorf("subqueries run: %q", asked)
	}
	// No look-up: unchanged, nothing run.
	plain := "SELECT * FROM cloudtrail WHERE text_block IN (1, 2)"
	if got, err := Resolve(plain, func(string) ([]int64, error) { t.Fatal("ran"); return nil, nil }); err != nil || got != plain {
		t.Errorf("%q, %v", got, err)
	}
	if _, err := Resolve(stmt, func(string) ([]int64, error) { return nil, errors.New("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("error %v", err)
	}
	// No index (an old store read-only): every row.
	got, err = Resolve(stmt, func(string) ([]int64, error) { return nil, ErrNoIndex })
	if want := "SELECT count(*) FROM cloudtrail WHERE (TRUE AND regexp_matches(raw, ?, 'i')) AND (TRUE)"; err != nil || got != want {
		t.Errorf("no index: %q, %v", got, err)
	}
}

// TestRangesMerged: many scattered blocks become at most maxRanges ranges
// that still hold every block.
func TestRangesMerged(t *testing.T) {
	var bs []int64
	for b := int64(1); b <= 1000; b += 3 + b%7 {
		bs = append(bs, b)
	}
	sql := rangesSQL(bs)
	if n := strings.Count(sql, "text_block"); n > maxRanges {
		t.Errorf("%d ranges", n)
	}
	for _, b := range bs {
		if !rangesHold(t, sql, b) {
			t.Fatalf("block %d not kept by %s", b, sql)
		}
	}
	if got := rangesSQL(nil); got != "FALSE" {
		t.Errorf("no blocks: %s", got)
	}
}

// rangesHold evaluates rangesSQL's output for one block.
func rangesHold(t *testing.T, sql string, b int64) bool {
	t.Helper()
	for _, part := range strings.Split(strings.Trim(sql, "()"), " OR ") {
		var lo, hi int64
		if n, _ := fmt.Sscanf(part, "text_block BETWEEN %d AND %d", &lo, &hi); n == 2 {
			if lo <= b && b <= hi {
				return true
			}
			continue
		}
		if n, _ := fmt.Sscanf(part, "text_block = %d", &lo); n == 1 && lo == b {
			return true
		}
	}
	return false
}
