package lambda_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/awsconf"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/lambda"
	"github.com/trawl-project/trawl/internal/sigma"
	s3src "github.com/trawl-project/trawl/internal/source/s3"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// aliceRule is the classic "tell me whenever IAM user alice acts".
const aliceRule = `title: IAM user alice acted
id: 6f0c3d7e-2a41-4b7e-9d55-0a1ce0a11ce0
status: test
level: high
tags: [attack.t1078.004]
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        userIdentity.userName: alice
    condition: selection
`

func aliceEvaluator(t testing.TB) lambda.Evaluator {
	t.Helper()
	r, err := sigma.Parse([]byte(aliceRule))
	if err != nil {
		t.Fatal(err)
	}
	return lambda.SigmaEvaluator([]*sigma.Rule{r})
}

// ctRecord is a CloudTrail management event as CloudTrail writes it.
func ctRecord(n int, user, api string) string {
	return fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE%[1]d","arn":"arn:aws:iam::111122223333:user/%[2]s","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE%[1]d","userName":"%[2]s"},"eventTime":"2026-11-02T10:11:%02[1]dZ","eventSource":"iam.amazonaws.com","eventName":"%[3]s","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.%[1]d","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2023","requestParameters":{"userName":"new-user-%[1]d"},"responseElements":null,"requestID":"req-%[1]d","eventID":"aaaaaaaa-0000-4000-8000-%012[1]d","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`, n, user, api)
}

// cwlEvent is a CloudWatch Logs subscription event exactly as Lambda
// receives it: {"awslogs":{"data":base64(gzip(payload))}}, the payload as
// in AWS's documentation of subscription filters.
func cwlEvent(t testing.TB, messageType string, messages ...string) []byte {
	t.Helper()
	type logEvent struct {
		ID        string `json:"id"`
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	}
	payload := struct {
		MessageType         string     `json:"messageType"`
		Owner               string     `json:"owner"`
		LogGroup            string     `json:"logGroup"`
		LogStream           string     `json:"logStream"`
		SubscriptionFilters []string   `json:"subscriptionFilters"`
		LogEvents           []logEvent `json:"logEvents"`
	}{messageType, "111122223333", "aws-cloudtrail-logs-111122223333-org", "111122223333_CloudTrail_us-east-1",
		[]string{"alice-watch"}, []logEvent{}}
	if messageType == "CONTROL_MESSAGE" {
		payload.Owner, payload.LogGroup, payload.LogStream = "CloudwatchLogs", "", ""
		payload.SubscriptionFilters = []string{}
		messages = []string{"CWL CONTROL MESSAGE: Checking health of destination Firehose."}
	}
	for i, m := range messages {
		payload.LogEvents = append(payload.LogEvents, logEvent{
			ID: fmt.Sprintf("3195310660696698337880902507980421114328961542429EXAMPLE%d", i), Timestamp: 1762078272000 + int64(i), Message: m})
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(raw)
	zw.Close()
	ev, _ := json.Marshal(map[string]any{"awslogs": map[string]string{"data": base64.StdEncoding.EncodeToString(zb.Bytes())}})
	return ev
}

// recorder is a notifier that records what it is given, and fails while
// fail is set.
type recorder struct {
	mu   sync.Mutex
	hits []event.Hit
	fail error
}

func (r *recorder) Notify(_ context.Context, hits []event.Hit) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.hits = append(r.hits, hits...)
	return nil
}

func TestCloudWatchLogsNotifiesHits(t *testing.T) {
	rec := &recorder{}
	h := &lambda.Handler{Evaluator: aliceEvaluator(t), Notifier: rec}
	ev := cwlEvent(t, "DATA_MESSAGE", ctRecord(1, "alice", "CreateUser"), ctRecord(2, "bob", "ListUsers"), ctRecord(3, "alice", "AttachUserPolicy"))
	out, err := h.Invoke(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(*lambda.CloudWatchLogsResponse)
	if resp.MessageType != "DATA_MESSAGE" || resp.LogGroup != "aws-cloudtrail-logs-111122223333-org" || resp.LogEvents != 3 ||
		resp.Records != 3 || resp.Quarantined != 0 || resp.Hits != 2 || resp.Notified != 2 {
		t.Fatalf("response %+v", resp)
	}
	if len(rec.hits) != 2 {
		t.Fatalf("notified %d hits, want 2", len(rec.hits))
	}
	for i, want := range []struct{ id, api string }{{"aaaaaaaa-0000-4000-8000-000000000001", "CreateUser"}, {"aaaaaaaa-0000-4000-8000-000000000003", "AttachUserPolicy"}} {
		x := rec.hits[i]
		if x.RuleID != "6f0c3d7e-2a41-4b7e-9d55-0a1ce0a11ce0" || x.Severity != "high" || !slices.Equal(x.EventIDs, []string{want.id}) ||
			x.Fields["event_name"] != want.api || x.Fields["principal"] != "alice" || x.Fields["source_ip"] == "" || x.Fields["user_agent"] == "" ||
			!slices.Equal(x.Tags, []string{"T1078.004"}) || x.First.IsZero() {
			t.Errorf("hit %d: %+v", i, x)
		}
	}
	// The response is what Lambda returns: it marshals.
	if b, err := json.Marshal(out); err != nil || !strings.Contains(string(b), `"hits":2`) {
		t.Fatalf("marshal: %s %v", b, err)
	}
}

func TestCloudWatchLogsControlMessage(t *testing.T) {
	rec := &recorder{}
	h := &lambda.Handler{Evaluator: aliceEvaluator(t), Notifier: rec}
	out, err := h.Invoke(context.Background(), cwlEvent(t, "CONTROL_MESSAGE"))
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(*lambda.CloudWatchLogsResponse)
	if resp.MessageType != "CONTROL_MESSAGE" || resp.Records != 0 || resp.Hits != 0 || len(rec.hits) != 0 {
		t.Fatalf("response %+v, notified %d", resp, len(rec.hits))
	}
}

// A failed notification fails the invocation, so that Lambda retries it;
// the retry notifies.
func TestCloudWatchLogsNotifyFailureFails(t *testing.T) {
	down := errors.New("SNS is down")
	rec := &recorder{fail: down}
	h := &lambda.Handler{Evaluator: aliceEvaluator(t), Notifier: rec}
	ev := cwlEvent(t, "DATA_MESSAGE", ctRecord(1, "alice", "CreateUser"))
	if _, err := h.Invoke(context.Background(), ev); !errors.Is(err, down) {
		t.Fatalf("error %v, want the notifier's", err)
	}
	rec.fail = nil
	if _, err := h.Invoke(context.Background(), ev); err != nil || len(rec.hits) != 1 {
		t.Fatalf("retry: %v, %d hits", err, len(rec.hits))
	}
}

// Bad input in a log event is quarantined (reported), the rest evaluated.
func TestCloudWatchLogsBadRecord(t *testing.T) {
	rec := &recorder{}
	h := &lambda.Handler{Evaluator: aliceEvaluator(t), Notifier: rec}
	out, err := h.Invoke(context.Background(), cwlEvent(t, "DATA_MESSAGE", `{"eventVersion":"1.09","userIdentity":`, ctRecord(4, "alice", "CreateUser")))
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(*lambda.CloudWatchLogsResponse)
	if resp.Records != 1 || resp.Quarantined != 1 || resp.Notified != 1 {
		t.Fatalf("response %+v", resp)
	}
}

func TestUnknownEvents(t *testing.T) {
	h := &lambda.Handler{}
	for _, c := range []struct{ payload, want string }{
		{`[1,2]`, "not a JSON object"},
		{`"hello"`, "not a JSON object"},
		{`{"key1":"value1","key2":"value2"}`, "members key1, key2"},
		{`{"Records":[]}`, "non-empty list"},
		{`{"Records":[{"eventSource":"aws:dynamodb","eventName":"INSERT"}]}`, `event source "aws:dynamodb"`},
		{`{"Records":[{"eventSource":"aws:s3"},{"eventSource":"aws:sqs"}]}`, "mixes event sources"},
		{`{"version":"0","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}`, `not aws.s3`},
		{`{"awslogs":{"data":"bm90IGd6aXA="}}`, "not base64-encoded gzip"},
	} {
		_, err := h.Invoke(context.Background(), json.RawMessage(c.payload))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.payload, err, c.want)
		}
	}
}

