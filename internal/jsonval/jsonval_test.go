package jsonval

import (
	"testing"
	"time"
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
