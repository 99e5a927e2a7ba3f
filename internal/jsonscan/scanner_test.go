package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll returns every value of the stream, or the first error.
func readAll(t *testing.T, s *Scanner) ([]string, error) {
	t.Helper()
	var out []string
	for {
		v, err := s.ReadValue()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, string(v.Bytes))
		// Values may be separated by commas in arrays; skip one if present.
		if c, err := s.Peek(); err == nil && c == ',' {
			s.SkipByte()
		}
	}
}

func TestReadValues(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"objects on lines", "{\"a\":1}\n{\"b\":[1,2,{\"c\":\"}\"}]}\n", []string{`{"a":1}`, `{"b":[1,2,{"c":"}"}]}`}},
		{"pretty", "{\n  \"a\": [\n    1\n  ]\n}\n", []string{"{\n  \"a\": [\n    1\n  ]\n}"}},
		{"escaped quotes", `{"a":"x\"y\\"} {"b":"\\\\\""}`, []string{`{"a":"x\"y\\"}`, `{"b":"\\\\\""}`}},
		{"scalars", `1 "two" true null -3.5e2`, []string{"1", `"two"`, "true", "null", "-3.5e2"}},
		{"concatenated", `{}{}[]`, []string{"{}", "{}", "[]"}},
		{"empty", "  \n ", nil},
		{"unicode", `{"k":"é\u00e9"}`, []string{`{"k":"é\u00e9"}`}},
	}
	for _, tc := range cases {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tc.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			got, err := readAll(t, NewScanner(r, 1<<20))
			if err != nil {
				t.Fatalf("%s (oneByte=%v): %v", tc.name, oneByte, err)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("%s (oneByte=%v): got %q, want %q", tc.name, oneByte, got, tc.want)
			}
		}
	}
}

func TestSyntaxErrors(t *testing.T) {
	cases := []struct {
		name, in string
		line     int64
		msg      string
	}{
		{"newline in string", "{\"a\":\"abc\n\"}", 1, "newline inside a string"},
		{"mismatched", "{\"a\":[1}", 1, "expected ',' or ']'"},
		{"missing comma", `{"a":1 "b":2}`, 1, "expected ',' or '}'"},
		{"bad literal", `{"a":tru}`, 1, `invalid literal "tru"`},
		{"bad number", `{"a":01}`, 1, `invalid number "01"`},
		{"bad number 2", `{"a":1.}`, 1, `invalid number "1."`},
		{"bad escape", `{"a":"\x"}`, 1, `invalid escape`},
		{"bad unicode", `{"a":"\u12G4"}`, 1, `invalid \u escape`},
		{"control char", "{\"a\":\"\x01\"}", 1, "control character"},
		{"unquoted key", `{a:1}`, 1, "expected a string key"},
		{"trailing comma", `{"a":1,}`, 1, "expected a string key"},
		{"truncated", "{\"a\":[1,2", 1, "unexpected end of input"},
		{"second line", "{}\n{\"a\":]", 2, "unexpected ']'"},
	}
	for _, tc := range cases {
		s := NewScanner(strings.NewReader(tc.in), 1<<20)
		_, err := readAll(t, s)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("%s: got %v, want a SyntaxError", tc.name, err)
		}
		if se.Line != tc.line || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("%s: got line %d %q, want line %d containing %q", tc.name, se.Line, se.Msg, tc.line, tc.msg)
		}
	}
}

func TestTooLargeIsSkipped(t *testing.T) {
	big := `{"big":"` + strings.Repeat("x", 3<<20) + `"}`
	in := `{"a":1}` + "\n" + big + "\n" + `{"b":2}`
	s := NewScanner(iotest.HalfReader(strings.NewReader(in)), 1<<20)
	v, err := s.ReadValue()
	if err != nil || string(v.Bytes) != `{"a":1}` {
		t.Fatalf("first value: %q %v", v.Bytes, err)
	}
	_, err = s.ReadValue()
	var ve *ValueError
	if !errors.As(err, &ve) || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if ve.Line != 2 || ve.Offset != 8 || ve.Size != int64(len(big)) || !bytes.HasPrefix(ve.Snippet, []byte(`{"big":"xxx`)) {
		t.Errorf("bad report: line %d offset %d size %d snippet %.20q", ve.Line, ve.Offset, ve.Size, ve.Snippet)
	}
	v, err = s.ReadValue()
	if err != nil || string(v.Bytes) != `{"b":2}` || v.Line != 3 {
		t.Fatalf("value after the big one: %q line %d %v", v.Bytes, v.Line, err)
	}
	if len(s.buf) > 4<<20 {
		t.Errorf("buffer grew to %d bytes while skipping", len(s.buf))
	}
}

