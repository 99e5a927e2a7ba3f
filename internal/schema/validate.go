package schema

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trawl-project/trawl/internal/event"
)

// The range of instants every store can hold: DuckDB's TIMESTAMPTZ reaches
// further, but ClickHouse, Parquet readers and JSON output stop at four-digit
// years.
var (
	MinTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// Validate checks every typed value of a batch before it reaches a sink,
// so that no record can fail a write (and with it every record of its
// transaction, on every re-run). A value a store cannot hold (a time
// outside MinTime–MaxTime, an integer too wide for its column, a severity
// that is not a number) becomes NULL with a warning; a record that lacks a
// value its table requires (raw text, a CloudTrail event id, a finding's
// id and updatedAt) is moved to the batch's quarantine entries, keeping its
// unit number, so only that record is lost. It returns the number of
// values and records it changed.
func Validate(b *event.Batch) int {
	v := validator{b: b}
	keep := b.CloudTrail[:0]
	for i := range b.CloudTrail {
		e := &b.CloudTrail[i]
		v.kind, v.unit, v.raw = event.KindCloudTrail, e.Unit, e.Raw
		v.time("eventTime", &e.EventTime)
		v.time("userIdentity.sessionContext.attributes.creationDate", &e.SessionCreatedAt)
		if v.required("raw", e.Raw) && v.required("eventID", e.EventID) && v.utf8(e.Raw) {
			keep = append(keep, *e)
		}
	}
	clear(b.CloudTrail[len(keep):])
	b.CloudTrail = keep

	flows := b.VPCFlow[:0]
	for i := range b.VPCFlow {
		f := &b.VPCFlow[i]
		v.kind, v.unit, v.raw = event.KindVPCFlow, f.Unit, f.Raw
		if t, ok := f.Start(); ok && !inRange(t) {
			f.UnsetStart()
			v.warn("start", fmt.Sprintf("%d is not a time that can be stored (Unix seconds outside years 1–9999); stored as NULL", t.Unix()))
		}
		if t, ok := f.End(); ok && !inRange(t) {
			f.UnsetEnd()
			v.warn("end", fmt.Sprintf("%d is not a time that can be stored (Unix seconds outside years 1–9999); stored as NULL", t.Unix()))
		}
		for _, fd := range narrowFlowInts {
			if n, ok := f.Int(fd.Index); ok && (n < math.MinInt32 || n > math.MaxInt32) {
				f.UnsetInt(fd.Index)
				v.warn(fd.Name, fmt.Sprintf("%d does not fit the 32-bit column %s; stored as NULL", n, fd.Column))
			}
		}
		if v.required("raw", f.Raw) && v.utf8(f.Raw) {
			flows = append(flows, *f)
		}
	}
	clear(b.VPCFlow[len(flows):])
	b.VPCFlow = flows

	fs := b.Findings[:0]
	for i := range b.Findings {
		f := &b.Findings[i]
		v.kind, v.unit, v.raw = event.KindGuardDuty, f.Unit, f.Raw
		v.time("createdAt", &f.CreatedAt)
		v.time("updatedAt", &f.UpdatedAt)
		v.time("service.eventFirstSeen", &f.FirstSeen)
		v.time("service.eventLastSeen", &f.LastSeen)
		if f.UpdatedAt.IsZero() && !f.CreatedAt.IsZero() {
			f.UpdatedAt = f.CreatedAt
			v.warn("updatedAt", "no usable updatedAt; the finding's createdAt is used as its version")
		}
		if math.IsNaN(f.Severity) || math.IsInf(f.Severity, 0) {
			f.Severity = 0
			v.warn("severity", "severity is not a finite number; stored as 0")
		}
		if v.required("raw", f.Raw) && v.required("id", f.ID) && v.requiredTime("updatedAt", f.UpdatedAt) && v.utf8(f.Raw) {
			fs = append(fs, *f)
		}
	}
	clear(b.Findings[len(fs):])
	b.Findings = fs

	ds := b.Digests[:0]
	for i := range b.Digests {
		d := &b.Digests[i]
		v.kind, v.unit, v.raw = event.KindCloudTrailDigest, d.Unit, d.Raw
		v.time("digestStartTime", &d.DigestStart)
		v.time("digestEndTime", &d.DigestEnd)
		v.time("oldestEventTime", &d.OldestEventTime)
		v.time("newestEventTime", &d.NewestEventTime)
		for j := range d.LogFiles {
			v.time("logFiles.oldestEventTime", &d.LogFiles[j].OldestEventTime)
			v.time("logFiles.newestEventTime", &d.LogFiles[j].NewestEventTime)
		}
		if v.required("raw", d.Raw) && v.utf8(d.Raw) {
			ds = append(ds, *d)
		}
	}
	clear(b.Digests[len(ds):])
	b.Digests = ds
	return v.changed
}

// narrowFlowInts are the flow-log integer fields stored in 32-bit columns.
var narrowFlowInts = func() []event.FlowField {
	var out []event.FlowField
	for _, fd := range event.FlowFields {
		if fd.Kind == event.FlowInt && !fd.Wide {
			out = append(out, fd)
		}
	}
	return out
}()

type validator struct {
	b       *event.Batch
	kind    event.Kind
	unit    int64
	raw     string
	changed int
}

func inRange(t time.Time) bool { return !t.Before(MinTime) && !t.After(MaxTime) }

func (v *validator) warn(field, reason string) {
	v.changed++
	v.b.Warnings = append(v.b.Warnings, event.Warning{Object: v.b.Object, Kind: v.kind, Record: v.unit, Field: field, Reason: reason})
}

func (v *validator) time(field string, t *time.Time) {
	if t.IsZero() || inRange(*t) {
		return
	}
	v.warn(field, fmt.Sprintf("%s is outside the years 1–9999 a store can hold; stored as NULL", t.Format(time.RFC3339)))
	*t = time.Time{}
}

// quarantine moves the current record to the quarantine.
func (v *validator) quarantine(reason string) {
	v.changed++
	snippet := v.raw
	if len(snippet) > 256 {
		snippet = snippet[:256]
	}
	v.b.Quarantined = append(v.b.Quarantined, event.Quarantined{
		Object: v.b.Object, Kind: v.kind, Offset: -1, Record: v.unit,
		Reason:  reason,
		Snippet: strings.ToValidUTF8(snippet, "\uFFFD"),
	})
}

func (v *validator) required(field, s string) bool {
	if s != "" {
		return true
	}
	v.quarantine(fmt.Sprintf("the record has no %s, which every stored %s record needs", field, v.kind))
	return false
}

func (v *validator) requiredTime(field string, t time.Time) bool {
	if !t.IsZero() {
		return true
	}
	v.quarantine(fmt.Sprintf("the record has no usable %s, which every stored %s record needs", field, v.kind))
	return false
}

func (v *validator) utf8(s string) bool {
	if utf8.ValidString(s) {
		return true
	}
	v.quarantine("the record's text is not valid UTF-8")
	return false
}
