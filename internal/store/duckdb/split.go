package duckdb

import "strings"

// SplitStatements splits SQL text into its statements at the semicolons
// outside string literals ('…', E'…' with backslash escapes, $$…$$ and
// $tag$…$tag$), quoted identifiers ("…") and comments (-- and /* */).
// Statements are trimmed; empty ones (only blanks, comments and
// semicolons) are dropped.
func SplitStatements(text string) []string {
	var out []string
	start := 0
	emit := func(end int) {
		if st := strings.TrimSpace(text[start:end]); st != "" && !onlyComments(st) {
			out = append(out, st)
		}
	}
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == ';':
			emit(i)
			start = i + 1
			i++
		case c == '\'':
			escapes := i > 0 && (text[i-1] == 'E' || text[i-1] == 'e') && (i < 2 || !isIdentByte(text[i-2]))
			i = skipQuoted(text, i, '\'', escapes)
		case c == '"':
			i = skipQuoted(text, i, '"', false)
		case c == '-' && strings.HasPrefix(text[i:], "--"):
			if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(text)
			}
		case c == '/' && strings.HasPrefix(text[i:], "/*"):
			if j := strings.Index(text[i+2:], "*/"); j >= 0 {
				i += j + 4
			} else {
				i = len(text)
			}
		case c == '$' && (i == 0 || !isIdentByte(text[i-1])):
			i = skipDollar(text, i)
		default:
			i++
		}
	}
	emit(len(text))
	return out
}

// skipQuoted returns the index after the literal opening at text[i]; a
// doubled quote is one quote, and with escapes a backslash escapes the
// next byte.
func skipQuoted(text string, i int, q byte, escapes bool) int {
	for j := i + 1; j < len(text); j++ {
		switch text[j] {
		case '\\':
			if escapes {
				j++
			}
		case q:
			if j+1 < len(text) && text[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(text)
}

// skipDollar returns the index after a dollar-quoted string opening at
// text[i] ($$…$$ or $tag$…$tag$), or i+1 if none opens there ($1 is a
// parameter).
func skipDollar(text string, i int) int {
	j := i + 1
	for j < len(text) && isIdentByte(text[j]) && !(j == i+1 && text[j] >= '0' && text[j] <= '9') {
		j++
	}
	if j >= len(text) || text[j] != '$' {
		return i + 1
	}
	tag := text[i : j+1]
	if k := strings.Index(text[j+1:], tag); k >= 0 {
		return j + 1 + k + len(tag)
	}
	return len(text)
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// onlyComments reports whether a trimmed statement is only comments.
func onlyComments(s string) bool {
	for s != "" {
		switch {
		case strings.HasPrefix(s, "--"):
			j := strings.IndexByte(s, '\n')
			if j < 0 {
				return true
			}
			s = s[j+1:]
		case strings.HasPrefix(s, "/*"):
			j := strings.Index(s[2:], "*/")
			if j < 0 {
				return true
			}
			s = s[j+4:]
		default:
			return false
		}
		s = strings.TrimSpace(s)
	}
	return true
}