// fake is gofakes3 over HTTP with a trawl S3 client configured as the
// CLI does, and a DuckDB store.
type fake struct {
	be     *s3mem.Backend
	client *s3src.Client
	st     *app.Store
	etags  map[string]string
}

func newFake(t *testing.T) *fake {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket("trail-bucket"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
	cfg, err := awsconf.Load(context.Background(), awsconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := app.Open(context.Background(), app.Options{DB: filepath.Join(t.TempDir(), "t.duckdb"), Mode: app.Ingest})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &fake{be: be, client: s3src.New(awsconf.NewS3(cfg), s3src.Options{}), st: st, etags: map[string]string{}}
}

// put stores a gzipped CloudTrail log file of the records.
func (f *fake) put(t *testing.T, key string, records ...string) {
	t.Helper()
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(`{"Records":[` + strings.Join(records, ",") + `]}`))
	zw.Close()
	if _, err := f.be.PutObject("trail-bucket", key, nil, bytes.NewReader(zb.Bytes()), int64(zb.Len()), nil); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(zb.Bytes())
	f.etags[key] = hex.EncodeToString(sum[:])
}

func (f *fake) handler(t *testing.T, rec *recorder) *lambda.Handler {
	return &lambda.Handler{
		Evaluator: aliceEvaluator(t), Notifier: rec, IngestNotifier: rec,
		Store:  func(context.Context) (lambda.Ingester, error) { return f.st, nil },
		Object: f.client.Object,
	}
}

func (f *fake) count(t *testing.T, q string) int64 {
	t.Helper()
	return duckdbtest.Scalar(t, f.st.Store, q)
}

// s3Record is one record of an S3 event notification, as in AWS's
// documentation (event message structure, version 2.1): the key is
// URL-encoded as S3 sends it, a space as "+".
func (f *fake) s3Record(key string) string {
	enc := strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
	size := 0
	if o, err := f.be.HeadObject("trail-bucket", key); err == nil {
		size = int(o.Size)
	}
	return fmt.Sprintf(`{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-11-02T10:15:00.000Z","eventName":"ObjectCreated:Put","userIdentity":{"principalId":"AWS:AROAEXAMPLE:regionalDeliverySession"},"requestParameters":{"sourceIPAddress":"198.51.100.7"},"responseElements":{"x-amz-request-id":"C3D13FE58DE4C810","x-amz-id-2":"FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},"s3":{"s3SchemaVersion":"1.0","configurationId":"trawl-ingest","bucket":{"name":"trail-bucket","ownerIdentity":{"principalId":"A3NL1KOZZKExample"},"arn":"arn:aws:s3:::trail-bucket"},"object":{"key":%q,"size":%d,"eTag":%q,"sequencer":"0055AED6DCD90281E5"}}}`,
		enc, size, f.etags[key])
}

func (f *fake) s3Event(keys ...string) string {
	var recs []string
	for _, k := range keys {
		recs = append(recs, f.s3Record(k))
	}
	return `{"Records":[` + strings.Join(recs, ",") + `]}`
}

const ctKey = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/"

func TestS3EventIngests(t *testing.T) {
	f := newFake(t)
	// A key with a space and a plus: S3 sends "my+file%2B1.json.gz".
	key := ctKey + "my file+1.json.gz"
	f.put(t, key, ctRecord(1, "alice", "CreateUser"), ctRecord(2, "bob", "ListUsers"))
	rec := &recorder{}
	h := f.handler(t, rec)
	ev := f.s3Event(key)
	if !strings.Contains(ev, `my+file%2B1.json.gz`) {
		t.Fatalf("the event does not encode the key as S3 does: %s", ev)
	}
	out, err := h.Invoke(context.Background(), json.RawMessage(ev))
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(*lambda.IngestResponse)
	if resp.Kind != "s3" || resp.Objects != 1 || resp.Records != 2 || resp.Hits != 1 || resp.Notified != 1 || len(resp.Failed) != 0 {
		t.Fatalf("response %+v", resp)
	}
	if n := f.count(t, `SELECT count(*) FROM cloudtrail_base WHERE source = 's3://trail-bucket/`+key+`'`); n != 2 {
		t.Fatalf("%d rows stored from the object, want 2", n)
	}
	if len(rec.hits) != 1 || rec.hits[0].EventIDs[0] != "aaaaaaaa-0000-4000-8000-000000000001" {
		t.Fatalf("hits %+v", rec.hits)
	}
	// Delivered again (S3 delivers at least once): the ledger skips it.
	out, err = h.Invoke(context.Background(), json.RawMessage(ev))
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(*lambda.IngestResponse); r.Records != 0 || r.Hits != 0 || len(rec.hits) != 1 {
		t.Fatalf("again: %+v, %d hits notified", r, len(rec.hits))
	}
	if n := f.count(t, `SELECT count(*) FROM cloudtrail_base`); n != 2 {
		t.Fatalf("%d rows after a repeated event, want 2", n)
	}
}

// A missing object fails the invocation (Lambda retries it); the others
// are committed and the retry skips them.
func TestS3EventMissingObjectFails(t *testing.T) {
	f := newFake(t)
	f.put(t, ctKey+"a.json.gz", ctRecord(1, "carol", "ListUsers"))
	h := f.handler(t, &recorder{})
	out, err := h.Invoke(context.Background(), json.RawMessage(f.s3Event(ctKey+"a.json.gz", ctKey+"gone.json.gz")))
	if err == nil || !strings.Contains(err.Error(), "gone.json.gz") || !strings.Contains(err.Error(), "1 of 2") {
		t.Fatalf("error %v", err)
	}
	if r := out.(*lambda.IngestResponse); r.Records != 1 || len(r.Failed) != 1 {
		t.Fatalf("response %+v", r)
	}
	if n := f.count(t, `SELECT count(*) FROM ingest_ledger WHERE status = 'done'`); n != 1 {
		t.Fatalf("%d objects done, want 1", n)
	}
}

func TestS3TestEventIgnored(t *testing.T) {
	f := newFake(t)
	h := f.handler(t, &recorder{})
	out, err := h.Invoke(context.Background(), json.RawMessage(`{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-02T10:15:00.000Z","Bucket":"trail-bucket","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(*lambda.IngestResponse); r.Objects != 0 || len(r.Ignored) != 1 || !strings.Contains(r.Ignored[0], "s3:TestEvent") {
		t.Fatalf("response %+v", r)
	}
}

// sqsMessage is one record of an SQS event as Lambda delivers it.
func sqsMessage(id, body string) events.SQSMessage {
	return events.SQSMessage{
		MessageId: id, ReceiptHandle: "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a" + id, Body: body,
		Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1762078500000",
			"SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1762078500010"},
		MessageAttributes: map[string]events.SQSMessageAttribute{},
		Md5OfBody:         fmt.Sprintf("%x", md5.Sum([]byte(body))),
		EventSource:       "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:111122223333:trail-events", AWSRegion: "us-east-1",
	}
}

func TestSQSPartialBatch(t *testing.T) {
	f := newFake(t)
	f.put(t, ctKey+"direct.json.gz", ctRecord(1, "alice", "CreateUser"))
	f.put(t, ctKey+"via sns.json.gz", ctRecord(2, "bob", "ListUsers"), ctRecord(3, "bob", "GetUser"))
	f.put(t, ctKey+"eventbridge.json.gz", ctRecord(4, "alice", "DeleteUser"))
	sns, _ := json.Marshal(map[string]string{
		"Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		"TopicArn": "arn:aws:sns:us-east-1:111122223333:trail-objects", "Subject": "Amazon S3 Notification",
		"Message": f.s3Event(ctKey + "via sns.json.gz"), "Timestamp": "2026-11-02T10:15:01.000Z", "SignatureVersion": "1",
	})
	eb := fmt.Sprintf(`{"version":"0","id":"17793124-05d4-b198-2fde-7ededc63b103","detail-type":"Object Created","source":"aws.s3","account":"111122223333","time":"2026-11-02T10:15:00Z","region":"us-east-1","resources":["arn:aws:s3:::trail-bucket"],"detail":{"version":"0","bucket":{"name":"trail-bucket"},"object":{"key":%q,"size":1,"etag":%q,"sequencer":"00617F08299329D189"},"request-id":"N4N7GDK58NMKJ12R","requester":"111122223333","source-ip-address":"198.51.100.7","reason":"PutObject"}}`,
		ctKey+"eventbridge.json.gz", f.etags[ctKey+"eventbridge.json.gz"])
	ev := events.SQSEvent{Records: []events.SQSMessage{
		sqsMessage("059f36b4-87a3-44ab-83d2-661975830a7d", f.s3Event(ctKey+"direct.json.gz")),
		sqsMessage("2e1424d4-f796-459a-8184-9c92662be6da", string(sns)),
		sqsMessage("f3b0c5a1-6f9e-4b43-9d7a-8f7c8d1e2a10", f.s3Event(ctKey+"missing.json.gz")),
		sqsMessage("9a1bc2d3-0000-4000-8000-eventbridge01", eb),
		sqsMessage("7c1f0a6e-1111-4000-8000-testevent0001", `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-02T10:15:00.000Z","Bucket":"trail-bucket","RequestId":"5582815E1AEA5ADF","HostId":"x"}`),
	}}
	payload, _ := json.Marshal(ev)
	rec := &recorder{}
	h := f.handler(t, rec)
	out, err := h.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(events.SQSEventResponse)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "f3b0c5a1-6f9e-4b43-9d7a-8f7c8d1e2a10" {
		t.Fatalf("batch item failures %+v, want exactly the message of the missing object", resp.BatchItemFailures)
	}
	if b, _ := json.Marshal(resp); string(b) != `{"batchItemFailures":[{"itemIdentifier":"f3b0c5a1-6f9e-4b43-9d7a-8f7c8d1e2a10"}]}` {
		t.Fatalf("response JSON %s", b)
	}
	if n := f.count(t, `SELECT count(*) FROM cloudtrail_base`); n != 4 {
		t.Fatalf("%d rows, want 4", n)
	}
	if len(rec.hits) != 2 {
		t.Fatalf("%d hits notified, want 2 (alice twice)", len(rec.hits))
	}
	// A batch with nothing wrong answers an empty list: nothing is
	// delivered again.
	payload, _ = json.Marshal(events.SQSEvent{Records: []events.SQSMessage{sqsMessage("aaaa", f.s3Event(ctKey+"direct.json.gz"))}})
	out, err = h.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(out); string(b) != `{"batchItemFailures":[]}` {
		t.Fatalf("response %s", b)
	}
}

// A message that is not a notification is reported as failed, so that it
// reaches the dead-letter queue instead of vanishing.
func TestSQSBadBody(t *testing.T) {
	f := newFake(t)
	f.put(t, ctKey+"ok.json.gz", ctRecord(1, "dave", "ListUsers"))
	payload, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{
		sqsMessage("good", f.s3Event(ctKey+"ok.json.gz")),
		sqsMessage("bad", `hello, not json`),
	}})
	out, err := f.handler(t, &recorder{}).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(events.SQSEventResponse); len(r.BatchItemFailures) != 1 || r.BatchItemFailures[0].ItemIdentifier != "bad" {
		t.Fatalf("%+v", r)
	}
}

