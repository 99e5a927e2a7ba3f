package search

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/trawl-project/trawl/internal/jsonscan"
)

// Residual is the part of a query SQL cannot evaluate, evaluated in Go:
// on ClickHouse 18.16 (no JSON functions) a query naming a free-form JSON
// path (requestParameters.bucketName:x) compiles to a pre-filter in SQL
// (every JSON-path term becomes a search for its last key in raw, or
// nothing under NOT) and the whole query as a Residual: its JSON-path
// terms read from raw as DuckDB's json_extract_string does, its other
// terms' truth computed by SQL (Select lists them after raw).
type Residual struct {
	root rnode
	sql  []string // SQL terms whose truth the residual reads, in order
	args []any    // their bound arguments, in order
}

// rnode is a node of a residual: rAnd, rOr, rNot, rSQL or *rPath.
type rnode any

type (
	rAnd struct{ kids []rnode }
	rOr  struct{ kids []rnode }
	rNot struct{ x rnode }
	// rSQL is the truth of the residual's i-th SQL term.
	rSQL struct{ i int }
)

// rPath is a JSON-path term: the path's value in raw (ok false for a
// missing value or JSON null) and the test on it.
type rPath struct {
	segs []pathSeg
	test func(v string) bool
}

// pathSeg is a member name and the array indexes after it.
type pathSeg struct {
	name string
	idx  []int
}

// resBuilder collects the SQL terms of a residual.
type resBuilder struct {
	sql  []string
	args []any
}

// hasPath reports whether a query names a free-form JSON path of t.
func hasPath(t *Table, n node) bool {
	found := false
	walk(n, func(tm term) {
		if tm.field == "" {
			return
		}
		if tg, ok := t.resolve(tm.field); ok && tg.path != "" {
			found = true
		}
	})
	return found
}

// compileResidual compiles a ClickHouse query with JSON paths: Where is
// the time range and a pre-filter of the query, and the Residual decides.
func compileResidual(q *Query, opt Options, t *Table, c *compiler) (*Compiled, error) {
	c.res = &resBuilder{}
	parts := c.timeRange(t, opt)
	var b strings.Builder
	root, err := c.residual(&b, q.root, true)
	if err != nil {
		return nil, err
	}
	parts = append(parts, "("+b.String()+")")
	return &Compiled{
		Table: t, Where: strings.Join(parts, " AND "), Args: c.args, Pattern: q.cw, Dialect: c.d,
		Residual: &Residual{root: root, sql: c.res.sql, args: c.res.args},
	}, nil
}

