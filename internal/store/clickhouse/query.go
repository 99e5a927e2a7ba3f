package clickhouse

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bind replaces each ? placeholder of query with args[i] written as a
// ClickHouse literal. A ? inside a quoted string ('…'), a quoted identifier
// ("…" or `…`) or a comment is left alone. ClickHouse 18.16's HTTP
// interface has no server-side parameters, so this quoting is what keeps
// values from being read as SQL: strings are escaped byte by byte.
func Bind(query string, args []any) (string, error) {
	if len(args) == 0 && !strings.Contains(query, "?") {
		return query, nil
	}
	var b strings.Builder
	b.Grow(len(query) + 16*len(args))
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch c {
		case '\'', '"', '`':
			j := skipQuoted(query, i)
			b.WriteString(query[i:j])
			i = j - 1
		case '-':
			if i+1 < len(query) && query[i+1] == '-' {
				j := strings.IndexByte(query[i:], '\n')
				if j < 0 {
					j = len(query) - i
				}
				b.WriteString(query[i : i+j])
				i += j - 1
			} else {
				b.WriteByte(c)
			}
		case '/':
			if i+1 < len(query) && query[i+1] == '*' {
				j := strings.Index(query[i+2:], "*/")
				end := len(query)
				if j >= 0 {
					end = i + 2 + j + 2
				}
				b.WriteString(query[i:end])
				i = end - 1
			} else {
				b.WriteByte(c)
			}
		case '?':
			if n >= len(args) {
				return "", fmt.Errorf("binding query parameters: more ? placeholders than the %d arguments", len(args))
			}
			lit, err := Literal(args[n])
			if err != nil {
				return "", fmt.Errorf("binding query parameter %d: %w", n+1, err)
			}
			b.WriteString(lit)
			n++
		default:
			b.WriteByte(c)
		}
	}
	if n != len(args) {
		return "", fmt.Errorf("binding query parameters: %d arguments for %d ? placeholders", len(args), n)
	}
	return b.String(), nil
}

