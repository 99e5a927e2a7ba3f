package opensearch

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/event"
)

func TestAppendString(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr", "\x00\x01\x1f\x7f",
		"héllo wörld ✓ 𝄞", "bad \xff\xfe utf-8 \xc3", "<html>&amp;</html>", "\u2028\u2029",
	} {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("%q encodes to invalid JSON %s: %v", s, b, err)
			continue
		}
		if want := decodeInvalid(s); got != want {
			t.Errorf("%q round-trips to %q, want %q (each bad byte as U+FFFD)", s, got, want)
		}
	}
}

// decodeInvalid replaces each invalid byte by U+FFFD, as encoding/json does.
func decodeInvalid(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

func TestAppendObjField(t *testing.T) {
	for in, want := range map[string]string{
		`{"bucketName":"b","key":"k"}`:     `{"x":{"bucketName":"b","key":"k"}}`,
		`[{"ARN":"arn:aws:s3:::b"}]`:       `{"x":{"value":[{"ARN":"arn:aws:s3:::b"}]}}`,
		`"HIDDEN_DUE_TO_SECURITY_REASONS"`: `{"x":{"value":"HIDDEN_DUE_TO_SECURITY_REASONS"}}`,
		`{"broken":`:                       `{"x":{"value":"{\"broken\":"}}`,
		"{\"k\":\"bad \xff\"}":             `{"x":{"k":"bad ` + "\uFFFD" + `"}}`,
	} {
		b := closeObject(appendObjField([]byte("{"), "x", in))
		if string(b) != want {
			t.Errorf("%s: got %s, want %s", in, b, want)
		}
		if !json.Valid(b) {
			t.Errorf("%s: invalid JSON %s", in, b)
		}
	}
}

func TestFlowID(t *testing.T) {
	a, b, c := FlowID("s3://b/k", 1), FlowID("s3://b/k", 2), FlowID("s3://b/k2", 1)
	if a == b || a == c || a != FlowID("s3://b/k", 1) || len(a) != 24 {
		t.Errorf("flow ids %q %q %q: want distinct, stable, 24 characters", a, b, c)
	}
}

func TestDocIDHashesLongIDs(t *testing.T) {
	long := strings.Repeat("x", 600)
	if id := docID(long); len(id) > maxIDBytes || id == long || id != docID(long) {
		t.Errorf("docID of 600 bytes: %q", id)
	}
	if docID("abc") != "abc" {
		t.Error("short ids must stay as they are")
	}
}

// FuzzDocument checks that any field values give a valid _bulk action and
// document: two lines of JSON, the free-form parts as objects.
func FuzzDocument(f *testing.F) {
	f.Add("id-1", "GetObject", `{"bucketName":"b"}`, `[{"ARN":"a"}]`, "1.2.3.4")
	f.Add("\xff\x00\"", "a\nb", `"HIDDEN_DUE_TO_SECURITY_REASONS"`, `{"broken":`, "s3.amazonaws.com")
	f.Add("", "", "", "null", "")
	f.Fuzz(func(t *testing.T, id, name, params, resources, ip string) {
		c := newChunk(1 << 10)
		e := event.CloudTrail{EventID: id, EventName: name, RequestParameters: params, Resources: resources, SourceIP: ip, Raw: name}
		c.addCloudTrail("p-", &e)
		lines := strings.Split(strings.TrimSuffix(string(c.buf), "\n"), "\n")
		if len(lines) != 2 || len(c.items) != 1 {
			t.Fatalf("%d lines, %d items: %q", len(lines), len(c.items), c.buf)
		}
		var doc map[string]any
		if !json.Valid([]byte(lines[0])) || json.Unmarshal([]byte(lines[1]), &doc) != nil {
			t.Fatalf("invalid JSON: %q", c.buf)
		}
		for _, k := range []string{"request_parameters", "resources"} {
			if v, ok := doc[k]; ok {
				if _, obj := v.(map[string]any); !obj {
					t.Errorf("%s is %T, want an object: %q", k, v, lines[1])
				}
			}
		}
	})
}
