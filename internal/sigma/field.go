package sigma

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/jsonscan"
)

// kind is the JSON type of a field value.
type kind uint8

const (
	kindString kind = iota
	kindNumber
	kindBool
	kindNull
	kindObject // objects and arrays at the end of a path: matched as JSON text
)

// Log sources (logsource.service) a rule may evaluate on.
const (
	ServiceCloudTrail = "cloudtrail"
	ServiceVPCFlow    = "vpcflow"
	ServiceGuardDuty  = "guardduty"
)

// rec is the record a rule evaluates: exactly one pointer is set. It is
// passed by value so that evaluating never allocates.
type rec struct {
	ct   *event.CloudTrail
	flow *event.VPCFlow
	gd   *event.Finding
}

// field reads one Sigma field from a record: a CloudTrail or GuardDuty JSON
// path, or a flow-log field name.
type field struct {
	name  string
	path  []string
	typed func(e *event.CloudTrail) string // the typed field holding it, if any
	// str and num read typed fields of flow records and findings; "" or
	// false means absent (a finding then falls back to its raw JSON).
	str func(r rec) string
	num func(r rec) (float64, bool)
	// fold compares JSON keys ignoring case: GuardDuty findings arrive
	// camelCased (exports) or PascalCased (the GetFindings API).
	fold bool
}

// typedFields maps CloudTrail paths to the event.CloudTrail fields the
// decoder fills with the same text (an empty field means absent; Match
// then reads the raw record, so an event without its typed fields still
// matches). Normalised fields (eventID, userIdentity.userName) are not
// here: they are read from the record. principal and sessionName are
// trawl's derived names, which no record holds.
var typedFields = map[string]func(e *event.CloudTrail) string{
	"eventSource":              func(e *event.CloudTrail) string { return notInsight(e, e.EventSource) },
	"eventName":                func(e *event.CloudTrail) string { return notInsight(e, e.EventName) },
	"eventType":                func(e *event.CloudTrail) string { return e.EventType },
	"eventCategory":            func(e *event.CloudTrail) string { return e.EventCategory },
	"eventVersion":             func(e *event.CloudTrail) string { return e.EventVersion },
	"awsRegion":                func(e *event.CloudTrail) string { return e.AWSRegion },
	"sourceIPAddress":          func(e *event.CloudTrail) string { return e.SourceIP },
	"userAgent":                func(e *event.CloudTrail) string { return e.UserAgent },
	"errorCode":                func(e *event.CloudTrail) string { return e.ErrorCode },
	"errorMessage":             func(e *event.CloudTrail) string { return e.ErrorMessage },
	"userIdentity.type":        func(e *event.CloudTrail) string { return e.UserType },
	"userIdentity.arn":         func(e *event.CloudTrail) string { return e.UserARN },
	"userIdentity.accountId":   func(e *event.CloudTrail) string { return e.UserAccountID },
	"userIdentity.accessKeyId": func(e *event.CloudTrail) string { return e.UserAccessKeyID },
	"userIdentity.principalId": func(e *event.CloudTrail) string { return e.UserPrincipalID },
	"userIdentity.invokedBy":   func(e *event.CloudTrail) string { return e.InvokedBy },
	"userIdentity.sessionContext.sessionIssuer.type": func(e *event.CloudTrail) string { return e.SessionIssuerType },
	"userIdentity.sessionContext.sessionIssuer.arn":  func(e *event.CloudTrail) string { return e.SessionIssuerARN },
	"requestID":     func(e *event.CloudTrail) string { return e.RequestID },
	"sharedEventID": func(e *event.CloudTrail) string { return e.SharedEventID },
	"vpcEndpointId": func(e *event.CloudTrail) string { return e.VPCEndpointID },
	"apiVersion":    func(e *event.CloudTrail) string { return e.APIVersion },
	// Derived names (docs/schema.md), not paths of the record: the person
	// or actor behind the call and the role session name.
	"principal":   func(e *event.CloudTrail) string { return e.Principal },
	"sessionName": func(e *event.CloudTrail) string { return e.SessionName },
}

