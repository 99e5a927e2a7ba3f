package vpcflow

import (
	"errors"
	"fmt"
	"strings"

	"github.com/trawl-project/trawl/internal/event"
)

// maxTokens bounds the fields of one line; AWS defines fewer than 80.
const maxTokens = 128

// ErrHeader is returned by Parser.Line for a header line, which sets the
// format of the lines after it.
var ErrHeader = errors.New("header line")

// Parser parses the lines of one object. A header line sets the format for
// the lines after it (S3 delivery writes one per file, some pipelines one per
// line); otherwise the configured format is used, and without one the layout
// is chosen by field count. A Parser is not safe for concurrent use.
type Parser struct {
	configured *Format
	header     *Format
	tokens     [maxTokens]string
	offs       [maxTokens]int
}

// NewParser returns a parser; configured may be nil.
func NewParser(configured *Format) *Parser { return &Parser{configured: configured} }

// Line parses one line without its line terminator; the record keeps raw
// and its fields are spans of it. It returns ErrHeader for header lines and
// a descriptive error for lines it cannot parse.
func (p *Parser) Line(raw string) (event.VPCFlow, error) {
	var rec event.VPCFlow
	n, ok := split(raw, &p.tokens, &p.offs)
	if !ok {
		return rec, fmt.Errorf("line has more than %d fields", maxTokens)
	}
	toks := p.tokens[:n]
	if isHeader(toks) {
		p.header = headerFormat(toks)
		return rec, ErrHeader
	}
	f := p.header
	if f == nil {
		f = p.configured
	}
	if f == nil {
		f = formatForCount(n)
		if f == nil {
			return rec, fmt.Errorf("%d fields match no known flow-log layout (14 default, 29 v2–v5, 36 transit gateway, 39 v2–v7, 40 v2–v8) and there is no header line; pass the flow log's format with --vpc-format", n)
		}
	}
	if n != len(f.fields) {
		return rec, fmt.Errorf("line has %d fields, the format has %d (%s)", n, len(f.fields), strings.Join(f.names, " "))
	}
	for i, fi := range f.fields {
		tok := toks[i]
		if fi < 0 || tok == "-" {
			continue
		}
		fd := &event.FlowFields[fi]
		switch fd.Kind {
		case event.FlowStr:
			rec.SetStr(fd.Index, p.offs[i], len(tok))
		case event.FlowInt:
			v, ok := atoi(tok)
			if !ok {
				return rec, fmt.Errorf("field %s: %q is not an integer", fd.Name, tok)
			}
			rec.SetInt(fd.Index, v)
		case event.FlowStart, event.FlowEnd:
			v, ok := atoi(tok)
			if !ok {
				return rec, fmt.Errorf("field %s: %q is not a Unix time", fd.Name, tok)
			}
			if fd.Kind == event.FlowStart {
				rec.SetStart(v)
			} else {
				rec.SetEnd(v)
			}
		}
	}
	rec.Raw = raw
	return rec, nil
}

// split cuts s into tokens at runs of spaces and tabs (AWS examples contain
// double spaces), recording where each starts. It reports false when there
// are more than maxTokens.
func split(s string, out *[maxTokens]string, offs *[maxTokens]int) (int, bool) {
	n := 0
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			return n, true
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		if n == maxTokens {
			return n, false
		}
		out[n] = s[i:j]
		offs[n] = i
		n++
		i = j
	}
}

// atoi parses a decimal integer with an optional sign, without allocating.
func atoi(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
		if s == "" {
			return 0, false
		}
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}
