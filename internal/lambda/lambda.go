// Package lambda runs trawl as an AWS Lambda function (docs/lambda.md).
// One handler takes every event shape trawl is subscribed to and tells
// them apart by their JSON:
//
//   - a CloudWatch Logs subscription ({"awslogs":{"data":"<base64 gzip>"}}):
//     the log events are split into records with trawl's decoders, the
//     rules are evaluated and their hits notified — no database;
//   - an S3 event notification ({"Records":[{"eventSource":"aws:s3",…}]}),
//     the same wrapped in SNS ({"Records":[{"EventSource":"aws:sns",…}]}),
//     or an EventBridge "Object Created" event: the objects are ingested
//     into the configured store with the rules evaluated in the pipeline;
//   - an SQS batch ({"Records":[{"eventSource":"aws:sqs",…}]}) whose bodies
//     are any of those notifications: the same, answering with the
//     messages whose objects failed (a partial batch response), so that
//     only those are delivered again.
//
// The rules engine, the notifiers and the store are seams (Evaluator,
// Notifier, Ingester), wired by the command.
package lambda

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/jsonscan"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/schema"
	sqssrc "github.com/trawl-project/trawl/internal/source/sqs"
)

// Evaluator evaluates the streaming rules on a batch of records and
// appends their matches to b.Hits. A pipeline.Processor is one; the rules
// engine's processor is the real one.
type Evaluator interface {
	Process(ctx context.Context, b *event.Batch) error
}

// Notifier delivers hits (SNS, Slack, a webhook, e-mail…).
type Notifier interface {
	Notify(ctx context.Context, hits []event.Hit) error
}

// Ingester runs an ingest into a store: *app.Store is one.
type Ingester interface {
	Ingest(ctx context.Context, src pipeline.Source, cfg pipeline.Config) (pipeline.Result, error)
}

// Handler is the Lambda function. Invoke is its entry point; the zero
// value with only Log set handles CloudWatch Logs events without rules.
type Handler struct {
	// Evaluator evaluates the rules; nil for none (no hits).
	Evaluator Evaluator
	// Enrich are the enrichment processors (internal/enrich) run first on
	// what S3 and SQS events ingest; nil for none.
	Enrich []pipeline.Processor
	// Notifier receives the hits of a CloudWatch Logs event. If it fails,
	// Invoke fails, so that Lambda invokes again (an asynchronous
	// invocation is retried twice). nil: hits are only logged.
	Notifier Notifier
	// IngestNotifier receives the hits of the objects an S3 or SQS event
	// ingested, after their rows are committed. A failure is logged and
	// reported in the response but does not fail the invocation: the
	// objects are committed, so a retry would skip them and find no hits.
	// nil leaves the hits to the store (the alert table and its durable
	// outbox).
	IngestNotifier Notifier
	// Store returns the store S3 and SQS events are ingested into; it is
	// called for each such event (open the store once and return it
	// again). nil refuses those events.
	Store func(ctx context.Context) (Ingester, error)
	// Object builds the pipeline object of an S3 object: the S3 source's
	// (*s3.Client).Object.
	Object func(bucket, key string, size int64, etag string) pipeline.Object
	// Decode configures the decoders; Workers the ingest's decoding
	// goroutines (0: one per CPU).
	Decode  decode.Options
	Workers int
	// Log receives what happens; nil means slog.Default().
	Log *slog.Logger
	// Reserve is the time kept back from the invocation's deadline when
	// ingesting (default DefaultReserve): the ingest stops that long
	// before it, commits what is complete and answers, so that an SQS
	// batch too large for the time left returns only its unfinished
	// messages instead of timing out, which would return them all.
	Reserve time.Duration
}

// DefaultReserve is the default Handler.Reserve.
const DefaultReserve = 2 * time.Second

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

// CloudWatchLogsResponse is the result of a CloudWatch Logs subscription
// event.
type CloudWatchLogsResponse struct {
	Kind        string `json:"kind"` // "cloudwatch_logs"
	MessageType string `json:"message_type"`
	Owner       string `json:"owner,omitempty"`
	LogGroup    string `json:"log_group,omitempty"`
	LogStream   string `json:"log_stream,omitempty"`
	LogEvents   int    `json:"log_events"`
	Records     int64  `json:"records"`
	Quarantined int64  `json:"quarantined"`
	Hits        int    `json:"hits"`
	// Notified is the number of hits handed to the notifier.
	Notified int `json:"notified"`
}