// Without a store, S3 events are refused with a clear error.
func TestNoStore(t *testing.T) {
	h := &lambda.Handler{}
	_, err := h.Invoke(context.Background(), json.RawMessage(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`))
	if err == nil || !strings.Contains(err.Error(), "no store") {
		t.Fatalf("error %v", err)
	}
}

// Flow-log lines delivered to CloudWatch Logs (no header) are records too.
func TestCloudWatchLogsFlowLines(t *testing.T) {
	h := &lambda.Handler{Evaluator: aliceEvaluator(t), Notifier: &recorder{}}
	out, err := h.Invoke(context.Background(), cwlEvent(t, "DATA_MESSAGE",
		"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
		"2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK"))
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(*lambda.CloudWatchLogsResponse); r.Records != 2 || r.Quarantined != 0 || r.Hits != 0 {
		t.Fatalf("response %+v", r)
	}
}

// BenchmarkCloudWatchLogs is the CloudWatch Logs path on a 1,000-event
// subscription event with one Sigma rule: decoding, evaluation, hits.
func BenchmarkCloudWatchLogs(b *testing.B) {
	var msgs []string
	for i := range 1000 {
		user := "bob"
		if i%100 == 0 {
			user = "alice"
		}
		msgs = append(msgs, ctRecord(i%60, user, "ListUsers"))
	}
	ev := cwlEvent(b, "DATA_MESSAGE", msgs...)
	rec := &recorder{}
	h := &lambda.Handler{Evaluator: aliceEvaluator(b), Notifier: rec,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, err := h.Invoke(context.Background(), ev)
		if err != nil || out.(*lambda.CloudWatchLogsResponse).Hits != 10 {
			b.Fatal(err, out)
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "events/s")
}

func TestCloudWatchLogsBadPayload(t *testing.T) {
	gz := func(s string) string {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write([]byte(s))
		zw.Close()
		return `{"awslogs":{"data":"` + base64.StdEncoding.EncodeToString(zb.Bytes()) + `"}}`
	}
	h := &lambda.Handler{}
	for _, c := range []struct{ data, want string }{
		{`{"logEvents":[{"id":"1",`, "not valid JSON"},
		{`[1]`, "not a JSON object"},
		{`{"messageType":"SOMETHING_ELSE","logEvents":[]}`, `messageType "SOMETHING_ELSE"`},
	} {
		if _, err := h.Invoke(context.Background(), json.RawMessage(gz(c.data))); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.data, err, c.want)
		}
	}
	// A payload cut short after its header: what cannot be read is
	// quarantined and reported, as in every ingest; a retry would not
	// mend it.
	out, err := h.Invoke(context.Background(), json.RawMessage(gz(`{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[{"id":"1","message":"x"},{"id":"2",`)))
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(*lambda.CloudWatchLogsResponse); r.Quarantined == 0 || r.LogGroup != "g" {
		t.Fatalf("response %+v", r)
	}
}

// With less time left than the reserve, the ingest stops at once and the
// SQS batch answers with every message as a failure (they are delivered
// again) instead of running into the timeout.
func TestSQSOutOfTime(t *testing.T) {
	f := newFake(t)
	f.put(t, ctKey+"late.json.gz", ctRecord(1, "erin", "ListUsers"))
	payload, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{
		sqsMessage("m1", f.s3Event(ctKey+"late.json.gz")),
		sqsMessage("m2", `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-02T10:15:00.000Z","Bucket":"trail-bucket"}`),
	}})
	h := f.handler(t, &recorder{})
	h.Reserve = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := h.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(events.SQSEventResponse); len(r.BatchItemFailures) != 1 || r.BatchItemFailures[0].ItemIdentifier != "m1" {
		t.Fatalf("%+v, want m1 only (m2 needs no work)", r)
	}
	if n := f.count(t, `SELECT count(*) FROM cloudtrail_base`); n != 0 {
		t.Fatalf("%d rows", n)
	}
	// With time, the same batch goes through.
	h.Reserve = 0
	out, err = h.Invoke(ctx, payload)
	if err != nil || len(out.(events.SQSEventResponse).BatchItemFailures) != 0 {
		t.Fatalf("%v %+v", err, out)
	}
}

// Lambda invoked by SNS (S3 → SNS → Lambda) and by an EventBridge rule.
func TestSNSAndEventBridgeEvents(t *testing.T) {
	f := newFake(t)
	f.put(t, ctKey+"sns.json.gz", ctRecord(1, "alice", "CreateUser"))
	f.put(t, ctKey+"eb.json.gz", ctRecord(2, "frank", "ListUsers"))
	msg, _ := json.Marshal(f.s3Event(ctKey + "sns.json.gz"))
	sns := `{"Records":[{"EventVersion":"1.0","EventSubscriptionArn":"arn:aws:sns:us-east-1:111122223333:trail-objects:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55","EventSource":"aws:sns","Sns":{"SignatureVersion":"1","Timestamp":"2026-11-02T10:15:01.000Z","Signature":"tcc6faL2yUC6dgZdmrwh1Y4cGa/ebXEkAi6RibDsvpi+tE/1+82j...65r==","SigningCertUrl":"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-ac565b8b1a6c5d002d285f9598aa1d9b.pem","MessageId":"95df01b4-ee98-5cb9-9903-4c221d41eb5e","Message":` + string(msg) + `,"MessageAttributes":{},"Type":"Notification","UnsubscribeUrl":"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe","TopicArn":"arn:aws:sns:us-east-1:111122223333:trail-objects","Subject":"Amazon S3 Notification"}}]}`
	rec := &recorder{}
	h := f.handler(t, rec)
	out, err := h.Invoke(context.Background(), json.RawMessage(sns))
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(*lambda.IngestResponse); r.Kind != "sns" || r.Objects != 1 || r.Records != 1 || r.Hits != 1 || len(rec.hits) != 1 {
		t.Fatalf("sns: %+v", r)
	}
	eb := fmt.Sprintf(`{"version":"0","id":"17793124-05d4-b198-2fde-7ededc63b103","detail-type":"Object Created","source":"aws.s3","account":"111122223333","time":"2026-11-02T10:15:00Z","region":"us-east-1","resources":["arn:aws:s3:::trail-bucket"],"detail":{"version":"0","bucket":{"name":"trail-bucket"},"object":{"key":%q,"size":1,"etag":%q},"request-id":"N4N7GDK58NMKJ12R","requester":"111122223333","reason":"PutObject"}}`,
		ctKey+"eb.json.gz", f.etags[ctKey+"eb.json.gz"])
	out, err = h.Invoke(context.Background(), json.RawMessage(eb))
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(*lambda.IngestResponse); r.Kind != "eventbridge" || r.Records != 1 || r.Hits != 0 {
		t.Fatalf("eventbridge: %+v", r)
	}
}
