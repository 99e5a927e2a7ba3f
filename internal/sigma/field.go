package sigma

import (
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

// field reads one Sigma field (a CloudTrail JSON path) from an event.
type field struct {
	name  string
	path  []string
	typed func(e *event.CloudTrail) string // the typed field holding it, if any
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

func newField(name string) field {
	return field{name: name, path: strings.Split(name, "."), typed: typedFields[name]}
}

// each calls fn with each value the path reaches in e: one value, none
// when it is absent, or one per element when the path crosses arrays.
// fn returning false stops.
func (f *field) each(e *event.CloudTrail, fn func(v string, k kind) bool) {
	if f.typed != nil {
		if v := f.typed(e); v != "" {
			fn(v, kindString)
			return
		}
	}
	if e.Raw == "" {
		return
	}
	walk(e.Raw, f.path, fn)
}

// walk follows path through the JSON text s (valid JSON, as the decoder
// guarantees for a stored record). Arrays on the way are entered: each
// element is followed with the rest of the path.
func walk(s string, path []string, fn func(v string, k kind) bool) bool {
	s = trimWS(s)
	if s == "" {
		return true
	}
	if s[0] == '[' {
		cont := true
		jsonscan.Elements(s, func(el string) bool {
			cont = walk(el, path, fn)
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
		if key != path[0] {
			return true
		}
		cont = walk(value, path[1:], fn)
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
