package api

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trawl-project/trawl/internal/search"
)

// MaxQueryLength is the longest search query accepted, in bytes.
const MaxQueryLength = 16 << 10

// query is a parsed search request: the compiled query and its time range.
type query struct {
	src      string
	c        *search.Compiled
	from, to time.Time
}

// parseTime reads a request time: RFC 3339, integer epoch milliseconds,
// or now, now-24h, now-7d (relative to now).
func parseTime(name, s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms < -62135596800000 || ms > 253402300799999 {
			return time.Time{}, badRequest("%s: %d milliseconds is out of range", name, ms)
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	if rest, ok := strings.CutPrefix(s, "now"); ok {
		if rest == "" {
			return now.UTC(), nil
		}
		if rest[0] == '-' {
			d, err := parseAge(rest[1:])
			if err == nil {
				return now.Add(-d).UTC(), nil
			}
		}
		return time.Time{}, badRequest("%s: %q is not a time (now, now-15m, now-24h, now-7d)", name, s)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, badRequest("%s: %q is not a time (RFC 3339 such as 2026-11-30T12:00:00Z, epoch milliseconds, or now-24h)", name, s)
}

// parseAge reads 15m, 24h, 7d, 2w.
func parseAge(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 || v > 100000 {
			return 0, fmt.Errorf("bad age %q", s)
		}
		return time.Duration(v) * 24 * time.Hour, nil
	}
	if n, ok := strings.CutSuffix(s, "w"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 || v > 10000 {
			return 0, fmt.Errorf("bad age %q", s)
		}
		return time.Duration(v) * 7 * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad age %q", s)
	}
	return d, nil
}

// tableParam reads type: a table, or nil when absent.
func tableParam(r *http.Request) (*search.Table, error) {
	typ := r.URL.Query().Get("type")
	if typ == "" {
		return nil, nil
	}
	t := search.TableByType(typ)
	if t == nil {
		return nil, badRequest("type: unknown type %q (use cloudtrail, vpcflow or guardduty)", typ)
	}
	return t, nil
}

// parseQuery reads q, type, from and to and compiles the search.
func (a *API) parseQuery(r *http.Request) (*query, error) {
	v := r.URL.Query()
	src := v.Get("q")
	if len(src) > MaxQueryLength {
		return nil, badRequest("q: the query is %d bytes; the most is %d", len(src), MaxQueryLength)
	}
	if !utf8.ValidString(src) {
		return nil, badRequest("q: the query is not valid UTF-8")
	}
	if i := strings.IndexByte(src, 0); i >= 0 {
		return nil, &httpError{status: http.StatusBadRequest, msg: "q: the query holds a NUL character", position: utf8.RuneCountInString(src[:i]) + 1}
	}
	t, err := tableParam(r)
	if err != nil {
		return nil, err
	}
	now := a.opt.Now()
	q := &query{src: src}
	if q.from, err = parseTime("from", v.Get("from"), now); err != nil {
		return nil, err
	}
	if q.to, err = parseTime("to", v.Get("to"), now); err != nil {
		return nil, err
	}
	if !q.from.IsZero() && !q.to.IsZero() && !q.from.Before(q.to) {
		return nil, badRequest("from (%s) must be before to (%s)", q.from.Format(time.RFC3339Nano), q.to.Format(time.RFC3339Nano))
	}
	c, err := search.ParseCompile(src, search.Options{Table: t, Since: q.from, Until: q.to, Dialect: a.dialect()})
	if err != nil {
		var se *search.Error
		if errors.As(err, &se) {
			return nil, &httpError{status: http.StatusBadRequest, msg: "bad query: " + se.Error(), position: max(se.Column, 1)}
		}
		return nil, badRequest("bad query: %v", err)
	}
	q.c = c
	return q, nil
}

// intParam reads an integer parameter with a default and bounds.
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("%s: %q is not a whole number from %d to %d", name, s, lo, hi)
	}
	return n, nil
}

// columnsParam reads a comma-separated list of field or column names
// (fields=eventName,source_ip) as columns of t; def when absent.
func columnsParam(r *http.Request, name string, t *search.Table, def []string) ([]string, error) {
	s := strings.TrimSpace(r.URL.Query().Get(name))
	if s == "" {
		return def, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		col := t.Column(f)
		if col == "" {
			return nil, badRequest("%s: %q is not a column of %s (see /api/fieldlist?type=%s)", name, f, t.Type, t.Type)
		}
		if !seen[col] {
			seen[col] = true
			out = append(out, col)
		}
	}
	if len(out) == 0 {
		return def, nil
	}
	if len(out) > 200 {
		return nil, badRequest("%s: at most 200 columns", name)
	}
	return out, nil
}

// jsonValue turns a value read from DuckDB into what JSON shows: times in
// RFC 3339 UTC, bytes as text, and anything JSON cannot hold as text.
func jsonValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int64, int32, int16, int8, int, uint64, uint32, uint16, uint8:
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	case float32:
		return jsonValue(float64(x))
	case time.Time:
		return formatTime(x)
	case []byte:
		return string(x)
	case *big.Int:
		if x.IsInt64() {
			return x.Int64()
		}
		return x.String()
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// formatTime writes a time as the API does: RFC 3339, nanoseconds, UTC.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