// findingStr and findingNum map GuardDuty JSON paths to the typed fields
// of event.Finding (filled from either spelling of the keys).
var findingStr = map[string]func(f *event.Finding) string{
	"id":                        func(f *event.Finding) string { return f.ID },
	"arn":                       func(f *event.Finding) string { return f.ARN },
	"type":                      func(f *event.Finding) string { return f.Type },
	"accountId":                 func(f *event.Finding) string { return f.AccountID },
	"region":                    func(f *event.Finding) string { return f.Region },
	"partition":                 func(f *event.Finding) string { return f.Partition },
	"schemaVersion":             func(f *event.Finding) string { return f.SchemaVersion },
	"title":                     func(f *event.Finding) string { return f.Title },
	"description":               func(f *event.Finding) string { return f.Description },
	"resource.resourceType":     func(f *event.Finding) string { return f.ResourceType },
	"service.action.actionType": func(f *event.Finding) string { return f.ActionType },
	"service.resourceRole":      func(f *event.Finding) string { return f.ResourceRole },
	"service.detectorId":        func(f *event.Finding) string { return f.DetectorID },
	"service.archived":          func(f *event.Finding) string { return boolText(f.Archived) },
	"severityLabel":             func(f *event.Finding) string { return severityLabel(f.Severity) },
}

var findingNum = map[string]func(f *event.Finding) (float64, bool){
	"severity":      func(f *event.Finding) (float64, bool) { return f.Severity, true },
	"service.count": func(f *event.Finding) (float64, bool) { return float64(f.Count.V), f.Count.Valid },
}

func boolText(b event.Bool) string {
	switch b {
	case event.BoolTrue:
		return "true"
	case event.BoolFalse:
		return "false"
	}
	return ""
}

// severityLabel is GuardDuty's label of a severity, as the store's
// severity_label column.
func severityLabel(s float64) string {
	switch {
	case s >= 9:
		return "Critical"
	case s >= 7:
		return "High"
	case s >= 4:
		return "Medium"
	case s > 0:
		return "Low"
	}
	return ""
}

// flowFields maps flow-log field names (srcaddr, dstport, flow-direction)
// and their column names (flow_direction, start_time) to the catalog.
var flowFields = func() map[string]event.FlowField {
	m := map[string]event.FlowField{}
	for _, f := range event.FlowFields {
		m[f.Name] = f
		m[f.Column] = f
	}
	return m
}()

// FieldError reports a field name a log source does not have.
type FieldError struct{ Service, Name string }

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s records have no field %q", e.Service, e.Name)
}

func newField(name string) field {
	return field{name: name, path: strings.Split(name, "."), typed: typedFields[name]}
}

// newServiceField returns the field of a log source. Flow-log fields must
// exist in the flow-log catalog; JSON paths of the other sources are free.
func newServiceField(service, name string) (field, error) {
	switch service {
	case ServiceVPCFlow:
		ff, ok := flowFields[name]
		if !ok {
			return field{}, &FieldError{Service: service, Name: name}
		}
		f := field{name: name}
		idx := ff.Index
		switch ff.Kind {
		case event.FlowStr:
			f.str = func(r rec) string { return r.flow.Str(idx) }
		case event.FlowInt:
			f.num = func(r rec) (float64, bool) { v, ok := r.flow.Int(idx); return float64(v), ok }
		case event.FlowStart:
			f.num = func(r rec) (float64, bool) { t, ok := r.flow.Start(); return float64(t.Unix()), ok }
		case event.FlowEnd:
			f.num = func(r rec) (float64, bool) { t, ok := r.flow.End(); return float64(t.Unix()), ok }
		}
		return f, nil
	case ServiceGuardDuty:
		f := field{name: name, path: strings.Split(name, "."), fold: true}
		if get := findingStr[name]; get != nil {
			f.str = func(r rec) string { return get(r.gd) }
		}
		if get := findingNum[name]; get != nil {
			f.num = func(r rec) (float64, bool) { return get(r.gd) }
		}
		return f, nil
	}
	return newField(name), nil
}

