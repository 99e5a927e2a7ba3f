// Package sqstest is an SQS queue for tests: an HTTP server speaking the
// AWS JSON 1.0 protocol that SDK v2 clients use, reachable by URL from the
// test process and from other processes it starts (trawl run workers).
package sqstest

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is one SQS queue (with a dead-letter list) behind the AWS JSON
// 1.0 protocol the SDK v2 speaks: POST /, X-Amz-Target: AmazonSQS.<Op>,
// Content-Type: application/x-amz-json-1.0, errors as {"__type", "message"}
// with the x-amzn-query-error header. It implements what the source uses:
// ReceiveMessage (long polling, MaxNumberOfMessages, VisibilityTimeout,
// ApproximateReceiveCount), DeleteMessage(Batch),
// ChangeMessageVisibility(Batch) and GetQueueAttributes, with visibility
// timeouts, receive counts and a redrive to the dead-letter list after
// maxReceiveCount receives.
type Server struct {
	t   testing.TB
	srv *httptest.Server
	// URL is the queue URL.
	URL string
	// Endpoint is the server's base URL, an SDK client's BaseEndpoint.
	Endpoint string

	mu         sync.Mutex
	vt         time.Duration
	maxReceive int // 0: no redrive policy
	msgs       []*fakeMsg
	dlq        []*fakeMsg
	seq        int
	calls      map[string]int
	receiving  int // ReceiveMessage requests being served
	// Fault, if set, is asked before each request (op, and the number of
	// requests of op so far): 0 serve it, 1 fail it before doing anything
	// (HTTP 500), 2 throttle it (HTTP 400 RequestThrottled), 3 do it and
	// then answer 500 (the answer is lost). Set it before clients call.
	Fault func(op string, n int) int
	// EntryFault, if set, is asked for each entry of a batch: true fails
	// that entry with an InternalError that is not the sender's fault. It
	// is called with the server's lock held (see Locked).
	EntryFault func(op, messageID string) bool
	// BeforeDelete, if set, is called with the message bodies a
	// DeleteMessageBatch or DeleteMessage is about to delete, with the
	// server's lock held.
	BeforeDelete func(bodies []string)
}

type fakeMsg struct {
	id, body   string
	receives   int
	receipt    string // of the latest receive
	invisUntil time.Time
	deleted    bool
	extended   int
	receiver   string // access key id of the latest receive
}

// Message is a message's state.
type Message struct {
	ID, Body string
	Receives int  // times received
	Deleted  bool // deleted, or moved to the dead-letter list
	Extended int  // visibility changes
	// Receiver is the access key id that signed the latest receive: give
	// each consumer its own to tell them apart.
	Receiver string
}

func (m *fakeMsg) export() Message {
	return Message{ID: m.id, Body: m.body, Receives: m.receives, Deleted: m.deleted, Extended: m.extended, Receiver: m.receiver}
}

// accessKey returns the access key id of a SigV4-signed request.
func accessKey(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(cred, "/")
	return key
}

// InFlight returns the number of messages received by the consumer
// signing with accessKey and neither deleted nor visible again.
func (f *Server) InFlight(accessKey string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, now := 0, time.Now()
	for _, m := range f.msgs {
		if !m.deleted && m.receiver == accessKey && now.Before(m.invisUntil) {
			n++
		}
	}
	return n
}

// New starts a queue with a visibility timeout and, if maxReceive > 0, a
// redrive policy moving a message to the dead-letter list after
// maxReceive receives. The server stops when the test ends.
func New(t testing.TB, vt time.Duration, maxReceive int) *Server {
	f := &Server{t: t, vt: vt, maxReceive: maxReceive, calls: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.Endpoint = f.srv.URL
	f.URL = f.srv.URL + "/111122223333/trawl-test"
	return f
}

// Send puts a message on the queue and returns its id.
func (f *Server) Send(body string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	m := &fakeMsg{id: fmt.Sprintf("m-%04d", f.seq), body: body}
	f.msgs = append(f.msgs, m)
	return m.id
}

// State counts the queue's messages by state.
type State struct {
	Visible, Invisible, Deleted, DLQ int
}

// State returns the queue's counts now.
func (f *Server) State() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s State
	now := time.Now()
	for _, m := range f.msgs {
		switch {
		case m.deleted:
			s.Deleted++
		case now.Before(m.invisUntil):
			s.Invisible++
		default:
			s.Visible++
		}
	}
	s.DLQ = len(f.dlq)
	return s
}

// Msg returns the state of the message with this id; the test fails if
// there is none.
func (f *Server) Msg(id string) Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range append(append([]*fakeMsg(nil), f.msgs...), f.dlq...) {
		if m.id == id {
			return m.export()
		}
	}
	f.t.Fatalf("no message %s", id)
	return Message{}
}

// Messages returns the state of every message sent, in order.
func (f *Server) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Message, len(f.msgs))
	for i, m := range f.msgs {
		out[i] = m.export()
	}
	return out
}