// TestTooLargeBuffered: a value that arrives whole in the buffer is
// measured too, not only one that needs more input.
func TestTooLargeBuffered(t *testing.T) {
	s := NewScanner(strings.NewReader(`{"a":"0123456789"} [1]`), 10)
	s.PeekAhead(512) // as the decoder does: the buffer grows and holds it all
	_, err := s.ReadValue()
	var ve *ValueError
	if !errors.As(err, &ve) || ve.Size != 18 || string(ve.Snippet) != `{"a":"0123456789"}` {
		t.Fatalf("got %v, want an 18-byte ErrTooLarge", err)
	}
	if v, err := s.ReadValue(); err != nil || string(v.Bytes) != "[1]" {
		t.Fatalf("next value: %q %v", v.Bytes, err)
	}
}

func TestReadKeyAndArrays(t *testing.T) {
	in := `{"Other":{"x":[1]},"Re\u0063ords":[{"n":1},{"n":2}]}`
	s := NewScanner(iotest.OneByteReader(strings.NewReader(in)), 1<<20)
	if err := s.Consume('{'); err != nil {
		t.Fatal(err)
	}
	k, err := s.ReadKey()
	if err != nil || k != "Other" {
		t.Fatalf("key %q %v", k, err)
	}
	if _, err := s.ReadValue(); err != nil {
		t.Fatal(err)
	}
	if err := s.Consume(','); err != nil {
		t.Fatal(err)
	}
	k, err = s.ReadKey()
	if err != nil || k != "Records" {
		t.Fatalf("key %q %v", k, err)
	}
	if err := s.Consume('['); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		v, err := s.ReadValue()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(v.Bytes))
		c, _ := s.Peek()
		s.SkipByte()
		if c == ']' {
			break
		}
	}
	if strings.Join(got, " ") != `{"n":1} {"n":2}` {
		t.Errorf("elements %q", got)
	}
}

func TestSkipTo(t *testing.T) {
	in := strings.Repeat("garbage ", 100000) + `{"eventVersion":"1.08"}`
	s := NewScanner(strings.NewReader(in), 1<<20)
	if !s.SkipTo([]byte(`{"eventVersion"`)) {
		t.Fatal("pattern not found")
	}
	if s.Offset() != int64(len(in)-len(`{"eventVersion":"1.08"}`)) {
		t.Errorf("offset %d", s.Offset())
	}
	v, err := s.ReadValue()
	if err != nil || string(v.Bytes) != `{"eventVersion":"1.08"}` {
		t.Fatalf("%q %v", v.Bytes, err)
	}
	if s.SkipTo([]byte("nope")) {
		t.Error("found a pattern that is not there")
	}
}

