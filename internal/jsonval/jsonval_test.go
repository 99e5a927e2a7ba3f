package jsonval

import (
	"testing"
	"time"

	"github.com/valyala/fastjson"
)

func TestParseTime(t *testing.T) {
	want := time.Date(2026, 11, 2, 10, 11, 12, 0, time.UTC)
	for _, s := range []string{
		"2026-11-02T10:11:12Z", "2026-11-02T11:11:12+01:00", "2026-11-02T10:11:12", "20261102T101112Z",
		"2026-11-02 10:11:12", "2026-11-02T10:11:12+0000",
	} {
		got, ok := ParseTime(s)
		if !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v", s, got, ok)
		}
	}
	if got, ok := ParseTime("2026-11-02T10:11:12.345Z"); !ok || got.Nanosecond() != 345e6 {
		t.Errorf("fractions: %v %v", got, ok)
	}
	for _, s := range []string{"", "yesterday", "2026-13-02T10:11:12Z"} {
		if _, ok := ParseTime(s); ok {
			t.Errorf("ParseTime(%q) accepted", s)
		}
	}
}

func TestValues(t *testing.T) {
	var p fastjson.Parser
	v, err := p.Parse(`{"n":111122223333,"s":"x","b":"TRUE","t":true,"f":1700000000.25,"ms":1700000000250,"o":{"a":[1]},"z":null,"Pascal":"P"}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := String(v.Get("n")); got != "111122223333" {
		t.Errorf("number as string: %q", got)
	}
	if got := String(v.Get("o")); got != `{"a":[1]}` {
		t.Errorf("object as string: %q", got)
	}
	if String(v.Get("z")) != "" || String(v.Get("missing")) != "" || JSON(v.Get("z")) != "" {
		t.Error("null and missing should be empty")
	}
	if b, ok := Bool(v.Get("b")); !ok || !b {
		t.Error("string TRUE")
	}
	if b, ok := Bool(v.Get("t")); !ok || !b {
		t.Error("true")
	}
	if _, ok := Bool(v.Get("s")); ok {
		t.Error("x is not a boolean")
	}
	if tm, ok := Time(v.Get("f")); !ok || tm.Unix() != 1700000000 || tm.Nanosecond() != 250e6 {
		t.Errorf("epoch seconds: %v", tm)
	}
	if tm, ok := Time(v.Get("ms")); !ok || tm.UnixMilli() != 1700000000250 {
		t.Errorf("epoch milliseconds: %v", tm)
	}
	if got := String(Get(v, "pascal")); got != "P" {
		t.Errorf("Get with the other case: %q", got)
	}
	if n, ok := Int64(v.Get("n")); !ok || n != 111122223333 {
		t.Errorf("Int64: %d", n)
	}
	if f, ok := Float64(v.Get("f")); !ok || f != 1700000000.25 {
		t.Errorf("Float64: %v", f)
	}
	if Path(v, "o", "a") == nil || Path(v, "o", "nope") != nil {
		t.Error("Path")
	}
}

func TestTimeText(t *testing.T) {
	for in, want := range map[string]string{
		`"2026-11-02T10:00:00Z"`: "2026-11-02T10:00:00Z",
		`1762077600`:             "2025-11-02T10:00:00Z",
		`1762077600000`:          "2025-11-02T10:00:00Z",
		`1e20`:                   "", // milliseconds far beyond year 9999
		`-1e300`:                 "",
		`"soon"`:                 "",
		`null`:                   "",
	} {
		got, ok := TimeText(in)
		if s := got.Format(time.RFC3339); ok != (want != "") || ok && s != want {
			t.Errorf("TimeText(%s) = %s, %v; want %q", in, s, ok, want)
		}
	}
}
