// Package output writes query results as a table, CSV or JSON lines.
package output

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trawl-project/trawl/internal/store"
)

// Writer receives a result: a header, then rows, then Flush.
type Writer interface {
	Header(cols []string) error
	Row(vals []any) error
	Flush() error
}

// NewWriter returns a writer for format "table", "csv" or "json". maxWidth
// bounds table cells (0: unbounded).
func NewWriter(format string, w io.Writer, maxWidth int) (Writer, error) {
	switch format {
	case "table":
		return &tableWriter{w: w, maxWidth: maxWidth}, nil
	case "csv":
		return &csvWriter{w: bufio.NewWriter(w)}, nil
	case "json", "jsonl", "ndjson":
		return &jsonWriter{w: w}, nil
	}
	return nil, fmt.Errorf("unknown format %q (use table, csv or json)", format)
}

// Rows writes every row of rows to w.
func Rows(w Writer, rows store.Rows) error {
	if err := w.Header(rows.Columns()); err != nil {
		return err
	}
	for rows.Next() {
		if err := w.Row(rows.Values()); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return w.Flush()
}

// Text renders a value for table and CSV output; NULL is "" (CSV output
// writes ” as "" to tell them apart).
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return fmt.Sprintf("%x", x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		return fmt.Sprintf("%g", x)
	case float32:
		return fmt.Sprintf("%g", x)
	case *big.Int:
		return x.String()
	case fmt.Stringer:
		return x.String()
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
	return fmt.Sprint(v)
}

// jsonValue renders a value for JSON output.
func jsonValue(v any) any {
	switch x := v.(type) {
	case nil, bool, string, int64, int32, int16, int8, int, uint64, uint32, uint16, uint8, float64, float32:
		return x
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return Text(x)
	case map[string]any, []any:
		return x
	}
	return Text(v)
}

// csvWriter writes RFC 4180 CSV with \n line ends that tells NULL from an
// empty string: NULL is an empty field, ” is "" (encoding/csv writes
// both as an empty field). Fields are quoted when they hold a comma, a
// quote, a line break or leading or trailing space, or are empty strings.
type csvWriter struct {
	w   *bufio.Writer
	buf []byte
}

func (c *csvWriter) Header(cols []string) error {
	vals := make([]any, len(cols))
	for i, col := range cols {
		vals[i] = col
	}
	return c.Row(vals)
}

func (c *csvWriter) Row(vals []any) error {
	c.buf = c.buf[:0]
	for i, v := range vals {
		if i > 0 {
			c.buf = append(c.buf, ',')
		}
		if v == nil {
			continue
		}
		c.buf = appendCSVField(c.buf, Text(v))
	}
	c.buf = append(c.buf, '\n')
	_, err := c.w.Write(c.buf)
	return err
}

func appendCSVField(b []byte, s string) []byte {
	if s != "" && !strings.ContainsAny(s, ",\"\r\n") && s[0] != ' ' && s[0] != '\t' && s[len(s)-1] != ' ' && s[len(s)-1] != '\t' {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
	return append(b, '"')
}

func (c *csvWriter) Flush() error { return c.w.Flush() }

type jsonWriter struct {
	w    io.Writer
	cols []string
	buf  []byte
}

func (j *jsonWriter) Header(cols []string) error { j.cols = cols; return nil }

func (j *jsonWriter) Row(vals []any) error {
	j.buf = append(j.buf[:0], '{')
	for i, v := range vals {
		if i > 0 {
			j.buf = append(j.buf, ',')
		}
		k, _ := json.Marshal(j.cols[i])
		j.buf = append(j.buf, k...)
		j.buf = append(j.buf, ':')
		b, err := json.Marshal(jsonValue(v))
		if err != nil {
			b, _ = json.Marshal(Text(v))
		}
		j.buf = append(j.buf, b...)
	}
	j.buf = append(j.buf, '}', '\n')
	_, err := j.w.Write(j.buf)
	return err
}

func (j *jsonWriter) Flush() error { return nil }

// tableWriter aligns columns. It sizes them from the first rows it sees,
// so that a large result streams instead of being held in memory.
type tableWriter struct {
	w        io.Writer
	maxWidth int
	cols     []string
	pending  [][]string
	widths   []int
	started  bool
	rows     int
}

const tableSample = 1000

func (t *tableWriter) Header(cols []string) error {
	t.cols = cols
	return nil
}

func (t *tableWriter) cell(v any) string {
	s := Text(v)
	s = strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", " ").Replace(s)
	if t.maxWidth > 0 && utf8.RuneCountInString(s) > t.maxWidth {
		r := []rune(s)
		s = string(r[:t.maxWidth-1]) + "…"
	}
	return s
}

func (t *tableWriter) Row(vals []any) error {
	t.rows++
	rec := make([]string, len(vals))
	for i, v := range vals {
		rec[i] = t.cell(v)
	}
	if !t.started {
		t.pending = append(t.pending, rec)
		if len(t.pending) >= tableSample {
			return t.start()
		}
		return nil
	}
	return t.line(rec)
}

func (t *tableWriter) start() error {
	t.started = true
	t.widths = make([]int, len(t.cols))
	for i, c := range t.cols {
		t.widths[i] = utf8.RuneCountInString(c)
	}
	for _, r := range t.pending {
		for i, c := range r {
			if n := utf8.RuneCountInString(c); n > t.widths[i] {
				t.widths[i] = n
			}
		}
	}
	if err := t.line(t.cols); err != nil {
		return err
	}
	sep := make([]string, len(t.cols))
	for i, w := range t.widths {
		sep[i] = strings.Repeat("─", w)
	}
	if err := t.line(sep); err != nil {
		return err
	}
	for _, r := range t.pending {
		if err := t.line(r); err != nil {
			return err
		}
	}
	t.pending = nil
	return nil
}

func (t *tableWriter) line(rec []string) error {
	var b strings.Builder
	for i, c := range rec {
		if i > 0 {
			b.WriteString("  ")
		}
		b.WriteString(c)
		if i < len(rec)-1 {
			if pad := t.widths[i] - utf8.RuneCountInString(c); pad > 0 {
				b.WriteString(strings.Repeat(" ", pad))
			}
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(t.w, b.String())
	return err
}

func (t *tableWriter) Flush() error {
	if !t.started {
		if err := t.start(); err != nil {
			return err
		}
	}
	noun := "rows"
	if t.rows == 1 {
		noun = "row"
	}
	_, err := fmt.Fprintf(t.w, "(%d %s)\n", t.rows, noun)
	return err
}

// Bytes formats a byte count for people: 512 B, 1.5 KiB, 12.0 MiB, 3.2 GiB.
func Bytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
