package vpcflow

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/event"
)

func TestParseFormat(t *testing.T) {
	f, err := ParseFormat("${version} ${account-id} ${pkt-src-aws-service} ${ecs-task-id} ${reject-reason} ${tgw-id}")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.fields) != 6 || f.String() != "${version} ${account-id} ${pkt-src-aws-service} ${ecs-task-id} ${reject-reason} ${tgw-id}" {
		t.Errorf("format %q (%d fields)", f.String(), len(f.fields))
	}
	if _, err := ParseFormat("version account_id"); err != nil {
		t.Errorf("Parquet-style names should parse: %v", err)
	}
	if _, err := ParseFormat("${version} ${no-such-field}"); err == nil || !strings.Contains(err.Error(), "no-such-field") {
		t.Errorf("unknown field: got %v", err)
	}
	if _, err := ParseFormat("  "); err == nil {
		t.Error("empty format accepted")
	}
}

func TestEveryFieldHasAUniqueName(t *testing.T) {
	names := map[string]bool{}
	cols := map[string]bool{}
	for _, f := range event.FlowFields {
		if names[f.Name] || cols[f.Column] {
			t.Errorf("duplicate field %s / %s", f.Name, f.Column)
		}
		names[f.Name], cols[f.Column] = true, true
	}
	// Every version 2–8 field of AWS's table, in its documented order.
	want := strings.Fields(v8)
	for i, n := range want {
		if event.FlowFields[i].Name != n {
			t.Fatalf("field %d is %s, AWS documents %s", i, event.FlowFields[i].Name, n)
		}
	}
}

func TestLayoutsByFieldCount(t *testing.T) {
	for n, wantFirst := range map[int]string{14: "version", 29: "version", 36: "version", 39: "version", 40: "version"} {
		f := formatForCount(n)
		if f == nil || len(f.fields) != n || f.names[0] != wantFirst {
			t.Errorf("layout for %d fields: %v", n, f)
		}
	}
	if formatForCount(21) != nil {
		t.Error("a 21-field line has no unambiguous layout; it must need a header or --vpc-format")
	}
	if formatForCount(36).names[1] != "resource-type" {
		t.Error("36 fields is the Transit Gateway layout")
	}
}

func TestLine(t *testing.T) {
	p := NewParser(nil)
	if _, err := p.Line("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"); !errors.Is(err, ErrHeader) {
		t.Fatalf("header: %v", err)
	}
	r, err := p.Line("2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Int(event.FlowSrcPort); r.Str(event.FlowLogStatus) != "NODATA" || ok || r.Str(event.FlowAction) != "" || start(r).Unix() != 1431280876 {
		t.Errorf("NODATA line: %+v", r)
	}
	// A header changes the layout for the lines after it.
	if _, err := p.Line("srcaddr dstaddr action"); !errors.Is(err, ErrHeader) {
		t.Fatal(err)
	}
	r, err = p.Line("10.0.0.1\t10.0.0.2   REJECT")
	if err != nil || r.Str(event.FlowAction) != "REJECT" || r.Str(event.FlowDstAddr) != "10.0.0.2" {
		t.Errorf("tabs and runs of spaces: %v %+v", err, r)
	}
	for _, bad := range []string{"10.0.0.1 10.0.0.2", "10.0.0.1 10.0.0.2 REJECT extra"} {
		if _, err := p.Line(bad); err == nil || !strings.Contains(err.Error(), "fields") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// Unknown fields in a header are skipped, not fatal.
	q := NewParser(nil)
	if _, err := q.Line("version srcaddr some-future-field dstaddr"); !errors.Is(err, ErrHeader) {
		t.Fatal(err)
	}
	r, err = q.Line("9 10.0.0.1 whatever 10.0.0.2")
	if v, _ := r.Int(event.FlowVersion); err != nil || v != 9 || r.Str(event.FlowDstAddr) != "10.0.0.2" {
		t.Errorf("future field: %v %+v", err, r)
	}
	if _, err := NewParser(nil).Line("1 2 3"); err == nil || !strings.Contains(err.Error(), "--vpc-format") {
		t.Errorf("an unknown layout must point at --vpc-format: %v", err)
	}
}

func start(r event.VPCFlow) time.Time {
	t, _ := r.Start()
	return t
}

func TestAtoi(t *testing.T) {
	for s, want := range map[string]int64{"0": 0, "443": 443, "-5": -5, "+7": 7, "9223372036854775807": 9223372036854775807, "-9223372036854775808": -9223372036854775808} {
		if v, ok, _ := atoi(s); !ok || v != want {
			t.Errorf("atoi(%q) = %d, %v", s, v, ok)
		}
	}
	for _, s := range []string{"", "-", "1.5", "12a", "0x10"} {
		if _, ok, over := atoi(s); ok || over {
			t.Errorf("atoi(%q) accepted", s)
		}
	}
	for _, s := range []string{"9223372036854775808", "9999999999999999999", "99999999999999999999", "-9223372036854775809", "184467440737095516150"} {
		if v, ok, over := atoi(s); ok || !over {
			t.Errorf("atoi(%q) = %d, %v: want an overflow", s, v, ok)
		}
	}
}

// Values a column cannot hold become NULL with a warning; the line is kept.
func TestPoisonValues(t *testing.T) {
	p := NewParser(nil)
	r, err := p.Line("2 111122223333 eni-1 10.0.0.1 10.0.0.2 70000 -1 256 -5 99999999999999999999 -62135596800 99999999999999 ACCEPT OK")
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{event.FlowSrcPort, event.FlowDstPort, event.FlowProtocol, event.FlowPackets, event.FlowBytes} {
		if v, ok := r.Int(i); ok {
			t.Errorf("int field %d kept as %d", i, v)
		}
	}
	if _, ok := r.Start(); ok {
		t.Error("start before year 1 kept")
	}
	if _, ok := r.End(); ok {
		t.Error("end 99999999999999 kept")
	}
	var fields []string
	for _, w := range p.Warnings() {
		fields = append(fields, w.Field)
	}
	if got := strings.Join(fields, " "); got != "srcport dstport protocol packets bytes start end" {
		t.Errorf("warnings for %q", got)
	}
	r, err = p.Line("2 111122223333 eni-1 10.0.0.1 10.0.0.2 65535 0 255 0 9223372036854775807 -62135596799 253402300799 ACCEPT OK")
	if v, _ := r.Int(event.FlowBytes); err != nil || len(p.Warnings()) != 0 || v != 9223372036854775807 {
		t.Errorf("edge values: %v %v %+v", err, p.Warnings(), r)
	}
	if e, ok := r.End(); !ok || e.Year() != 9999 {
		t.Errorf("end %v", e)
	}
}