// skipQuoted returns the index just past the quoted run starting at i
// (query[i] is the quote). Backslash escapes and doubled quotes both
// continue the run, as in ClickHouse's lexer.
func skipQuoted(query string, i int) int {
	q := query[i]
	for j := i + 1; j < len(query); j++ {
		switch query[j] {
		case '\\':
			j++
		case q:
			if j+1 < len(query) && query[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(query)
}

// Literal writes v as a ClickHouse SQL literal: NULL, numbers, 1/0 for
// booleans, quoted and escaped strings, toDateTime('…', 'UTC') for times
// and [..] for slices.
func Literal(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "NULL", nil
	case string:
		return QuoteString(x), nil
	case []byte:
		return QuoteString(string(x)), nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case int:
		return strconv.FormatInt(int64(x), 10), nil
	case int8:
		return strconv.FormatInt(int64(x), 10), nil
	case int16:
		return strconv.FormatInt(int64(x), 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint8:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint16:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float32:
		return formatFloat(float64(x)), nil
	case float64:
		return formatFloat(x), nil
	case time.Time:
		return TimeLiteral(x), nil
	case *string:
		if x == nil {
			return "NULL", nil
		}
		return QuoteString(*x), nil
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			return "", fmt.Errorf("%q is not a number", string(x))
		}
		return string(x), nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		parts := make([]string, rv.Len())
		for i := range parts {
			s, err := Literal(rv.Index(i).Interface())
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case reflect.String:
		return QuoteString(rv.String()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10), nil
	case reflect.Bool:
		return Literal(rv.Bool())
	case reflect.Float32, reflect.Float64:
		return formatFloat(rv.Float()), nil
	}
	return "", fmt.Errorf("cannot write a %T as a ClickHouse literal", v)
}

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0" // keep it a Float64, not an integer
	}
	return s
}

// TimeLiteral writes t as toDateTime('YYYY-MM-DD hh:mm:ss', 'UTC'),
// clamped to the DateTime range (1970 to 2105) and truncated to seconds.
func TimeLiteral(t time.Time) string {
	return "toDateTime('" + clampTime(t).Format(time.DateTime) + "', 'UTC')"
}

var (
	minDateTime = time.Unix(0, 0).UTC()
	maxDateTime = time.Date(2105, 12, 31, 23, 59, 59, 0, time.UTC)
)

func clampTime(t time.Time) time.Time {
	t = t.UTC()
	if t.Before(minDateTime) {
		return minDateTime
	}
	if t.After(maxDateTime) {
		return maxDateTime
	}
	return t.Truncate(time.Second)
}

// QuoteString writes s as a single-quoted ClickHouse string literal. Quotes,
// backslashes and control bytes are escaped; other bytes (UTF-8 or not)
// pass through unchanged.
func QuoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\'':
			b.WriteString(`\'`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case 0:
			b.WriteString(`\0`)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&b, `\x%02X`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// column is one column of a result: its name and how to convert its JSON
// values to Go values.
type column struct {
	name string
	typ  string
	conv func(json.RawMessage) (any, error)
}

// Rows is the result of a query read as it streams from the server
// (FORMAT JSONCompact). It implements store.Rows.
type Rows struct {
	body   io.ReadCloser
	dec    *json.Decoder
	cols   []column
	names  []string
	vals   []any
	raw    []json.RawMessage
	err    error
	done   bool
	cancel context.CancelFunc
}

// Columns returns the result's column names.
func (r *Rows) Columns() []string { return r.names }

// Types returns the result's ClickHouse column types.
func (r *Rows) Types() []string {
	t := make([]string, len(r.cols))
	for i, c := range r.cols {
		t[i] = c.typ
	}
	return t
}

// Values returns the current row, valid until the next call to Next.
func (r *Rows) Values() []any { return r.vals }

// Err returns the error that ended the rows, if any.
func (r *Rows) Err() error { return r.err }

// Close releases the response.
func (r *Rows) Close() error {
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
	if r.cancel != nil {
		r.cancel()
		r.cancel = nil
	}
	return nil
}

// Next reads the next row.
func (r *Rows) Next() bool {
	if r.done || r.err != nil {
		return false
	}
	if !r.dec.More() {
		r.done = true
		r.finish()
		return false
	}
	r.raw = r.raw[:0]
	if err := r.dec.Decode(&r.raw); err != nil {
		r.fail(err)
		return false
	}
	if len(r.raw) != len(r.cols) {
		r.fail(fmt.Errorf("row has %d values for %d columns", len(r.raw), len(r.cols)))
		return false
	}
	if r.vals == nil {
		r.vals = make([]any, len(r.cols))
	}
	for i, c := range r.cols {
		v, err := c.conv(r.raw[i])
		if err != nil {
			r.fail(fmt.Errorf("column %s (%s): %w", c.name, c.typ, err))
			return false
		}
		r.vals[i] = v
	}
	return true
}

// fail records err, adding the server's exception when the stream ended
// with one (ClickHouse writes an error into a 200 response that has
// already started).
func (r *Rows) fail(err error) {
	rest, _ := io.ReadAll(io.LimitReader(io.MultiReader(r.dec.Buffered(), r.body), 64<<10))
	if i := strings.Index(string(rest), "Code: "); i >= 0 {
		r.err = &Error{Msg: strings.TrimSpace(string(rest[i:]))}
		return
	}
	r.err = fmt.Errorf("clickhouse: reading the result: %w", err)
	r.Close()
}

func (r *Rows) finish() {
	// ']' closing data, then the rest of the object; an exception written
	// mid-stream breaks the syntax.
	if _, err := r.dec.Token(); err != nil {
		r.fail(err)
		return
	}
	for r.dec.More() {
		var skip json.RawMessage
		if _, err := r.dec.Token(); err != nil {
			r.fail(err)
			return
		}
		if err := r.dec.Decode(&skip); err != nil {
			r.fail(err)
			return
		}
	}
	io.Copy(io.Discard, r.body) //nolint:errcheck // draining for the connection's reuse
	r.Close()
}

// query runs a SELECT (or SHOW/DESCRIBE) and returns its rows.
func (c *Client) query(ctx context.Context, q string, extra url.Values, boolCols map[string]bool) (*Rows, error) {
	q = strings.TrimRight(strings.TrimSpace(q), ";")
	resp, err := c.doSession(ctx, q+"\nFORMAT JSONCompact", nil, false, extra)
	if err != nil {
		return nil, err
	}
	r := &Rows{body: resp.Body, dec: json.NewDecoder(bufio.NewReaderSize(resp.Body, 64<<10))}
	r.dec.UseNumber()
	if err := r.readHeader(boolCols); err != nil {
		r.Close()
		return nil, fmt.Errorf("clickhouse: reading the result of %s: %w", abbrev(q), err)
	}
	return r, nil
}

func abbrev(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 200 {
		q = q[:200] + "…"
	}
	return q
}

// readHeader reads up to the start of "data", taking the column types from
// "meta".
func (r *Rows) readHeader(boolCols map[string]bool) error {
	if t, err := r.dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("expected a JSON object, got %v (%v)", t, err)
	}
	for r.dec.More() {
		t, err := r.dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case "meta":
			var meta []struct{ Name, Type string }
			if err := r.dec.Decode(&meta); err != nil {
				return err
			}
			r.cols = make([]column, len(meta))
			r.names = make([]string, len(meta))
			for i, m := range meta {
				conv, err := converter(m.Type, boolCols[m.Name])
				if jsonColumns[m.Name] && strings.Contains(m.Type, "String") {
					conv = convJSON(conv)
				}
				if err != nil {
					return fmt.Errorf("column %s: %w", m.Name, err)
				}
				r.cols[i] = column{name: m.Name, typ: m.Type, conv: conv}
				r.names[i] = m.Name
			}
		case "data":
			if t, err := r.dec.Token(); err != nil || t != json.Delim('[') {
				return fmt.Errorf("expected the data array, got %v (%v)", t, err)
			}
			return nil
		default:
			var skip json.RawMessage
			if err := r.dec.Decode(&skip); err != nil {
				return err
			}
		}
	}
	return errors.New("the result has no data")
}