func TestLineNumbersAcrossRefills(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 50000; i++ {
		b.WriteString(`{"i":"` + strings.Repeat("y", i%50) + "\"}\n")
	}
	s := NewScanner(strings.NewReader(b.String()), 1<<20)
	for i := int64(1); ; i++ {
		v, err := s.ReadValue()
		if err == io.EOF {
			if i != 50001 {
				t.Fatalf("read %d values", i-1)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if v.Line != i {
			t.Fatalf("value %d reported line %d", i, v.Line)
		}
	}
}

func TestMembers(t *testing.T) {
	in := `  {"a": 1, "b\u0063" : {"x":[1,{"y":"}"}]}, "c":"str\"", "d":null}`
	for _, oneByte := range []bool{false, true} {
		var r io.Reader = strings.NewReader(in)
		if oneByte {
			r = iotest.OneByteReader(r)
		}
		s := NewScanner(r, 1<<20)
		v, err := s.ReadValue()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range v.Members {
			got = append(got, string(v.Bytes[m.KeyStart:m.KeyEnd])+"="+string(v.Bytes[m.ValStart:m.ValEnd]))
			if m.Escaped != (string(v.Bytes[m.KeyStart:m.KeyEnd]) == `b\u0063`) {
				t.Errorf("escaped flag wrong for %q", v.Bytes[m.KeyStart:m.KeyEnd])
			}
		}
		want := []string{"a=1", `b\u0063={"x":[1,{"y":"}"}]}`, `c="str\""`, "d=null"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("oneByte=%v: members %q, want %q", oneByte, got, want)
		}
	}
}

// TestMemberIter checks that the iterator hands out the same members from
// the scanner's index as from walking the text, keys unescaped, and stops
// where it should.
func TestMemberIter(t *testing.T) {
	drain := func(it *MemberIter) []string {
		var got []string
		for k, v, ok := it.Next(); ok; k, v, ok = it.Next() {
			got = append(got, k+"="+v)
		}
		if _, _, ok := it.Next(); ok {
			t.Error("Next returned a member after the end")
		}
		return got
	}
	cases := []struct {
		in   string
		want []string
	}{
		{` {"a": 1, "b\u0063" : {"x":[1,{"y":"}"}]}, "c":"str\"", "d":null} `, []string{"a=1", `bc={"x":[1,{"y":"}"}]}`, `c="str\""`, "d=null"}},
		{`{}`, nil},
		{` { } `, nil},
		{`{"k":[]}`, []string{"k=[]"}},
	}
	for _, c := range cases {
		sc := NewScanner(strings.NewReader(c.in), 1<<20)
		v, err := sc.ReadValue()
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		raw := string(v.Bytes)
		if v.Members == nil {
			v.Members = []Member{} // an index, even if empty
		}
		for name, got := range map[string][]string{
			"index": drain(NewMemberIter(raw, v.Members)),
			"walk":  drain(NewMemberIter(c.in, nil)),
		} {
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("%s, from the %s: %q, want %q", c.in, name, got, c.want)
			}
		}
		var viaMembers []string
		Members(c.in, func(k, v string) bool { viaMembers = append(viaMembers, k+"="+v); return true })
		if strings.Join(viaMembers, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: Members gave %q, want %q", c.in, viaMembers, c.want)
		}
	}
	// Not an object, or broken: nothing, or the members before the break.
	for in, want := range map[string]string{`[1,2]`: "", `"s"`: "", ``: "", `{"a":1,"b"}`: "a=1", `{"a":1,3:4}`: "a=1"} {
		if got := strings.Join(drain(NewMemberIter(in, nil)), "|"); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// FuzzValidate checks that the scanner accepts exactly the values that
// encoding/json accepts.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e-3,true,null,"x\u00e9"]}`, `{"a":01}`, `[1,]`, `"\q"`, `{"a" 1}`, `-0.0E+1`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if strings.ContainsAny(in, "\n") {
			return // raw newlines inside strings are rejected on purpose
		}
		sc := NewScanner(strings.NewReader(in), 1<<20)
		v, err := sc.ReadValue()
		if err == io.EOF {
			return
		}
		rest, _ := io.ReadAll(io.MultiReader(bytes.NewReader(sc.buf[sc.pos:sc.end]), sc.r))
		whole := err == nil && len(bytes.Trim(rest, " \t\r\n")) == 0
		if json.Valid([]byte(in)) != whole {
			t.Fatalf("%q: json.Valid=%v, scanner whole-value=%v (err %v, value %q)", in, json.Valid([]byte(in)), whole, err, v.Bytes)
		}
	})
}

// FuzzSplit checks that the scanner splits a stream of valid values exactly
// as encoding/json does.
func FuzzSplit(f *testing.F) {
	f.Add(`{"a":"\\\"","b":[1,{"c":null}]} [] "x" 12`)
	f.Add(`{"Records":[{"eventVersion":"1.08","k":"v\\"}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		dec := json.NewDecoder(strings.NewReader(in))
		var want []string
		for {
			var m json.RawMessage
			if err := dec.Decode(&m); err != nil {
				if err != io.EOF {
					return // not a valid stream: nothing to compare
				}
				break
			}
			if m[0] != '{' && m[0] != '[' && m[0] != '"' {
				return // number tokenisation of adjacent scalars is not our concern
			}
			want = append(want, string(m))
		}
		s := NewScanner(iotest.OneByteReader(strings.NewReader(in)), 1<<20)
		var got []string
		for {
			v, err := s.ReadValue()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("scanner failed on valid input %q: %v", in, err)
			}
			got = append(got, string(v.Bytes))
		}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("split %q: got %q want %q", in, got, want)
		}
	})
}

// TestMayBeSpecial checks the word-at-a-time test of string bytes against
// the byte table for every byte value in every position of a word.
func TestMayBeSpecial(t *testing.T) {
	for pos := range 8 {
		for c := range 256 {
			word := []byte("abcdefgh")
			word[pos] = byte(c)
			w := uint64(0)
			for i := 7; i >= 0; i-- {
				w = w<<8 | uint64(word[i])
			}
			if want := strSpecial[c]; want && !mayBeSpecial(w) {
				t.Errorf("byte %#02x at %d: not reported", c, pos)
			}
			if !strSpecial[c] && mayBeSpecial(w) {
				t.Errorf("byte %#02x at %d: reported, but it is a plain string byte", c, pos)
			}
		}
	}
}
