package cwpattern

import (
	"encoding/json"
	"strconv"
	"strings"
	"unsafe"

	"github.com/trawl-project/trawl/internal/jsonscan"
)

// node is a JSON-pattern expression.
type node interface {
	eval(ev *jsonEvent) bool
}

type andNode struct{ l, r node }
type orNode struct{ l, r node }

func (n *andNode) eval(ev *jsonEvent) bool { return n.l.eval(ev) && n.r.eval(ev) }
func (n *orNode) eval(ev *jsonEvent) bool  { return n.l.eval(ev) || n.r.eval(ev) }

type step struct {
	key   string
	index int // -1 for a key step
}

type condKind uint8

const (
	condCompare condKind = iota
	condIsNull
	condIsTrue
	condIsFalse
	condNotExists
)

type condNode struct {
	sel  []step
	kind condKind
	op   string
	val  value
	slot int // index of the selector's cached value in jsonEvent
}

// jsonEvent is one event being matched: its text, validated once, and the
// values of the selectors resolved so far.
type jsonEvent struct {
	raw  string
	vals []string
	done []bool
	ok   []bool
}

func (ev *jsonEvent) lookup(c *condNode) (string, bool) {
	if ev.done[c.slot] {
		return ev.vals[c.slot], ev.ok[c.slot]
	}
	v, ok := resolve(ev.raw, c.sel)
	ev.vals[c.slot], ev.ok[c.slot], ev.done[c.slot] = v, ok, true
	return v, ok
}

// resolve walks a selector through raw JSON text and returns the selected
// value's text.
func resolve(raw string, sel []step) (string, bool) {
	cur := strings.TrimSpace(raw)
	for _, st := range sel {
		found := false
		var next string
		if st.index < 0 {
			if cur == "" || cur[0] != '{' {
				return "", false
			}
			jsonscan.Members(cur, func(k, v string) bool {
				if k == st.key {
					next, found = v, true
					return false
				}
				return true
			})
		} else {
			if cur == "" || cur[0] != '[' {
				return "", false
			}
			i := 0
			jsonscan.Elements(cur, func(v string) bool {
				if i == st.index {
					next, found = v, true
					return false
				}
				i++
				return true
			})
		}
		if !found {
			return "", false
		}
		cur = next
	}
	return cur, true
}

func (c *condNode) eval(ev *jsonEvent) bool {
	v, ok := ev.lookup(c)
	switch c.kind {
	case condNotExists:
		return !ok
	}
	if !ok {
		return false
	}
	switch c.kind {
	case condIsNull:
		return v == "null"
	case condIsTrue:
		return v == "true"
	case condIsFalse:
		return v == "false"
	}
	if v == "" || v == "null" || v[0] == '{' || v[0] == '[' {
		return false
	}
	if c.val.isNum {
		if v[0] == '"' || v == "true" || v == "false" {
			return false
		}
		f, err := strconv.ParseFloat(v, 64)
		return err == nil && compareNum(c.op, f, c.val.num)
	}
	if v[0] == '"' && (len(v) < 2 || v[len(v)-1] != '"') {
		return false // malformed; the event is not valid JSON
	}
	eq := c.val.eqString(jsonscan.Text(v))
	if c.op == "!=" {
		return !eq
	}
	return eq
}

// matchJSON evaluates the expression over the event, resolving each
// selector once, and accepts a match only when the event is valid JSON: an
// event the expression rejects needs no validation (the walk stops early on
// malformed text), so most events are read once.
func matchJSON(n node, event string) bool {
	i := 0
	for i < len(event) && isSpace(event[i]) {
		i++
	}
	if i == len(event) || event[i] != '{' {
		return false
	}
	slots := countSlots(n)
	var buf [8]string
	var b1, b2 [8]bool
	ev := jsonEvent{raw: event}
	if slots > len(buf) {
		ev.vals, ev.done, ev.ok = make([]string, slots), make([]bool, slots), make([]bool, slots)
	} else {
		ev.vals, ev.done, ev.ok = buf[:slots], b1[:slots], b2[:slots]
	}
	return n.eval(&ev) && json.Valid(unsafe.Slice(unsafe.StringData(event), len(event)))
}

func countSlots(n node) int {
	switch n := n.(type) {
	case *andNode:
		return max(countSlots(n.l), countSlots(n.r))
	case *orNode:
		return max(countSlots(n.l), countSlots(n.r))
	case *condNode:
		return n.slot + 1
	}
	return 0
}

// ---- parser ----

type jsonParser struct {
	src   string
	pos   int
	slots map[string]int
}

func parseJSON(src string, off int) (node, error) {
	p := &jsonParser{src: src, pos: off + 1, slots: map[string]int{}}
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		return nil, errAt(p.pos, "empty JSON pattern")
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.pos >= len(p.src) {
		return nil, errAt(p.pos, "missing closing }")
	}
	if p.src[p.pos] != '}' {
		return nil, errAt(p.pos, "expected &&, || or } but found %q", p.rest())
	}
	p.pos++
	p.ws()
	if p.pos < len(p.src) {
		return nil, errAt(p.pos, "unexpected text after }")
	}
	return n, nil
}

func (p *jsonParser) rest() string {
	r := p.src[p.pos:]
	if len(r) > 12 {
		r = r[:12] + "…"
	}
	return r
}

func (p *jsonParser) ws() {
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

func (p *jsonParser) peek(s string) bool { return strings.HasPrefix(p.src[p.pos:], s) }

func (p *jsonParser) or() (node, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for {
		p.ws()
		if !p.peek("||") {
			return l, nil
		}
		p.pos += 2
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &orNode{l, r}
	}
}

func (p *jsonParser) and() (node, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		p.ws()
		if !p.peek("&&") {
			return l, nil
		}
		p.pos += 2
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &andNode{l, r}
	}
}