// Locked runs fn with the server's lock held: the lock EntryFault and
// BeforeDelete run under, for reading what they record.
func (f *Server) Locked(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// Quiet waits until no ReceiveMessage is being served: a long poll
// abandoned by a cancelled client may still take messages (which then come
// back after their visibility timeout, as on SQS).
func (f *Server) Quiet() {
	for {
		f.mu.Lock()
		n := f.receiving
		f.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// CallCount returns how many requests of op the server has had.
func (f *Server) CallCount(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

type apiError struct {
	status int
	code   string
	msg    string
	sender bool
}

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "AmazonSQS.")
	if r.Method != http.MethodPost || r.URL.Path != "/" || !ok || r.Header.Get("Content-Type") != "application/x-amz-json-1.0" {
		writeErr(w, apiError{400, "InvalidAction", fmt.Sprintf("not an AWS JSON 1.0 SQS request: %s %s target %q content type %q", r.Method, r.URL.Path, target, r.Header.Get("Content-Type")), true})
		return
	}
	var in map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeErr(w, apiError{400, "SerializationException", err.Error(), true})
		return
	}
	var url string
	_ = json.Unmarshal(in["QueueUrl"], &url)
	f.mu.Lock()
	f.calls[op]++
	n := f.calls[op]
	fault := f.Fault
	f.mu.Unlock()
	if url != f.URL {
		writeErr(w, apiError{400, "QueueDoesNotExist", "The specified queue does not exist: " + url, true})
		return
	}
	mode := 0
	if fault != nil {
		mode = fault(op, n)
	}
	switch mode {
	case 1:
		writeErr(w, apiError{500, "InternalError", "injected internal error", false})
		return
	case 2:
		writeErr(w, apiError{400, "RequestThrottled", "injected throttling", true})
		return
	}
	var out any
	var aerr *apiError
	switch op {
	case "ReceiveMessage":
		f.mu.Lock()
		f.receiving++
		f.mu.Unlock()
		out, aerr = f.receive(r, in)
		f.mu.Lock()
		f.receiving--
		f.mu.Unlock()
	case "DeleteMessageBatch":
		out, aerr = f.batch(in, false)
	case "ChangeMessageVisibilityBatch":
		out, aerr = f.batch(in, true)
	case "DeleteMessage", "ChangeMessageVisibility":
		var e batchEntry
		_ = json.Unmarshal(in["ReceiptHandle"], &e.ReceiptHandle)
		_ = json.Unmarshal(in["VisibilityTimeout"], &e.VisibilityTimeout)
		f.mu.Lock()
		if op == "DeleteMessage" {
			f.beforeDeleteLocked([]batchEntry{e})
			aerr = f.deleteLocked(e)
		} else {
			aerr = f.changeLocked(e)
		}
		f.mu.Unlock()
		out = struct{}{}
	case "GetQueueAttributes":
		attrs := map[string]string{"VisibilityTimeout": fmt.Sprint(int(f.vt / time.Second))}
		if f.maxReceive > 0 {
			attrs["RedrivePolicy"] = fmt.Sprintf(`{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:111122223333:trawl-test-dlq","maxReceiveCount":%d}`, f.maxReceive)
		}
		out = map[string]any{"Attributes": attrs}
	default:
		aerr = &apiError{400, "UnsupportedOperation", "the fake does not implement " + op, true}
	}
	if aerr != nil {
		writeErr(w, *aerr)
		return
	}
	if mode == 3 {
		writeErr(w, apiError{500, "InternalError", "injected error after the request was carried out", false})
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	json.NewEncoder(w).Encode(out)
}

func writeErr(w http.ResponseWriter, e apiError) {
	fault := "Receiver"
	if e.sender {
		fault = "Sender"
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-query-error", e.code+";"+fault)
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + e.code, "message": e.msg})
}

func (f *Server) receive(r *http.Request, in map[string]json.RawMessage) (any, *apiError) {
	max, wait, vt := 1, 0, -1
	if raw, ok := in["MaxNumberOfMessages"]; ok {
		_ = json.Unmarshal(raw, &max)
	}
	if raw, ok := in["WaitTimeSeconds"]; ok {
		_ = json.Unmarshal(raw, &wait)
	}
	if raw, ok := in["VisibilityTimeout"]; ok {
		_ = json.Unmarshal(raw, &vt)
	}
	if max < 1 || max > 10 {
		return nil, &apiError{400, "InvalidParameterValue", "MaxNumberOfMessages must be 1 to 10", true}
	}
	if wait < 0 || wait > 20 {
		return nil, &apiError{400, "InvalidParameterValue", "WaitTimeSeconds must be 0 to 20", true}
	}
	var names []string
	_ = json.Unmarshal(in["MessageSystemAttributeNames"], &names)
	wantCount := false
	for _, n := range names {
		wantCount = wantCount || n == "ApproximateReceiveCount" || n == "All"
	}
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	for {
		f.mu.Lock()
		visibility := f.vt
		if vt >= 0 {
			visibility = time.Duration(vt) * time.Second
		}
		now := time.Now()
		var got []map[string]any
		for _, m := range f.msgs {
			if len(got) == max {
				break
			}
			if m.deleted || now.Before(m.invisUntil) {
				continue
			}
			if f.maxReceive > 0 && m.receives >= f.maxReceive {
				// The redrive policy: moved to the dead-letter queue.
				m.deleted = true
				f.dlq = append(f.dlq, m)
				continue
			}
			m.receives++
			m.receipt = fmt.Sprintf("%s#%d", m.id, m.receives)
			m.receiver = accessKey(r)
			m.invisUntil = now.Add(visibility)
			sum := md5.Sum([]byte(m.body))
			e := map[string]any{"MessageId": m.id, "ReceiptHandle": m.receipt, "Body": m.body, "MD5OfBody": hex.EncodeToString(sum[:])}
			if wantCount {
				e["Attributes"] = map[string]string{"ApproximateReceiveCount": fmt.Sprint(m.receives)}
			}
			got = append(got, e)
		}
		f.mu.Unlock()
		if len(got) > 0 || !time.Now().Before(deadline) {
			if len(got) == 0 {
				return struct{}{}, nil // no Messages member, as SQS answers
			}
			return map[string]any{"Messages": got}, nil
		}
		select {
		case <-r.Context().Done():
			return struct{}{}, nil
		case <-time.After(10 * time.Millisecond):
		}
	}
}

type batchEntry struct {
	Id                string
	ReceiptHandle     string
	VisibilityTimeout int
}

func (f *Server) batch(in map[string]json.RawMessage, change bool) (any, *apiError) {
	var entries []batchEntry
	if err := json.Unmarshal(in["Entries"], &entries); err != nil {
		return nil, &apiError{400, "SerializationException", err.Error(), true}
	}
	if len(entries) == 0 {
		return nil, &apiError{400, "EmptyBatchRequest", "no entries", true}
	}
	if len(entries) > 10 {
		return nil, &apiError{400, "TooManyEntriesInBatchRequest", "more than 10 entries", true}
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.Id] {
			return nil, &apiError{400, "BatchEntryIdsNotDistinct", "two entries with id " + e.Id, true}
		}
		seen[e.Id] = true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !change {
		f.beforeDeleteLocked(entries)
	}
	ok := []map[string]string{}
	failed := []map[string]any{}
	for _, e := range entries {
		var err *apiError
		if m := f.byReceipt(e.ReceiptHandle); m != nil && f.EntryFault != nil && f.EntryFault(map[bool]string{true: "ChangeMessageVisibilityBatch", false: "DeleteMessageBatch"}[change], m.id) {
			failed = append(failed, map[string]any{"Id": e.Id, "SenderFault": false, "Code": "InternalError", "Message": "injected failure of one entry"})
			continue
		}
		if change {
			err = f.changeLocked(e)
		} else {
			err = f.deleteLocked(e)
		}
		if err != nil {
			failed = append(failed, map[string]any{"Id": e.Id, "SenderFault": err.sender, "Code": err.code, "Message": err.msg})
		} else {
			ok = append(ok, map[string]string{"Id": e.Id})
		}
	}
	return map[string]any{"Successful": ok, "Failed": failed}, nil
}

func (f *Server) beforeDeleteLocked(entries []batchEntry) {
	if f.BeforeDelete == nil {
		return
	}
	var bodies []string
	for _, e := range entries {
		if m := f.byReceipt(e.ReceiptHandle); m != nil {
			bodies = append(bodies, m.body)
		}
	}
	f.BeforeDelete(bodies)
}

func (f *Server) byReceipt(h string) *fakeMsg {
	id, _, _ := strings.Cut(h, "#")
	for _, m := range f.msgs {
		if m.id == id {
			return m
		}
	}
	return nil
}

// deleteLocked deletes a message; a receipt handle of an earlier receive
// of it still deletes it, and deleting twice succeeds, as on SQS.
func (f *Server) deleteLocked(e batchEntry) *apiError {
	m := f.byReceipt(e.ReceiptHandle)
	if m == nil || m.receives == 0 {
		return &apiError{400, "ReceiptHandleIsInvalid", "the receipt handle " + e.ReceiptHandle + " is not valid", true}
	}
	if !m.deleted {
		m.deleted = true
	}
	return nil
}

func (f *Server) changeLocked(e batchEntry) *apiError {
	m := f.byReceipt(e.ReceiptHandle)
	if m == nil || m.receives == 0 {
		return &apiError{400, "ReceiptHandleIsInvalid", "the receipt handle " + e.ReceiptHandle + " is not valid", true}
	}
	if m.deleted || m.receipt != e.ReceiptHandle || !time.Now().Before(m.invisUntil) {
		return &apiError{400, "MessageNotInflight", "the message " + m.id + " is not in flight", true}
	}
	if e.VisibilityTimeout < 0 || e.VisibilityTimeout > 43200 {
		return &apiError{400, "InvalidParameterValue", "VisibilityTimeout out of range", true}
	}
	m.invisUntil = time.Now().Add(time.Duration(e.VisibilityTimeout) * time.Second)
	m.extended++
	return nil
}
