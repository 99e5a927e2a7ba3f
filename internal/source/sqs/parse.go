package sqs

// ObjectRef is one S3 object an event notification names.
type ObjectRef struct {
	Bucket, Key string // the key decoded (S3 sends it URL-encoded, "+" for a space)
	Size        int64  // -1 when the notification does not say
	ETag        string // without quotes; empty when the notification does not say
}

// ParseNotification reads an S3 event notification in any of the shapes
// AWS delivers, the same way the queue source reads message bodies: S3's
// own {"Records":[{"eventSource":"aws:s3",…}]} (keys URL-decoded), the
// SNS envelope around it, EventBridge "Object Created" events, and
// CloudTrail's SNS notifications of the log files it delivered. A Lambda
// function invoked by S3 or EventBridge receives the same JSON as its
// event.
//
// It returns the objects the notification names. When it names none,
// ignore says why (an s3:TestEvent, an ObjectRemoved event, an SNS
// subscription confirmation) and the notification needs no work. An error
// means the text is not a notification trawl reads; it describes what
// was received.
func ParseNotification(body string) (refs []ObjectRef, ignore string, err error) {
	p, err := parse(body)
	if err != nil {
		return nil, "", err
	}
	for _, r := range p.refs {
		refs = append(refs, ObjectRef(r))
	}
	return refs, p.ignore, nil
}