func (p *jsonParser) unary() (node, error) {
	p.ws()
	if p.pos >= len(p.src) {
		return nil, errAt(p.pos, "expected a condition but the pattern ended")
	}
	if p.src[p.pos] == '(' {
		open := p.pos
		p.pos++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return nil, errAt(open, "unbalanced parenthesis")
		}
		p.pos++
		return n, nil
	}
	return p.cond()
}

func isSelectorByte(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '.', '[', ']', '=', '!', '<', '>', '(', ')', '&', '|', '}', '"':
		return false
	}
	return true
}

func (p *jsonParser) cond() (node, error) {
	start := p.pos
	if p.src[p.pos] != '$' {
		return nil, errAt(p.pos, "expected a selector starting with $ but found %q", p.rest())
	}
	p.pos++
	var sel []step
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '.' {
			p.pos++
			k := p.pos
			for p.pos < len(p.src) && isSelectorByte(p.src[p.pos]) {
				p.pos++
			}
			if p.pos == k {
				return nil, errAt(k, "expected a field name after .")
			}
			name := p.src[k:p.pos]
			if name == "*" {
				return nil, errAt(k, "wildcard selectors ($.*) are not supported")
			}
			sel = append(sel, step{key: name, index: -1})
			continue
		}
		if c == '[' {
			k := p.pos
			end := strings.IndexByte(p.src[k:], ']')
			if end < 0 {
				return nil, errAt(k, "missing ] in array index")
			}
			num := p.src[k+1 : k+end]
			n, err := strconv.Atoi(num)
			if err != nil || n < 0 {
				if num == "*" {
					return nil, errAt(k+1, "wildcard array indexes ([*]) are not supported")
				}
				return nil, errAt(k+1, "array index must be a non-negative integer, not %q", num)
			}
			sel = append(sel, step{index: n})
			p.pos = k + end + 1
			continue
		}
		break
	}
	if len(sel) == 0 {
		return nil, errAt(start, "selector must name a field ($.name)")
	}
	selText := p.src[start:p.pos]
	slot, ok := p.slots[selText]
	if !ok {
		slot = len(p.slots)
		p.slots[selText] = slot
	}
	c := &condNode{sel: sel, slot: slot}
	p.ws()
	opPos := p.pos
	for _, kw := range []struct {
		word string
		k    condKind
	}{{"IS NULL", condIsNull}, {"IS TRUE", condIsTrue}, {"IS FALSE", condIsFalse}, {"NOT EXISTS", condNotExists}} {
		if p.keyword(kw.word) {
			c.kind = kw.k
			return c, nil
		}
	}
	for _, op := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if p.peek(op) {
			c.op = op
			p.pos += len(op)
			break
		}
	}
	if c.op == "" {
		if p.pos >= len(p.src) {
			return nil, errAt(p.pos, "expected an operator after %s but the pattern ended", selText)
		}
		return nil, errAt(opPos, "expected an operator (=, !=, <, <=, >, >=, IS NULL, IS TRUE, IS FALSE, NOT EXISTS) after %s", selText)
	}
	p.ws()
	vpos := p.pos
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if c.op != "=" && c.op != "!=" && !v.isNum {
		return nil, errAt(vpos, "%s needs a number, not %s", c.op, v.pattern)
	}
	c.val = v
	return c, nil
}

// keyword consumes a case-insensitive keyword sequence (words separated by
// any spaces) followed by a delimiter.
func (p *jsonParser) keyword(kw string) bool {
	i := p.pos
	for wi, w := range strings.Fields(kw) {
		if wi > 0 {
			j := i
			for j < len(p.src) && isSpace(p.src[j]) {
				j++
			}
			if j == i {
				return false
			}
			i = j
		}
		if len(p.src)-i < len(w) || !strings.EqualFold(p.src[i:i+len(w)], w) {
			return false
		}
		i += len(w)
	}
	if i < len(p.src) && isSelectorByte(p.src[i]) {
		return false
	}
	p.pos = i
	return true
}

// value reads a literal: "quoted", %regex% or a bare word.
func (p *jsonParser) value() (value, error) {
	v, end, err := readValue(p.src, p.pos, func(c byte) bool {
		return isSpace(c) || c == ')' || c == '}' || c == '&' || c == '|'
	})
	if err != nil {
		return v, err
	}
	p.pos = end
	return v, nil
}

// readValue reads a literal at src[i]; stop ends a bare word.
func readValue(src string, i int, stop func(byte) bool) (value, int, error) {
	var v value
	if i >= len(src) {
		return v, i, errAt(i, "expected a value but the pattern ended")
	}
	switch src[i] {
	case '"':
		text, end, err := readQuoted(src, i)
		if err != nil {
			return v, i, err
		}
		v.str, v.quoted, v.pattern = text, true, src[i:end]
		v.wild = isWild(text)
		return v, end, nil
	case '%':
		end := strings.IndexByte(src[i+1:], '%')
		if end < 0 {
			return v, i, errAt(i, "regular expression has no closing %%")
		}
		re, err := compileRegex(src[i+1:i+1+end], i)
		if err != nil {
			return v, i, err
		}
		v.re, v.pattern = re, src[i:i+end+2]
		return v, i + end + 2, nil
	}
	j := i
	for j < len(src) && !stop(src[j]) {
		if src[j] == '"' {
			return v, j, errAt(j, "unexpected quote in value (quote the whole value)")
		}
		j++
	}
	if j == i {
		return v, i, errAt(i, "expected a value")
	}
	v.str, v.pattern = src[i:j], src[i:j]
	v.wild = isWild(v.str)
	if f, ok := parseNumber(v.str); ok {
		v.num, v.isNum = f, true
	}
	return v, j, nil
}