// converter returns the function turning a JSONCompact value of type typ
// into the Go value DuckDB returns for the same column: string, int64,
// float64, bool, time.Time (UTC), nil or []any.
func converter(typ string, isBool bool) (func(json.RawMessage) (any, error), error) {
	if inner, ok := unwrap(typ, "Nullable("); ok {
		conv, err := converter(inner, isBool)
		if err != nil {
			return nil, err
		}
		return func(m json.RawMessage) (any, error) {
			if string(m) == "null" {
				return nil, nil
			}
			return conv(m)
		}, nil
	}
	if inner, ok := unwrap(typ, "LowCardinality("); ok {
		return converter(inner, isBool)
	}
	if inner, ok := unwrap(typ, "Array("); ok {
		conv, err := converter(inner, isBool)
		if err != nil {
			return nil, err
		}
		return func(m json.RawMessage) (any, error) {
			var items []json.RawMessage
			if err := json.Unmarshal(m, &items); err != nil {
				return nil, err
			}
			out := make([]any, len(items))
			for i, it := range items {
				v, err := conv(it)
				if err != nil {
					return nil, err
				}
				out[i] = v
			}
			return out, nil
		}, nil
	}
	base := typ
	if i := strings.IndexByte(base, '('); i >= 0 {
		base = base[:i]
	}
	switch base {
	case "String", "FixedString", "Enum8", "Enum16", "UUID", "IPv4", "IPv6":
		return convString, nil
	case "UInt8":
		if isBool {
			return convBool, nil
		}
		return convInt, nil
	case "Int8":
		return convIntN(8), nil
	case "Int16":
		return convIntN(16), nil
	case "Int32":
		// DuckDB returns INTEGER columns as int32 (and TINYINT, SMALLINT
		// as int8, int16); unsigned and 64-bit integers become int64.
		return convIntN(32), nil
	case "Int64", "UInt16", "UInt32", "UInt64":
		return convInt, nil
	case "Float32", "Float64", "Decimal", "Decimal32", "Decimal64", "Decimal128":
		return convFloat, nil
	case "Nothing":
		return func(json.RawMessage) (any, error) { return nil, nil }, nil
	case "Date":
		return convTime(time.DateOnly, time.UTC), nil
	case "DateTime":
		loc := time.UTC
		if tz, ok := unwrap(typ, "DateTime("); ok {
			l, err := time.LoadLocation(strings.Trim(tz, "'"))
			if err != nil {
				return nil, fmt.Errorf("time zone of %s: %w", typ, err)
			}
			loc = l
		}
		return convTime(time.DateTime, loc), nil
	case "Tuple":
		return func(m json.RawMessage) (any, error) {
			var items []any
			d := json.NewDecoder(strings.NewReader(string(m)))
			d.UseNumber()
			if err := d.Decode(&items); err != nil {
				return nil, err
			}
			return items, nil
		}, nil
	}
	// Anything else: its JSON value as text.
	return convString, nil
}

