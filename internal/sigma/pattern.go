package sigma

import (
	"strings"
	"unicode/utf8"
)

// pattern is a Sigma string value compiled for case-insensitive matching:
// literal text (lowercased) with the wildcards * (any run of characters)
// and ? (one character). A backslash before *, ? or \ makes that character
// literal; any other backslash is itself.
type pattern struct {
	kind patKind
	lit  string   // lowercased literal for the fast kinds
	toks []patTok // for patGlob
}

type patKind uint8

const (
	patExact patKind = iota
	patPrefix
	patSuffix
	patContains
	patAny // "*" alone
	patGlob
)

type patTok struct {
	lit  string // lowercased literal, or "" for a wildcard
	wild byte   // '*' or '?' when lit is ""
}

func compilePattern(s string, op opKind) pattern {
	var toks []patTok
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			toks = append(toks, patTok{lit: strings.ToLower(b.String())})
			b.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\'):
			b.WriteByte(s[i+1])
			i++
		case c == '*' || c == '?':
			flush()
			toks = append(toks, patTok{wild: c})
		default:
			b.WriteByte(c)
		}
	}
	flush()
	switch op {
	case opContains:
		toks = append(append([]patTok{{wild: '*'}}, toks...), patTok{wild: '*'})
	case opStartsWith:
		toks = append(toks, patTok{wild: '*'})
	case opEndsWith:
		toks = append([]patTok{{wild: '*'}}, toks...)
	}
	// Merge runs of stars.
	out := toks[:0]
	for _, t := range toks {
		if t.wild == '*' && len(out) > 0 && out[len(out)-1].wild == '*' {
			continue
		}
		out = append(out, t)
	}
	toks = out
	star := func(t patTok) bool { return t.wild == '*' }
	switch {
	case len(toks) == 0:
		return pattern{kind: patExact}
	case len(toks) == 1 && star(toks[0]):
		return pattern{kind: patAny}
	case len(toks) == 1 && toks[0].wild == 0:
		return pattern{kind: patExact, lit: toks[0].lit}
	case len(toks) == 2 && toks[0].wild == 0 && star(toks[1]):
		return pattern{kind: patPrefix, lit: toks[0].lit}
	case len(toks) == 2 && star(toks[0]) && toks[1].wild == 0:
		return pattern{kind: patSuffix, lit: toks[1].lit}
	case len(toks) == 3 && star(toks[0]) && toks[1].wild == 0 && star(toks[2]):
		return pattern{kind: patContains, lit: toks[1].lit}
	}
	return pattern{kind: patGlob, toks: toks}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasFold reports whether s begins with lit (lowercase), ignoring ASCII case.
func hasFold(s, lit string) bool {
	if len(s) < len(lit) {
		return false
	}
	for i := 0; i < len(lit); i++ {
		if lower(s[i]) != lit[i] {
			return false
		}
	}
	return true
}

func indexFold(s, lit string) int {
	if lit == "" {
		return 0
	}
	for i := 0; i+len(lit) <= len(s); i++ {
		if lower(s[i]) == lit[0] && hasFold(s[i:], lit) {
			return i
		}
	}
	return -1
}

// match reports whether v matches, ignoring case.
func (p *pattern) match(v string) bool {
	if !isASCII(v) {
		v = strings.ToLower(v)
	}
	switch p.kind {
	case patAny:
		return true
	case patExact:
		return len(v) == len(p.lit) && hasFold(v, p.lit)
	case patPrefix:
		return hasFold(v, p.lit)
	case patSuffix:
		return len(v) >= len(p.lit) && hasFold(v[len(v)-len(p.lit):], p.lit)
	case patContains:
		return indexFold(v, p.lit) >= 0
	}
	return globFold(p.toks, v)
}

// globFold matches tokens against v with backtracking to the last star.
func globFold(toks []patTok, v string) bool {
	ti, vi := 0, 0
	starT, starV := -1, 0
	for {
		if ti < len(toks) {
			t := toks[ti]
			switch {
			case t.wild == '*':
				starT, starV = ti, vi
				ti++
				continue
			case t.wild == '?':
				if vi < len(v) {
					_, n := utf8.DecodeRuneInString(v[vi:])
					vi += n
					ti++
					continue
				}
			default:
				if hasFold(v[vi:], t.lit) {
					vi += len(t.lit)
					ti++
					continue
				}
			}
		} else if vi == len(v) {
			return true
		}
		if starT < 0 || starV >= len(v) {
			return false
		}
		_, n := utf8.DecodeRuneInString(v[starV:])
		starV += n
		ti, vi = starT+1, starV
	}
}
