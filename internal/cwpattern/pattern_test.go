package cwpattern

import (
	"encoding/json"
	"strings"
	"testing"
)

// This implementation's own cases, from the documented semantics. Every
// example of AWS's filter-pattern pages is in aws_examples_test.go, each
// naming its page.

const ctEvent = `{"eventVersion":"1.08","eventType":"AwsApiCall","eventName":"UpdateTrail","eventSource":"cloudtrail.amazonaws.com",
"userIdentity":{"type":"IAMUser","userName":"alice","accessKeyId":"AKIAEXAMPLE"},
"sourceIPAddress":"123.123.0.7","errorCode":"AccessDenied","readOnly":false,"managementEvent":true,
"resources":[{"ARN":"arn:aws:s3:::bucket-a","type":"AWS::S3::Bucket"},{"ARN":"arn:aws:s3:::bucket-b"}],
"latency":1.5e2,"count":3,"ratio":0.25,"sessionCredentialFromConsole":null,"tags":["prod","pci"],"msg":"quote \" and \\ backslash"}`

// The user guide's JSON example event (Example JSON log event).
const guideEvent = `{
  "eventType": "UpdateTrail",
  "sourceIPAddress": "111.111.111.111",
  "arrayKey": ["value", "another value"],
  "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
  "SomeObject": null,
  "cluster.name": "c1",
  "ThisFlag": true
}`

type tcase struct {
	pattern, event string
	want           bool
}

func run(t *testing.T, cases []tcase) {
	t.Helper()
	for _, c := range cases {
		p, err := Parse(c.pattern)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.pattern, err)
			continue
		}
		if got := p.Match([]byte(c.event)); got != c.want {
			t.Errorf("Parse(%q).Match(%.60q) = %v, want %v", c.pattern, c.event, got, c.want)
		}
	}
}

func TestTerms(t *testing.T) {
	const e1 = `[ERROR 400] BAD REQUEST`
	const e2 = `[ERROR 401] UNAUTHORIZED REQUEST`
	const e3 = `[WARNING 400] BAD REQUEST`
	const e4 = `[INFO 200] OK`
	const e5 = `[SUCCESS 200] OK`
	const ex = `ERROR: Exception in thread main`
	run(t, []tcase{
		{"", e4, true},
		{`""`, e4, true},
		{"ERROR", e1, true},
		{"ERROR", e3, false},
		{"ERROR", "error 404", false}, // case-sensitive
		{"error 404", "error 404 not found", true},
		{"error 404", "error 500", false},
		{"-ERROR", e1, false},
		{"-ERROR", e4, true},
		{"ERROR Exception", ex, true},
		{"ERROR Exception", e1, false},
		{"?ERROR ?Exception", e1, true},
		{"?ERROR ?Exception", "Exception only", true},
		{"?ERROR ?Exception", e4, false},
		{"?ERROR ?WARNING", e3, true},
		{"?ERROR ?WARNING", e5, false},
		{"ERROR -401", e1, true},
		{"ERROR -401", e2, false},
		{"ERROR -Exited", "ERROR worker Exited", false},
		{"ERROR -Exited", "ERROR worker crashed", true},
		{`"BAD REQUEST"`, e1, true},
		{`"BAD REQUEST"`, e2, false},
		{`"Connection refused"`, "dial tcp: Connection refused", true},
		{`"Connection refused"`, "Connection was refused", false},
		{`"ERROR 400"`, e1, true},
		{`ERROR "BAD REQUEST"`, e1, true},
		{`ERROR -"BAD REQUEST"`, e2, true},
		{`ERROR -"BAD REQUEST"`, e1, false},
		{`?"BAD REQUEST" ?OK`, e5, true},
		{`?"BAD REQUEST" ?OK`, e2, false},
		{`"say \"hi\""`, `he said "hi" twice`, false},
		{`"say \"hi\""`, `they say "hi"`, true},
		{`%ERROR 40[01]%`, e2, true},
		{`%ERROR 40[01]%`, e3, false},
		{`%^\[(ERROR|WARNING)%`, e3, true},
		{`%^\[(ERROR|WARNING)%`, e4, false},
		{`?%INFO% ?%SUCCESS%`, e5, true},
		{`-%[0-9]{3}%`, e1, false},
	})
}

