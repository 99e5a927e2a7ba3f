// Package search is trawl's search language: one query box in the
// Kibana/Lucene style (field:value with AWS's own field names, AND/OR/NOT,
// parentheses, quoted phrases, wildcards, ranges, CIDR blocks and free
// text), or a CloudWatch Logs filter pattern. Parse turns the box into a
// Query; Compile turns a Query into parameterised SQL over trawl's tables,
// where every user value is a bound parameter and every identifier comes
// from a fixed list. docs/search.md describes the language.
package search

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/trawl-project/trawl/internal/cwpattern"
)

// Error is a query the language cannot accept, with the place it goes wrong.
type Error struct {
	// Column is the 1-based position (in characters) in the query box.
	Column int
	// Msg says what is wrong.
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("%s at column %d", e.Msg, e.Column) }

// Query is a parsed search box.
type Query struct {
	src  string
	root node               // nil: everything matches
	cw   *cwpattern.Pattern // set when the box is a CloudWatch Logs filter pattern
}

// String returns the query as typed.
func (q *Query) String() string { return q.src }

// Pattern returns the CloudWatch Logs filter pattern the box holds, or nil
// when it is a search-language query.
func (q *Query) Pattern() *cwpattern.Pattern { return q.cw }

type node interface{ isNode() }

type andNode struct{ kids []node }
type orNode struct{ kids []node }
type notNode struct{ x node }

// term is field:value, or free text when field is "".
type term struct {
	field    string
	fieldPos int // byte offset of the field name
	val      value
}

func (andNode) isNode() {}
func (orNode) isNode()  {}
func (notNode) isNode() {}
func (term) isNode()    {}

type valueKind uint8

const (
	vWord   valueKind = iota // a bare word, may hold wildcards
	vPhrase                  // a quoted phrase: literal
	vRange                   // [lo TO hi], {lo TO hi}
	vCmp                     // >=N, >N, <=N, <N
	vExists                  // a lone *
)

// word is one value as typed: its literal text (escapes removed), whether
// it holds unescaped wildcards, and its LIKE pattern (wildcards as % and _,
// literal %, _ and \ escaped with \).
type word struct {
	text string
	wild bool
	like string
	pos  int
}

type value struct {
	kind           valueKind
	w              word // vWord, vPhrase, vCmp (the operand)
	op             string
	lo, hi         word // vRange; text "*" (not wild) means open
	loIncl, hiIncl bool
}

