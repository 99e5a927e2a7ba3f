package cwpattern

import (
	"strings"
)

// spacePattern is a space-delimited pattern: a list of fields (named, or
// ... for any number of fields) and conditions on the named ones.
type spacePattern struct {
	fields []spaceField
	names  map[string]int // field name -> index in fields
	conds  []*spaceExpr   // all must hold
}

type spaceField struct {
	name     string
	ellipsis bool
}

// spaceExpr is a condition on fields: a comparison or && / || of two.
type spaceExpr struct {
	op    string // "&&", "||", or a comparison operator
	l, r  *spaceExpr
	field int // for comparisons
	val   value
}

func (e *spaceExpr) eval(vals []string) bool {
	switch e.op {
	case "&&":
		return e.l.eval(vals) && e.r.eval(vals)
	case "||":
		return e.l.eval(vals) || e.r.eval(vals)
	}
	text := vals[e.field]
	if e.val.isNum {
		if f, ok := parseNumber(text); ok {
			return compareNum(e.op, f, e.val.num)
		}
		if e.op != "=" && e.op != "!=" {
			return false
		}
	}
	eq := e.val.eqString(text)
	if e.op == "!=" {
		return !eq
	}
	return eq
}

// splitFields splits a line at runs of spaces; text in "…" or […] is one
// field, given without its quotes or brackets.
func splitFields(s string, out []string) []string {
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return out
		}
		var close byte
		switch s[i] {
		case '"':
			close = '"'
		case '[':
			close = ']'
		}
		if close != 0 {
			end := strings.IndexByte(s[i+1:], close)
			if end >= 0 && (i+1+end+1 == len(s) || isSpace(s[i+1+end+1])) {
				out = append(out, s[i+1:i+1+end])
				i = i + 1 + end + 1
				continue
			}
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		out = append(out, s[i:j])
		i = j
	}
}

func (p *spacePattern) match(line string) bool {
	var buf [32]string
	fields := splitFields(line, buf[:0])
	var vbuf [32]string
	var vals []string
	if len(p.fields) > len(vbuf) {
		vals = make([]string, len(p.fields))
	} else {
		vals = vbuf[:len(p.fields)]
	}
	return p.bind(fields, 0, 0, vals)
}

// bind assigns event fields to pattern fields from spec i and event field
// j on, trying every length for each ..., and checks the conditions once
// every field is bound.
func (p *spacePattern) bind(fields []string, i, j int, vals []string) bool {
	for i < len(p.fields) && !p.fields[i].ellipsis {
		if j >= len(fields) {
			return false
		}
		vals[i] = fields[j]
		i++
		j++
	}
	if i == len(p.fields) {
		if j != len(fields) {
			return false
		}
		for k := range p.conds {
			if !p.conds[k].eval(vals) {
				return false
			}
		}
		return true
	}
	// p.fields[i] is ...: it takes k fields.
	rest := 0
	for _, f := range p.fields[i+1:] {
		if !f.ellipsis {
			rest++
		}
	}
	for k := len(fields) - j - rest; k >= 0; k-- {
		if p.bind(fields, i+1, j+k, vals) {
			return true
		}
	}
	return false
}

// ---- parser ----

type spaceParser struct {
	src string
	pos int
	p   *spacePattern
	// pending conditions naming fields defined later
	refs []pendingRef
}

