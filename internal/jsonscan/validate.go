package jsonscan

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Member locates one member of a top-level object inside Value.Bytes.
type Member struct {
	KeyStart, KeyEnd int32 // the key's text, without its quotes
	ValStart, ValEnd int32 // the value's text
	Escaped          bool  // the key contains escape sequences
}

// strSpecial marks bytes that end the fast path of a string body.
var strSpecial = func() (t [256]bool) {
	for i := 0; i < 0x20; i++ {
		t[i] = true
	}
	t['"'] = true
	t['\\'] = true
	return t
}()

// mayBeSpecial reports whether one of the 8 bytes of w may end the fast
// path of a string body: a quote, a backslash or a control character. It
// is exact (no byte is missed) and the caller checks bytes one by one from
// the first word it reports, so a false report costs only time.
func mayBeSpecial(w uint64) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	q := w ^ (ones * '"')
	b := w ^ (ones * '\\')
	return ((q-ones)&^q|(b-ones)&^b|(w-ones*0x20)&^w)&high != 0
}

// scanner states while validating a value.
const (
	stValue = iota
	stObjKeyOrEnd
	stObjKey
	stObjColon
	stObjCommaOrEnd
	stArrValOrEnd
	stArrCommaOrEnd
)

// MaxDepth is the deepest nesting of objects and arrays accepted. DuckDB
// stores deeper text, but its Go client (encoding/json, limited to 10,000
// levels) then fails on every query that returns it.
const MaxDepth = 10000

// rel returns the current position relative to the value start.
func (s *Scanner) rel() int32 { return int32(s.pos - s.keep) }

// avail makes at least n bytes available at s.pos, reading more input.
// It returns false at the end of input.
func (s *Scanner) avail(n int) (bool, error) {
	for s.end-s.pos < n {
		s.checkSize()
		if !s.fill() {
			if s.err != nil && s.err != io.EOF {
				return false, fmt.Errorf("reading input at byte %d: %w", s.Offset(), s.err)
			}
			return false, nil
		}
	}
	return true, nil
}

// scanValue validates one complete JSON value starting at s.pos and leaves
// s.pos after it. For a top-level object it indexes the members into
// s.members (unless the value is being skipped as too large).
func (s *Scanner) scanValue() error {
	s.stack = s.stack[:0]
	s.members = s.members[:0]
	state := stValue
	var cur Member
	inMember := false // a depth-1 object member value is being scanned
	for {
		if s.pos >= s.end { // avail(1), without a call per token
			ok, err := s.avail(1)
			if err != nil {
				return err
			}
			if !ok {
				return s.syntaxf(s.pos, "unexpected end of input in a value (truncated?)")
			}
		}
		c := s.buf[s.pos]
		if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
			s.pos++
			continue
		}
		depth := len(s.stack)
		switch state {
		case stObjKeyOrEnd, stObjKey:
			if c == '}' && state == stObjKeyOrEnd {
				s.pos++
				s.stack = s.stack[:depth-1]
				goto valueDone
			}
			if c != '"' {
				return s.syntaxf(s.pos, "expected a string key, found %q", c)
			}
			s.pos++
			if depth == 1 && s.keep >= 0 {
				cur = Member{KeyStart: s.rel()}
			}
			esc, err := s.scanStringBody()
			if err != nil {
				return err
			}
			if depth == 1 && s.keep >= 0 {
				cur.KeyEnd = s.rel() - 1
				cur.Escaped = esc
			}
			state = stObjColon
			continue
		case stObjColon:
			if c != ':' {
				return s.syntaxf(s.pos, "expected ':' after an object key, found %q", c)
			}
			s.pos++
			state = stValue
			if depth == 1 {
				inMember = true
				// ValStart is set when the value begins (after whitespace).
				cur.ValStart = -1
			}
			continue
		case stObjCommaOrEnd:
			switch c {
			case ',':
				s.pos++
				state = stObjKey
			case '}':
				s.pos++
				s.stack = s.stack[:depth-1]
				goto valueDone
			default:
				return s.syntaxf(s.pos, "expected ',' or '}' after an object member, found %q", c)
			}
			continue
		case stArrValOrEnd:
			if c == ']' {
				s.pos++
				s.stack = s.stack[:depth-1]
				goto valueDone
			}
			state = stValue
		case stArrCommaOrEnd:
			switch c {
			case ',':
				s.pos++
				state = stValue
			case ']':
				s.pos++
				s.stack = s.stack[:depth-1]
				goto valueDone
			default:
				return s.syntaxf(s.pos, "expected ',' or ']' after an array element, found %q", c)
			}
			continue
		}
		// state == stValue: a value begins at c.
		if inMember && len(s.stack) == 1 && cur.ValStart < 0 && s.keep >= 0 {
			cur.ValStart = s.rel()
		}
		if (c == '{' || c == '[') && len(s.stack) >= MaxDepth {
			return s.syntaxf(s.pos, "JSON nested deeper than %d levels (queries could not return it)", MaxDepth)
		}
		switch {
		case c == '{':
			s.pos++
			s.stack = append(s.stack, '{')
			state = stObjKeyOrEnd
			continue
		case c == '[':
			s.pos++
			s.stack = append(s.stack, '[')
			state = stArrValOrEnd
			continue
		case c == '"':
			s.pos++
			if _, err := s.scanStringBody(); err != nil {
				return err
			}
		case c == '-' || (c >= '0' && c <= '9'):
			if err := s.scanNumber(); err != nil {
				return err
			}
		case c == 't' || c == 'f' || c == 'n':
			if err := s.scanLiteral(); err != nil {
				return err
			}
		default:
			return s.syntaxf(s.pos, "unexpected %q where a value should start", c)
		}
	valueDone:
		if len(s.stack) == 0 {
			return nil
		}
		if inMember && len(s.stack) == 1 {
			inMember = false
			if s.keep >= 0 {
				cur.ValEnd = s.rel()
				s.members = append(s.members, cur)
			}
		}
		if s.stack[len(s.stack)-1] == '{' {
			state = stObjCommaOrEnd
		} else {
			state = stArrCommaOrEnd
		}
	}
}

