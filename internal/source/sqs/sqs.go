// Package sqs is a pipeline source over an SQS queue that carries S3 event
// notifications: S3 → SQS, S3 → SNS → SQS (raw or enveloped), EventBridge
// "Object Created" events and CloudTrail's SNS notifications of the log
// files it delivered. Each object a message names becomes a
// pipeline.Object (built by the objectFor function, normally the S3
// client's Object method).
//
// A message is deleted only once every object it names is acked with nil,
// that is after the commit that holds the object's rows. If any object
// fails, or the run ends first, the message is left on the queue: it is
// received again after its visibility timeout, and after the queue's
// maxReceiveCount its redrive policy moves it to the dead-letter queue. A
// message that is not a notification is logged and left in the same way.
// While any object of a message is being read or waits for its commit, the
// message's visibility timeout is extended (at half of it). Deliveries of
// the same object twice, by SQS's at-least-once delivery or to two
// consumers of one queue, are harmless: the ledger skips an object it has
// committed with the same ETag.
package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/awscall"
)

// Options tune a Source. The zero value is usable.
type Options struct {
	// Logger receives what happens to messages; nil means slog.Default().
	Logger *slog.Logger
	// WaitTime is how long one ReceiveMessage waits for a message (long
	// polling), in whole seconds; zero means the maximum, 20s, and a
	// negative value no wait (short polling, which costs more requests).
	WaitTime time.Duration
	// MaxMessages is how many messages one ReceiveMessage asks for, 1–10;
	// default 10.
	MaxMessages int
	// VisibilityTimeout is asked for on every receive and on every
	// extension (whole seconds, at least 1s). Zero uses the queue's own,
	// read with GetQueueAttributes (30s if that cannot be read).
	VisibilityTimeout time.Duration
	// MaxInFlight bounds the messages received and not yet finished (their
	// objects being read or waiting for their commit); default 1000. Next
	// waits while this many are in flight, and messages finish at a
	// commit, so with small objects a run takes in at most MaxInFlight
	// messages per pipeline.Config.TxAge: collecting from a queue wants a
	// TxAge of seconds, not the default minute.
	MaxInFlight int
	// StopWhenEmpty makes Next return io.EOF once a receive finds no
	// message (a one-off drain of the queue, and tests). Otherwise Next
	// polls until its context ends.
	StopWhenEmpty bool
}

// Source is the source New returns. It also implements io.Closer: Close,
// called after pipeline.Run returns, waits for the last deletes.
type Source struct {
	client    *sqs.Client
	url       string
	objectFor func(bucket, key string, size int64, etag string) pipeline.Object
	opt       Options
	log       *slog.Logger

	vt         time.Duration // the visibility timeout in force
	setVT      bool          // ask for vt on receives
	maxReceive int           // the redrive policy's maxReceiveCount, 0 if none or unknown

	started bool
	eof     bool
	slots   chan struct{} // one per message in flight
	backoff time.Duration

	mu       sync.Mutex
	pending  []pipeline.Object // received, not yet returned by Next
	inflight map[*message]bool
	deletes  []*message
	wake     chan struct{}
	stop     chan struct{} // closed by Close
	done     chan struct{} // closed when the background loop ends
	closeMu  sync.Once
	nextDone <-chan struct{} // Next's context
}

// message is one received message and what became of its objects.
type message struct {
	id, receipt  string
	receives     int
	objects      int // not yet acked
	errs         []string
	notFinished  bool
	visibleUntil time.Time
	lost         bool // its visibility can no longer be extended
	deleteTries  int
}

