package main

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/trawl-project/trawl/internal/enrich/geo/geobuild"
)

const lambdaAliceRule = `title: IAM user alice acted
id: 6f0c3d7e-2a41-4b7e-9d55-0a1ce0a11ce0
level: high
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        userIdentity.userName: alice
    condition: selection
`

func lambdaCTRecord(n int, user string) string {
	return fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE%[1]d","arn":"arn:aws:iam::111122223333:user/%[2]s","accountId":"111122223333","userName":"%[2]s"},"eventTime":"2026-11-02T10:11:%02[1]dZ","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.%[1]d","userAgent":"aws-cli/2.15.0","requestParameters":{"userName":"u%[1]d"},"responseElements":null,"requestID":"r%[1]d","eventID":"aaaaaaaa-0000-4000-8000-%012[1]d","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`, n, user)
}

// lambdaCWLEvent is a CloudWatch Logs subscription event as Lambda
// delivers it.
func lambdaCWLEvent(t *testing.T, messages ...string) []byte {
	t.Helper()
	var evs []map[string]any
	for i, m := range messages {
		evs = append(evs, map[string]any{"id": strconv.Itoa(36000000 + i), "timestamp": 1762078272000 + i, "message": m})
	}
	raw, _ := json.Marshal(map[string]any{"messageType": "DATA_MESSAGE", "owner": "111122223333",
		"logGroup": "aws-cloudtrail-logs-org", "logStream": "111122223333_CloudTrail_us-east-1",
		"subscriptionFilters": []string{"alice-watch"}, "logEvents": evs})
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(raw)
	zw.Close()
	ev, _ := json.Marshal(map[string]any{"awslogs": map[string]string{"data": base64.StdEncoding.EncodeToString(zb.Bytes())}})
	return ev
}

func sigmaDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "alice.yml"), []byte(lambdaAliceRule), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLambdaEventFile(t *testing.T) {
	dir := t.TempDir()
	ev := filepath.Join(dir, "event.json")
	os.WriteFile(ev, lambdaCWLEvent(t, lambdaCTRecord(1, "alice"), lambdaCTRecord(2, "bob")), 0o644)
	t.Setenv("TRAWL_CONFIG", "")
	stdout, stderr, code := trawl(t, nil, "lambda", "--event", ev, "--sigma", sigmaDir(t))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var resp map[string]any
	if err := json.Unmarshal([]byte(stdout), &resp); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	// 1 hit of the Sigma rule (alice) and 2 of the built-in pack's
	// aws-iam-create-user (both records are CreateUser calls).
	if resp["kind"] != "cloudwatch_logs" || resp["records"] != 2.0 || resp["hits"] != 3.0 || resp["log_group"] != "aws-cloudtrail-logs-org" {
		t.Fatalf("response %s", stdout)
	}
	if !strings.Contains(stderr, "msg=hit") || !strings.Contains(stderr, "6f0c3d7e-2a41-4b7e-9d55-0a1ce0a11ce0") {
		t.Fatalf("the hit is not logged: %s", stderr)
	}
	// The same from stdin.
	stdout, _, code = trawl(t, lambdaCWLEvent(t, lambdaCTRecord(3, "alice")), "lambda", "--event", "-", "--sigma", sigmaDir(t))
	if code != 0 || !strings.Contains(stdout, `"hits": 2`) {
		t.Fatalf("stdin: exit %d: %s", code, stdout)
	}
}

func TestLambdaEventFileFails(t *testing.T) {
	ev := filepath.Join(t.TempDir(), "event.json")
	os.WriteFile(ev, []byte(`{"key1":"value1"}`), 0o644)
	stdout, stderr, code := trawl(t, nil, "lambda", "--event", ev)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d: %s", code, exitFailure, stderr)
	}
	var e struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if err := json.Unmarshal([]byte(stdout), &e); err != nil || !strings.Contains(e.Message, "members key1") || e.Type == "" {
		t.Fatalf("error payload %s (%v)", stdout, err)
	}
	if !strings.Contains(stderr, "the handler failed") {
		t.Fatalf("stderr %s", stderr)
	}
}

func TestLambdaHelp(t *testing.T) {
	stdout, _, code := trawl(t, nil, "lambda")
	if code != 0 || !strings.Contains(stdout, "--event FILE") || !strings.Contains(stdout, "AWS_LAMBDA_RUNTIME_API") {
		t.Fatalf("exit %d: %s", code, stdout)
	}
	_, stderr, code := trawl(t, nil, "lambda", "--event", filepath.Join(t.TempDir(), "missing.json"))
	if code != exitUsage || !strings.Contains(stderr, "missing.json") {
		t.Fatalf("missing event file: exit %d: %s", code, stderr)
	}
}

// An SQS batch through the binary, with the store and the S3 endpoint
// from a configuration file: the partial batch response names exactly the
// message of the missing object.
func TestLambdaSQSEventFile(t *testing.T) {
	be := s3mem.New()
	if err := be.CreateBucket("trail"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	defer srv.Close()
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(`{"Records":[` + lambdaCTRecord(1, "alice") + `,` + lambdaCTRecord(2, "bob") + `]}`))
	zw.Close()
	key := "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/f 1.json.gz"
	if _, err := be.PutObject("trail", key, nil, bytes.NewReader(zb.Bytes()), int64(zb.Len()), nil); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(zb.Bytes())
	s3ev := func(key string) string {
		return fmt.Sprintf(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-11-02T10:15:00.000Z","eventName":"ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","bucket":{"name":"trail","arn":"arn:aws:s3:::trail"},"object":{"key":%q,"size":%d,"eTag":%q}}}]}`,
			strings.ReplaceAll(key, " ", "+"), zb.Len(), hex.EncodeToString(sum[:]))
	}
	msg := func(id, body string) map[string]any {
		return map[string]any{"messageId": id, "receiptHandle": "AQEB" + id, "body": body,
			"attributes": map[string]string{"ApproximateReceiveCount": "1"}, "messageAttributes": map[string]any{},
			"md5OfBody": "x", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:q", "awsRegion": "us-east-1"}
	}
	payload, _ := json.Marshal(map[string]any{"Records": []any{msg("m-ok", s3ev(key)), msg("m-missing", s3ev("AWSLogs/nope.json.gz"))}})
	dir := t.TempDir()
	ev := filepath.Join(dir, "sqs.json")
	os.WriteFile(ev, payload, 0o644)
	cfg := filepath.Join(dir, "trawl.yaml")
	// Enrichment on, with a GeoIP database that knows the records'
	// documentation addresses (which must still get no geo data).
	if _, err := geobuild.Write(dir, []geobuild.Net{{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Country: "ZZ", ASN: 64500}}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cfg, []byte("store:\n  path: lambda.duckdb\naws:\n  region: us-east-1\n  endpoint: "+srv.URL+"\nenrich:\n  geoip: {dir: .}\n"), 0o644)

	cmd := exec.Command(trawlBin, "lambda", "--event", ev, "--config", cfg, "--sigma", sigmaDir(t))
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	var resp struct {
		Failures []struct {
			ID string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil || len(resp.Failures) != 1 || resp.Failures[0].ID != "m-missing" {
		t.Fatalf("response %s (%v)", out.String(), err)
	}
	stdout, stderr, code := trawl(t, nil, "query", "--db", filepath.Join(dir, "lambda.duckdb"), "--format", "csv", "SELECT count(*) AS n FROM cloudtrail")
	if code != 0 || !strings.Contains(stdout, "2") {
		t.Fatalf("query: exit %d: %s %s", code, stdout, stderr)
	}
	if !strings.Contains(errb.String(), "geo enrichment is on") {
		t.Errorf("the function does not say geo enrichment is on: %s", errb.String())
	}
	stdout, stderr, code = trawl(t, nil, "query", "--db", filepath.Join(dir, "lambda.duckdb"), "--format", "csv", "SELECT count(*) AS n FROM cloudtrail WHERE ua_class = 'aws-cli' AND ua_version = '2.15.0' AND src_country IS NULL")
	if code != 0 || !strings.Contains(stdout, "\n2") {
		t.Errorf("enriched events: exit %d: %s %s", code, stdout, stderr)
	}
}

// runtimeAPI is the Lambda runtime API as AWS documents it
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html): the
// function asks GET /2018-06-01/runtime/invocation/next for an event and
// posts its result to …/invocation/{request id}/response or …/error.
type runtimeAPI struct {
	events chan []byte // buffered: the events to deliver, then none
	mu     sync.Mutex
	n      int
	posts  chan posted
}

type posted struct {
	id, kind, errorType string
	body                []byte
}

func (a *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/invocation/"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == prefix+"next":
		var ev []byte
		select {
		case ev = <-a.events:
		default: // no more events: the function waits, as in Lambda
			<-r.Context().Done()
			return
		}
		a.mu.Lock()
		a.n++
		id := fmt.Sprintf("8476a536-e9f4-11e8-9739-2dfe598c3fc%d", a.n)
		a.mu.Unlock()
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(5*time.Minute).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:111122223333:function:trawl")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
		w.Header().Set("Content-Type", "application/json")
		w.Write(ev)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, prefix):
		id, kind, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, prefix), "/")
		if !ok || (kind != "response" && kind != "error") {
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"status":"OK"}`))
		a.posts <- posted{id: id, kind: kind, errorType: r.Header.Get("Lambda-Runtime-Function-Error-Type"), body: body}
	default:
		http.NotFound(w, r)
	}
}

// The binary, started as Lambda starts a bootstrap (no arguments,
// AWS_LAMBDA_RUNTIME_API set), takes events from the runtime API and posts
// the response, and Lambda's error payload for an event it cannot handle.
func TestLambdaRuntimeAPI(t *testing.T) {
	api := &runtimeAPI{events: make(chan []byte, 2), posts: make(chan posted, 2)}
	api.events <- lambdaCWLEvent(t, lambdaCTRecord(1, "alice"), lambdaCTRecord(2, "alice"), lambdaCTRecord(3, "bob"))
	api.events <- []byte(`{"hello":"world"}`)
	srv := httptest.NewServer(api)
	defer srv.Close()

	cmd := exec.Command(trawlBin)
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(srv.URL, "http://"),
		"TRAWL_SIGMA_DIR="+sigmaDir(t), "TRAWL_CONFIG=", "AWS_LAMBDA_FUNCTION_NAME=trawl")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	get := func() posted {
		select {
		case p := <-api.posts:
			return p
		case err := <-exited:
			t.Fatalf("the function exited (%v): %s", err, errb.String())
		}
		return posted{}
	}
	p := get()
	if p.kind != "response" || p.id != "8476a536-e9f4-11e8-9739-2dfe598c3fc1" {
		t.Fatalf("first post %s %s: %s", p.kind, p.id, p.body)
	}
	var resp map[string]any
	if err := json.Unmarshal(p.body, &resp); err != nil || resp["records"] != 3.0 || resp["hits"] != 5.0 || /* 2 Sigma (alice) + 3 pack (CreateUser) */ resp["message_type"] != "DATA_MESSAGE" {
		t.Fatalf("response %s (%v)", p.body, err)
	}
	p = get()
	if p.kind != "error" || p.id != "8476a536-e9f4-11e8-9739-2dfe598c3fc2" {
		t.Fatalf("second post %s %s: %s", p.kind, p.id, p.body)
	}
	var e struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if err := json.Unmarshal(p.body, &e); err != nil || !strings.Contains(e.Message, "members hello") {
		t.Fatalf("error payload %s (%v)", p.body, err)
	}
}

// TestLambdaWatchListNotifies is the classic function with no code: a
// watch-list entry for alice in trawl.yaml, a signed webhook routed to the
// watch list only, and a CloudWatch Logs event with alice's and bob's
// calls. Exactly alice's call is posted, signed; the built-in pack's hits
// (CreateUser) are not routed there. A receiver that fails makes the
// invocation fail, so Lambda retries it, and the retry carries the same
// message id.
func TestLambdaWatchListNotifies(t *testing.T) {
	type post struct {
		body      []byte
		sig, id   string
		principal string
	}
	var (
		mu    sync.Mutex
		posts []post
		fail  bool
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m struct {
			Alert struct {
				RuleID string            `json:"rule_id"`
				Fields map[string]string `json:"fields"`
			} `json:"alert"`
		}
		json.Unmarshal(b, &m)
		mu.Lock()
		defer mu.Unlock()
		posts = append(posts, post{b, r.Header.Get("X-Trawl-Signature"), r.Header.Get("X-Trawl-Delivery"), m.Alert.Fields["principal"]})
		if fail {
			http.Error(w, "down", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "trawl.yaml")
	os.WriteFile(cfg, []byte(`rules:
  watch:
    - name: alice
      principal: alice