// convJSON parses the text conv returns as JSON, as DuckDB returns its
// JSON columns.
func convJSON(conv func(json.RawMessage) (any, error)) func(json.RawMessage) (any, error) {
	return func(m json.RawMessage) (any, error) {
		v, err := conv(m)
		s, ok := v.(string)
		if err != nil || !ok {
			return v, err
		}
		var out any
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return s, nil
		}
		return out, nil
	}
}

func unwrap(typ, prefix string) (string, bool) {
	if strings.HasPrefix(typ, prefix) && strings.HasSuffix(typ, ")") {
		return typ[len(prefix) : len(typ)-1], true
	}
	return "", false
}

func convString(m json.RawMessage) (any, error) {
	if len(m) > 0 && m[0] != '"' {
		return string(m), nil
	}
	var s string
	if err := json.Unmarshal(m, &s); err != nil {
		return nil, err
	}
	if !utf8.ValidString(s) {
		return strings.ToValidUTF8(s, "\uFFFD"), nil
	}
	return s, nil
}

func unquote(m json.RawMessage) string {
	s := string(m)
	if len(s) >= 2 && s[0] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func convInt(m json.RawMessage) (any, error) {
	s := unquote(m)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return nil, err
	}
	return int64(u), nil // UInt64 above MaxInt64 wraps, as DuckDB's UBIGINT does not: rare
}

func convIntN(bits int) func(json.RawMessage) (any, error) {
	return func(m json.RawMessage) (any, error) {
		n, err := strconv.ParseInt(unquote(m), 10, bits)
		if err != nil {
			return nil, err
		}
		switch bits {
		case 8:
			return int8(n), nil
		case 16:
			return int16(n), nil
		}
		return int32(n), nil
	}
}

func convBool(m json.RawMessage) (any, error) {
	switch unquote(m) {
	case "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return nil, fmt.Errorf("%s is not a boolean", m)
}

func convFloat(m json.RawMessage) (any, error) {
	s := unquote(m)
	switch s {
	case "nan", "-nan":
		return math.NaN(), nil
	case "inf", "+inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(s, 64)
}

func convTime(layout string, loc *time.Location) func(json.RawMessage) (any, error) {
	return func(m json.RawMessage) (any, error) {
		s := unquote(m)
		// 18.16 writes the zero DateTime and Date (the Unix epoch: what
		// min or max of no rows returns) as zeros.
		if s == "0000-00-00 00:00:00" || s == "0000-00-00" {
			return time.Unix(0, 0).UTC(), nil
		}
		t, err := time.ParseInLocation(layout, s, loc)
		if err != nil {
			return nil, err
		}
		return t.UTC(), nil
	}
}
