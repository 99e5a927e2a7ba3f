package decode

import (
	"context"
	"io"
	"runtime"
	"strings"
	"testing"
)

// patternReader yields prefix, then n bytes of 'A', then suffix, without
// holding the whole stream in memory.
type patternReader struct {
	prefix, suffix string
	n              int64
	pos            int64
}

func (r *patternReader) Read(p []byte) (int, error) {
	total := int64(len(r.prefix)) + r.n + int64(len(r.suffix))
	if r.pos >= total {
		return 0, io.EOF
	}
	i := 0
	for i < len(p) && r.pos < total {
		switch {
		case r.pos < int64(len(r.prefix)):
			p[i] = r.prefix[r.pos]
		case r.pos < int64(len(r.prefix))+r.n:
			p[i] = 'A'
		default:
			p[i] = r.suffix[r.pos-int64(len(r.prefix))-r.n]
		}
		i++
		r.pos++
	}
	return i, nil
}

// TestSingleHugeRecord feeds a CloudTrail file whose second record is 200
// MB: it is quarantined with its position, the records around it are
// decoded, and memory stays bounded.
func TestSingleHugeRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 200 MB")
	}
	good := func(id string) string {
		return `{"eventVersion":"1.08","eventTime":"2026-11-02T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","eventID":"` + id + `"}`
	}
	r := &patternReader{
		prefix: `{"Records":[` + good("first") + `,{"eventVersion":"1.08","eventID":"huge","requestParameters":{"policy":"`,
		n:      200 << 20,
		suffix: `"}},` + good("last") + `]}`,
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := &collect{}
	if err := Decode(context.Background(), Object{Name: "huge.json"}, r, Options{}, c.emit); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if len(c.ct) != 2 || c.ct[0].EventID != "first" || c.ct[1].EventID != "last" {
		t.Fatalf("records around the huge one: %+v", c.ct)
	}
	if len(c.q) != 1 || !strings.Contains(c.q[0].Reason, "exceeds") || c.q[0].Offset != int64(len(`{"Records":[`+good("first")+`,`)) || c.q[0].Record != 1 {
		t.Fatalf("quarantine: %+v", c.q)
	}
	if !strings.HasPrefix(c.q[0].Snippet, `{"eventVersion":"1.08","eventID":"huge"`) {
		t.Errorf("snippet %q", c.q[0].Snippet)
	}
	if grew := int64(after.HeapSys) - int64(before.HeapSys); grew > 160<<20 {
		t.Errorf("heap grew by %d MiB while skipping a 200 MiB record", grew>>20)
	}
}
