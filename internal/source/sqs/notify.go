package sqs

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// ref is one S3 object a notification names.
type ref struct {
	Bucket, Key string
	Size        int64 // -1 when the notification does not say
	ETag        string
}

// parsed is what a message names: objects, or why it names none (a test
// event, an event of another kind, an SNS subscription confirmation).
type parsed struct {
	refs    []ref
	shape   string // "s3", "sns+s3", "eventbridge", "cloudtrail", …, for logs
	ignore  string // why a message without objects has none
	notable bool   // worth telling (a test event, an SNS subscription)
}

// errShape reports a message that is not a notification trawl reads.
type errShape struct{ why string }

func (e *errShape) Error() string { return e.why }

// parse reads the body of an SQS message carrying S3 event notifications
// in any of the shapes AWS delivers: S3 → SQS, S3 → SNS → SQS (raw or in
// the SNS envelope), EventBridge "Object Created" events, and CloudTrail's
// own SNS notifications of the log files it delivered.
func parse(body string) (parsed, error) {
	return parseDepth(body, "")
}

func parseDepth(body, via string) (parsed, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &top); err != nil {
		return parsed{}, &errShape{fmt.Sprintf("not a JSON object (%s)", Clip(body, 60))}
	}
	str := func(k string) string {
		var s string
		if raw, ok := top[k]; ok {
			_ = json.Unmarshal(raw, &s)
		}
		return s
	}
	switch {
	case top["Type"] != nil && (top["TopicArn"] != nil || top["Message"] != nil):
		// The SNS envelope (a subscription without raw message delivery).
		if via != "" {
			return parsed{}, &errShape{"an SNS envelope inside another"}
		}
		switch t := str("Type"); t {
		case "Notification":
			var msg string
			if err := json.Unmarshal(top["Message"], &msg); err != nil || msg == "" {
				return parsed{}, &errShape{"an SNS notification without a Message string"}
			}
			return parseDepth(msg, "sns+")
		case "SubscriptionConfirmation", "UnsubscribeConfirmation":
			return parsed{shape: "sns", notable: true, ignore: fmt.Sprintf("an SNS %s for topic %s; trawl does not confirm subscriptions itself (visit its SubscribeURL to confirm: %s)", t, str("TopicArn"), str("SubscribeURL"))}, nil
		default:
			return parsed{}, &errShape{fmt.Sprintf("an SNS message of type %q", t)}
		}
	case top["Records"] != nil:
		return parseS3Event(top["Records"], via)
	case str("Event") == "s3:TestEvent":
		return parsed{shape: via + "s3", notable: true, ignore: "an s3:TestEvent (sent when a bucket's notifications are configured)"}, nil
	case top["detail-type"] != nil && top["detail"] != nil:
		return parseEventBridge(str("source"), str("detail-type"), top["detail"], via)
	case top["s3Bucket"] != nil && top["s3ObjectKey"] != nil:
		var bucket string
		var keys []string
		if err := json.Unmarshal(top["s3Bucket"], &bucket); err != nil || bucket == "" {
			return parsed{}, &errShape{"a CloudTrail notification without an s3Bucket string"}
		}
		if err := json.Unmarshal(top["s3ObjectKey"], &keys); err != nil {
			return parsed{}, &errShape{"a CloudTrail notification whose s3ObjectKey is not a list of strings"}
		}
		p := parsed{shape: via + "cloudtrail"}
		for _, k := range keys {
			if k == "" {
				return parsed{}, &errShape{"a CloudTrail notification with an empty key"}
			}
			// CloudTrail names its files itself: the keys are not encoded.
			p.refs = append(p.refs, ref{Bucket: bucket, Key: k, Size: -1})
		}
		if len(p.refs) == 0 {
			p.ignore = "a CloudTrail notification naming no file"
		}
		return p, nil
	}
	return parsed{}, &errShape{fmt.Sprintf("not an S3 event notification (a JSON object with members %s)", Members(top))}
}

type s3Record struct {
	EventSource string `json:"eventSource"`
	EventName   string `json:"eventName"`
	S3          *struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key  *string `json:"key"`
			Size *int64  `json:"size"`
			ETag string  `json:"eTag"`
		} `json:"object"`
	} `json:"s3"`
}

func parseS3Event(raw json.RawMessage, via string) (parsed, error) {
	var recs []s3Record
	if err := json.Unmarshal(raw, &recs); err != nil {
		return parsed{}, &errShape{"an S3 event whose Records are not a list of S3 records: " + err.Error()}
	}
	p := parsed{shape: via + "s3"}
	var other []string
	for i, r := range recs {
		if r.S3 == nil || r.S3.Bucket.Name == "" || r.S3.Object.Key == nil {
			return parsed{}, &errShape{fmt.Sprintf("record %d of an S3 event has no s3.bucket.name or s3.object.key (eventSource %q)", i, r.EventSource)}
		}
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			other = append(other, r.EventName)
			continue
		}
		// S3 encodes keys as in a form: "red flower.jpg" is "red+flower.jpg".
		key, err := url.QueryUnescape(*r.S3.Object.Key)
		if err != nil {
			return parsed{}, &errShape{fmt.Sprintf("record %d of an S3 event has a key that is not URL-encoded (%q): %v", i, *r.S3.Object.Key, err)}
		}
		size := int64(-1)
		if r.S3.Object.Size != nil {
			size = *r.S3.Object.Size
		}
		p.refs = append(p.refs, ref{Bucket: r.S3.Bucket.Name, Key: key, Size: size, ETag: strings.Trim(r.S3.Object.ETag, `"`)})
	}
	if len(p.refs) == 0 {
		p.ignore = fmt.Sprintf("an S3 event with no object created (events %s)", strings.Join(other, ", "))
		if len(other) == 0 {
			p.ignore = "an S3 event with no records"
		}
	}
	return p, nil
}

func parseEventBridge(source, detailType string, raw json.RawMessage, via string) (parsed, error) {
	p := parsed{shape: via + "eventbridge"}
	if source != "aws.s3" {
		return parsed{}, &errShape{fmt.Sprintf("an EventBridge event from %q, not aws.s3", source)}
	}
	if detailType != "Object Created" {
		p.ignore = fmt.Sprintf("an EventBridge %q event", detailType)
		return p, nil
	}
	var d struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key  *string `json:"key"`
			Size *int64  `json:"size"`
			ETag string  `json:"etag"`
		} `json:"object"`
	}
	if err := json.Unmarshal(raw, &d); err != nil || d.Bucket.Name == "" || d.Object.Key == nil {
		return parsed{}, &errShape{"an EventBridge Object Created event without detail.bucket.name and detail.object.key"}
	}
	size := int64(-1)
	if d.Object.Size != nil {
		size = *d.Object.Size
	}
	// EventBridge gives the key as it is, not URL-encoded.
	p.refs = []ref{{Bucket: d.Bucket.Name, Key: *d.Object.Key, Size: size, ETag: strings.Trim(d.Object.ETag, `"`)}}
	return p, nil
}

// Members describes a JSON object by its member names, sorted, at most
// eight ("none" for an empty object): what an error about an unexpected
// payload shows of it.
func Members(m map[string]json.RawMessage) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	if len(ks) == 0 {
		return "none"
	}
	slices.Sort(ks)
	if len(ks) > 8 {
		ks = append(ks[:8], "…")
	}
	return strings.Join(ks, ", ")
}

// Clip quotes s, cut after n bytes (marked with …): a payload that is not
// JSON, as an error shows it.
func Clip(s string, n int) string {
	if len(s) <= n {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q…", s[:n])
}
