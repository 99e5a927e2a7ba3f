package rules

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/sigma"
)

// Engine evaluates streaming rules and the watch list on every record of
// a batch and appends one event.Hit per (rule, record) to the batch's
// Hits. It implements pipeline.Processor; it is safe for concurrent use
// (it changes nothing after New).
//
// CloudTrail rules are indexed by the eventName values their detection
// pins: an event is evaluated only against the rules that can match its
// eventName and the rules that pin none.
type Engine struct {
	byName   map[string][]*Rule // lowercased eventName → rules that pin it
	ctPinned []*Rule            // every rule of byName, once
	ctAlways []*Rule
	flow     []*Rule
	gd       []*Rule
	watch    []*Watch
	n        int
	hits     atomic.Int64
}

// Hits returns the number of hits the engine has produced.
func (e *Engine) Hits() int64 { return e.hits.Load() }

// NewEngine indexes the enabled streaming rules among rules and the watch
// list entries.
func NewEngine(rules []*Rule, watch []*Watch) *Engine {
	e := &Engine{byName: map[string][]*Rule{}, watch: watch}
	for _, r := range rules {
		if !r.Enabled || r.Sigma == nil {
			continue
		}
		e.n++
		switch r.LogType {
		case event.KindCloudTrail:
			names := r.Sigma.Pinned("eventName")
			if names == nil {
				e.ctAlways = append(e.ctAlways, r)
				continue
			}
			e.ctPinned = append(e.ctPinned, r)
			seen := map[string]bool{}
			for _, n := range names {
				if !seen[n] {
					seen[n] = true
					e.byName[n] = append(e.byName[n], r)
				}
			}
		case event.KindVPCFlow:
			e.flow = append(e.flow, r)
		case event.KindGuardDuty:
			e.gd = append(e.gd, r)
		}
	}
	return e
}

// Rules returns the number of streaming rules the engine runs.
func (e *Engine) Rules() int { return e.n }

