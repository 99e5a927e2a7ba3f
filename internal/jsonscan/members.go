package jsonscan

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Members calls fn for each member of the JSON object in s, with the key
// (unescaped) and the value's text exactly as it appears in s: a substring,
// so nothing is copied. s must be valid JSON (parse or validate it first);
// on anything else Members stops early. fn returning false stops the walk.
func Members(s string, fn func(key, value string) bool) {
	it := MemberIter{raw: s}
	for {
		key, value, ok := it.Next()
		if !ok || !fn(key, value) {
			return
		}
	}
}

// MemberIter hands out the members of one JSON object in order, one at a
// time: from the object's member index when it has one, else by walking
// its text as Members does.
type MemberIter struct {
	raw     string
	mem     []Member
	indexed bool // read mem; else walk raw from pos
	pos     int  // next byte of raw to walk: 0 before the object, -1 when done
}

// NewMemberIter returns an iterator over the members of the object raw,
// read from mem, its index as ReadValue returns it (with raw holding the
// same bytes as Value.Bytes), or, when mem is nil, found by walking raw.
func NewMemberIter(raw string, mem []Member) *MemberIter {
	// Small enough to inline, so that the iterator can live on the
	// caller's stack.
	return &MemberIter{raw: raw, mem: mem, indexed: mem != nil}
}

// Next returns the next member's key (unescaped) and value text (a
// substring of raw), or ok false after the last member or at anything that
// is not valid JSON. Its method value is a pull iterator, as iter.Pull2
// returns.
func (it *MemberIter) Next() (key, value string, ok bool) {
	if it.indexed {
		if len(it.mem) == 0 {
			return "", "", false
		}
		m := it.mem[0]
		it.mem = it.mem[1:]
		key = it.raw[m.KeyStart:m.KeyEnd]
		if m.Escaped {
			key = unescape([]byte(key))
		}
		return key, it.raw[m.ValStart:m.ValEnd], true
	}
	s, i := it.raw, it.pos
	if i < 0 {
		return "", "", false
	}
	it.pos = -1 // unless a member is found
	if i == 0 {
		if i = skipWS(s, 0); i >= len(s) || s[i] != '{' {
			return "", "", false
		}
		i++
	}
	i = skipWS(s, i)
	if i >= len(s) || s[i] == '}' {
		return "", "", false
	}
	if s[i] == ',' {
		i = skipWS(s, i+1)
	}
	if i >= len(s) || s[i] != '"' {
		return "", "", false
	}
	kEnd := stringEnd(s, i+1)
	if kEnd < 0 {
		return "", "", false
	}
	key = s[i+1 : kEnd-1]
	if strings.IndexByte(key, '\\') >= 0 {
		key = unescape([]byte(key))
	}
	i = skipWS(s, kEnd)
	if i >= len(s) || s[i] != ':' {
		return "", "", false
	}
	i = skipWS(s, i+1)
	vEnd := valueEnd(s, i)
	if vEnd < 0 {
		return "", "", false
	}
	it.pos = vEnd
	return key, s[i:vEnd], true
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
		i++
	}
	return i
}

// stringEnd returns the index just after the closing quote of the string
// whose body starts at i, or -1.
func stringEnd(s string, i int) int {
	for {
		q := strings.IndexByte(s[i:], '"')
		if q < 0 {
			return -1
		}
		n := 0
		for n < q && s[i+q-1-n] == '\\' {
			n++
		}
		i += q + 1
		if n%2 == 0 {
			return i
		}
	}
}

// valueEnd returns the index just after the value starting at i, or -1.
func valueEnd(s string, i int) int {
	if i >= len(s) {
		return -1
	}
	switch s[i] {
	case '"':
		return stringEnd(s, i+1)
	case '{', '[':
		depth := 0
		for i < len(s) {
			switch s[i] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			case '"':
				e := stringEnd(s, i+1)
				if e < 0 {
					return -1
				}
				i = e
				continue
			}
			i++
		}
		return -1
	}
	for j := i; j < len(s); j++ {
		switch s[j] {
		case ',', '}', ']', ' ', '\n', '\r', '\t':
			return j
		}
	}
	return len(s)
}

// Text returns the text of a JSON value as Members hands it out: a string's
// content (a substring of v unless it has escapes), the literal of a number
// or boolean, "" for null, and the JSON text itself for objects and arrays.
func Text(v string) string {
	if v == "" || v == "null" {
		return ""
	}
	if v[0] != '"' {
		return v
	}
	body := v[1 : len(v)-1]
	if strings.IndexByte(body, '\\') < 0 {
		return body
	}
	return strings.ToValidUTF8(unescape([]byte(body)), "\uFFFD")
}

// IsNull reports whether a value text is absent or JSON null.
func IsNull(v string) bool { return v == "" || v == "null" }

// Elements calls fn with the text of each element of the JSON array in s
// (a substring of s). s must be valid JSON; fn returning false stops.
func Elements(s string, fn func(value string) bool) {
	i := skipWS(s, 0)
	if i >= len(s) || s[i] != '[' {
		return
	}
	i++
	for {
		i = skipWS(s, i)
		if i >= len(s) || s[i] == ']' {
			return
		}
		if s[i] == ',' {
			i = skipWS(s, i+1)
		}
		end := valueEnd(s, i)
		if end < 0 {
			return
		}
		if !fn(s[i:end]) {
			return
		}
		i = end
	}
}

// EachMember calls fn for each member of the object raw: from the index mem
// when it is given (as ReadValue returns it, with raw holding the same bytes
// as Value.Bytes), else by walking raw with Members.
func EachMember(raw string, mem []Member, fn func(key, value string) bool) {
	if mem == nil {
		Members(raw, fn)
		return
	}
	for _, m := range mem {
		key := raw[m.KeyStart:m.KeyEnd]
		if m.Escaped {
			key = unescape([]byte(key))
		}
		if !fn(key, raw[m.ValStart:m.ValEnd]) {
			return
		}
	}
}

// Validate checks that s is exactly one valid JSON value and returns the
// index of its members when it is an object. It reuses sc's buffer.
func (sc *Scanner) Validate(s string) ([]Member, error) {
	sc.Reset(strings.NewReader(s))
	v, err := sc.ReadValue()
	if err == io.EOF {
		return nil, errors.New("empty value")
	}
	if err != nil {
		return nil, err
	}
	if int(v.Offset)+len(v.Bytes) != len(strings.TrimRight(s, " \t\r\n")) {
		return nil, fmt.Errorf("unexpected data after the value at byte %d", int(v.Offset)+len(v.Bytes))
	}
	// Offsets are relative to the value; make them relative to s.
	mem := append([]Member(nil), v.Members...)
	for i := range mem {
		mem[i].KeyStart += int32(v.Offset)
		mem[i].KeyEnd += int32(v.Offset)
		mem[i].ValStart += int32(v.Offset)
		mem[i].ValEnd += int32(v.Offset)
	}
	return mem, nil
}
