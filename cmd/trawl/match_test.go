package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func ctRecord(id, user, errorCode, ip string) string {
	rec := map[string]any{
		"eventVersion": "1.08", "eventTime": "2026-11-02T10:15:00Z", "eventSource": "iam.amazonaws.com",
		"eventName": "CreateAccessKey", "awsRegion": "us-east-1", "eventID": id, "eventType": "AwsApiCall",
		"recipientAccountId": "111122223333", "sourceIPAddress": ip,
		"userIdentity": map[string]any{"type": "IAMUser", "userName": user, "accountId": "111122223333"},
	}
	if errorCode != "" {
		rec["errorCode"] = errorCode
	}
	b, _ := json.Marshal(rec)
	return string(b)
}

func TestMatchCommand(t *testing.T) {
	dir := t.TempDir()
	r1 := ctRecord("11111111-1111-1111-1111-111111111111", "alice", "AccessDenied", "203.0.113.9")
	r2 := ctRecord("22222222-2222-2222-2222-222222222222", "alice", "", "10.0.0.5")
	r3 := ctRecord("33333333-3333-3333-3333-333333333333", "bob", "AccessDenied", "198.51.100.7")
	ct := filepath.Join(dir, "ct.json")
	writeFile(t, ct, `{"Records":[`+r1+",\n"+r2+",\n"+r3+"]}")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"Records":[` + r1 + "," + r2 + "," + r3 + "]}"))
	zw.Close()
	ctgz := filepath.Join(dir, "ct.json.gz")
	if err := os.WriteFile(ctgz, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	flows := filepath.Join(dir, "flows.log")
	writeFile(t, flows, strings.Join([]string{
		"2 111122223333 eni-0a1b2c3d4e5f60001 198.51.100.7 10.0.0.5 40000 22 6 3 180 1793613000 1793613060 REJECT OK",
		"2 111122223333 eni-0a1b2c3d4e5f60001 10.0.0.5 198.51.100.7 443 40001 6 10 8000 1793613000 1793613060 ACCEPT OK",
		"2 111122223333 eni-0a1b2c3d4e5f60001 198.51.100.8 10.0.0.5 40002 3389 6 1 60 1793613000 1793613060 REJECT OK",
	}, "\n")+"\n")
	app := filepath.Join(dir, "app.log")
	writeFile(t, app, "INFO started\r\nERROR db: Connection refused\nWARN slow\nERROR worker Exited\n")

	// A CloudWatch Logs subscription payload as a Lambda receives it:
	// {"awslogs":{"data": base64(gzip(payload))}}.
	payload, _ := json.Marshal(map[string]any{
		"messageType": "DATA_MESSAGE", "owner": "111122223333", "logGroup": "aws-cloudtrail-logs",
		"logStream": "111122223333_CloudTrail_us-east-1", "subscriptionFilters": []string{"all"},
		"logEvents": []map[string]any{
			{"id": "1", "timestamp": 1793613000000, "message": r1},
			{"id": "2", "timestamp": 1793613000000, "message": r3},
		},
	})
	gz.Reset()
	zw = gzip.NewWriter(&gz)
	zw.Write(payload)
	zw.Close()
	lambda := filepath.Join(dir, "lambda.json")
	writeFile(t, lambda, `{"awslogs":{"data":"`+base64.StdEncoding.EncodeToString(gz.Bytes())+`"}}`)

	const brief = `{ $.userIdentity.userName = "alice" && ($.errorCode = "AccessDenied" || $.sourceIPAddress != 10.* ) }`
	const sshReject = `[version, account, eni, source, destination, srcport, destport="22", protocol, packets, bytes, start, end, action="REJECT", status]`
	for _, c := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		out   []string // lines of stdout, in order
		err   string   // substring of stderr
	}{
		{name: "cloudtrail", args: []string{brief, ct}, out: []string{r1}},
		{name: "cloudtrail gzip", args: []string{`{ $.errorCode = "AccessDenied" }`, ctgz}, out: []string{r1, r3}},
		{name: "count", args: []string{"--count", `{ $.eventName = CreateAccessKey }`, ct}, out: []string{"3"}},
		{name: "count none", args: []string{"--count", `{ $.eventName = Nothing }`, ct}, code: 1, out: []string{"0"}},
		{name: "no match", args: []string{`{ $.userIdentity.userName = "carol" }`, ct}, code: 1},
		{name: "bad pattern", args: []string{`{ $.userIdentity.userName = }`, ct}, code: 2, err: "column 29: expected a value"},
		{name: "bad space pattern", args: []string{`[a, b > x]`, flows}, code: 2, err: "column 9:"},
		{name: "missing file", args: []string{"ERROR", filepath.Join(dir, "nope")}, code: 2, err: "nope"},
		{name: "flow log", args: []string{sshReject, flows}, out: []string{"2 111122223333 eni-0a1b2c3d4e5f60001 198.51.100.7 10.0.0.5 40000 22 6 3 180 1793613000 1793613060 REJECT OK"}},
		{name: "flow log numeric", args: []string{"--count", `[..., destport >= 1024 || destport = 22, protocol, packets, bytes, start, end, action = REJECT, status]`, flows}, out: []string{"2"}},
		{name: "lambda payload", args: []string{`{ $.userIdentity.userName = "bob" }`, lambda}, out: []string{r3}},
		{name: "terms", args: []string{`ERROR -Exited`, app}, out: []string{"ERROR db: Connection refused"}},
		{name: "either", args: []string{`?WARN ?"Connection refused"`, app}, out: []string{"ERROR db: Connection refused", "WARN slow"}},
		{name: "stdin", stdin: "a INFO\nb ERROR\n", args: []string{"ERROR", "-"}, out: []string{"b ERROR"}},
		{name: "stdin default", stdin: "a INFO\nb ERROR\n", args: []string{"INFO"}, out: []string{"a INFO"}},
		{name: "json lines", stdin: `{"level":"error","n":5}` + "\n" + `{"level":"info","n":1}` + "\n", args: []string{`{ $.n > 2 }`}, out: []string{`{"level":"error","n":5}`}},
		{name: "several files", args: []string{`"Connection refused"`, app, flows}, out: []string{app + ":ERROR db: Connection refused"}},
		{name: "no pattern", args: nil, code: 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(append([]string{"match"}, c.args...), strings.NewReader(c.stdin), &out, &errb)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, c.code, errb.String())
			}
			var got []string
			if s := strings.TrimSuffix(out.String(), "\n"); s != "" {
				got = strings.Split(s, "\n")
			}
			if strings.Join(got, "\n") != strings.Join(c.out, "\n") {
				t.Errorf("stdout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.out, "\n"))
			}
			if !strings.Contains(errb.String(), c.err) {
				t.Errorf("stderr %q does not contain %q", errb.String(), c.err)
			}
		})
	}
}
