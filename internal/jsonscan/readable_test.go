package jsonscan

import (
	"strings"
	"testing"
)

func TestReadable(t *testing.T) {
	digits := strings.Repeat("9", 400)
	cases := []struct{ in, want string }{
		{`{"a":"\udc00"}`, `{"a":"\ufffd"}`},
		{`{"a":"x\ud800"}`, `{"a":"x\ufffd"}`},
		{`{"a":"\ud800\u0041"}`, `{"a":"\ufffd\u0041"}`},
		{`{"a":"\ud83d\ude00 ok"}`, `{"a":"\ud83d\ude00 ok"}`},
		{`{"\udfff":1}`, `{"\ufffd":1}`},
		{`{"a":"\\udc00"}`, `{"a":"\\udc00"}`}, // an escaped backslash, not an escape
		{`[1e99999,-1E+400,1.5e308,1e-99999,` + digits + `]`, `["1e99999","-1E+400",1.5e308,1e-99999,"` + digits + `"]`},
		{`{"a":[1,2.5,-3]}`, `{"a":[1,2.5,-3]}`},
	}
	for _, tc := range cases {
		got, fixes := Readable(tc.in)
		if got != tc.want {
			t.Errorf("Readable(%s) = %s, want %s", tc.in, got, tc.want)
		}
		if (got != tc.in) != (len(fixes) > 0) {
			t.Errorf("Readable(%s): fixes %q", tc.in, fixes)
		}
	}
	if _, fixes := Readable(strings.Repeat(`"\udc00",`, 20) + "1"); len(fixes) != maxFixes+1 || !strings.Contains(fixes[maxFixes], "15 more") {
		t.Errorf("fixes not bounded: %q", fixes)
	}
}

// TestUnreadableFlag checks that the scanner flags exactly the values that
// may need Readable, so that other values take no second pass.
func TestUnreadableFlag(t *testing.T) {
	sc := NewScanner(nil, 1<<20)
	for in, want := range map[string]bool{
		`{"a":"é\u00e9\n","n":[1,-2.5e10,12345678901234567890,1.7e307]}`: false,
		`{"a":"\ud83d\ude00"}`:               true, // a pair: checked by Readable, left alone
		`{"a":"\udc00"}`:                     true,
		`[1e309]`:                            true,
		`[` + strings.Repeat("1", 310) + `]`: true,
	} {
		if _, err := sc.Validate(in); err != nil {
			t.Fatal(err)
		}
		if sc.Unreadable() != want {
			t.Errorf("%.40s: Unreadable() = %v", in, !want)
		}
	}
}

func TestMaxDepth(t *testing.T) {
	sc := NewScanner(nil, 1<<20)
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := sc.Validate(ok); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	if _, err := sc.Validate("[" + ok + "]"); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("depth %d: %v", MaxDepth+1, err)
	}
}

func TestSkipToElement(t *testing.T) {
	in := `{"a":1, "b":[1,2]} ,` + strings.Repeat(" ", 300) + "\n {\"next\":1}"
	sc := NewScanner(strings.NewReader(in), 1<<20)
	sc.buf = make([]byte, 16) // refills in the middle of the whitespace
	if !sc.SkipToElement() {
		t.Fatal("not found")
	}
	if v, err := sc.ReadValue(); err != nil || string(v.Bytes) != `{"next":1}` {
		t.Errorf("got %q, %v", v.Bytes, err)
	}
	if sc.SkipToElement() {
		t.Error("found past the end")
	}
}
