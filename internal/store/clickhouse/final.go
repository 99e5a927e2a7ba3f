package clickhouse

import (
	"regexp"
	"strings"
)

// ClickHouse 18.16 does not push a query's WHERE into a view that reads
// its table with FINAL: every query through the cloudtrail or vpcflow view
// read and merged the whole table, whatever its time range (a count over
// an hour without events: 3.1 s through the view, 7 ms on the table; see
// docs/performance.md, "ClickHouse vs DuckDB at 10M events"). readFinal
// therefore names the table itself, with FINAL, where that gives exactly
// the view's rows:
//
//   - cloudtrail_data has no columns the view hides, and the copies FINAL
//     collapses are whole identical rows (same event id and time, so the
//     same partition): filtering before or after the merge is the same;
//   - vpcflow_data hides one column, unit, so it is named only in
//     statements that select no `*` (count(*) aside); its copies are
//     identical rows too.
//
// The finding tables are left to their views: a version column decides
// which copy wins, and a condition evaluated before the merge could show
// an older version.
func readFinal(sql string) string {
	if !strings.Contains(sql, "cloudtrail") && !strings.Contains(sql, "vpcflow") {
		return sql
	}
	star := strings.Contains(countStar.ReplaceAllString(sql, ""), "*")
	var b strings.Builder
	b.Grow(len(sql) + 64)
	outsideQuotes(sql, func(part string, quoted bool) {
		if quoted {
			b.WriteString(part)
			return
		}
		part = fromCloudTrail.ReplaceAllString(part, "${1}cloudtrail_data AS cloudtrail FINAL${2}")
		if !star {
			part = fromVPCFlow.ReplaceAllString(part, "${1}vpcflow_data AS vpcflow FINAL${2}")
		}
		b.WriteString(part)
	})
	return b.String()
}

var (
	countStar      = regexp.MustCompile(`(?i)count\s*\(\s*\*\s*\)`)
	fromCloudTrail = regexp.MustCompile(`(?i)(\bFROM\s+)cloudtrail(\s|\)|$)`)
	fromVPCFlow    = regexp.MustCompile(`(?i)(\bFROM\s+)vpcflow(\s|\)|$)`)
)

// outsideQuotes calls f with the parts of sql in turn, saying whether each
// is a quoted string or identifier ('…', "…", `…`, with \ escapes).
func outsideQuotes(sql string, f func(part string, quoted bool)) {
	start := 0
	for i := 0; i < len(sql); i++ {
		q := sql[i]
		if q != '\'' && q != '"' && q != '`' {
			continue
		}
		if i > start {
			f(sql[start:i], false)
		}
		j := i + 1
		for j < len(sql) && sql[j] != q {
			if sql[j] == '\\' {
				j++
			}
			j++
		}
		end := min(j+1, len(sql))
		f(sql[i:end], true)
		start, i = end, end-1
	}
	if start < len(sql) {
		f(sql[start:], false)
	}
}
