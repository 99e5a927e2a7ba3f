package output

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"
)

func TestBytesAndText(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 12 << 20: "12.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
	ts := time.Date(2026, 11, 2, 10, 0, 0, 0, time.FixedZone("x", 3600))
	for v, want := range map[any]string{nil: "", "s": "s", int64(7): "7", 1.5: "1.5", true: "true"} {
		if got := Text(v); got != want {
			t.Errorf("Text(%v) = %q", v, got)
		}
	}
	if got := Text(ts); got != "2026-11-02T09:00:00Z" {
		t.Errorf("times are shown in UTC: %q", got)
	}
	if got := Text(map[string]any{"a": 1}); got != `{"a":1}` {
		t.Errorf("maps as JSON: %q", got)
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	w, err := NewWriter("table", &b, 8)
	if err != nil {
		t.Fatal(err)
	}
	w.Header([]string{"name", "n"})
	w.Row([]any{"a very long value", int64(1)})
	w.Row([]any{"line\nbreak", nil})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"name      n", "a very …  1", `line\nb…`, "(2 rows)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}
	if _, err := NewWriter("xml", &b, 0); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestCSVTellsNullFromEmpty checks that CSV output writes NULL as an empty
// field and an empty string as "", quotes what needs quoting, and that
// encoding/csv reads it back to the same text.
func TestCSVTellsNullFromEmpty(t *testing.T) {
	var b strings.Builder
	w, err := NewWriter("csv", &b, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Header([]string{"a", "b", "c d"}); err != nil {
		t.Fatal(err)
	}
	rows := [][]any{
		{nil, "", "x"},
		{"", nil, nil},
		{"a,b", `say "hi"`, "line\nbreak"},
		{" lead", "trail ", int64(3)},
	}
	for _, r := range rows {
		if err := w.Row(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "a,b,c d\n" +
		",\"\",x\n" +
		"\"\",,\n" +
		"\"a,b\",\"say \"\"hi\"\"\",\"line\nbreak\"\n" +
		"\" lead\",\"trail \",3\n"
	if b.String() != want {
		t.Errorf("csv:\n%q\nwant\n%q", b.String(), want)
	}
	recs, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil || len(recs) != 5 || recs[3][1] != `say "hi"` || recs[3][2] != "line\nbreak" || recs[4][0] != " lead" {
		t.Errorf("read back: %q %v", recs, err)
	}
}
