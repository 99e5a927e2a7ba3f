package search

import (
	"sort"
	"strings"
)

// Columns returns the names of t's typed columns, sorted.
func (t *Table) Columns() []string {
	out := make([]string, 0, len(t.cols))
	for c := range t.cols {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// FieldName returns the name a query should use for a column: AWS's field
// name when the language has one (eventName for event_name), else the
// column name. It returns "" for a name that is not a column of t.
func (t *Table) FieldName(col string) string {
	if _, ok := t.cols[col]; !ok {
		return ""
	}
	best := ""
	for a, c := range t.aliases {
		// The shortest alias wins; ties go to the first in sort order, so
		// the answer is stable.
		if c == col && (best == "" || len(a) < len(best) || len(a) == len(best) && a < best) {
			best = a
		}
	}
	if best == "" || t == VPCFlow {
		return col
	}
	return best
}

// ColumnType returns the kind of a column's values: string, int, float,
// bool, time or ip; "" for a name that is not a column of t.
func (t *Table) ColumnType(col string) string {
	c, ok := t.cols[col]
	if !ok {
		return ""
	}
	if c.addr {
		return "ip"
	}
	switch c.typ {
	case tInt:
		return "int"
	case tFloat:
		return "float"
	case tBool:
		return "bool"
	case tTime:
		return "time"
	}
	return "string"
}

// Column returns the column a field name (AWS's name, a column name, any
// case) maps to, or "" when it is no typed column of t (a free-form JSON
// path, or unknown).
func (t *Table) Column(field string) string {
	tg, ok := t.resolve(strings.TrimSpace(field))
	if !ok || tg.path != "" {
		return ""
	}
	return tg.col.name
}