func TestJSON(t *testing.T) {
	run(t, []tcase{
		// the JSON-events page's examples
		{`{ $.eventType = "UpdateTrail" }`, guideEvent, true},
		{`{ $.eventType = "UpdateTrail" }`, `{"eventType":"CreateTrail"}`, false},
		{`{ $.sourceIPAddress != 123.123.* }`, guideEvent, true},
		{`{ $.sourceIPAddress != 123.123.* }`, ctEvent, false},
		{`{ $.eventType = UpdateTrail }`, guideEvent, true},
		{`{ $.eventType = "Update*" }`, guideEvent, true},
		{`{ $.eventType = "*Trail" }`, guideEvent, true},
		{`{ $.eventType = "*pdat*" }`, guideEvent, true},
		{`{ $.eventType = "*Bucket*" }`, guideEvent, false},
		{`{ $.eventType != "UpdateTrail" }`, guideEvent, false},
		{`{ $.arrayKey[0] = "value" }`, guideEvent, true},
		{`{ $.arrayKey[1] = "another value" }`, guideEvent, true},
		{`{ $.arrayKey[1] = "value" }`, guideEvent, false},
		{`{ $.arrayKey[2] = "value" }`, guideEvent, false},
		{`{ $.objectList[1].id = 2 }`, guideEvent, true},
		{`{ $.objectList[0].id = 2 }`, guideEvent, false},
		{`{ $.objectList[0].name = "a" && $.objectList[1].name = "b" }`, guideEvent, true},
		{`{ $.SomeObject IS NULL }`, guideEvent, true},
		{`{ $.eventType IS NULL }`, guideEvent, false},
		{`{ $.Missing IS NULL }`, guideEvent, false},
		{`{ $.SomeOtherObject NOT EXISTS }`, guideEvent, true},
		{`{ $.SomeObject NOT EXISTS }`, guideEvent, false},
		{`{ $.ThisFlag IS TRUE }`, guideEvent, true},
		{`{ $.ThisFlag IS FALSE }`, guideEvent, false},
		{`{ $.eventType IS TRUE }`, guideEvent, false},
		{`{ $.cluster.name = "c1" }`, guideEvent, false}, // a dot always separates selector steps
		// * is a wildcard at the start or end of a value only
		{`{ $.eventType = "*" }`, guideEvent, true},
		{`{ $.eventType = "**" }`, guideEvent, true},
		{`{ $.eventType = "Up*Trail" }`, guideEvent, false},
		{`{ $.eventType = "Up*Trail" }`, `{"eventType":"Up*Trail"}`, true},
		{`{ $.eventType = "*p*Trail" }`, `{"eventType":"Up*Trail"}`, true},
		{`{ $.eventType = "*p*Trail" }`, guideEvent, false},
		{`{ $.eventType = Update* }`, guideEvent, true},
		{`{ $.eventType = *Trail }`, guideEvent, true},
		// the brief's pattern
		{`{ $.userIdentity.userName = "alice" && ($.errorCode = "AccessDenied" || $.sourceIPAddress != 10.* ) }`, ctEvent, true},
		{`{ $.userIdentity.userName = "alice" && ($.errorCode = "Throttling" || $.sourceIPAddress != 10.* ) }`, ctEvent, true},
		{`{ $.userIdentity.userName = "alice" && ($.errorCode = "Throttling" || $.sourceIPAddress != 123.* ) }`, ctEvent, false},
		{`{ $.userIdentity.userName = "bob" && ($.errorCode = "AccessDenied" || $.sourceIPAddress != 10.* ) }`, ctEvent, false},
		{`{($.userIdentity.userName="alice")&&($.errorCode="AccessDenied")}`, ctEvent, true},
		// && binds tighter than ||
		{`{ $.eventName = "X" && $.count = 9 || $.count = 3 }`, ctEvent, true},
		{`{ $.eventName = "X" && ($.count = 9 || $.count = 3) }`, ctEvent, false},
		{`{ ($.eventName = "UpdateTrail") || ($.x = 1) && ($.y = 2) }`, ctEvent, true},
		// numbers
		{`{ $.count = 3 }`, ctEvent, true},
		{`{ $.count = 3.0 }`, ctEvent, true},
		{`{ $.count != 3 }`, ctEvent, false},
		{`{ $.count != 4 }`, ctEvent, true},
		{`{ $.count < 4 }`, ctEvent, true},
		{`{ $.count <= 3 }`, ctEvent, true},
		{`{ $.count > 3 }`, ctEvent, false},
		{`{ $.count >= 3 }`, ctEvent, true},
		{`{ $.count > -1 }`, ctEvent, true},
		{`{ $.latency = 150 }`, ctEvent, true},
		{`{ $.latency > 1e2 }`, ctEvent, true},
		{`{ $.latency < 1.5E+2 }`, ctEvent, false},
		{`{ $.latency <= 1.5E+2 }`, ctEvent, true},
		{`{ $.ratio = 0.25 }`, ctEvent, true},
		{`{ $.ratio < .3 }`, ctEvent, true},
		{`{ $.ratio > 2.5e-1 }`, ctEvent, false},
		{`{ $.eventVersion > 1 }`, ctEvent, false}, // a string is not a number
		{`{ $.missing > 1 }`, ctEvent, false},
		{`{ $.missing != 1 }`, ctEvent, false},
		{`{ $.missing != "x" }`, ctEvent, false},
		// strings in the event: escapes, booleans, objects
		{`{ $.msg = "quote \" and \\ backslash" }`, ctEvent, true},
		{`{ $.readOnly = false }`, ctEvent, true},
		{`{ $.readOnly IS FALSE }`, ctEvent, true},
		{`{ $.managementEvent IS TRUE }`, ctEvent, true},
		{`{ $.userIdentity = "*" }`, ctEvent, false}, // objects are never equal to a string
		{`{ $.eventSource = * }`, ctEvent, true},
		{`{ $.sessionCredentialFromConsole IS NULL }`, ctEvent, true},
		{`{ $.resources[0].ARN = "arn:aws:s3:::bucket-a" }`, ctEvent, true},
		{`{ $.resources[1].ARN = "*bucket-b" }`, ctEvent, true},
		{`{ $.resources[1].type NOT EXISTS }`, ctEvent, true},
		{`{ $.tags[1] = pci }`, ctEvent, true},
		{`{ $.eventName = %^Update% }`, ctEvent, true},
		{`{ $.eventName = %^Delete% }`, ctEvent, false},
		{`{ $.eventName != %^Delete% }`, ctEvent, true},
		{`{ $.userIdentity.accessKeyId = %AKIA[A-Z]+% }`, ctEvent, true},
		{`{ $.eventType is null }`, `{"eventType":null}`, true},
		// non-JSON and non-object events never match a JSON pattern
		{`{ $.a = 1 }`, `not json`, false},
		{`{ $.a = 1 }`, `{"a":1`, false},
		{`{ $.a NOT EXISTS }`, `[1,2]`, false},
		{`{ $.a NOT EXISTS }`, `{}`, true},
	})
}