// scanStringBody scans from just after an opening quote to just after the
// closing one, validating escapes and rejecting raw control characters. It
// reports whether the string contains escapes.
func (s *Scanner) scanStringBody() (escaped bool, err error) {
	for {
		// Fast path: plain bytes.
		buf := s.buf[s.pos:s.end]
		i := 0
		for i+8 <= len(buf) && !mayBeSpecial(binary.LittleEndian.Uint64(buf[i:])) {
			i += 8
		}
		for i < len(buf) && !strSpecial[buf[i]] {
			i++
		}
		s.pos += i
		if i == len(buf) {
			s.checkSize()
			ok, err := s.avail(1)
			if err != nil {
				return escaped, err
			}
			if !ok {
				return escaped, s.syntaxf(s.pos, "unexpected end of input inside a string (truncated?)")
			}
			continue
		}
		switch c := s.buf[s.pos]; {
		case c == '"':
			s.pos++
			return escaped, nil
		case c == '\\':
			escaped = true
			ok, err := s.avail(2)
			if err != nil {
				return escaped, err
			}
			if !ok {
				return escaped, s.syntaxf(s.pos, "unexpected end of input inside a string (truncated?)")
			}
			switch s.buf[s.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos += 2
			case 'u':
				ok, err := s.avail(6)
				if err != nil {
					return escaped, err
				}
				if !ok {
					return escaped, s.syntaxf(s.pos, "unexpected end of input inside a string (truncated?)")
				}
				r, ok := hex4(s.buf[s.pos+2 : s.pos+6])
				if !ok {
					return escaped, s.syntaxf(s.pos, "invalid \\u escape %q", s.buf[s.pos:s.pos+6])
				}
				if r >= 0xD800 && r < 0xE000 {
					s.unreadable = true // a surrogate: Readable checks it is paired
				}
				s.pos += 6
			default:
				return escaped, s.syntaxf(s.pos, "invalid escape %q", s.buf[s.pos:s.pos+2])
			}
		case c == '\n':
			return escaped, s.syntaxf(s.pos, "newline inside a string (truncated or broken record)")
		default:
			return escaped, s.syntaxf(s.pos, "control character %#02x inside a string", c)
		}
	}
}

func isNumByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// token makes the whole token starting at s.pos available and returns its
// length; in reports whether a byte belongs to it.
func (s *Scanner) token(in func(byte) bool) (int, error) {
	n := 0
	for {
		for s.pos+n < s.end && in(s.buf[s.pos+n]) {
			n++
		}
		if s.pos+n < s.end {
			return n, nil
		}
		ok, err := s.avail(n + 1)
		if err != nil {
			return 0, err
		}
		if !ok {
			return n, nil
		}
	}
}

// scanNumber validates -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
func (s *Scanner) scanNumber() error {
	n, err := s.token(isNumByte)
	if err != nil {
		return err
	}
	t := s.buf[s.pos : s.pos+n]
	i := 0
	if i < len(t) && t[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		return i - j
	}
	bad := func() error { return s.syntaxf(s.pos, "invalid number %q", t) }
	switch {
	case i < len(t) && t[i] == '0':
		i++
	case digits() == 0:
		return bad()
	}
	intDigits := i
	if t[0] == '-' {
		intDigits--
	}
	if i < len(t) && t[i] == '.' {
		i++
		if digits() == 0 {
			return bad()
		}
	}
	exp := 0
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		i++
		neg := false
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			neg = t[i] == '-'
			i++
		}
		j := i
		if digits() == 0 {
			return bad()
		}
		for _, c := range t[j:i] {
			if exp < 1e6 {
				exp = exp*10 + int(c-'0')
			}
		}
		if neg {
			exp = -exp
		}
	}
	if i != len(t) {
		return bad()
	}
	// The value is below 10^(intDigits+exp): only above 10^308 can it
	// overflow a float64 (Readable checks with strconv).
	if intDigits+exp > 308 {
		s.unreadable = true
	}
	s.pos += n
	return nil
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

func (s *Scanner) scanLiteral() error {
	n, err := s.token(isLower)
	if err != nil {
		return err
	}
	switch string(s.buf[s.pos : s.pos+n]) {
	case "true", "false", "null":
		s.pos += n
		return nil
	}
	return s.syntaxf(s.pos, "invalid literal %q", s.buf[s.pos:s.pos+n])
}
