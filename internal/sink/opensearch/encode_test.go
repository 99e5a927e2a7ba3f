package opensearch

import (
	"encoding/json"
	"strings"
	"testing"
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