// IngestResponse is the result of an S3, SNS or EventBridge event.
type IngestResponse struct {
	Kind        string   `json:"kind"` // "s3", "sns" or "eventbridge"
	Objects     int      `json:"objects"`
	Ignored     []string `json:"ignored,omitempty"` // notifications that named no object, and why
	Records     int64    `json:"records"`
	Duplicates  int64    `json:"duplicates"`
	Quarantined int64    `json:"quarantined"`
	Failed      []string `json:"failed,omitempty"`
	Hits        int      `json:"hits"`
	Notified    int      `json:"notified"`
	NotifyError string   `json:"notify_error,omitempty"`
}

// MaxPayload bounds a decompressed CloudWatch Logs event. Lambda takes at
// most 1 MB of event for an asynchronous invocation, and CloudWatch Logs
// batches compress about ten to one.
const MaxPayload = 64 << 20

// ErrUnknownEvent is wrapped by the error of an event of a shape the
// handler does not take.
var ErrUnknownEvent = errors.New("not an event trawl handles (CloudWatch Logs subscription, S3, SNS, SQS or EventBridge S3 events)")

// Invoke handles one event, as Lambda delivers it. For an SQS batch the
// response is an events.SQSEventResponse; for CloudWatch Logs a
// *CloudWatchLogsResponse; otherwise an *IngestResponse.
func (h *Handler) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(payload, &top); err != nil {
		return nil, fmt.Errorf("%w: the payload is not a JSON object (%s)", ErrUnknownEvent, sqssrc.Clip(string(payload), 80))
	}
	switch {
	case top["awslogs"] != nil:
		return h.cloudWatchLogs(ctx, top["awslogs"])
	case top["Records"] != nil:
		var recs []map[string]json.RawMessage
		if err := json.Unmarshal(top["Records"], &recs); err != nil || len(recs) == 0 {
			return nil, fmt.Errorf("%w: Records is not a non-empty list of objects", ErrUnknownEvent)
		}
		src := recordSource(recs[0])
		for i, r := range recs[1:] {
			if s := recordSource(r); s != src {
				return nil, fmt.Errorf("%w: Records mixes event sources %q (record 0) and %q (record %d)", ErrUnknownEvent, src, s, i+1)
			}
		}
		switch src {
		case "aws:sqs":
			return h.sqs(ctx, payload)
		case "aws:s3":
			return h.notifications(ctx, "s3", []string{string(payload)})
		case "aws:sns":
			var ev events.SNSEvent
			if err := json.Unmarshal(payload, &ev); err != nil {
				return nil, fmt.Errorf("reading an SNS event: %w", err)
			}
			bodies := make([]string, len(ev.Records))
			for i, r := range ev.Records {
				bodies[i] = r.SNS.Message
			}
			return h.notifications(ctx, "sns", bodies)
		}
		return nil, fmt.Errorf("%w: Records of event source %q", ErrUnknownEvent, src)
	case top["detail-type"] != nil:
		return h.notifications(ctx, "eventbridge", []string{string(payload)})
	case top["Event"] != nil && top["Bucket"] != nil:
		// An s3:TestEvent: S3 sends it when a notification is configured.
		return h.notifications(ctx, "s3", []string{string(payload)})
	}
	return nil, fmt.Errorf("%w: received a JSON object with members %s", ErrUnknownEvent, sqssrc.Members(top))
}