const vpcLine = `2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 REJECT OK`
const vpcAccept = `2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 ACCEPT OK`
const access = `127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534`
const access404 = `127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /index.html HTTP/1.0" 404 310`

func TestSpaceDelimited(t *testing.T) {
	const flow = `[version, account, eni, source, destination, srcport, destport, protocol, packets, bytes, start, end, action, status]`
	run(t, []tcase{
		{flow, vpcLine, true},
		{flow, vpcLine + " extra", false},
		{`[version, account, eni, source, destination, srcport, destport="22", protocol, packets, bytes, start, end, action="REJECT", status]`, vpcLine, true},
		{`[version, account, eni, source, destination, srcport, destport="22", protocol, packets, bytes, start, end, action="REJECT", status]`, vpcAccept, false},
		{`[version, account, eni, source, destination, srcport, destport=22, protocol, packets, bytes, start, end, action, status]`, vpcLine, true},
		{`[version, account, eni, source, destination, srcport, destport=3389, protocol, packets, bytes, start, end, action=ACCEPT, status]`, vpcAccept, true},
		{`[version, account, eni, source=172.31.*, destination, srcport, destport, protocol, packets, bytes>4000, start, end, action, status]`, vpcLine, true},
		{`[version, account, eni, source, destination, srcport, destport, protocol, packets, bytes>=5000, start, end, action, status]`, vpcLine, false},
		{`[..., action="REJECT", status]`, vpcLine, true},
		{`[..., action != "REJECT", status]`, vpcLine, false},
		{`[version, ..., status="OK"]`, vpcLine, true},
		{`[version=2, account, ...]`, vpcLine, true},
		{`[version=3, account, ...]`, vpcLine, false},
		{`[version, account, eni, ..., destport = 22 || destport = 3389, protocol, packets, bytes, start, end, action, status]`, vpcAccept, true},
		{`[version, account, eni, ..., destport = 22 || destport = 3389, protocol, packets, bytes, start, end, action, status]`, vpcLine, true},
		{`[version, account, eni, ..., destport > 1000 && destport < 4000, protocol, packets, bytes, start, end, action, status]`, vpcLine, false},
		{`[version, account, eni, ..., destport > 1000 && destport < 4000, protocol, packets, bytes, start, end, action, status]`, vpcAccept, true},
		{`[..., destport=22, ..., action=REJECT, status]`, vpcLine, true}, // two ellipses
		{`[..., packets, bytes = 4249, ...]`, vpcLine, true},
		// the user guide's web-server example
		{`[ip, user, username, timestamp, request, status_code, bytes]`, access, true},
		{`[ip, user, username, timestamp, request = "*html*", status_code = 4*, bytes]`, access404, true},
		{`[ip, user, username, timestamp, request = "*html*", status_code = 4*, bytes]`, access, false},
		{`[ip, user, username, timestamp, request, status_code = 404, bytes]`, access404, true},
		{`[ip, user, username, timestamp, request, status_code != 200, bytes]`, access404, true},
		{`[ip, user, username, timestamp, request, status_code != 200, bytes]`, access, false},
		{`[ip, user, username, timestamp = "10/Oct/2000:13:25:15 -0700", ...]`, access, true},
		{`[ip, user, ..., status_code >= 400, bytes]`, access404, true},
		{`[ip, user, ..., status_code >= 400, bytes < 1000]`, access404, true},
		{`[ip=127.0.0.1, ...]`, access, true},
		{`[ip=%^127\.%, ...]`, access, true},
		{`[..., request = %GET /index%, status_code, bytes]`, access404, true},
		{`[ip, ..., =404, bytes]`, access404, true},
		{`[ip, ..., =404, bytes]`, access, false},
		{`[a, b]`, "one", false},
		{`[a, b]`, "one two", true},
		{`[a=one, b]`, "  one   two  ", true},
		// a trailing comma is one more, unnamed, field
		{`[a, b,]`, "one two three", true},
		{`[a, b,]`, "one two", false},
		{`[a, b = 4*,]`, "one 404 three", true},
		// inner * is literal in space-delimited values too
		{`[a, b = 4*4]`, "one 404", false},
		{`[a, b = 4*4]`, "one 4*4", true},
	})
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ pattern, want string }{
		{`{ $.a = 1`, "column 10: missing closing }"},
		{`{ a = 1 }`, "column 3: expected a selector starting with $"},
		{`{ $.a ~ 1 }`, "column 7: expected an operator"},
		{`{ $.a > abc }`, "column 9: > needs a number"},
		{`{ ($.a = 1 }`, "column 3: unbalanced parenthesis"},
		{`{ $.a = 1 && }`, "column 14: expected a selector"},
		{`{ $.a = "x }`, "column 9: unterminated quoted string"},
		{`{ $.a[x] = 1 }`, "column 7: array index must be a non-negative integer"},
		{`{ $.* = 1 }`, "column 5: wildcard selectors"},
		{`{ }`, "column 3: empty JSON pattern"},
		{`{ $.a = 1 } x`, "column 13: unexpected text after }"},
		{`{ $.a = %[% }`, "column 9: bad regular expression"},
		{`[a, b`, "column 6: missing closing ]"},
		{`[,]`, "column 2: expected a field name or ..."},
		{`[a,,b]`, "column 4: expected a field name or ..."},
		{`[a, b=]`, "column 7: expected a value"},
		{`[a, a]`, "column 5: field \"a\" is named twice"},
		{`[a, b > x]`, "column 9: > needs a number"},
		{`[a, b = 1 || c = 2]`, `column 14: condition on "c"`},
		{`[a b]`, "column 4: expected an operator"},
		{`ERROR ?`, "column 7: \"?\" must be followed by a term"},
		{`"unterminated`, "column 1: unterminated quoted string"},
		{`%abc`, "column 1: regular expression has no closing %"},
		{`ab"c"`, "column 3: unexpected quote"},
	} {
		_, err := Parse(c.pattern)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want %q…", c.pattern, err, c.want)
		}
	}
}

