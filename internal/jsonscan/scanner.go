// Package jsonscan splits a stream of JSON text into values without decoding
// them. It is the streaming layer under trawl's decoders: a CloudTrail file
// of hundreds of megabytes is read element by element out of its "Records"
// array, never as a whole.
//
// The scanner validates JSON fully in the same single pass that finds a
// value's end, and indexes the members of object values so that callers need
// not walk them again. A raw newline inside a string is an error, so a
// broken line in JSON-lines input costs one line, not the rest of the file.
// Values larger than a limit are skipped without being buffered, and
// reported with their position and a snippet.
package jsonscan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// SnippetSize is how many bytes of an oversized or broken value are kept.
const SnippetSize = 256

// ErrTooLarge is returned (wrapped in *ValueError) for a value above the limit.
var ErrTooLarge = errors.New("value exceeds the size limit")

// SyntaxError reports input that is not structurally valid JSON.
type SyntaxError struct {
	Offset int64 // byte offset of the problem in the stream
	Line   int64 // 1-based line of the problem
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, byte %d: %s", e.Line, e.Offset, e.Msg)
}

// ValueError is returned for a value that was skipped because it is too
// large. The scanner is positioned after the value and can go on.
type ValueError struct {
	Offset  int64 // where the value starts
	Line    int64
	Size    int64 // the full size of the value
	Snippet []byte
	Err     error
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("line %d, byte %d: %d-byte value: %v", e.Line, e.Offset, e.Size, e.Err)
}

func (e *ValueError) Unwrap() error { return e.Err }

// Scanner reads JSON values from a stream. It is not safe for concurrent use.
type Scanner struct {
	r   io.Reader
	err error // sticky read error (io.EOF at the end)

	buf  []byte
	pos  int   // next unread byte in buf
	end  int   // end of valid data in buf
	base int64 // stream offset of buf[0]

	lines    int64 // newlines in the stream before buf[counted]
	counted  int   // position in buf up to which newlines are counted
	keep     int   // bytes from keep on must stay buffered (-1: none)
	maxValue int
	stack    []byte
	skipping bool // the current value is too large and is being discarded
	snippet  []byte
	members  []Member
	// unreadable is set while scanning a value that has a surrogate escape
	// or a number that may overflow a float64 (see Readable).
	unreadable bool
}

// NewScanner returns a Scanner reading from r. maxValue bounds the size of a
// value returned by ReadValue; larger values are skipped.
func NewScanner(r io.Reader, maxValue int) *Scanner {
	return &Scanner{r: r, buf: make([]byte, bufSize(maxValue)), maxValue: maxValue, keep: -1}
}

// bufSize is the initial buffer size of a scanner for values of at most
// maxValue bytes.
func bufSize(maxValue int) int {
	return min(256<<10, maxValue+1)
}

// Reset makes the scanner read from r as a new scanner would, keeping its
// buffers; a buffer that grew for a large value is replaced by one of the
// initial size (how much is read at once shows in error snippets).
func (s *Scanner) Reset(r io.Reader) {
	buf := s.buf
	if n := bufSize(s.maxValue); len(buf) != n {
		buf = make([]byte, n)
	}
	*s = Scanner{r: r, buf: buf, maxValue: s.maxValue, keep: -1, stack: s.stack[:0], members: s.members[:0], snippet: s.snippet[:0]}
}

// Offset returns the stream offset of the next unread byte.
func (s *Scanner) Offset() int64 { return s.base + int64(s.pos) }

// Line returns the 1-based line of the next unread byte.
func (s *Scanner) Line() int64 { return s.lineAt(s.pos) }

func (s *Scanner) lineAt(p int) int64 {
	if p < s.counted {
		return s.lines + 1 - int64(bytes.Count(s.buf[p:s.counted], nl))
	}
	return s.lines + 1 + int64(bytes.Count(s.buf[s.counted:p], nl))
}

var nl = []byte{'\n'}