// notInsight returns v, or "" for an Insight event: the decoder fills its
// EventName and EventSource from insightDetails (the API the Insight is
// about), while the record itself has no eventName or eventSource, and a
// rule about DeleteBucket calls must not match an Insight about their rate.
func notInsight(e *event.CloudTrail, v string) string {
	if e.InsightDetails != "" {
		return ""
	}
	return v
}

// each calls fn with each value the path reaches in r: one value, none
// when it is absent, or one per element when the path crosses arrays.
// fn returning false stops.
func (f *field) each(r rec, fn func(v string, k kind) bool) {
	if e := r.ct; e != nil {
		if f.typed != nil {
			if v := f.typed(e); v != "" {
				fn(v, kindString)
				return
			}
		}
		if e.Raw == "" {
			return
		}
		walk(e.Raw, f.path, false, fn)
		return
	}
	if f.num != nil {
		if n, ok := f.num(r); ok {
			fn(strconv.FormatFloat(n, 'f', -1, 64), kindNumber)
			return
		}
	}
	if f.str != nil {
		if v := f.str(r); v != "" {
			fn(v, kindString)
			return
		}
	}
	if r.gd != nil && r.gd.Raw != "" {
		walk(r.gd.Raw, f.path, true, fn)
	}
}

// walk follows path through the JSON text s (valid JSON, as the decoder
// guarantees for a stored record). Arrays on the way are entered: each
// element is followed with the rest of the path. fold compares keys
// ignoring case.
func walk(s string, path []string, fold bool, fn func(v string, k kind) bool) bool {
	s = trimWS(s)
	if s == "" {
		return true
	}
	if s[0] == '[' {
		cont := true
		jsonscan.Elements(s, func(el string) bool {
			cont = walk(el, path, fold, fn)
			return cont
		})
		return cont
	}
	if len(path) == 0 {
		return fn(valueOf(s))
	}
	if s[0] != '{' {
		return true
	}
	cont := true
	jsonscan.Members(s, func(key, value string) bool {
		if key != path[0] && (!fold || !strings.EqualFold(key, path[0])) {
			return true
		}
		cont = walk(value, path[1:], fold, fn)
		return false
	})
	return cont
}

func trimWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\n' || s[0] == '\r' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

func valueOf(s string) (string, kind) {
	switch s[0] {
	case '"':
		return jsonscan.Text(s), kindString
	case 'n':
		return "", kindNull
	case 't', 'f':
		return s, kindBool
	case '{':
		return s, kindObject
	}
	return s, kindNumber
}

// Field reads a value for templates and dedup keys: a CloudTrail or
// GuardDuty JSON path (or trawl's principal and sessionName), or a
// flow-log field name.
type Field struct{ f field }

// NewField returns the field name of a log source (ServiceCloudTrail…).
// A flow-log field that does not exist is an error.
func NewField(service, name string) (*Field, error) {
	f, err := newServiceField(service, name)
	if err != nil {
		return nil, err
	}
	return &Field{f: f}, nil
}

// Name returns the field's name.
func (f *Field) Name() string { return f.f.name }

func (f *Field) value(r rec) (string, bool) {
	var vals []string
	f.f.each(r, func(v string, k kind) bool {
		if k != kindNull {
			vals = append(vals, v)
		}
		return true
	})
	if len(vals) == 0 {
		return "", false
	}
	return strings.Join(vals, ","), true
}

// CloudTrail returns the field's value in e (values reached through arrays
// joined with commas), and false when it is absent or null.
func (f *Field) CloudTrail(e *event.CloudTrail) (string, bool) { return f.value(rec{ct: e}) }

// Flow returns the field's value in a flow record.
func (f *Field) Flow(e *event.VPCFlow) (string, bool) { return f.value(rec{flow: e}) }

// Finding returns the field's value in a finding.
func (f *Field) Finding(e *event.Finding) (string, bool) { return f.value(rec{gd: e}) }
