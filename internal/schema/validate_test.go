package schema

import (
	"math"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/event"
)

func TestValidate(t *testing.T) {
	good := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	far := time.Unix(99999999999999, 0)
	var flow event.VPCFlow
	flow.Raw, flow.Unit = "2 111122223333 eni-1 … 99999999999999 ACCEPT OK", 3
	flow.SetStart(good.Unix())
	flow.SetEnd(99999999999999)
	flow.SetInt(event.FlowSrcPort, math.MaxInt32+1)
	flow.SetInt(event.FlowPackets, 1<<40) // a 64-bit column holds it
	b := &event.Batch{
		Object: "obj",
		CloudTrail: []event.CloudTrail{
			{EventID: "a", EventTime: far, Raw: `{"a":1}`, Unit: 0},
			{EventID: "b", EventTime: good, Raw: "", Unit: 1},
			{EventID: "c", EventTime: good, Raw: "\xff\xfe", Unit: 2},
		},
		VPCFlow: []event.VPCFlow{flow},
		Findings: []event.Finding{
			{ID: "f1", CreatedAt: good, Raw: "{}", Severity: math.NaN(), Unit: 4},
			{ID: "f2", Raw: "{}", Unit: 5},
		},
	}
	if n := Validate(b); n != 8 {
		t.Errorf("Validate changed %d values or records, want 8", n)
	}
	if len(b.CloudTrail) != 1 || !b.CloudTrail[0].EventTime.IsZero() {
		t.Errorf("CloudTrail: %+v, want event a with its time NULL", b.CloudTrail)
	}
	f := &b.VPCFlow[0]
	if _, ok := f.End(); ok {
		t.Error("an impossible end time is kept")
	}
	if _, ok := f.Start(); !ok {
		t.Error("a good start time is dropped")
	}
	if _, ok := f.Int(event.FlowSrcPort); ok {
		t.Error("a port wider than its 32-bit column is kept")
	}
	if v, ok := f.Int(event.FlowPackets); !ok || v != 1<<40 {
		t.Error("a 64-bit value is dropped")
	}
	if len(b.Findings) != 1 || !b.Findings[0].UpdatedAt.Equal(good) || b.Findings[0].Severity != 0 {
		t.Errorf("findings: %+v, want f1 versioned by its createdAt, severity 0", b.Findings)
	}
	var units []int64
	for _, q := range b.Quarantined {
		units = append(units, q.Record)
		if q.Object != "obj" || q.Reason == "" {
			t.Errorf("quarantine entry %+v", q)
		}
	}
	if len(units) != 3 || units[0] != 1 || units[1] != 2 || units[2] != 5 {
		t.Errorf("quarantined units %v, want [1 2 5] (no raw, invalid UTF-8, no usable updatedAt)", units)
	}
	fields := map[string]bool{}
	for _, w := range b.Warnings {
		fields[w.Field] = true
		if w.Object != "obj" || w.Reason == "" {
			t.Errorf("warning %+v", w)
		}
	}
	for _, want := range []string{"eventTime", "end", "srcport", "updatedAt", "severity"} {
		if !fields[want] {
			t.Errorf("no warning for %s: %+v", want, b.Warnings)
		}
	}
	if b.Units() != 3 /* records */ +3 /* quarantined */ {
		t.Errorf("%d units, want 6: no unit is lost", b.Units())
	}
}
