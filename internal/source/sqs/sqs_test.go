package sqs_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/sqs"
	"github.com/trawl-project/trawl/internal/source/sqs/sqstest"
	"github.com/trawl-project/trawl/internal/store/duckdb"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

func retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 8
		o.MaxBackoff = 50 * time.Millisecond
		o.RateLimiter = ratelimit.None
	})
}

func sqsClient(f *sqstest.Server) *awssqs.Client {
	return awssqs.New(awssqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(f.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		Retryer:      retryer(),
	})
}

// fakeS3 is a gofakes3 server holding a bucket.
type fakeS3 struct {
	client *s3.Client
	bucket string
}

func newFakeS3(t testing.TB) *fakeS3 {
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	cl := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		UsePathStyle: true,
		Retryer:      retryer(),
	})
	f := &fakeS3{client: cl, bucket: "trawl-logs"}
	if _, err := cl.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &f.bucket}); err != nil {
		t.Fatal(err)
	}
	return f
}

type s3obj struct {
	Key  string
	Size int64
	ETag string
}

func (f *fakeS3) put(t testing.TB, key string, data []byte) s3obj {
	t.Helper()
	if _, err := f.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &f.bucket, Key: &key, Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	return s3obj{Key: key, Size: int64(len(data)), ETag: hex.EncodeToString(sum[:])}
}

