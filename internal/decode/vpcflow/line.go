package vpcflow

import (
	"errors"
	"fmt"
	"math"
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
	warns      []Warning
}

// Warning is a value of a parsed line that could not be kept: the field is
// left unset (NULL) and the line is kept in Raw as it was.
type Warning struct {
	Field  string // the AWS field name
	Reason string
}

// Warnings returns the warnings of the line parsed last; the slice is
// reused by the next call of Line.
func (p *Parser) Warnings() []Warning { return p.warns }

func (p *Parser) warn(field, reason string) {
	p.warns = append(p.warns, Warning{Field: field, Reason: reason})
}

// The Unix seconds of 0001-01-01T00:00:01Z and 9999-12-31T23:59:59Z: the
// times a timestamp column holds (0001-01-01T00:00:00Z is Go's zero time,
// which the store takes for unset).
const (
	minUnix = -62135596799
	maxUnix = 253402300799
)

// intRange is the range of values an integer field can take: ports and
// protocol numbers by their definition, counts are not negative, and the
// rest fit the column (32 bits unless the field is a 64-bit count).
func intRange(fd *event.FlowField) (lo, hi int64) {
	switch fd.Index {
	case event.FlowSrcPort, event.FlowDstPort:
		return 0, 65535
	case event.FlowProtocol:
		return 0, 255
	}
	if fd.Wide {
		return 0, math.MaxInt64
	}
	return 0, math.MaxInt32
}

// NewParser returns a parser; configured may be nil.
func NewParser(configured *Format) *Parser { return &Parser{configured: configured} }

// Line parses one line without its line terminator; the record keeps raw
// and its fields are spans of it. It returns ErrHeader for header lines and
// a descriptive error for lines it cannot parse.
func (p *Parser) Line(raw string) (event.VPCFlow, error) {
	var rec event.VPCFlow
	p.warns = p.warns[:0]
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
			v, ok, over := atoi(tok)
			if !ok && !over {
				return rec, fmt.Errorf("field %s: %q is not an integer", fd.Name, tok)
			}
			lo, hi := intRange(fd)
			if over || v < lo || v > hi {
				p.warn(fd.Name, fmt.Sprintf("%s is outside the range of %s (%d to %d); stored as NULL", tok, fd.Name, lo, hi))
				continue
			}
			rec.SetInt(fd.Index, v)
		case event.FlowStart, event.FlowEnd:
			v, ok, over := atoi(tok)
			if !ok && !over {
				return rec, fmt.Errorf("field %s: %q is not a Unix time", fd.Name, tok)
			}
			if over || v < minUnix || v > maxUnix {
				p.warn(fd.Name, fmt.Sprintf("Unix time %s is outside the years 1 to 9999; stored as NULL", tok))
				continue
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
// over reports a number (only digits after the sign) too large for int64.
func atoi(s string) (v int64, ok, over bool) {
	if s == "" {
		return 0, false, false
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
		if s == "" {
			return 0, false, false
		}
	}
	var u uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false, false
		}
		if u > (math.MaxUint64-9)/10 {
			over = true
			continue
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case over:
		return 0, false, true
	case neg && u <= 1<<63:
		return -int64(u), true, false
	case !neg && u <= math.MaxInt64:
		return int64(u), true, false
	}
	return 0, false, true
}