// recordSource is a record's event source: eventSource for S3 and SQS,
// EventSource for SNS.
func recordSource(r map[string]json.RawMessage) string {
	for _, k := range []string{"eventSource", "EventSource"} {
		var s string
		if raw, ok := r[k]; ok && json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return ""
}

// cloudWatchLogs decodes a subscription event, evaluates the rules on its
// records and notifies the hits.
func (h *Handler) cloudWatchLogs(ctx context.Context, raw json.RawMessage) (*CloudWatchLogsResponse, error) {
	var rd events.CloudwatchLogsRawData
	if err := json.Unmarshal(raw, &rd); err != nil || rd.Data == "" {
		return nil, fmt.Errorf("%w: awslogs has no data string", ErrUnknownEvent)
	}
	zr, err := gzip.NewReader(base64.NewDecoder(base64.StdEncoding, strings.NewReader(rd.Data)))
	if err != nil {
		return nil, fmt.Errorf("CloudWatch Logs event: awslogs.data is not base64-encoded gzip: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(zr, MaxPayload+1))
	if err != nil {
		return nil, fmt.Errorf("CloudWatch Logs event: awslogs.data: %w", err)
	}
	if len(body) > MaxPayload {
		return nil, fmt.Errorf("CloudWatch Logs event: awslogs.data decompresses to more than %d bytes", MaxPayload)
	}
	d, err := subscriptionHeader(body)
	if err != nil {
		return nil, fmt.Errorf("CloudWatch Logs event: awslogs.data: %w", err)
	}
	resp := &CloudWatchLogsResponse{Kind: "cloudwatch_logs", MessageType: d.MessageType, Owner: d.Owner,
		LogGroup: d.LogGroup, LogStream: d.LogStream, LogEvents: d.LogEvents}
	log := h.log().With("log_group", d.LogGroup, "log_stream", d.LogStream)
	switch d.MessageType {
	case "CONTROL_MESSAGE":
		// CloudWatch Logs checks that it can reach the function.
		log.Info("control message", "log_events", d.LogEvents)
		return resp, nil
	case "DATA_MESSAGE":
	default:
		return nil, fmt.Errorf("CloudWatch Logs event: messageType %q (expected DATA_MESSAGE or CONTROL_MESSAGE)", d.MessageType)
	}
	obj := decode.Object{Name: "cwl://" + d.LogGroup + "/" + d.LogStream, Key: d.LogGroup}
	var hits []event.Hit
	err = decode.Decode(ctx, obj, bytes.NewReader(body), h.Decode, func(b *event.Batch) error {
		defer event.PutBatch(b)
		schema.Validate(b)
		resp.Quarantined += int64(len(b.Quarantined))
		for i := range b.Quarantined {
			q := &b.Quarantined[i]
			log.Warn("quarantined", "unit", q.Record, "reason", q.Reason)
		}
		if h.Evaluator != nil {
			if err := h.Evaluator.Process(ctx, b); err != nil {
				return fmt.Errorf("evaluating rules: %w", err)
			}
		}
		resp.Records += int64(b.Rows())
		hits = append(hits, b.Hits...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("CloudWatch Logs event from %s/%s: %w", d.LogGroup, d.LogStream, err)
	}
	resp.Hits = len(hits)
	logHits(log, hits)
	if len(hits) > 0 && h.Notifier != nil {
		if err := h.Notifier.Notify(ctx, hits); err != nil {
			return nil, fmt.Errorf("notifying %d hit(s) of %s/%s: %w", len(hits), d.LogGroup, d.LogStream, err)
		}
		resp.Notified = len(hits)
	}
	log.Info("cloudwatch logs event", "log_events", resp.LogEvents, "records", resp.Records,
		"quarantined", resp.Quarantined, "hits", resp.Hits, "notified", resp.Notified)
	return resp, nil
}

// subscription is the header of a subscription payload.
type subscription struct {
	MessageType, Owner, LogGroup, LogStream string
	LogEvents                               int
}

// subscriptionHeader reads the members of a subscription payload other
// than the log events' messages, which the decoder reads. It walks the
// text instead of unmarshalling it: unmarshalling copied every message
// and took a third of the handler's time.
func subscriptionHeader(body []byte) (subscription, error) {
	var d subscription
	text := string(body)
	if !strings.HasPrefix(strings.TrimSpace(text), "{") {
		return d, errors.New("the decompressed data is not a JSON object")
	}
	// Members stops early on invalid JSON, and the decoder validates
	// the whole text: validate here only to explain a payload without a
	// messageType.
	jsonscan.Members(text, func(k, v string) bool {
		switch k {
		case "messageType":
			d.MessageType = jsonscan.Text(v)
		case "owner":
			d.Owner = jsonscan.Text(v)
		case "logGroup":
			d.LogGroup = jsonscan.Text(v)
		case "logStream":
			d.LogStream = jsonscan.Text(v)
		case "logEvents":
			jsonscan.Elements(v, func(string) bool { d.LogEvents++; return true })
		}
		return true
	})
	if d.MessageType == "" && !json.Valid(body) {
		return d, errors.New("the decompressed data is not valid JSON")
	}
	return d, nil
}

func logHits(log *slog.Logger, hits []event.Hit) {
	for _, x := range hits {
		log.Info("hit", "rule", x.RuleID, "severity", x.Severity, "title", x.Title, "events", x.EventIDs)
	}
}

// job is one object to ingest and the notification it came from (the
// index of an SQS message, or 0).
type job struct {
	ref   sqssrc.ObjectRef
	owner int
}

// outcome is what an ingest of jobs did.
type outcome struct {
	res  pipeline.Result
	errs []error // per job: nil when its object is committed (or was already)
	hits []event.Hit
	// notifyErr is the IngestNotifier's failure.
	notifyErr error
	notified  int
}

// errNotAcked marks a job whose object the run never finished.
var errNotAcked = errors.New("not finished by the ingest")

// ingest reads the objects of jobs into the store, with the rules
// evaluated in the pipeline, and notifies the hits of committed objects.
func (h *Handler) ingest(ctx context.Context, jobs []job) (*outcome, error) {
	out := &outcome{errs: make([]error, len(jobs))}
	if len(jobs) == 0 {
		return out, nil
	}
	if h.Store == nil || h.Object == nil {
		return nil, errors.New("this function has no store configured to ingest S3 objects into")
	}
	st, err := h.Store(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	var mu sync.Mutex
	objs := make([]pipeline.Object, len(jobs))
	for i, j := range jobs {
		out.errs[i] = errNotAcked
		o := h.Object(j.ref.Bucket, j.ref.Key, j.ref.Size, j.ref.ETag)
		o.Ack = func(_ context.Context, err error) {
			mu.Lock()
			out.errs[i] = err
			mu.Unlock()
		}
		objs[i] = o
	}
	hitsByObject := map[string][]event.Hit{}
	procs := append([]pipeline.Processor(nil), h.Enrich...)
	if h.Evaluator != nil {
		procs = append(procs, h.Evaluator,
			pipeline.ProcessorFunc(func(_ context.Context, b *event.Batch) error {
				if len(b.Hits) > 0 {
					mu.Lock()
					hitsByObject[b.Object] = append(hitsByObject[b.Object], b.Hits...)
					mu.Unlock()
				}
				return nil
			}))
	}
	log := h.log()
	ictx := ctx // the ingest's: ends Reserve before the invocation
	if deadline, ok := ctx.Deadline(); ok {
		reserve := h.Reserve
		if reserve <= 0 {
			reserve = DefaultReserve
		}
		var cancel context.CancelFunc
		ictx, cancel = context.WithDeadline(ctx, deadline.Add(-reserve))
		defer cancel()
	}
	cfg := pipeline.Config{
		Decode:     h.Decode,
		Workers:    h.Workers,
		Processors: procs,
		Notice:     func(msg string) { log.Info(msg) },
		Quarantined: func(q *event.Quarantined) {
			log.Warn("quarantined", "object", q.Object, "line", q.Line, "byte", q.Offset, "reason", q.Reason)
		},
	}
	res, err := st.Ingest(ictx, pipeline.Objects(objs...), cfg)
	out.res = res
	if err != nil && ictx.Err() != nil && ctx.Err() == nil {
		// Out of time: what is complete is committed; the rest is
		// reported unfinished.
		log.Warn("the invocation's time is nearly up: stopped the ingest, committed what was complete", "objects", len(jobs))
		err = nil
	}
	if err != nil {
		log.Error("ingest failed", "error", err)
		for i := range out.errs {
			if out.errs[i] == nil {
				continue
			}
			out.errs[i] = fmt.Errorf("ingest failed: %w", err)
		}
	}
	// The hits of objects committed in this run, in the order of the jobs.
	seen := map[string]bool{}
	for i, o := range objs {
		if out.errs[i] != nil || seen[o.Name] {
			continue
		}
		seen[o.Name] = true
		out.hits = append(out.hits, hitsByObject[o.Name]...)
	}
	logHits(log, out.hits)
	if len(out.hits) > 0 && h.IngestNotifier != nil {
		if err := h.IngestNotifier.Notify(ctx, out.hits); err != nil {
			out.notifyErr = err
			log.Error("notifying hits failed; the records are committed and the hits are not sent again", "hits", len(out.hits), "error", err)
		} else {
			out.notified = len(out.hits)
		}
	}
	return out, nil
}

// notifications ingests the objects named by S3 notifications (an S3,
// SNS or EventBridge invocation). If any object fails, so does the
// invocation, and Lambda's retry reads it again (the ledger skips the
// objects that were committed).
func (h *Handler) notifications(ctx context.Context, kind string, bodies []string) (*IngestResponse, error) {
	resp := &IngestResponse{Kind: kind}
	var jobs []job
	for i, b := range bodies {
		refs, ignore, err := sqssrc.ParseNotification(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %s notification %d: %v", ErrUnknownEvent, kind, i, err)
		}
		if len(refs) == 0 {
			resp.Ignored = append(resp.Ignored, ignore)
			h.log().Info("ignored", "why", ignore)
		}
		for _, r := range refs {
			jobs = append(jobs, job{ref: r})
		}
	}
	resp.Objects = len(jobs)
	out, err := h.ingest(ctx, jobs)
	if err != nil {
		return nil, err
	}
	resp.fill(out)
	var failed []string
	for i, e := range out.errs {
		if e != nil {
			failed = append(failed, fmt.Sprintf("s3://%s/%s: %v", jobs[i].ref.Bucket, jobs[i].ref.Key, e))
		}
	}
	resp.Failed = failed
	h.log().Info(kind+" event", "objects", resp.Objects, "records", resp.Records, "failed", len(failed), "hits", resp.Hits)
	if len(failed) > 0 {
		return resp, fmt.Errorf("%d of %d object(s) failed: %s", len(failed), len(jobs), strings.Join(failed, "; "))
	}
	return resp, nil
}

func (r *IngestResponse) fill(out *outcome) {
	r.Records = out.res.Stored()
	r.Duplicates = out.res.Duplicates
	r.Quarantined = out.res.Quarantined
	r.Hits = len(out.hits)
	r.Notified = out.notified
	if out.notifyErr != nil {
		r.NotifyError = out.notifyErr.Error()
	}
}

// sqs ingests the objects named by the messages of an SQS batch and
// reports the messages to deliver again: those whose objects failed, and
// those that are not notifications (after the queue's maxReceiveCount
// they move to its dead-letter queue, where someone can look at them).
func (h *Handler) sqs(ctx context.Context, payload json.RawMessage) (events.SQSEventResponse, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return events.SQSEventResponse{}, fmt.Errorf("reading an SQS event: %w", err)
	}
	log := h.log()
	bad := make([]bool, len(ev.Records))
	var jobs []job
	for i, m := range ev.Records {
		refs, ignore, err := sqssrc.ParseNotification(m.Body)
		switch {
		case err != nil:
			log.Warn("message is not an S3 notification; it will be delivered again", "message_id", m.MessageId, "error", err)
			bad[i] = true
		case len(refs) == 0:
			log.Info("message ignored", "message_id", m.MessageId, "why", ignore)
		}
		for _, r := range refs {
			jobs = append(jobs, job{ref: r, owner: i})
		}
	}
	out, err := h.ingest(ctx, jobs)
	if err != nil {
		// Nothing was read: the whole batch is delivered again.
		return events.SQSEventResponse{}, err
	}
	for i, e := range out.errs {
		if e != nil {
			m := ev.Records[jobs[i].owner]
			log.Warn("object failed; its message will be delivered again", "message_id", m.MessageId,
				"object", fmt.Sprintf("s3://%s/%s", jobs[i].ref.Bucket, jobs[i].ref.Key), "error", e)
			bad[jobs[i].owner] = true
		}
	}
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for i, b := range bad {
		if b {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
		}
	}
	var sum IngestResponse
	sum.fill(out)
	log.Info("sqs event", "messages", len(ev.Records), "objects", len(jobs), "records", sum.Records,
		"failed_messages", len(resp.BatchItemFailures), "hits", sum.Hits)
	return resp, nil
}
