package ruletest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/decode/cloudtrail"
	"github.com/trawl-project/trawl/internal/decode/guardduty"
	"github.com/trawl-project/trawl/internal/decode/vpcflow"
	"github.com/trawl-project/trawl/internal/event"
)

// Base is the time test records happen at, unless they say otherwise.
var Base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// item is one test record with the runner's own keys taken out: repeat
// (how many copies, {{i}} in strings numbering them) and ago (how long
// before Base).
type item struct {
	fields map[string]any
	repeat int
	ago    time.Duration
}

func parseItem(m map[string]any) (item, error) {
	it := item{fields: map[string]any{}, repeat: 1}
	for k, v := range m {
		switch k {
		case "repeat":
			n, ok := v.(int)
			if !ok || n < 1 {
				return it, fmt.Errorf("repeat: %v is not a positive integer", v)
			}
			it.repeat = n
		case "ago":
			d, err := config.ParseDuration(fmt.Sprint(v))
			if err != nil {
				return it, fmt.Errorf("ago: %w", err)
			}
			it.ago = d
		default:
			it.fields[k] = v
		}
	}
	return it, nil
}

// number replaces {{i}} in every string of v.
func number(v any, i int) any {
	switch x := v.(type) {
	case string:
		if x == "{{i}}" {
			return i
		}
		return strings.ReplaceAll(x, "{{i}}", strconv.Itoa(i))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = number(e, i)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for k, e := range x {
			out[k] = number(e, i)
		}
		return out
	}
	return v
}

// expand returns the item's records: copies numbered 0… and timed Base-ago
// plus one second per copy.
func (it item) expand() []recordSpec {
	out := make([]recordSpec, it.repeat)
	for i := range out {
		f := number(it.fields, i).(map[string]any)
		out[i] = recordSpec{fields: f, at: Base.Add(-it.ago).Add(time.Duration(i) * time.Second), n: i}
	}
	return out
}

type recordSpec struct {
	fields map[string]any
	at     time.Time
	n      int
}

var seq atomic.Int64

// CloudTrail builds a decoded CloudTrail event from a partial record: the
// default record (docs/rules.md) with the test's top-level keys replaced.
func CloudTrail(fields map[string]any, at time.Time) (event.CloudTrail, error) {
	raw, err := json.Marshal(CloudTrailRecord(fields, at))
	if err != nil {
		return event.CloudTrail{}, fmt.Errorf("test record: %w", err)
	}
	return cloudtrail.FromRaw(string(raw), nil), nil
}

// CloudTrailRecord returns the record a CloudTrail test event stands for:
// the default record (docs/rules.md), at time at with a fresh eventID,
// and fields' top-level keys replacing its own.
func CloudTrailRecord(fields map[string]any, at time.Time) map[string]any {
	n := seq.Add(1)
	rec := map[string]any{
		"eventVersion":       "1.09",
		"eventTime":          at.UTC().Format(time.RFC3339),
		"eventID":            fmt.Sprintf("00000000-0000-4000-8000-%012d", n),
		"eventType":          "AwsApiCall",
		"awsRegion":          "us-east-1",
		"recipientAccountId": "111122223333",
		"sourceIPAddress":    "198.51.100.7",
		"userAgent":          "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
		"userIdentity": map[string]any{"type": "IAMUser", "principalId": "AIDAEXAMPLE",
			"arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333",
			"accessKeyId": "AKIAEXAMPLE", "userName": "alice"},
		"readOnly": false, "managementEvent": true, "eventCategory": "Management",
	}
	for k, v := range fields {
		rec[k] = v
	}
	return rec
}

// flowOrder is the order of the default flow fields in a test record.
var flowOrder = []string{"version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status"}

// Flow builds a decoded flow record from a partial one: version 5, account
// 111122223333, eni-0123456789abcdef0, 198.51.100.7:49152 → 10.0.1.20:443
// TCP, 10 packets, 840 bytes, a minute from the test time, ACCEPT, OK;
// the test's fields replace these, and other fields (flow-direction…) are
// added to the format.
func Flow(fields map[string]any, at time.Time) (event.VPCFlow, error) {
	vals := map[string]string{
		"version": "5", "account-id": "111122223333", "interface-id": "eni-0123456789abcdef0",
		"srcaddr": "198.51.100.7", "dstaddr": "10.0.1.20", "srcport": "49152", "dstport": "443",
		"protocol": "6", "packets": "10", "bytes": "840",
		"start": strconv.FormatInt(at.Unix(), 10), "end": strconv.FormatInt(at.Unix()+60, 10),
		"action": "ACCEPT", "log-status": "OK",
	}
	order := append([]string{}, flowOrder...)
	var extra []string
	for k, v := range fields {
		if _, ok := vals[k]; !ok {
			extra = append(extra, k)
		}
		vals[k] = fmt.Sprint(v)
	}
	sort.Strings(extra)
	order = append(order, extra...)
	line := make([]string, len(order))
	for i, k := range order {
		line[i] = vals[k]
	}
	p := vpcflow.NewParser(nil)
	if _, err := p.Line(strings.Join(order, " ")); err != vpcflow.ErrHeader {
		return event.VPCFlow{}, fmt.Errorf("test flow record: fields %v: %v", order, err)
	}
	f, err := p.Line(strings.Join(line, " "))
	if err != nil {
		return event.VPCFlow{}, fmt.Errorf("test flow record: %w", err)
	}
	return f, nil
}

// Finding builds a decoded GuardDuty finding from a partial one: the
// default finding with the test's top-level keys replaced.
func Finding(fields map[string]any, at time.Time) (event.Finding, error) {
	n := seq.Add(1)
	ts := at.UTC().Format(time.RFC3339)
	rec := map[string]any{
		"schemaVersion": "2.0", "accountId": "111122223333", "region": "us-east-1", "partition": "aws",
		"id": fmt.Sprintf("test%d", n), "type": "Recon:EC2/PortProbeUnprotectedPort", "severity": 5,
		"createdAt": ts, "updatedAt": ts, "title": "Test finding", "description": "A finding of trawl's rule tests.",
		"resource": map[string]any{"resourceType": "Instance", "instanceDetails": map[string]any{"instanceId": "i-0123456789abcdef0"}},
		"service": map[string]any{"serviceName": "guardduty", "detectorId": "d0", "archived": false, "count": 1,
			"eventFirstSeen": ts, "eventLastSeen": ts},
	}
	for k, v := range fields {
		rec[k] = v
	}
	if id, ok := rec["id"].(string); ok {
		rec["arn"] = "arn:aws:guardduty:us-east-1:111122223333:detector/d0/finding/" + id
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return event.Finding{}, fmt.Errorf("test finding: %w", err)
	}
	f, err := guardduty.FromRaw(string(raw), nil)
	if err != nil {
		return event.Finding{}, fmt.Errorf("test finding: %w", err)
	}
	return f, nil
}
