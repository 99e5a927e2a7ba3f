package cwpattern

import (
	"regexp"
	"strings"
)

// termPattern: every plain term must occur, no excluded term may occur,
// and when there are optional (?) terms at least one of them must occur.
type termPattern struct {
	all, none, any []term
}

type term struct {
	text string
	re   *regexp.Regexp
}

func (t *term) in(s string) bool {
	if t.re != nil {
		return t.re.MatchString(s)
	}
	return strings.Contains(s, t.text)
}

func (p *termPattern) match(s string) bool {
	for i := range p.all {
		if !p.all[i].in(s) {
			return false
		}
	}
	for i := range p.none {
		if p.none[i].in(s) {
			return false
		}
	}
	if len(p.any) == 0 {
		return true
	}
	for i := range p.any {
		if p.any[i].in(s) {
			return true
		}
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// parseTerms parses a term pattern starting at byte off of src.
func parseTerms(src string, off int) (*termPattern, error) {
	p := &termPattern{}
	i := off
	for {
		for i < len(src) && isSpace(src[i]) {
			i++
		}
		if i >= len(src) {
			break
		}
		start := i
		mod := byte(0)
		if src[i] == '?' || src[i] == '-' {
			mod = src[i]
			i++
			if i >= len(src) || isSpace(src[i]) {
				return nil, errAt(start, "%q must be followed by a term", string(mod))
			}
		}
		var t term
		switch src[i] {
		case '"':
			text, end, err := readQuoted(src, i)
			if err != nil {
				return nil, err
			}
			t.text, i = text, end
		case '%':
			end := strings.IndexByte(src[i+1:], '%')
			if end < 0 {
				return nil, errAt(i, "regular expression has no closing %%")
			}
			re, err := compileRegex(src[i+1:i+1+end], i)
			if err != nil {
				return nil, err
			}
			t.re, i = re, i+end+2
		default:
			j := i
			for j < len(src) && !isSpace(src[j]) {
				if src[j] == '"' {
					return nil, errAt(j, "unexpected quote in term %q (quote the whole term)", src[i:j])
				}
				j++
			}
			t.text, i = src[i:j], j
		}
		if i < len(src) && !isSpace(src[i]) {
			return nil, errAt(i, "expected a space after the term")
		}
		if t.re == nil && strings.TrimSpace(t.text) == "" {
			// A blank quoted term ("" or " ") is no term: CloudWatch Logs
			// documents the pattern " " as matching every event.
			continue
		}
		switch mod {
		case '?':
			p.any = append(p.any, t)
		case '-':
			p.none = append(p.none, t)
		default:
			p.all = append(p.all, t)
		}
	}
	return p, nil
}

// readQuoted reads a double-quoted string at src[i] (with \" and \\
// escapes) and returns its content and the index after the closing quote.
func readQuoted(src string, i int) (string, int, error) {
	var b strings.Builder
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			if j+1 < len(src) {
				j++
				b.WriteByte(src[j])
				continue
			}
		case '"':
			return b.String(), j + 1, nil
		}
		b.WriteByte(src[j])
	}
	return "", 0, errAt(i, "unterminated quoted string")
}