// New returns a source of the objects named by the notifications on the
// queue at queueURL. objectFor builds the object for a bucket and key (the
// size is -1 and the ETag empty when the notification does not give them).
// The client should have a retryer (the SDK's default retries 5xx and
// throttling 3 times); errors that remain are logged and the receive is
// tried again after a pause, except for client errors (a missing queue,
// denied access), which end Next with the error.
func New(client *sqs.Client, queueURL string, objectFor func(bucket, key string, size int64, etag string) pipeline.Object, opt Options) pipeline.Source {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	switch {
	case opt.WaitTime < 0:
		opt.WaitTime = 0
	case opt.WaitTime == 0 || opt.WaitTime > 20*time.Second:
		opt.WaitTime = 20 * time.Second
	}
	if opt.MaxMessages <= 0 || opt.MaxMessages > 10 {
		opt.MaxMessages = 10
	}
	if opt.MaxInFlight <= 0 {
		opt.MaxInFlight = 1000
	}
	if opt.VisibilityTimeout > 0 && opt.VisibilityTimeout < time.Second {
		opt.VisibilityTimeout = time.Second
	}
	return &Source{
		client: client, url: queueURL, objectFor: objectFor, opt: opt,
		log:      opt.Logger.With("queue", queueURL),
		slots:    make(chan struct{}, opt.MaxInFlight),
		inflight: map[*message]bool{},
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// start reads the queue's visibility timeout and redrive policy and starts
// the loop that deletes messages and extends their visibility.
func (s *Source) start(ctx context.Context) {
	s.started = true
	s.nextDone = ctx.Done()
	s.vt, s.setVT = s.opt.VisibilityTimeout.Truncate(time.Second), true
	out, err := s.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       &s.url,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameVisibilityTimeout, types.QueueAttributeNameRedrivePolicy},
	})
	switch {
	case err != nil:
		s.log.Warn("sqs: cannot read the queue's attributes; log lines will not say how many receives are left before the dead-letter queue", "err", err)
		if s.vt == 0 {
			s.vt = 30 * time.Second
		}
	default:
		if s.vt == 0 {
			if n, err := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameVisibilityTimeout)]); err == nil && n > 0 {
				s.vt, s.setVT = time.Duration(n)*time.Second, false
			} else {
				s.vt = 30 * time.Second
			}
		}
		if rp := out.Attributes[string(types.QueueAttributeNameRedrivePolicy)]; rp != "" {
			var p struct {
				MaxReceiveCount json.Number `json:"maxReceiveCount"`
			}
			if json.Unmarshal([]byte(rp), &p) == nil {
				n, _ := p.MaxReceiveCount.Int64()
				s.maxReceive = int(n)
			}
		} else {
			s.log.Warn("sqs: the queue has no redrive policy: a message that cannot be ingested will be received again and again; give it a dead-letter queue")
		}
	}
	if s.vt < time.Second {
		s.vt, s.setVT = time.Second, true
	}
	go s.loop()
}

// Next returns the next object named by a message, receiving messages as
// needed.
func (s *Source) Next(ctx context.Context) (pipeline.Object, error) {
	if !s.started {
		s.start(ctx)
	}
	for {
		if err := ctx.Err(); err != nil {
			s.abandonPending()
			return pipeline.Object{}, err
		}
		s.mu.Lock()
		if len(s.pending) > 0 {
			o := s.pending[0]
			s.pending[0] = pipeline.Object{}
			s.pending = s.pending[1:]
			s.mu.Unlock()
			return o, nil
		}
		s.mu.Unlock()
		if s.eof {
			return pipeline.Object{}, io.EOF
		}
		if err := s.receive(ctx); err != nil {
			return pipeline.Object{}, err
		}
	}
}

// abandonPending acks the objects received but never handed out: their
// messages stay on the queue.
func (s *Source) abandonPending() {
	s.mu.Lock()
	objs := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, o := range objs {
		o.Ack(context.Background(), pipeline.ErrNotFinished)
	}
}

