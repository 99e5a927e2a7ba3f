package jsonscan

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Readable returns the valid JSON text s rewritten so that DuckDB's JSON
// functions (and encoding/json) can read it: an escaped surrogate that is
// not part of a pair becomes \ufffd, and a number beyond float64's range
// becomes a string of the same text. It returns s itself when nothing
// needed rewriting, and a description of each change (at most maxFixes, then
// a count). Call it only for values the Scanner flagged as Unreadable.
func Readable(s string) (string, []string) {
	var out []byte // nil until the first change
	var fixes []string
	n := 0
	fix := func(at int, repl, what string) {
		if out == nil {
			out = make([]byte, 0, len(s)+16)
			out = append(out, s[:at]...)
		}
		out = append(out, repl...)
		n++
		if n <= maxFixes {
			fixes = append(fixes, what)
		}
	}
	last := 0 // s[last:i] is yet to be copied into out
	flush := func(i int) {
		if out != nil {
			out = append(out, s[last:i]...)
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] != '\\' {
					j++
					continue
				}
				if s[j+1] != 'u' {
					j += 2
					continue
				}
				r, _ := hex4([]byte(s[j+2 : j+6]))
				switch {
				case r >= 0xD800 && r < 0xDC00 && j+12 <= len(s) && s[j+6] == '\\' && s[j+7] == 'u':
					if lo, _ := hex4([]byte(s[j+8 : j+12])); lo >= 0xDC00 && lo < 0xE000 {
						j += 12 // a valid pair
						continue
					}
					fallthrough
				case r >= 0xD800 && r < 0xE000:
					flush(j)
					fix(j, `\ufffd`, fmt.Sprintf("unpaired surrogate escape %s at byte %d replaced by \\ufffd", s[j:j+6], j))
					last = j + 6
				}
				j += 6
			}
			i = j + 1
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && isNumByte(s[j]) {
				j++
			}
			if _, err := strconv.ParseFloat(s[i:j], 64); err != nil {
				flush(i)
				fix(i, `"`+s[i:j]+`"`, fmt.Sprintf("number %s at byte %d is beyond the range of a float64: stored as a string", Abbrev(s[i:j]), i))
				last = j
			}
			i = j
		default:
			i++
		}
	}
	if out == nil {
		return s, nil
	}
	out = append(out, s[last:]...)
	if n > maxFixes {
		fixes = append(fixes, fmt.Sprintf("and %d more such values", n-maxFixes))
	}
	return string(out), fixes
}

// maxFixes bounds the changes Readable describes one by one.
const maxFixes = 5

// Abbrev returns a value's text for messages: long text is cut (at a
// character boundary) and its length given.
func Abbrev(t string) string {
	if len(t) <= 40 {
		return strings.ToValidUTF8(t, "\uFFFD")
	}
	i := 32
	for i > 0 && !utf8.RuneStart(t[i]) {
		i--
	}
	return fmt.Sprintf("%s…(%d bytes)", strings.ToValidUTF8(t[:i], "\uFFFD"), len(t))
}