func BenchmarkMatchJSON(b *testing.B) {
	p, err := Parse(`{ $.userIdentity.userName = "alice" && ($.errorCode = "AccessDenied" || $.sourceIPAddress != 10.* ) }`)
	if err != nil {
		b.Fatal(err)
	}
	ev := []byte(ctEvent)
	b.SetBytes(int64(len(ev)))
	for b.Loop() {
		if !p.Match(ev) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkMatchSpace(b *testing.B) {
	p, err := Parse(`[version, account, eni, source, destination, srcport, destport="22", protocol, packets, bytes, start, end, action="REJECT", status]`)
	if err != nil {
		b.Fatal(err)
	}
	ev := []byte(vpcLine)
	for b.Loop() {
		if !p.Match(ev) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkMatchTerms(b *testing.B) {
	p, err := Parse(`ERROR -Exited ?"Connection refused" ?timeout`)
	if err != nil {
		b.Fatal(err)
	}
	ev := []byte("2026-12-07T01:00:00Z ERROR worker 7: dial tcp 10.0.0.1:443: Connection refused")
	for b.Loop() {
		if !p.Match(ev) {
			b.Fatal("no match")
		}
	}
}

// FuzzMatch checks that no pattern or event makes Parse or Match panic, and
// that JSON patterns never match text that is not valid JSON.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{`{ $.a = "x" }`, `{ $.a[0].b > 1 || $.c NOT EXISTS }`, `[a, ..., b = 4*]`, `ERROR -x ?"y"`} {
		f.Add(s, `{"a":"x","c":[1,{"b":2}]}`)
		f.Add(s, `{"a":"x`)
		f.Add(s, `1 2 "3 4" [5 6]`)
	}
	f.Fuzz(func(t *testing.T, pattern, ev string) {
		p, err := Parse(pattern)
		if err != nil {
			return
		}
		got := p.Match([]byte(ev))
		if got && p.kind == kindJSON && !json.Valid([]byte(ev)) {
			t.Errorf("%q matched invalid JSON %q", pattern, ev)
		}
	})
}

// BenchmarkMatchJSONNoMatch: the common case for a filter, an event the
// pattern rejects (no validation pass).
func BenchmarkMatchJSONNoMatch(b *testing.B) {
	p, err := Parse(`{ $.userIdentity.userName = "bob" && ($.errorCode = "AccessDenied" || $.sourceIPAddress != 10.* ) }`)
	if err != nil {
		b.Fatal(err)
	}
	ev := []byte(ctEvent)
	b.SetBytes(int64(len(ev)))
	for b.Loop() {
		if p.Match(ev) {
			b.Fatal("match")
		}
	}
}