// receive asks for as many messages as there are free slots (at least one,
// waiting for it) and turns them into pending objects.
func (s *Source) receive(ctx context.Context) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	n := 1
	for n < s.opt.MaxMessages {
		select {
		case s.slots <- struct{}{}:
			n++
			continue
		default:
		}
		break
	}
	in := &sqs.ReceiveMessageInput{
		QueueUrl:                    &s.url,
		MaxNumberOfMessages:         int32(n),
		WaitTimeSeconds:             int32(s.opt.WaitTime / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	}
	if s.setVT {
		in.VisibilityTimeout = int32(s.vt / time.Second)
	}
	start := time.Now()
	out, err := s.client.ReceiveMessage(ctx, in)
	if err != nil {
		s.release(n)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fatal(err) {
			return fmt.Errorf("receiving from %s: %w", s.url, err)
		}
		s.backoff = min(max(2*s.backoff, time.Second), 30*time.Second)
		s.log.Warn("sqs: receiving failed; trying again", "err", err, "in", s.backoff)
		return awscall.Sleep(ctx, s.backoff)
	}
	s.backoff = 0
	s.release(n - len(out.Messages))
	if len(out.Messages) == 0 && s.opt.StopWhenEmpty {
		s.eof = true
	}
	if len(out.Messages) == 0 && s.opt.WaitTime == 0 && !s.eof {
		// Short polling: do not ask an empty queue again at once.
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	for _, m := range out.Messages {
		s.accept(m, start)
	}
	return nil
}

func (s *Source) release(n int) {
	for range n {
		<-s.slots
	}
}

// accept turns a received message into pending objects, or deletes or
// leaves it.
func (s *Source) accept(m types.Message, received time.Time) {
	msg := &message{id: str(m.MessageId), receipt: str(m.ReceiptHandle), visibleUntil: received.Add(s.vt)}
	msg.receives, _ = strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	p, err := parse(str(m.Body))
	if err != nil {
		s.log.Error("sqs: message is not an S3 event notification; leaving it on the queue for its dead-letter queue",
			"message", msg.id, "receive", s.receiveCount(msg), "why", err.Error())
		s.release(1)
		return
	}
	if len(p.refs) == 0 {
		level := slog.LevelDebug // events of other kinds, which a filter could have spared
		if p.notable {
			level = slog.LevelInfo
		}
		s.log.Log(context.Background(), level, "sqs: message names no object; deleting it", "message", msg.id, "shape", p.shape, "why", p.ignore)
		s.mu.Lock()
		s.deletes = append(s.deletes, msg)
		s.mu.Unlock()
		s.poke()
		s.release(1)
		return
	}
	msg.objects = len(p.refs)
	objs := make([]pipeline.Object, 0, len(p.refs))
	for _, r := range p.refs {
		o := s.objectFor(r.Bucket, r.Key, r.Size, r.ETag)
		inner, name := o.Ack, o.Name
		if name == "" {
			name = "s3://" + r.Bucket + "/" + r.Key
		}
		o.Ack = func(ctx context.Context, err error) {
			if inner != nil {
				inner(ctx, err)
			}
			s.acked(msg, name, err)
		}
		objs = append(objs, o)
	}
	s.mu.Lock()
	s.inflight[msg] = true
	s.pending = append(s.pending, objs...)
	s.mu.Unlock()
}

// acked records an object's outcome; when the message's last object is
// acked, the message is deleted (all nil) or left.
func (s *Source) acked(m *message, name string, err error) {
	s.mu.Lock()
	m.objects--
	switch {
	case err == nil:
	case errors.Is(err, pipeline.ErrNotFinished):
		m.notFinished = true
	default:
		m.errs = append(m.errs, name+": "+err.Error())
	}
	if m.objects > 0 {
		s.mu.Unlock()
		return
	}
	delete(s.inflight, m)
	ok := len(m.errs) == 0 && !m.notFinished
	if ok {
		s.deletes = append(s.deletes, m)
	}
	s.mu.Unlock()
	switch {
	case ok:
		s.poke()
	case len(m.errs) > 0:
		s.log.Error("sqs: an object of the message could not be ingested; leaving the message on the queue to be received again after its visibility timeout",
			"message", m.id, "receive", s.receiveCount(m), "why", fmt.Sprint(m.errs))
	default:
		s.log.Info("sqs: the run ended before the message's objects were committed; leaving it on the queue", "message", m.id, "receive", s.receiveCount(m))
	}
	<-s.slots
}

// receiveCount says which receive this is, and of how many before the
// dead-letter queue: "2 of 5".
func (s *Source) receiveCount(m *message) string {
	switch {
	case m.receives == 0:
		return "unknown"
	case s.maxReceive > 0 && m.receives >= s.maxReceive:
		return fmt.Sprintf("%d of %d: the next receive moves it to the dead-letter queue", m.receives, s.maxReceive)
	case s.maxReceive > 0:
		return fmt.Sprintf("%d of %d before the dead-letter queue", m.receives, s.maxReceive)
	}
	return fmt.Sprintf("%d (no dead-letter queue)", m.receives)
}

func (s *Source) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// loop deletes finished messages in batches and extends the visibility of
// messages in flight, until Close, or until Next's context has ended and
// no message is in flight any more.
func (s *Source) loop() {
	defer close(s.done)
	tick := min(s.vt/4, 5*time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	nextDone, ended := s.nextDone, false
	for {
		stopping := false
		select {
		case <-s.wake:
		case <-t.C:
		case <-s.stop:
			stopping = true
		case <-nextDone:
			// Objects never handed out are not acked by the run.
			nextDone, ended = nil, true
			s.abandonPending()
		}
		s.flushDeletes()
		s.heartbeat()
		s.mu.Lock()
		idle := len(s.inflight) == 0 && len(s.deletes) == 0
		s.mu.Unlock()
		if stopping || (ended && idle) {
			s.flushDeletes()
			return
		}
	}
}

// callTimeout bounds one delete or visibility call.
const callTimeout = 30 * time.Second

func (s *Source) flushDeletes() {
	for {
		s.mu.Lock()
		batch := s.deletes[:min(len(s.deletes), 10)]
		s.deletes = s.deletes[len(batch):]
		s.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		entries := make([]types.DeleteMessageBatchRequestEntry, len(batch))
		for i, m := range batch {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: ptr(strconv.Itoa(i)), ReceiptHandle: ptr(m.receipt)}
		}
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		out, err := s.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &s.url, Entries: entries})
		cancel()
		if err != nil {
			var again []*message
			for _, m := range batch {
				if m.deleteTries++; m.deleteTries < 3 {
					again = append(again, m)
				}
			}
			s.log.Warn("sqs: deleting messages failed", "messages", len(batch), "err", err, "retrying", len(again))
			s.mu.Lock()
			s.deletes = append(s.deletes, again...)
			s.mu.Unlock()
			if len(again) > 0 {
				return // the next round tries again
			}
			continue
		}
		for _, f := range out.Failed {
			i, err := strconv.Atoi(str(f.Id))
			if err != nil || i < 0 || i >= len(batch) {
				continue
			}
			m := batch[i]
			m.deleteTries++
			if !f.SenderFault && m.deleteTries < 3 {
				s.mu.Lock()
				s.deletes = append(s.deletes, m)
				s.mu.Unlock()
				continue
			}
			s.log.Warn("sqs: deleting a message failed; it will be received again and its objects skipped as already ingested",
				"message", m.id, "code", str(f.Code), "why", str(f.Message))
		}
	}
}