alerts:
  notifiers:
    - name: hook
      webhook: {url: "`+srv.URL+`", secret: s3cr3t}
  routes:
    - notifiers: [hook]
      rules: ["watch-*"]
`), 0o644)
	ev := filepath.Join(dir, "event.json")
	os.WriteFile(ev, lambdaCWLEvent(t, lambdaCTRecord(1, "alice"), lambdaCTRecord(2, "bob")), 0o644)

	stdout, stderr, code := trawl(t, nil, "lambda", "--event", ev, "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stdout, stderr)
	}
	var resp struct {
		Records, Hits int
	}
	if err := json.Unmarshal([]byte(stdout), &resp); err != nil || resp.Records != 2 || resp.Hits < 3 {
		t.Fatalf("response %s (%v): want 2 records and the watch hit plus the pack's two CreateUser hits", stdout, err)
	}
	mu.Lock()
	got := slicesClone(posts)
	mu.Unlock()
	if len(got) != 1 || got[0].principal != "alice" {
		t.Fatalf("posts %+v, want one about alice", got)
	}
	mac := hmac.New(sha256.New, []byte("s3cr3t"))
	mac.Write(got[0].body)
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); got[0].sig != want {
		t.Fatalf("signature %q, want %q", got[0].sig, want)
	}

	// The receiver fails: the invocation fails (Lambda retries it), with
	// the same message id as before.
	mu.Lock()
	fail = true
	mu.Unlock()
	stdout, _, code = trawl(t, nil, "lambda", "--event", ev, "--config", cfg)
	if code != exitFailure || !strings.Contains(stdout, "notifier hook") {
		t.Fatalf("exit %d, want %d with the notifier named: %s", code, exitFailure, stdout)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 2 || posts[1].id == "" || posts[1].id != posts[0].id {
		t.Fatalf("retry posts %+v: want the same delivery id twice", posts)
	}
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }
