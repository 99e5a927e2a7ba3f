// Package cwpattern implements CloudWatch Logs filter patterns (the
// language of metric filters, subscription filters, FilterLogEvents and
// Live Tail): term patterns for unstructured events, JSON patterns
// ({ $.field = "value" && … }) and space-delimited patterns
// ([ip, user, …, status = 404, bytes]). See docs/match.md.
package cwpattern

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unsafe"
)

// Pattern is a parsed filter pattern. It is safe for concurrent use.
type Pattern struct {
	src   string
	kind  kind
	terms *termPattern
	json  node
	space *spacePattern
}

type kind uint8

const (
	kindAll kind = iota // the empty pattern: every event
	kindTerms
	kindJSON
	kindSpace
)

// String returns the pattern as it was given.
func (p *Pattern) String() string { return p.src }

// Error is a syntax error at a 1-based column of the pattern.
type Error struct {
	Column int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("column %d: %s", e.Column, e.Msg) }

func errAt(pos int, format string, args ...any) error {
	return &Error{Column: pos + 1, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses a filter pattern. The kind is chosen as CloudWatch Logs
// does: a pattern in { } is a JSON pattern, one in [ ] a space-delimited
// pattern, anything else a term pattern; an empty pattern matches every
// event.
func Parse(pattern string) (*Pattern, error) {
	p := &Pattern{src: pattern}
	s := strings.TrimSpace(pattern)
	off := strings.Index(pattern, s)
	switch {
	case s == "" || s == `""`:
		p.kind = kindAll
	case s[0] == '{':
		n, err := parseJSON(pattern, off)
		if err != nil {
			return nil, err
		}
		p.kind, p.json = kindJSON, n
	case s[0] == '[':
		sp, err := parseSpace(pattern, off)
		if err != nil {
			return nil, err
		}
		p.kind, p.space = kindSpace, sp
	default:
		t, err := parseTerms(pattern, off)
		if err != nil {
			return nil, err
		}
		p.kind, p.terms = kindTerms, t
	}
	return p, nil
}

// Match reports whether one log event matches: a JSON object's text for
// JSON patterns (anything else never matches them), a line of text for term
// and space-delimited patterns.
func (p *Pattern) Match(event []byte) bool {
	// Nothing keeps the string after Match returns, so it may share the
	// caller's bytes.
	s := unsafe.String(unsafe.SliceData(event), len(event))
	switch p.kind {
	case kindAll:
		return true
	case kindTerms:
		return p.terms.match(s)
	case kindJSON:
		return matchJSON(p.json, s)
	case kindSpace:
		return p.space.match(s)
	}
	return false
}

// MatchString is Match for an event held in a string.
func (p *Pattern) MatchString(event string) bool {
	return p.Match(unsafe.Slice(unsafe.StringData(event), len(event)))
}

// ---- values shared by the three kinds ----

// value is the right-hand side of a comparison: a string with * wildcards,
// a number, or a regular expression (%…%).
type value struct {
	str     string // text, without quotes
	quoted  bool
	wild    bool // str starts or ends with a * (a wildcard)
	num     float64
	isNum   bool // unquoted and a number
	re      *regexp.Regexp
	pattern string // the literal as written, for messages
}

// isWild reports whether a string value has a wildcard: a * at its start
// or end. CloudWatch Logs documents *Event and Event* as wildcards and
// Ev*ent as matching only the text Ev*ent, so a * inside a value is a
// literal character.
func isWild(s string) bool {
	return strings.HasPrefix(s, "*") || strings.HasSuffix(s, "*")
}

// wildMatch matches s against a value that starts and/or ends with the
// wildcard *: *x is "ends with x", x* "starts with x", *x* "contains x"
// and * anything. Any other * is literal.
func wildMatch(pat, s string) bool {
	lead := strings.HasPrefix(pat, "*")
	core := pat
	if lead {
		core = core[1:]
	}
	trail := strings.HasSuffix(core, "*")
	if trail {
		core = core[:len(core)-1]
	}
	switch {
	case lead && trail:
		return strings.Contains(s, core)
	case lead:
		return strings.HasSuffix(s, core)
	case trail:
		return strings.HasPrefix(s, core)
	}
	return s == core
}

// eqString reports whether text equals the value as a string (with
// wildcards, or a regular expression match).
func (v *value) eqString(text string) bool {
	if v.re != nil {
		return v.re.MatchString(text)
	}
	if v.wild {
		return wildMatch(v.str, text)
	}
	return v.str == text
}

func compareNum(op string, a, b float64) bool {
	switch op {
	case "=":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	return false
}

func parseNumber(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	c := s[0]
	if !(c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) {
		return 0, false
	}
	if strings.ContainsAny(s, "xXpP_") || strings.EqualFold(s, "inf") || strings.ContainsAny(s, "nN") {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// compileRegex compiles the body of a %…% literal. CloudWatch Logs supports
// a subset of regular-expression syntax; RE2 accepts all of it.
func compileRegex(body string, pos int) (*regexp.Regexp, error) {
	if body == "" {
		return nil, errAt(pos, "empty regular expression %%%%")
	}
	re, err := regexp.Compile(body)
	if err != nil {
		return nil, errAt(pos, "bad regular expression %%%s%%: %v", body, err)
	}
	return re, nil
}
