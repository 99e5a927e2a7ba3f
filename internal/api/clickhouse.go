package api

import (
	"fmt"
	"net/http"
	"strings"
)

// fieldsClickHouse answers /api/fields on ClickHouse, exactly (no
// sampling: ClickHouse counts fast, and 18.16 has neither GROUPING SETS
// nor window functions): one query for every field's total and missing
// counts, then one per field for its top values, ranked as fieldsSQL
// ranks them (count descending, then the value as text).
func (a *API) fieldsClickHouse(r *http.Request, d *debugSQL, q *query, cols []string, top int) ([]fieldTop, error) {
	t := q.c.Table
	out := make([]fieldTop, len(cols))
	var b strings.Builder
	b.WriteString("SELECT count(*)")
	for i, c := range cols {
		out[i] = fieldTop{Name: t.FieldName(c), Column: c, Top: []topValue{}}
		fmt.Fprintf(&b, ", countIf(isNull(%s))", c)
	}
	fmt.Fprintf(&b, " FROM %s WHERE %s", t.Name, q.c.Where)
	rows, err := a.run(r.Context(), d, b.String(), q.c.Args)
	if err != nil {
		return nil, fmt.Errorf("field values of %s: %w", t.Name, err)
	}
	var total int64
	for rows.Next() {
		v := rows.Values()
		total = toInt(v[0])
		for i := range cols {
			out[i].Missing = toInt(v[i+1])
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("field values of %s: %w", t.Name, err)
	}
	for i, c := range cols {
		sql := fmt.Sprintf("SELECT %s AS v, count(*) AS n FROM %s WHERE %s AND %s IS NOT NULL GROUP BY v ORDER BY n DESC, toString(v) LIMIT ?",
			c, t.Name, q.c.Where, c)
		rows, err := a.run(r.Context(), d, sql, append(append([]any(nil), q.c.Args...), int64(top)))
		if err != nil {
			return nil, fmt.Errorf("field values of %s.%s: %w", t.Name, c, err)
		}
		shown := int64(0)
		for rows.Next() {
			v := rows.Values()
			n := toInt(v[1])
			val := v[0]
			if x, ok := val.(int64); ok && t.ColumnType(c) == "bool" {
				// A boolean column is a UInt8: its alias reads as a number.
				val = x != 0
			}
			out[i].Top = append(out[i].Top, topValue{Value: typedValue(t, c, val), Count: n})
			shown += n
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("field values of %s.%s: %w", t.Name, c, err)
		}
		out[i].Other = max(total-out[i].Missing-shown, 0)
	}
	return out, nil
}