// generated writes a small data set with internal/gen and uploads it.
func (f *fakeS3) generated(t testing.TB) ([]s3obj, *gen.Manifest) {
	t.Helper()
	dir := t.TempDir()
	m, err := gen.Generate(context.Background(), dir, gen.Config{
		Seed: 7, Duration: 30 * time.Minute, Accounts: 1, Regions: []string{"eu-west-1"},
		CloudTrailEvents: 200, FlowRecords: 300, Findings: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	var objs []s3obj
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		objs = append(objs, f.put(t, filepath.ToSlash(rel), data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return objs, m
}

// objectFor builds objects that read from the fake S3, as the S3 client's
// Object method will.
func (f *fakeS3) objectFor(delay time.Duration) func(bucket, key string, size int64, etag string) pipeline.Object {
	return func(bucket, key string, size int64, etag string) pipeline.Object {
		return pipeline.Object{
			Name: "s3://" + bucket + "/" + key, Key: key, Size: size, ETag: etag,
			Open: func(ctx context.Context) (io.ReadCloser, error) {
				if delay > 0 {
					select {
					case <-time.After(delay):
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				}
				out, err := f.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
				if err != nil {
					return nil, err
				}
				return out.Body, nil
			},
		}
	}
}

// Notification bodies.

func s3Record(bucket string, o s3obj, event string) map[string]any {
	return map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
		"eventTime": "2026-11-02T00:05:00.000Z", "eventName": event,
		"s3": map[string]any{
			"s3SchemaVersion": "1.0", "configurationId": "trawl",
			"bucket": map[string]any{"name": bucket, "arn": "arn:aws:s3:::" + bucket},
			"object": map[string]any{"key": url.QueryEscape(o.Key), "size": o.Size, "eTag": o.ETag, "sequencer": "0066A1B2C3D4E5F6"},
		},
	}
}

func s3Event(bucket string, objs ...s3obj) string {
	var recs []any
	for _, o := range objs {
		recs = append(recs, s3Record(bucket, o, "ObjectCreated:Put"))
	}
	return jsonString(map[string]any{"Records": recs})
}

func snsEnvelope(msg string) string {
	return jsonString(map[string]any{
		"Type": "Notification", "MessageId": "8a3b9c1d-0000-4000-8000-000000000001",
		"TopicArn": "arn:aws:sns:eu-west-1:111122223333:trawl", "Subject": "Amazon S3 Notification",
		"Message": msg, "Timestamp": "2026-11-02T00:05:01.000Z", "SignatureVersion": "1",
		"Signature": "c2lnbmF0dXJl", "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/cert.pem",
		"UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
	})
}

func eventBridge(bucket, detailType string, o s3obj) string {
	return jsonString(map[string]any{
		"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": detailType,
		"source": "aws.s3", "account": "111122223333", "time": "2026-11-02T00:05:00Z", "region": "eu-west-1",
		"resources": []string{"arn:aws:s3:::" + bucket},
		"detail": map[string]any{
			"version": "0", "bucket": map[string]any{"name": bucket},
			"object":     map[string]any{"key": o.Key, "size": o.Size, "etag": o.ETag, "sequencer": "00617F08299329D189"},
			"request-id": "N4N7GDK58NMKJ12R", "requester": "111122223333", "reason": "PutObject",
		},
	})
}

func cloudTrailSNS(bucket string, keys ...string) string {
	return jsonString(map[string]any{"s3Bucket": bucket, "s3ObjectKey": keys})
}

const testEvent = `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-02T00:00:00.000Z","Bucket":"trawl-logs","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}`

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func logger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.MultiWriter(buf, testWriter{}), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{}

func (testWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		os.Stderr.Write(p)
	}
	return len(p), nil
}

// ingest runs a pipeline from src into st until done reports true (then
// its context is cancelled) or src ends, and closes src.
func ingest(t *testing.T, st *duckdb.Store, src pipeline.Source, done func() bool, timeout time.Duration) pipeline.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if done != nil {
		go func() {
			for ctx.Err() == nil {
				if done() {
					cancel()
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	res, err := pipeline.Run(ctx, app.PipelineStore(st), src, pipeline.Config{TxAge: 200 * time.Millisecond, Workers: 2})
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) || (err != nil && ctx.Err() == context.DeadlineExceeded) {
		t.Fatalf("timed out after %s", timeout)
	}
	if c, ok := src.(io.Closer); ok {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return res
}

func scalar(t *testing.T, st *duckdb.Store, q string, args ...any) int64 {
	t.Helper()
	return duckdbtest.Scalar(t, st, q, args...)
}

type seen struct {
	Bucket, Key string
	Size        int64
	ETag        string
}

// TestShapes: every notification shape names the right objects, with keys
// URL-decoded where AWS encodes them; events that name no object created
// are deleted.
func TestShapes(t *testing.T) {
	q := sqstest.New(t, 30*time.Second, 5)
	b := "trawl-logs"
	odd := s3obj{Key: "AWSLogs/a b+c/ü=1&x.json.gz", Size: 10, ETag: "e1"}
	plain := s3obj{Key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/02/f.json.gz", Size: 20, ETag: "e2"}
	two := s3obj{Key: "AWSLogs/two.log.gz", Size: 30, ETag: "e3"}
	ids := map[string]string{
		"direct":         q.Send(s3Event(b, odd)),
		"two records":    q.Send(s3Event(b, plain, two)),
		"sns raw":        q.Send(s3Event("other-bucket", plain)),
		"sns envelope":   q.Send(snsEnvelope(s3Event(b, odd))),
		"eventbridge":    q.Send(eventBridge(b, "Object Created", s3obj{Key: "AWSLogs/eb key+plus.gz", Size: 40, ETag: "e4"})),
		"cloudtrail":     q.Send(snsEnvelope(cloudTrailSNS("ct-bucket", "AWSLogs/o-1/111122223333/CloudTrail/eu-west-1/2026/11/02/a.json.gz", "AWSLogs/o-1/111122223333/CloudTrail/eu-west-1/2026/11/02/b.json.gz"))),
		"cloudtrail raw": q.Send(cloudTrailSNS("ct-bucket", "AWSLogs/c.json.gz")),
		"test event":     q.Send(testEvent),
		"sns test event": q.Send(snsEnvelope(testEvent)),
		"eb deleted":     q.Send(eventBridge(b, "Object Deleted", plain)),
		"removed":        q.Send(jsonString(map[string]any{"Records": []any{s3Record(b, plain, "ObjectRemoved:Delete")}})),
		"subscription":   q.Send(`{"Type":"SubscriptionConfirmation","MessageId":"x","Token":"t","TopicArn":"arn:aws:sns:eu-west-1:111122223333:trawl","Message":"You have chosen to subscribe","SubscribeURL":"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"}`),
	}
	var got []seen
	var logs syncBuffer
	src := sqs.New(sqsClient(q), q.URL, func(bucket, key string, size int64, etag string) pipeline.Object {
		got = append(got, seen{bucket, key, size, etag})
		return pipeline.Object{Name: "s3://" + bucket + "/" + key}
	}, sqs.Options{Logger: logger(&logs), WaitTime: time.Second, StopWhenEmpty: true})
	ctx := context.Background()
	for {
		o, err := src.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		o.Ack(ctx, nil)
	}
	if err := src.(io.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	want := []seen{
		{b, odd.Key, 10, "e1"},
		{b, plain.Key, 20, "e2"}, {b, two.Key, 30, "e3"},
		{"other-bucket", plain.Key, 20, "e2"},
		{b, odd.Key, 10, "e1"},
		{b, "AWSLogs/eb key+plus.gz", 40, "e4"},
		{"ct-bucket", "AWSLogs/o-1/111122223333/CloudTrail/eu-west-1/2026/11/02/a.json.gz", -1, ""},
		{"ct-bucket", "AWSLogs/o-1/111122223333/CloudTrail/eu-west-1/2026/11/02/b.json.gz", -1, ""},
		{"ct-bucket", "AWSLogs/c.json.gz", -1, ""},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("objects:\n got %v\nwant %v", got, want)
	}
	for name, id := range ids {
		if m := q.Msg(id); !m.Deleted || m.Receives != 1 {
			t.Errorf("%s: deleted %v after %d receives", name, m.Deleted, m.Receives)
		}
	}
	for _, s := range []string{"s3:TestEvent", "SubscriptionConfirmation", "Object Deleted", "ObjectRemoved:Delete"} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("the log does not mention %s:\n%s", s, logs.String())
		}
	}
	if q.CallCount("DeleteMessageBatch") > 3 {
		t.Errorf("%d DeleteMessageBatch calls for 12 messages", q.CallCount("DeleteMessageBatch"))
	}
}

// TestDeleteAfterCommit: when DeleteMessageBatch arrives, the rows of
// every object of the messages it deletes are committed (the ledger says
// done), checked in the server's handler.
func TestDeleteAfterCommit(t *testing.T) {
	s3f := newFakeS3(t)
	objs, m := s3f.generated(t)
	q := sqstest.New(t, 30*time.Second, 5)
	st, _ := duckdbtest.Open(t)
	byBody := map[string][]string{}
	// Some messages name one object, some three.
	for i := 0; i < len(objs); {
		n := 1 + 2*(i%2)
		batch := objs[i:min(i+n, len(objs))]
		body := s3Event(s3f.bucket, batch...)
		for _, o := range batch {
			byBody[body] = append(byBody[body], "s3://"+s3f.bucket+"/"+o.Key)
		}
		q.Send(body)
		i += len(batch)
	}
	var mu sync.Mutex
	var checked int
	var bad []string
	q.BeforeDelete = func(bodies []string) {
		for _, b := range bodies {
			names := byBody[b]
			entries, err := st.LedgerEntries(context.Background(), names)
			mu.Lock()
			if err != nil {
				bad = append(bad, err.Error())
			}
			for _, n := range names {
				checked++
				if e, ok := entries[n]; !ok || e.Status != pipeline.StatusDone {
					bad = append(bad, fmt.Sprintf("%s deleted with ledger entry %+v", n, e))
				}
			}
			mu.Unlock()
		}
	}
	var logs syncBuffer
	src := sqs.New(sqsClient(q), q.URL, s3f.objectFor(0), sqs.Options{Logger: logger(&logs), WaitTime: time.Second})
	start := time.Now()
	res := ingest(t, st, src, func() bool { return q.State().Deleted == len(byBody) }, 60*time.Second)
	elapsed := time.Since(start)
	t.Logf("%d objects in %d messages, %d records, in %s (%.0f messages/s end to end)", len(objs), len(byBody), res.Stored(), elapsed, float64(len(byBody))/elapsed.Seconds())
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("deleted before commit: %v", bad)
	}
	if checked != len(objs) {
		t.Errorf("checked %d objects at delete, want %d", checked, len(objs))
	}
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != int64(m.FlowRecords) {
		t.Errorf("%d flow records stored, want %d", n, m.FlowRecords)
	}
	if n := scalar(t, st, `SELECT count(*) FROM ingest_ledger WHERE status = 'done'`); n != int64(len(objs)) {
		t.Errorf("%d objects done, want %d", n, len(objs))
	}
}

// TestVisibilityExtended: an object slower than the visibility timeout
// keeps its message invisible (ChangeMessageVisibilityBatch) until its
// commit; the message is not delivered again.
func TestVisibilityExtended(t *testing.T) {
	s3f := newFakeS3(t)
	o := s3f.put(t, "AWSLogs/111122223333/vpcflowlogs/eu-west-1/2026/11/02/slow.log", []byte("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n2 111122223333 eni-1 10.0.0.1 10.0.0.2 1024 443 6 1 60 1793613000 1793613060 ACCEPT OK\n"))
	q := sqstest.New(t, 2*time.Second, 3)
	id := q.Send(s3Event(s3f.bucket, o))
	st, _ := duckdbtest.Open(t)
	var logs syncBuffer
	src := sqs.New(sqsClient(q), q.URL, s3f.objectFor(5*time.Second), sqs.Options{Logger: logger(&logs), WaitTime: time.Second})
	ingest(t, st, src, func() bool { return q.State().Deleted == 1 }, 30*time.Second)
	m := q.Msg(id)
	if m.Receives != 1 || m.Extended < 3 || !m.Deleted {
		t.Errorf("message received %d times, extended %d times, deleted %v; want 1, ≥3, true", m.Receives, m.Extended, m.Deleted)
	}
	if q.CallCount("ChangeMessageVisibilityBatch") < 3 {
		t.Errorf("%d ChangeMessageVisibilityBatch calls", q.CallCount("ChangeMessageVisibilityBatch"))
	}
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != 1 {
		t.Errorf("%d rows", n)
	}
}

// TestMalformedMessages: messages that are not notifications are logged
// and left on the queue (until its redrive policy moves them to the
// dead-letter queue); the good message next to them is ingested.
func TestMalformedMessages(t *testing.T) {
	s3f := newFakeS3(t)
	good := s3f.put(t, "AWSLogs/good.log", []byte("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n2 111122223333 eni-1 10.0.0.1 10.0.0.2 1024 443 6 1 60 1793613000 1793613060 ACCEPT OK\n"))
	q := sqstest.New(t, 1*time.Second, 2)
	bad := []string{
		"not json at all",
		`{"hello":"world"}`,
		`[1,2,3]`,
		`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"bad%zzkey"}}}]}`,
		`{"Records":[{"eventSource":"aws:sqs","body":"x"}]}`,
		`{"Type":"Notification","TopicArn":"arn:aws:sns:eu-west-1:1:t","Message":"{oops"}`,
		`{"version":"0","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}`,
		`{"s3Bucket":"b","s3ObjectKey":"not-a-list"}`,
	}
	var badIDs []string
	for _, b := range bad {
		badIDs = append(badIDs, q.Send(b))
	}
	goodID := q.Send(s3Event(s3f.bucket, good))
	st, _ := duckdbtest.Open(t)
	var logs syncBuffer
	src := sqs.New(sqsClient(q), q.URL, s3f.objectFor(0), sqs.Options{Logger: logger(&logs), WaitTime: time.Second})
	ingest(t, st, src, func() bool { s := q.State(); return s.DLQ == len(bad) && s.Deleted == 1+len(bad) }, 30*time.Second)
	if m := q.Msg(goodID); !m.Deleted || m.Receives != 1 {
		t.Errorf("the good message: deleted %v after %d receives", m.Deleted, m.Receives)
	}
	for i, id := range badIDs {
		if m := q.Msg(id); m.Receives != 2 {
			t.Errorf("%q received %d times, want 2 (maxReceiveCount) before the dead-letter queue", bad[i], m.Receives)
		}
	}
	l := logs.String()
	for _, s := range []string{"not an S3 event notification", "receive=\"1 of 2 before the dead-letter queue\"", "receive=\"2 of 2: the next receive moves it to the dead-letter queue\"", "not a JSON object", "bad%zzkey", "aws.ec2"} {
		if !strings.Contains(l, s) {
			t.Errorf("the log does not say %q:\n%s", s, l)
		}
	}
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != 1 {
		t.Errorf("%d rows", n)
	}
}

// TestMissingKey: a notification for a key that does not exist fails that
// object (NoSuchKey); its message stays on the queue, the other object of
// the message is stored.
func TestMissingKey(t *testing.T) {
	s3f := newFakeS3(t)
	here := s3f.put(t, "AWSLogs/here.log", []byte("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n2 111122223333 eni-1 10.0.0.1 10.0.0.2 1024 443 6 1 60 1793613000 1793613060 ACCEPT OK\n"))
	gone := s3obj{Key: "AWSLogs/gone away.log", Size: 10, ETag: "abc"}
	q := sqstest.New(t, 30*time.Second, 5)
	id := q.Send(s3Event(s3f.bucket, here, gone))
	st, _ := duckdbtest.Open(t)
	var logs syncBuffer
	src := sqs.New(sqsClient(q), q.URL, s3f.objectFor(0), sqs.Options{Logger: logger(&logs), WaitTime: time.Second, StopWhenEmpty: true})
	res := ingest(t, st, src, nil, 30*time.Second)
	if m := q.Msg(id); m.Deleted || m.Receives != 1 {
		t.Errorf("message deleted %v after %d receives; want left after 1", m.Deleted, m.Receives)
	}
	if len(res.Failed) != 1 || !strings.Contains(res.Failed[0], "NoSuchKey") {
		t.Errorf("failed: %v", res.Failed)
	}
	l := logs.String()
	for _, s := range []string{"could not be ingested", "NoSuchKey", "gone away.log", "1 of 5 before the dead-letter queue"} {
		if !strings.Contains(l, s) {
			t.Errorf("the log does not say %q:\n%s", s, l)
		}
	}
	if n := scalar(t, st, `SELECT count(*) FROM ingest_ledger WHERE status = 'done' AND object = ?`, "s3://trawl-logs/AWSLogs/here.log"); n != 1 {
		t.Errorf("the present object is not done")
	}
	if n := scalar(t, st, `SELECT count(*) FROM ingest_ledger WHERE status = 'failed' AND object = ?`, "s3://trawl-logs/AWSLogs/gone away.log"); n != 1 {
		t.Errorf("the missing object is not failed in the ledger")
	}
}

// TestFailedObjectGoesToDLQ: a message whose object keeps failing is
// received again after each visibility timeout, its receive count growing,
// until the redrive policy moves it to the dead-letter queue.
func TestFailedObjectGoesToDLQ(t *testing.T) {
	s3f := newFakeS3(t)
	q := sqstest.New(t, time.Second, 3)
	id := q.Send(s3Event(s3f.bucket, s3obj{Key: "AWSLogs/never.json.gz", Size: 10, ETag: "abc"}))
	st, _ := duckdbtest.Open(t)
	var logs syncBuffer
	src := sqs.New(sqsClient(q), q.URL, s3f.objectFor(0), sqs.Options{Logger: logger(&logs), WaitTime: time.Second})
	ingest(t, st, src, func() bool { return q.State().DLQ == 1 }, 30*time.Second)
	if m := q.Msg(id); m.Receives != 3 {
		t.Errorf("received %d times, want 3", m.Receives)
	}
	l := logs.String()
	for _, s := range []string{"1 of 3 before the dead-letter queue", "2 of 3 before the dead-letter queue", "3 of 3: the next receive moves it to the dead-letter queue", "NoSuchKey"} {
		if !strings.Contains(l, s) {
			t.Errorf("the log does not say %q:\n%s", s, l)
		}
	}
}

// TestDuplicateDeliveryTwoConsumers: two sources on one queue feed one
// writer (pipeline.Merge), every object is notified twice (S3 and
// EventBridge), and a second run gets the same notifications again: flow
// records, which have no natural key, are stored once.
func TestDuplicateDeliveryTwoConsumers(t *testing.T) {
	s3f := newFakeS3(t)
	objs, m := s3f.generated(t)
	// A visibility timeout far beyond the run: the subject is two copies
	// of each notification, not redelivery, which a slow machine would
	// otherwise add (a message received again after 30 s).
	q := sqstest.New(t, 10*time.Minute, 5)
	for _, o := range objs {
		q.Send(s3Event(s3f.bucket, o))
		q.Send(eventBridge(s3f.bucket, "Object Created", o))
	}
	st, _ := duckdbtest.Open(t)
	var logs syncBuffer
	opt := sqs.Options{Logger: logger(&logs), WaitTime: time.Second, MaxMessages: 3}
	a := sqs.New(sqsClient(q), q.URL, s3f.objectFor(0), opt)
	b := sqs.New(sqsClient(q), q.URL, s3f.objectFor(0), opt)
	res := ingest(t, st, pipeline.Merge(a, b), func() bool { return q.State().Deleted == 2*len(objs) }, 60*time.Second)
	if res.ObjectsSkipped != len(objs) {
		t.Errorf("%d objects skipped as already ingested, want one copy of each of %d", res.ObjectsSkipped, len(objs))
	}
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != int64(m.FlowRecords) {
		t.Errorf("%d flow records stored, want %d", n, m.FlowRecords)
	}
	// A second run with the same notifications stores nothing.
	for _, src := range []pipeline.Source{a, b} {
		if err := src.(io.Closer).Close(); err != nil {
			t.Fatal(err)
		}
	}
	q.Quiet()
	for _, o := range objs {
		q.Send(snsEnvelope(s3Event(s3f.bucket, o)))
	}
	src := sqs.New(sqsClient(q), q.URL, s3f.objectFor(0), sqs.Options{Logger: logger(&logs), WaitTime: time.Second, StopWhenEmpty: true})
	res = ingest(t, st, src, nil, 60*time.Second)
	if res.Stored() != 0 || res.ObjectsSkipped != len(objs) {
		t.Errorf("second run: stored %d, skipped %d of %d", res.Stored(), res.ObjectsSkipped, len(objs))
	}
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != int64(m.FlowRecords) {
		t.Errorf("after the second run %d flow records stored, want %d", n, m.FlowRecords)
	}
	if s := q.State(); s.Deleted != 3*len(objs) || s.DLQ != 0 {
		t.Errorf("queue: %+v", s)
	}
}

// TestFaults: SQS answers 500s and throttling, some after carrying the
// request out (a receive whose answer is lost: its messages come back
// after their visibility timeout). Everything is stored once, every
// message deleted.
func TestFaults(t *testing.T) {
	s3f := newFakeS3(t)
	objs, m := s3f.generated(t)
	q := sqstest.New(t, 2*time.Second, 10)
	q.Fault = func(op string, n int) int {
		switch {
		case n%5 == 1:
			return 1
		case n%5 == 2:
			return 2
		case op == "ReceiveMessage" && n%7 == 3:
			return 3
		case op == "DeleteMessageBatch" && n%3 == 0:
			return 3
		}
		return 0
	}
	// The first delete of every third message fails in its batch.
	entryFailed := map[string]bool{}
	q.EntryFault = func(op, id string) bool {
		if op != "DeleteMessageBatch" || entryFailed[id] || id[len(id)-1]%3 != 0 {
			return false
		}
		entryFailed[id] = true
		return true
	}
	for _, o := range objs {
		q.Send(s3Event(s3f.bucket, o))
	}
	st, _ := duckdbtest.Open(t)
	var logs syncBuffer
	src := sqs.New(sqsClient(q), q.URL, s3f.objectFor(0), sqs.Options{Logger: logger(&logs), WaitTime: time.Second, MaxMessages: 4})
	ingest(t, st, src, func() bool { return q.State().Deleted == len(objs) }, 60*time.Second)
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != int64(m.FlowRecords) {
		t.Errorf("%d flow records stored, want %d", n, m.FlowRecords)
	}
	if n := scalar(t, st, `SELECT count(*) FROM ingest_ledger WHERE status = 'done'`); n != int64(len(objs)) {
		t.Errorf("%d objects done, want %d", n, len(objs))
	}
	if s := q.State(); s.DLQ != 0 {
		t.Errorf("queue: %+v", s)
	}
	again := 0
	for _, m := range q.Messages() {
		if m.Receives > 1 {
			again++
		}
	}
	if again == 0 {
		t.Error("no message was delivered again after a lost ReceiveMessage answer")
	}
	var nFailed int
	q.Locked(func() { nFailed = len(entryFailed) })
	if nFailed == 0 {
		t.Error("no delete entry failed")
	}
	t.Logf("%d messages delivered more than once; %d delete entries failed once", again, nFailed)
	t.Logf("calls: receive %d, delete %d, visibility %d", q.CallCount("ReceiveMessage"), q.CallCount("DeleteMessageBatch"), q.CallCount("ChangeMessageVisibilityBatch"))
}

// TestThroughput runs many messages end to end (receive, read from S3,
// commit, delete), each naming one small flow log, and logs messages per
// second: 200 by default, TRAWL_SQS_MESSAGES to measure with more.
func TestThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("TRAWL_SQS_MESSAGES"))
	if n <= 0 {
		n = 200
	}
	s3f := newFakeS3(t)
	q := sqstest.New(t, 30*time.Second, 5)
	var b strings.Builder
	b.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&b, "2 111122223333 eni-1 10.0.0.%d 10.0.0.2 1024 443 6 1 60 1793613000 1793613060 ACCEPT OK\n", i)
	}
	for i := 0; i < n; i++ {
		o := s3f.put(t, fmt.Sprintf("AWSLogs/111122223333/vpcflowlogs/eu-west-1/2026/11/02/f%05d.log", i), []byte(b.String()))
		q.Send(s3Event(s3f.bucket, o))
	}
	st, _ := duckdbtest.Open(t)
	var logs syncBuffer
	src := sqs.New(sqsClient(q), q.URL, s3f.objectFor(0), sqs.Options{Logger: logger(&logs), WaitTime: time.Second})
	start := time.Now()
	ingest(t, st, src, func() bool { return q.State().Deleted == n }, 10*time.Minute)
	el := time.Since(start)
	t.Logf("%d messages in %s: %.0f messages/s end to end; calls: receive %d, delete %d", n, el.Round(time.Millisecond), float64(n)/el.Seconds(), q.CallCount("ReceiveMessage"), q.CallCount("DeleteMessageBatch"))
	if got := scalar(t, st, `SELECT count(*) FROM vpcflow`); got != int64(20*n) {
		t.Errorf("%d rows, want %d", got, 20*n)
	}
}

// TestStopLeavesMessages: a run stopped while objects are being read
// deletes nothing it has not committed; the messages come back after their
// visibility timeout and the next run ingests them, once.
func TestStopLeavesMessages(t *testing.T) {
	s3f := newFakeS3(t)
	q := sqstest.New(t, 2*time.Second, 5)
	var ids []string
	for i := range 3 {
		o := s3f.put(t, fmt.Sprintf("AWSLogs/slow%d.log", i), []byte("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n2 111122223333 eni-1 10.0.0.1 10.0.0.2 1024 443 6 1 60 1793613000 1793613060 ACCEPT OK\n"))
		ids = append(ids, q.Send(s3Event(s3f.bucket, o)))
	}
	st, _ := duckdbtest.Open(t)
	var logs syncBuffer
	src := sqs.New(sqsClient(q), q.URL, s3f.objectFor(10*time.Second), sqs.Options{Logger: logger(&logs), WaitTime: time.Second})
	res := ingest(t, st, src, func() bool { return q.State().Invisible == 3 }, 30*time.Second)
	if res.Stored() != 0 || q.State().Deleted != 0 {
		t.Fatalf("stopped run: stored %d, queue %+v", res.Stored(), q.State())
	}
	if !strings.Contains(logs.String(), "the run ended before") {
		t.Errorf("the log does not say the run ended:\n%s", logs.String())
	}
	q.Quiet()
	src = sqs.New(sqsClient(q), q.URL, s3f.objectFor(0), sqs.Options{Logger: logger(&logs), WaitTime: time.Second})
	ingest(t, st, src, func() bool { return q.State().Deleted == 3 }, 30*time.Second)
	for _, id := range ids {
		if m := q.Msg(id); m.Receives != 2 {
			t.Errorf("%s received %d times, want 2", id, m.Receives)
		}
	}
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != 3 {
		t.Errorf("%d rows, want 3", n)
	}
}

// TestMissingQueue: a client error that no retry cures ends Next.
func TestMissingQueue(t *testing.T) {
	q := sqstest.New(t, 30*time.Second, 5)
	var logs syncBuffer
	src := sqs.New(sqsClient(q), q.Endpoint+"/111122223333/no-such-queue", func(string, string, int64, string) pipeline.Object { return pipeline.Object{} }, sqs.Options{Logger: logger(&logs), WaitTime: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := src.Next(ctx)
	if err == nil || !strings.Contains(err.Error(), "QueueDoesNotExist") || ctx.Err() != nil {
		t.Fatalf("Next: %v", err)
	}
	cancel()
	if err := src.(io.Closer).Close(); err != nil {
		t.Fatal(err)
	}
}