// heartbeat extends the visibility of messages in flight once half their
// timeout has passed.
func (s *Source) heartbeat() {
	now := time.Now()
	s.mu.Lock()
	var due []*message
	for m := range s.inflight {
		if !m.lost && m.visibleUntil.Sub(now) <= s.vt/2 {
			due = append(due, m)
		}
	}
	s.mu.Unlock()
	for len(due) > 0 {
		batch := due[:min(len(due), 10)]
		due = due[len(batch):]
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(batch))
		for i, m := range batch {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: ptr(strconv.Itoa(i)), ReceiptHandle: ptr(m.receipt), VisibilityTimeout: int32(s.vt / time.Second)}
		}
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		sent := time.Now()
		out, err := s.client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &s.url, Entries: entries})
		cancel()
		if err != nil {
			s.log.Warn("sqs: extending the visibility of messages failed; trying again", "messages", len(batch), "err", err)
			continue
		}
		failed := map[int]bool{}
		for _, f := range out.Failed {
			i, err := strconv.Atoi(str(f.Id))
			if err != nil || i < 0 || i >= len(batch) {
				continue
			}
			failed[i] = true
			if f.SenderFault {
				// Its receipt handle is no longer valid (the timeout
				// passed, it was received again): extending it again
				// would fail again.
				s.mu.Lock()
				batch[i].lost = true
				s.mu.Unlock()
			}
			s.log.Warn("sqs: extending the visibility of a message failed; it may be received again meanwhile (its objects are then read once)",
				"message", batch[i].id, "code", str(f.Code), "why", str(f.Message))
		}
		s.mu.Lock()
		for i, m := range batch {
			if !failed[i] {
				m.visibleUntil = sent.Add(s.vt)
			}
		}
		s.mu.Unlock()
	}
}

// Close waits (up to a minute) for the deletes of the messages acked so
// far. Call it after pipeline.Run has returned.
func (s *Source) Close() error {
	if !s.started {
		return nil
	}
	s.closeMu.Do(func() { close(s.stop) })
	select {
	case <-s.done:
		return nil
	case <-time.After(time.Minute):
		return errors.New("sqs: timed out deleting messages")
	}
}

// fatal reports errors a retry will not cure: a client error (a missing
// queue, denied access, a bad parameter) other than throttling.
func fatal(err error) bool {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	code := re.HTTPStatusCode()
	if code < 400 || code >= 500 || code == http.StatusTooManyRequests {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "RequestThrottled", "ThrottlingException", "Throttling", "KmsThrottled", "OverLimit", "RequestTimeout":
			return false
		}
	}
	return true
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func ptr[T any](v T) *T { return &v }