// Parse parses a search box. A box that starts with { or [ is a CloudWatch
// Logs filter pattern (JSON or space-delimited) and is parsed by
// internal/cwpattern.
func Parse(src string) (*Query, error) {
	if !utf8.ValidString(src) {
		return nil, &Error{Column: 1, Msg: "the query is not valid UTF-8"}
	}
	trim := strings.TrimLeft(src, " \t\r\n")
	if strings.HasPrefix(trim, "{") || strings.HasPrefix(trim, "[") {
		pat, err := cwpattern.Parse(src)
		if err != nil {
			var ce *cwpattern.Error
			if errors.As(err, &ce) {
				return nil, &Error{Column: ce.Column, Msg: "filter pattern: " + ce.Msg}
			}
			return nil, &Error{Column: 1, Msg: "filter pattern: " + err.Error()}
		}
		return &Query{src: src, cw: pat}, nil
	}
	p := &parser{src: src}
	p.ws()
	if p.eof() {
		return &Query{src: src}, nil
	}
	n, err := p.or("", 0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if !p.eof() {
		return nil, p.errf(p.pos, "unexpected %q", p.src[p.pos:p.pos+1])
	}
	return &Query{src: src, root: n}, nil
}

const maxDepth = 100

type parser struct {
	src string
	pos int
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) col(pos int) int { return utf8.RuneCountInString(p.src[:pos]) + 1 }

func (p *parser) errf(pos int, format string, args ...any) error {
	return &Error{Column: p.col(pos), Msg: fmt.Sprintf(format, args...)}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *parser) ws() {
	for !p.eof() && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

// keyword reports whether kw (AND, OR, NOT; upper case as in Lucene) or
// its symbol form starts at the current position as a whole word.
func (p *parser) keyword(kw string) bool {
	if !strings.HasPrefix(p.src[p.pos:], kw) {
		return false
	}
	end := p.pos + len(kw)
	if kw == "&&" || kw == "||" || kw == "!" {
		return true
	}
	return end == len(p.src) || isSpace(p.src[end]) || p.src[end] == '('
}

// or parses alternatives; field is the field of an enclosing field:( … ).
func (p *parser) or(field string, depth int) (node, error) {
	if depth > maxDepth {
		return nil, p.errf(p.pos, "the query nests too deeply")
	}
	first, err := p.and(field, depth)
	if err != nil {
		return nil, err
	}
	kids := []node{first}
	for {
		p.ws()
		var kw string
		switch {
		case p.keyword("OR"):
			kw = "OR"
		case p.keyword("||"):
			kw = "||"
		default:
			if len(kids) == 1 {
				return first, nil
			}
			return orNode{kids}, nil
		}
		at := p.pos
		p.pos += len(kw)
		p.ws()
		if p.eof() || p.src[p.pos] == ')' {
			return nil, p.errf(at, "expected a term after %s", kw)
		}
		n, err := p.and(field, depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
}

func (p *parser) and(field string, depth int) (node, error) {
	first, err := p.unary(field, depth)
	if err != nil {
		return nil, err
	}
	kids := []node{first}
	for {
		p.ws()
		if p.eof() || p.src[p.pos] == ')' || p.keyword("OR") || p.keyword("||") {
			break
		}
		for _, kw := range []string{"AND", "&&"} {
			if p.keyword(kw) {
				at := p.pos
				p.pos += len(kw)
				p.ws()
				if p.eof() || p.src[p.pos] == ')' || p.keyword("OR") || p.keyword("AND") {
					return nil, p.errf(at, "expected a term after %s", kw)
				}
				break
			}
		}
		n, err := p.unary(field, depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return andNode{kids}, nil
}

func (p *parser) unary(field string, depth int) (node, error) {
	p.ws()
	if p.eof() {
		return nil, p.errf(p.pos, "expected a term")
	}
	if depth > maxDepth {
		return nil, p.errf(p.pos, "the query nests too deeply")
	}
	at := p.pos
	switch {
	case p.keyword("NOT"), p.keyword("!"),
		p.src[p.pos] == '-' && p.pos+1 < len(p.src) && !isSpace(p.src[p.pos+1]):
		switch {
		case p.keyword("NOT"):
			p.pos += 3
		default:
			p.pos++
		}
		p.ws()
		if p.eof() || p.src[p.pos] == ')' {
			return nil, p.errf(at, "expected a term after NOT")
		}
		x, err := p.unary(field, depth+1)
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	case p.src[p.pos] == '(':
		return p.group(field, depth)
	case p.src[p.pos] == ')':
		return nil, p.errf(p.pos, "unexpected \")\" without a matching \"(\"")
	}
	return p.term(field, depth)
}

func (p *parser) group(field string, depth int) (node, error) {
	open := p.pos
	p.pos++
	p.ws()
	if p.eof() {
		return nil, p.errf(open, "\"(\" is never closed")
	}
	if p.src[p.pos] == ')' {
		return nil, p.errf(p.pos, "expected a term inside \"( )\"")
	}
	n, err := p.or(field, depth+1)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.eof() || p.src[p.pos] != ')' {
		return nil, p.errf(open, "\"(\" is never closed")
	}
	p.pos++
	return n, nil
}

// term parses field:value, or a free-text word or phrase (which takes the
// enclosing field, if any).
func (p *parser) term(field string, depth int) (node, error) {
	start := p.pos
	if p.src[p.pos] == '"' {
		w, err := p.phrase()
		if err != nil {
			return nil, err
		}
		return term{field: field, fieldPos: start, val: value{kind: vPhrase, w: w}}, nil
	}
	if field == "" {
		// A field name: up to ':' (unescaped), whitespace or a parenthesis.
		i := p.pos
		for i < len(p.src) && !isSpace(p.src[i]) && p.src[i] != ':' && p.src[i] != '(' && p.src[i] != ')' && p.src[i] != '"' && p.src[i] != '\\' {
			i++
		}
		if i < len(p.src) && p.src[i] == ':' {
			if i == p.pos {
				return nil, p.errf(p.pos, "expected a field name before \":\"")
			}
			name := p.src[p.pos:i]
			p.pos = i + 1
			p.ws()
			if p.eof() || p.src[p.pos] == ')' {
				return nil, p.errf(p.pos, "expected a value after %q", name+":")
			}
			if p.src[p.pos] == '(' {
				if depth > maxDepth {
					return nil, p.errf(p.pos, "the query nests too deeply")
				}
				return p.group(name, depth)
			}
			v, err := p.value(name)
			if err != nil {
				return nil, err
			}
			return term{field: name, fieldPos: start, val: v}, nil
		}
	}
	v, err := p.value(field)
	if err != nil {
		return nil, err
	}
	return term{field: field, fieldPos: start, val: v}, nil
}

func (p *parser) value(field string) (value, error) {
	c := p.src[p.pos]
	switch {
	case c == '"':
		w, err := p.phrase()
		return value{kind: vPhrase, w: w}, err
	case c == '[' || c == '{':
		return p.rangeValue(field)
	case c == '>' || c == '<':
		at := p.pos
		op := p.src[p.pos : p.pos+1]
		p.pos++
		if !p.eof() && p.src[p.pos] == '=' {
			op += "="
			p.pos++
		}
		if p.eof() || isSpace(p.src[p.pos]) || p.src[p.pos] == ')' {
			return value{}, p.errf(at, "expected a value after %q", op)
		}
		w, err := p.word()
		w.pos = at // errors about the operand point at the operator
		return value{kind: vCmp, op: op, w: w}, err
	}
	w, err := p.word()
	if err != nil {
		return value{}, err
	}
	if w.wild && w.text == "*" {
		return value{kind: vExists, w: w}, nil
	}
	return value{kind: vWord, w: w}, nil
}

// word reads a bare value up to whitespace or a parenthesis. Colons are
// part of the value (ARNs, IPv6 addresses); \ escapes the next character.
func (p *parser) word() (word, error) {
	start := p.pos
	var text, like strings.Builder
	wild := false
	for !p.eof() {
		c := p.src[p.pos]
		if isSpace(c) || c == '(' || c == ')' {
			break
		}
		if c == '"' {
			return word{}, p.errf(p.pos, "unexpected quote inside a word (quote the whole value)")
		}
		if c == '\\' {
			if p.pos+1 >= len(p.src) {
				return word{}, p.errf(p.pos, "\\ at the end of the query escapes nothing")
			}
			r, n := utf8.DecodeRuneInString(p.src[p.pos+1:])
			text.WriteRune(r)
			likeLiteral(&like, r)
			p.pos += 1 + n
			continue
		}
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		switch r {
		case '*':
			wild = true
			text.WriteRune(r)
			like.WriteByte('%')
		case '?':
			wild = true
			text.WriteRune(r)
			like.WriteByte('_')
		default:
			text.WriteRune(r)
			likeLiteral(&like, r)
		}
		p.pos += n
	}
	if p.pos == start {
		return word{}, p.errf(start, "expected a value")
	}
	return word{text: text.String(), wild: wild, like: like.String(), pos: start}, nil
}

func likeLiteral(b *strings.Builder, r rune) {
	if r == '%' || r == '_' || r == '\\' {
		b.WriteByte('\\')
	}
	b.WriteRune(r)
}

// phrase reads a quoted phrase; \" and \\ are escapes. A phrase is literal.
func (p *parser) phrase() (word, error) {
	start := p.pos
	p.pos++
	var text, like strings.Builder
	for {
		if p.eof() {
			return word{}, p.errf(start, "the quote is never closed")
		}
		c := p.src[p.pos]
		if c == '"' {
			p.pos++
			return word{text: text.String(), like: like.String(), pos: start}, nil
		}
		if c == '\\' && p.pos+1 < len(p.src) {
			p.pos++
		}
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		text.WriteRune(r)
		likeLiteral(&like, r)
		p.pos += n
	}
}

func (p *parser) rangeValue(field string) (value, error) {
	open := p.pos
	v := value{kind: vRange, loIncl: p.src[p.pos] == '['}
	p.pos++
	p.ws()
	if p.eof() {
		return v, p.errf(open, "the range is never closed (expected [low TO high])")
	}
	lo, err := p.rangeWord()
	if err != nil {
		return v, err
	}
	p.ws()
	if !p.keyword("TO") {
		return v, p.errf(p.pos, "expected TO in the range after %q", field+":")
	}
	p.pos += 2
	p.ws()
	if p.eof() {
		return v, p.errf(open, "the range is never closed (expected [low TO high])")
	}
	hi, err := p.rangeWord()
	if err != nil {
		return v, err
	}
	p.ws()
	if p.eof() || (p.src[p.pos] != ']' && p.src[p.pos] != '}') {
		return v, p.errf(open, "the range is never closed (expected ] or })")
	}
	v.hiIncl = p.src[p.pos] == ']'
	p.pos++
	v.lo, v.hi = lo, hi
	return v, nil
}

// rangeWord reads one end of a range: a phrase or a word up to whitespace
// or a closing bracket.
func (p *parser) rangeWord() (word, error) {
	if p.src[p.pos] == '"' {
		return p.phrase()
	}
	start := p.pos
	for !p.eof() && !isSpace(p.src[p.pos]) && p.src[p.pos] != ']' && p.src[p.pos] != '}' {
		p.pos++
	}
	if p.pos == start {
		return word{}, p.errf(start, "expected a range bound")
	}
	t := p.src[start:p.pos]
	return word{text: t, pos: start}, nil
}

// Quote returns s as a quoted phrase that the language reads back as
// exactly s (no wildcards): the UI's "filter for this value" writes
// field + ":" + Quote(value).
func Quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