// candidates returns the CloudTrail rules that can match ev besides the
// unpinned ones.
func (e *Engine) candidates(ev *event.CloudTrail) (pinned []*Rule, all bool) {
	if ev.InsightDetails != "" {
		return nil, false // Insight records have no eventName of their own
	}
	name := ev.EventName
	if name == "" {
		return nil, true // no typed name: evaluate everything on the record
	}
	var buf [96]byte
	if len(name) > len(buf) {
		return nil, true
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return e.byName[string(buf[:len(name)])], false
}

// Process evaluates the rules on every record of b.
func (e *Engine) Process(ctx context.Context, b *event.Batch) error {
	before := len(b.Hits)
	defer func() { e.hits.Add(int64(len(b.Hits) - before)) }()
	for i := range b.CloudTrail {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		ev := &b.CloudTrail[i]
		pinned, all := e.candidates(ev)
		if all {
			pinned = e.ctPinned
		}
		for _, r := range pinned {
			if r.Sigma.Match(ev) {
				b.Hits = append(b.Hits, ctHit(r, ev))
			}
		}
		for _, r := range e.ctAlways {
			if r.Sigma.Match(ev) {
				b.Hits = append(b.Hits, ctHit(r, ev))
			}
		}
		for _, w := range e.watch {
			if w.match(ev) {
				b.Hits = append(b.Hits, w.hit(ev))
			}
		}
	}
	if len(e.flow) > 0 {
		for i := range b.VPCFlow {
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			f := &b.VPCFlow[i]
			for _, r := range e.flow {
				if r.Sigma.MatchFlow(f) {
					b.Hits = append(b.Hits, FlowHit(r, f, FlowKey(b.Object, f.Unit)))
				}
			}
		}
	}
	for i := range b.Findings {
		f := &b.Findings[i]
		for _, r := range e.gd {
			if r.Sigma.MatchFinding(f) {
				b.Hits = append(b.Hits, findingHit(r, f))
			}
		}
	}
	return nil
}

// FlowKey is the row key of a flow record in hits: its object and unit
// (the index of the record in the object), as sinks key flow records.
func FlowKey(object string, unit int64) string {
	return object + "#" + strconv.FormatInt(unit, 10)
}

func dedupKey(r *Rule, id string, get func(f *sigma.Field) (string, bool)) string {
	if len(r.dedup) == 0 {
		return r.ID + "|" + id
	}
	k := r.ID
	for _, f := range r.dedup {
		v, _ := get(f)
		k += "|" + v
	}
	return k
}

// CloudTrailFields are the Fields of a CloudTrail hit.
func CloudTrailFields(ev *event.CloudTrail) map[string]string {
	m := map[string]string{}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put("principal", ev.Principal)
	put("user_name", ev.UserName)
	put("source_ip", ev.SourceIP)
	put("user_agent", ev.UserAgent)
	put("event_source", ev.EventSource)
	put("event_name", ev.EventName)
	put("region", ev.AWSRegion)
	put("account", ev.RecipientAccountID)
	put("error_code", ev.ErrorCode)
	put("user_arn", ev.UserARN)
	if !ev.EventTime.IsZero() {
		m["event_time"] = ev.EventTime.UTC().Format(time.RFC3339)
	}
	return m
}

// CloudTrailHit returns the hit of a streaming rule on a CloudTrail event.
func CloudTrailHit(r *Rule, ev *event.CloudTrail) event.Hit { return ctHit(r, ev) }

func ctHit(r *Rule, ev *event.CloudTrail) event.Hit {
	get := func(f *sigma.Field) (string, bool) { return f.CloudTrail(ev) }
	return event.Hit{
		RuleID: r.ID, Severity: r.Severity(), Title: r.title.render(get), LogType: event.KindCloudTrail,
		EventIDs: []string{ev.EventID}, First: ev.EventTime, Last: ev.EventTime,
		DedupKey: dedupKey(r, ev.EventID, get), Suppress: r.Suppress, Count: 1,
		Fields: CloudTrailFields(ev), Tags: r.Techniques,
	}
}

// FlowHit returns the hit of a streaming rule on a flow record; key is
// its row key (FlowKey).
func FlowHit(r *Rule, f *event.VPCFlow, key string) event.Hit {
	get := func(fd *sigma.Field) (string, bool) { return fd.Flow(f) }
	t, ok := f.Start()
	if !ok {
		t, _ = f.End()
	}
	m := map[string]string{}
	for _, fd := range flowHitFields {
		if v, ok := fd.Flow(f); ok && v != "" {
			m[flowFields[fd.Name()]] = v
		}
	}
	if acct, ok := m["account_id"]; ok {
		m["account"] = acct
	}
	return event.Hit{
		RuleID: r.ID, Severity: r.Severity(), Title: r.title.render(get), LogType: event.KindVPCFlow,
		EventIDs: []string{key}, First: t, Last: t,
		DedupKey: dedupKey(r, key, get), Suppress: r.Suppress, Count: 1, Fields: m, Tags: r.Techniques,
	}
}

// flowHitFields are the flow fields a hit carries.
var flowHitFields = func() []*sigma.Field {
	var out []*sigma.Field
	for _, name := range []string{"srcaddr", "dstaddr", "srcport", "dstport", "protocol", "action", "bytes", "packets", "interface-id", "account-id", "region", "vpc-id", "instance-id", "flow-direction"} {
		fd, err := sigma.NewField(sigma.ServiceVPCFlow, name)
		if err != nil {
			panic(err)
		}
		out = append(out, fd)
	}
	return out
}()

// flowFields maps flow field names to the hit's field names (columns).
var flowFields = func() map[string]string {
	m := map[string]string{}
	for _, f := range event.FlowFields {
		m[f.Name] = f.Column
	}
	return m
}()

func findingHit(r *Rule, f *event.Finding) event.Hit { return FindingHit(r, f) }

// FindingHit returns the hit of a streaming rule on a finding version.
func FindingHit(r *Rule, f *event.Finding) event.Hit {
	get := func(fd *sigma.Field) (string, bool) { return fd.Finding(f) }
	m := map[string]string{}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put("finding_id", f.ID)
	put("finding_type", f.Type)
	put("severity", strconv.FormatFloat(f.Severity, 'f', -1, 64))
	put("account", f.AccountID)
	put("region", f.Region)
	put("resource_type", f.ResourceType)
	put("title", f.Title)
	if f.Archived == event.BoolTrue {
		m["archived"] = "true"
	}
	t := f.UpdatedAt
	if t.IsZero() {
		t = f.CreatedAt
	}
	// A finding spans its versions: from its creation to this update. The
	// alert store finds a finding it has seen through that span.
	first := f.CreatedAt
	if first.IsZero() || first.After(t) {
		first = t
	}
	id := f.ID
	return event.Hit{
		RuleID: r.ID, Severity: r.Severity(), Title: r.title.render(get), LogType: event.KindGuardDuty,
		EventIDs: []string{id}, First: first, Last: t,
		DedupKey: dedupKey(r, id, get), Suppress: r.Suppress, Count: 1, Fields: m, Tags: r.Techniques,
	}
}

// String describes the engine for logs.
func (e *Engine) String() string {
	return fmt.Sprintf("%d streaming rules (%d CloudTrail eventNames indexed, %d unindexed), %d watch entries",
		e.n, len(e.byName), len(e.ctAlways), len(e.watch))
}