// fill reads more input. It keeps buf[keep:] (or buf[pos:] when keep < 0)
// and returns false at the end of input or on a read error.
func (s *Scanner) fill() bool {
	if s.err != nil {
		return false
	}
	from := s.pos
	if s.keep >= 0 && s.keep < from {
		from = s.keep
	}
	if from > 0 {
		// Count newlines in what is about to be dropped.
		if s.counted < from {
			s.lines += int64(bytes.Count(s.buf[s.counted:from], nl))
			s.counted = from
		}
		n := copy(s.buf, s.buf[from:s.end])
		s.base += int64(from)
		s.pos -= from
		s.end = n
		s.counted -= from
		if s.keep >= 0 {
			s.keep -= from
		}
	}
	if s.end == len(s.buf) {
		// The kept region fills the buffer: grow it, up to the value limit.
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for tries := 0; tries < 100; tries++ {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.err = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.err = io.ErrNoProgress
	return false
}

// ReadErr returns the read error that ended the input, nil for a clean end.
func (s *Scanner) ReadErr() error {
	if s.err == io.EOF {
		return nil
	}
	return s.err
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// Peek skips whitespace and returns the next byte without consuming it. It
// returns io.EOF at the end of input, or the read error.
func (s *Scanner) Peek() (byte, error) {
	for {
		for s.pos < s.end {
			c := s.buf[s.pos]
			if !isSpace(c) {
				return c, nil
			}
			s.pos++
		}
		if !s.fill() {
			if s.err == io.EOF || s.err == nil {
				return 0, io.EOF
			}
			return 0, s.err
		}
	}
}

// Consume skips whitespace and consumes c, or fails if the next byte differs.
func (s *Scanner) Consume(c byte) error {
	b, err := s.Peek()
	if err != nil {
		if err == io.EOF {
			return s.syntaxf(s.pos, "unexpected end of input, expected %q", c)
		}
		return err
	}
	if b != c {
		return s.syntaxf(s.pos, "expected %q, found %q", c, b)
	}
	s.pos++
	return nil
}

// PeekAhead returns up to n buffered bytes starting at the next non-space
// byte, reading more input if needed. The bytes are not consumed and are
// valid until the next call.
func (s *Scanner) PeekAhead(n int) ([]byte, error) {
	if _, err := s.Peek(); err != nil {
		return nil, err
	}
	for s.end-s.pos < n && s.fill() {
	}
	hi := s.pos + n
	if hi > s.end {
		hi = s.end
	}
	return s.buf[s.pos:hi], nil
}

// ReadKey reads an object key and the colon after it. Keys are short; a key
// over 64 KiB is a syntax error.
func (s *Scanner) ReadKey() (string, error) {
	if err := s.Consume('"'); err != nil {
		return "", err
	}
	s.keep = s.pos
	s.skipping = false
	defer func() { s.keep = -1 }()
	if _, err := s.scanStringBody(); err != nil {
		return "", err
	}
	if s.skipping || s.pos-1-s.keep > 64<<10 {
		s.skipping = false
		return "", s.syntaxf(s.pos, "object key too long")
	}
	raw := s.buf[s.keep : s.pos-1]
	key := string(raw)
	if bytes.IndexByte(raw, '\\') >= 0 {
		key = unescape(raw)
	}
	if err := s.Consume(':'); err != nil {
		return "", err
	}
	return key, nil
}

// Value is a JSON value read by ReadValue.
type Value struct {
	Bytes  []byte // valid until the next call on the Scanner
	Offset int64  // stream offset of the first byte
	Line   int64  // 1-based line of the first byte
	// Members indexes the members of an object value (positions are into
	// Bytes); nil for other values. Valid until the next call.
	Members []Member
}

// ReadValue reads and fully validates the next value (object, array,
// string, number or literal). A value above the size limit is skipped and
// reported as *ValueError; invalid JSON is reported as *SyntaxError, after
// which the caller should skip ahead (SkipByte, SkipTo). At the end of input
// it returns io.EOF.
func (s *Scanner) ReadValue() (Value, error) {
	if _, err := s.Peek(); err != nil {
		return Value{}, err
	}
	start := s.pos
	v := Value{Offset: s.base + int64(start), Line: s.lineAt(start)}
	s.keep = start
	s.skipping = false
	s.unreadable = false
	s.snippet = s.snippet[:0]
	defer func() { s.keep = -1 }()
	if err := s.scanValue(); err != nil {
		return v, err
	}
	if s.skipping {
		s.skipping = false
		return v, &ValueError{Offset: v.Offset, Line: v.Line, Size: s.Offset() - v.Offset, Snippet: s.snippet, Err: ErrTooLarge}
	}
	if n := s.pos - s.keep; n > s.maxValue {
		// checkSize runs only when more input is needed: a value that was
		// already buffered whole is measured here.
		snip := append(s.snippet[:0], s.buf[s.keep:s.keep+min(n, SnippetSize)]...)
		s.snippet = snip
		return v, &ValueError{Offset: v.Offset, Line: v.Line, Size: int64(n), Snippet: snip, Err: ErrTooLarge}
	}
	v.Bytes = s.buf[s.keep:s.pos]
	if v.Bytes[0] == '{' {
		v.Members = s.members
	}
	return v, nil
}

// Unreadable reports whether the value last read by ReadValue or Validate
// may hold text that DuckDB's JSON functions reject: a surrogate escape
// (which may be unpaired) or a number beyond float64's range. Readable
// rewrites such text; other values need no second look.
func (s *Scanner) Unreadable() bool { return s.unreadable }

// checkSize switches to skipping mode once the current value exceeds the
// limit: the bytes read so far are dropped, but for a snippet.
func (s *Scanner) checkSize() {
	if s.skipping || s.keep < 0 || s.pos-s.keep <= s.maxValue {
		return
	}
	s.skipping = true
	s.snippet = append(s.snippet[:0], s.buf[s.keep:min(s.keep+SnippetSize, s.end)]...)
	s.keep = -1
}

// SkipByte consumes one byte; it is used after a syntax error to move on.
func (s *Scanner) SkipByte() {
	if s.pos < s.end || s.fill() {
		s.pos++
	}
}

// SkipTo discards input up to the next occurrence of one of the patterns
// (which stays unread) and reports whether one was found; at the end of
// input it returns false with everything consumed.
func (s *Scanner) SkipTo(patterns ...[]byte) bool {
	longest := 0
	for _, p := range patterns {
		if len(p) > longest {
			longest = len(p)
		}
	}
	for {
		best := -1
		for _, p := range patterns {
			if i := bytes.Index(s.buf[s.pos:s.end], p); i >= 0 && (best < 0 || i < best) {
				best = i
			}
		}
		if best >= 0 {
			s.pos += best
			return true
		}
		// Keep a tail that could be the start of a pattern.
		if adv := s.end - s.pos - (longest - 1); adv > 0 {
			s.pos += adv
		}
		if !s.fill() {
			s.pos = s.end
			return false
		}
	}
}

// Rewind moves the scanner back to stream offset off, which must be at or
// before the current position and still buffered (the start of the value
// that ReadValue just failed on is). It reports whether it could.
func (s *Scanner) Rewind(off int64) bool {
	i := off - s.base
	if i < 0 || i > int64(s.pos) {
		return false
	}
	s.pos = int(i)
	return true
}

// SkipToElement discards input up to the next '{' that follows a ','
// (whitespace between them allowed): where the next object of an array of
// objects can start. The '{' stays unread. At the end of input it returns
// false with everything consumed. Callers check that the object found is
// one they expect: the same pattern occurs inside records too.
func (s *Scanner) SkipToElement() bool {
	for {
		buf := s.buf[s.pos:s.end]
		i := 0
		for {
			j := bytes.IndexByte(buf[i:], ',')
			if j < 0 {
				break
			}
			j += i + 1
			for j < len(buf) && isSpace(buf[j]) {
				j++
			}
			if j == len(buf) {
				i = -1 // need more input to see what follows
				break
			}
			if buf[j] == '{' {
				s.pos += j
				return true
			}
			i = j
		}
		if i >= 0 {
			s.pos = s.end
		} else if c := bytes.LastIndexByte(buf, ','); len(buf)-c < 4096 {
			s.pos += c // keep the ',' and the (short) whitespace after it
		} else {
			s.pos = s.end
		}
		if !s.fill() {
			s.pos = s.end
			return false
		}
	}
}

// Snippet returns up to n bytes from stream offset off if still buffered.
func (s *Scanner) Snippet(off int64, n int) []byte {
	i := int(off - s.base)
	if i < 0 || i >= s.end {
		return nil
	}
	hi := i + n
	if hi > s.end {
		hi = s.end
	}
	return s.buf[i:hi]
}

func (s *Scanner) syntaxf(p int, format string, args ...any) error {
	return &SyntaxError{Offset: s.base + int64(p), Line: s.lineAt(p), Msg: fmt.Sprintf(format, args...)}
}

func hex4(b []byte) (rune, bool) {
	var r rune
	for _, h := range b {
		r <<= 4
		switch {
		case h >= '0' && h <= '9':
			r |= rune(h - '0')
		case h >= 'a' && h <= 'f':
			r |= rune(h - 'a' + 10)
		case h >= 'A' && h <= 'F':
			r |= rune(h - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// unescape decodes the escapes of a JSON string body (best effort: invalid
// escapes are kept as they are).
func unescape(b []byte) string {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 == len(b) {
			out = append(out, c)
			continue
		}
		i++
		switch b[i] {
		case '"', '\\', '/':
			out = append(out, b[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if i+4 < len(b) {
				r, ok := hex4(b[i+1 : i+5])
				if ok {
					i += 4
					if r >= 0xD800 && r < 0xDC00 && i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
						if lo, ok := hex4(b[i+3 : i+7]); ok && lo >= 0xDC00 && lo < 0xE000 {
							r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
							i += 6
						}
					}
					out = utf8.AppendRune(out, r)
					continue
				}
			}
			out = append(out, '\\', 'u')
		default:
			out = append(out, '\\', b[i])
		}
	}
	return string(out)
}