// residual writes the pre-filter of n (positive: not under an odd number
// of NOTs) and returns n's residual. Only whether a term is true matters
// (WHERE keeps true rows; NOT applies to coalesce(x, false)), so a
// JSON-path term can be replaced by a condition true whenever it is
// (positive) or by false (under NOT).
func (c *compiler) residual(b *strings.Builder, n node, positive bool) (rnode, error) {
	switch x := n.(type) {
	case andNode, orNode:
		kids, op := []node(nil), " AND "
		if a, ok := x.(andNode); ok {
			kids = a.kids
		} else {
			kids, op = x.(orNode).kids, " OR "
		}
		out := make([]rnode, len(kids))
		b.WriteByte('(')
		for i, k := range kids {
			if i > 0 {
				b.WriteString(op)
			}
			r, err := c.residual(b, k, positive)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		b.WriteByte(')')
		if op == " AND " {
			return rAnd{out}, nil
		}
		return rOr{out}, nil
	case notNode:
		b.WriteString("(NOT coalesce(")
		r, err := c.residual(b, x.x, !positive)
		if err != nil {
			return nil, err
		}
		b.WriteString(", 0))")
		return rNot{r}, nil
	case term:
		tg, ok := c.t.resolve(x.field)
		if x.field == "" || !ok || tg.path == "" {
			if err := c.term(b, x); err != nil {
				return nil, err
			}
			// The term again for the select list, with its own arguments.
			sub := &compiler{t: c.t, src: c.src, d: c.d}
			var sb strings.Builder
			if err := sub.term(&sb, x); err != nil {
				return nil, err
			}
			c.res.sql = append(c.res.sql, sb.String())
			c.res.args = append(c.res.args, sub.args...)
			return rSQL{len(c.res.sql) - 1}, nil
		}
		p, err := c.pathTerm(tg, x)
		if err != nil {
			return nil, err
		}
		if positive {
			last := p.segs[len(p.segs)-1].name
			b.WriteString("(position(raw, " + c.arg(`"`+last+`"`) + ") > 0)")
		} else {
			b.WriteString("0")
		}
		return p, nil
	}
	return nil, c.errf(0, "unexpected query node %T", n)
}

// pathTerm compiles a JSON-path term to its Go test, with the meaning the
// DuckDB SQL gives it (json_extract_string, compared as text; TRY_CAST to
// DOUBLE for comparisons and ranges).
func (c *compiler) pathTerm(tg target, tm term) (*rPath, error) {
	p := &rPath{segs: parsePath(tg.path)}
	v := tm.val
	num := func(w word) (float64, error) {
		arg, err := c.operand(tg, tStr, w, tm.field)
		if err != nil {
			return 0, err
		}
		f, _ := arg.(float64)
		return f, nil
	}
	switch v.kind {
	case vExists:
		p.test = func(string) bool { return true }
	case vCmp:
		f, err := num(v.w)
		if err != nil {
			return nil, err
		}
		op := v.op
		p.test = func(s string) bool {
			x, ok := toDouble(s)
			return ok && cmpFloat(x, op, f)
		}
	case vRange:
		type bound struct {
			op string
			f  float64
		}
		var bs []bound
		for _, end := range []struct {
			w    word
			incl bool
			op   string
		}{{v.lo, v.loIncl, ">"}, {v.hi, v.hiIncl, "<"}} {
			if end.w.text == "*" {
				continue
			}
			f, err := num(end.w)
			if err != nil {
				return nil, err
			}
			op := end.op
			if end.incl {
				op += "="
			}
			bs = append(bs, bound{op, f})
		}
		if len(bs) == 0 {
			p.test = func(string) bool { return true }
			break
		}
		p.test = func(s string) bool {
			x, ok := toDouble(s)
			if !ok {
				return false
			}
			for _, b := range bs {
				if !cmpFloat(x, b.op, b.f) {
					return false
				}
			}
			return true
		}
	default:
		w := v.w
		if v.kind == vWord && w.wild {
			re := likeRegexp(w.like)
			p.test = re.MatchString
		} else {
			text := w.text
			p.test = func(s string) bool { return s == text }
		}
	}
	return p, nil
}

// toDouble reads text as DuckDB's TRY_CAST(… AS DOUBLE) does.
func toDouble(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil
}

func cmpFloat(x float64, op string, f float64) bool {
	switch op {
	case ">":
		return x > f
	case ">=":
		return x >= f
	case "<":
		return x < f
	case "<=":
		return x <= f
	}
	return x == f
}

// likeRegexp is a LIKE pattern (escape \) as an anchored regular
// expression (case-sensitive, as LIKE is).
func likeRegexp(like string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	for i := 0; i < len(like); i++ {
		switch ch := like[i]; ch {
		case '\\':
			if i+1 < len(like) {
				i++
				b.WriteString(regexp.QuoteMeta(like[i : i+1]))
			}
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(like[i : i+1]))
		}
	}
	b.WriteString(`\z`)
	return regexp.MustCompile(b.String())
}

// parsePath splits a path jsonPath checked ("$.a.b[0]") into segments.
func parsePath(path string) []pathSeg {
	var out []pathSeg
	for _, seg := range strings.Split(strings.TrimPrefix(path, "$."), ".") {
		s := pathSeg{name: seg}
		if i := strings.IndexByte(seg, '['); i >= 0 {
			s.name = seg[:i]
			for _, ix := range strings.Split(strings.TrimSuffix(seg[i+1:], "]"), "][") {
				n, _ := strconv.Atoi(ix)
				s.idx = append(s.idx, n)
			}
		}
		out = append(out, s)
	}
	return out
}

// extract returns the text of the value at the path in the JSON record
// raw, as json_extract_string does: a string's content, the JSON text of
// anything else; ok is false when the value is missing or null.
func (p *rPath) extract(raw string) (string, bool) {
	cur := raw
	for _, s := range p.segs {
		found := false
		jsonscan.Members(cur, func(key, value string) bool {
			if key == s.name {
				cur, found = value, true
				return false
			}
			return true
		})
		if !found {
			return "", false
		}
		for _, ix := range s.idx {
			found = false
			k := 0
			jsonscan.Elements(cur, func(value string) bool {
				if k == ix {
					cur, found = value, true
					return false
				}
				k++
				return true
			})
			if !found {
				return "", false
			}
		}
	}
	if jsonscan.IsNull(cur) {
		return "", false
	}
	return jsonscan.Text(cur), true
}

// eval evaluates a residual node on a row: its raw record and the truth
// of the residual's SQL terms (0 or 1).
func (r *Residual) eval(n rnode, raw string, terms []any) bool {
	switch x := n.(type) {
	case rAnd:
		for _, k := range x.kids {
			if !r.eval(k, raw, terms) {
				return false
			}
		}
		return true
	case rOr:
		for _, k := range x.kids {
			if r.eval(k, raw, terms) {
				return true
			}
		}
		return false
	case rNot:
		return !r.eval(x.x, raw, terms)
	case rSQL:
		if x.i >= len(terms) {
			return false
		}
		switch v := terms[x.i].(type) {
		case int64:
			return v != 0
		case bool:
			return v
		case uint8:
			return v != 0
		}
		return false
	case *rPath:
		v, ok := x.extract(raw)
		return ok && x.test(v)
	}
	return false
}