type pendingRef struct {
	e    *spaceExpr
	name string
	pos  int
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == '$' || c == '@' || c == ':' || c == '/' ||
		(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func parseSpace(src string, off int) (*spacePattern, error) {
	sp := &spaceParser{src: src, pos: off + 1, p: &spacePattern{names: map[string]int{}}}
	for {
		sp.ws()
		if sp.pos >= len(src) {
			return nil, errAt(sp.pos, "missing closing ]")
		}
		if src[sp.pos] == ']' && len(sp.p.fields) == 0 {
			return nil, errAt(sp.pos, "empty space-delimited pattern")
		}
		if err := sp.field(); err != nil {
			return nil, err
		}
		sp.ws()
		if sp.pos >= len(src) {
			return nil, errAt(sp.pos, "missing closing ]")
		}
		if src[sp.pos] == ',' {
			sp.pos++
			continue
		}
		if src[sp.pos] == ']' {
			sp.pos++
			break
		}
		return nil, errAt(sp.pos, "expected , or ] but found %q", src[sp.pos:sp.pos+1])
	}
	sp.ws()
	if sp.pos < len(src) {
		return nil, errAt(sp.pos, "unexpected text after ]")
	}
	for _, r := range sp.refs {
		idx, ok := sp.p.names[r.name]
		if !ok {
			return nil, errAt(r.pos, "condition on %q, which is not a field of the pattern", r.name)
		}
		r.e.field = idx
	}
	return sp.p, nil
}

func (sp *spaceParser) ws() {
	for sp.pos < len(sp.src) && isSpace(sp.src[sp.pos]) {
		sp.pos++
	}
}

func (sp *spaceParser) name() (string, int) {
	start := sp.pos
	for sp.pos < len(sp.src) && isNameByte(sp.src[sp.pos]) {
		sp.pos++
	}
	return sp.src[start:sp.pos], start
}

// field parses one field: ..., name, or name followed by conditions.
func (sp *spaceParser) field() error {
	if strings.HasPrefix(sp.src[sp.pos:], "...") {
		sp.pos += 3
		sp.p.fields = append(sp.p.fields, spaceField{ellipsis: true})
		return nil
	}
	name, start := sp.name()
	idx := len(sp.p.fields)
	if name == "" {
		// An unnamed field with a condition ([..., =404, ...]) gets a
		// name of its own. So does the empty last field after a trailing
		// comma ([..., status_code=4*,]): the user guide's extracted
		// values for that pattern show one more field after status_code.
		next := byte(0)
		if sp.pos < len(sp.src) {
			next = sp.src[sp.pos]
		}
		if strings.IndexByte("=!<>", next) < 0 && (next != ']' || idx == 0) {
			return errAt(sp.pos, "expected a field name or ...")
		}
		name = "\x00" + string(rune('0'+idx))
	}
	if _, dup := sp.p.names[name]; dup {
		return errAt(start, "field %q is named twice", name)
	}
	sp.p.names[name] = idx
	sp.p.fields = append(sp.p.fields, spaceField{name: name})
	sp.ws()
	if sp.pos >= len(sp.src) || sp.src[sp.pos] == ',' || sp.src[sp.pos] == ']' {
		return nil
	}
	e, err := sp.or(name, start, true)
	if err != nil {
		return err
	}
	sp.p.conds = append(sp.p.conds, e)
	return nil
}

func (sp *spaceParser) or(name string, npos int, first bool) (*spaceExpr, error) {
	l, err := sp.and(name, npos, first)
	if err != nil {
		return nil, err
	}
	for {
		sp.ws()
		if !strings.HasPrefix(sp.src[sp.pos:], "||") {
			return l, nil
		}
		sp.pos += 2
		r, err := sp.and("", 0, false)
		if err != nil {
			return nil, err
		}
		l = &spaceExpr{op: "||", l: l, r: r}
	}
}

func (sp *spaceParser) and(name string, npos int, first bool) (*spaceExpr, error) {
	l, err := sp.cmp(name, npos, first)
	if err != nil {
		return nil, err
	}
	for {
		sp.ws()
		if !strings.HasPrefix(sp.src[sp.pos:], "&&") {
			return l, nil
		}
		sp.pos += 2
		r, err := sp.cmp("", 0, false)
		if err != nil {
			return nil, err
		}
		l = &spaceExpr{op: "&&", l: l, r: r}
	}
}

// cmp parses "name OP value"; for the first comparison of a field the name
// has been read already.
func (sp *spaceParser) cmp(name string, npos int, first bool) (*spaceExpr, error) {
	if !first {
		sp.ws()
		name, npos = sp.name()
		if name == "" {
			return nil, errAt(sp.pos, "expected a field name after && or ||")
		}
		sp.ws()
	}
	e := &spaceExpr{}
	for _, op := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(sp.src[sp.pos:], op) {
			e.op = op
			sp.pos += len(op)
			break
		}
	}
	if e.op == "" {
		return nil, errAt(sp.pos, "expected an operator (=, !=, <, <=, >, >=), a comma or ] after %s", printable(name))
	}
	sp.ws()
	vpos := sp.pos
	v, end, err := readValue(sp.src, sp.pos, func(c byte) bool {
		return isSpace(c) || c == ',' || c == ']' || c == '&' || c == '|'
	})
	if err != nil {
		return nil, err
	}
	sp.pos = end
	if e.op != "=" && e.op != "!=" && !v.isNum {
		return nil, errAt(vpos, "%s needs a number, not %s", e.op, v.pattern)
	}
	e.val = v
	sp.refs = append(sp.refs, pendingRef{e: e, name: name, pos: npos})
	return e, nil
}

func printable(name string) string {
	if strings.HasPrefix(name, "\x00") {
		return "the field"
	}
	return name
}
