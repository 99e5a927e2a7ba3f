package decode

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

const testFlowLine = "2 111122223333 eni-0a1b2c3d4e5f60001 10.0.1.5 10.0.2.9 49152 443 6 10 840 1793613000 1793613060 ACCEPT OK\n"

func decodeFlows(t *testing.T, name string, in []byte, opt Options) *collect {
	t.Helper()
	c := &collect{}
	if err := Decode(context.Background(), Object{Name: name}, bytes.NewReader(in), opt, c.emit); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// An over-long flow-log line longer than the read buffer is reported at the
// offset where it starts, not where it ends.
func TestLongLineOffset(t *testing.T) {
	long := "2 111122223333 eni-" + strings.Repeat("0", 600<<10) + " 10.0.1.5 10.0.2.9 1 2 6 1 40 1793613000 1793613060 ACCEPT OK\n"
	in := testFlowLine + long + testFlowLine
	for _, limit := range []int{1000, 300 << 10} { // under and over the 256 KiB buffer
		c := decodeFlows(t, "long.log", []byte(in), Options{MaxRecordSize: limit})
		if len(c.vpc) != 2 || len(c.q) != 1 {
			t.Fatalf("limit %d: %d records, %d quarantined", limit, len(c.vpc), len(c.q))
		}
		q := c.q[0]
		if q.Offset != int64(len(testFlowLine)) || q.Line != 2 || q.Record != 1 || !strings.Contains(q.Reason, "--max-record-size") {
			t.Errorf("limit %d: quarantined at line %d offset %d (want line 2 offset %d): %s", limit, q.Line, q.Offset, len(testFlowLine), q.Reason)
		}
		if len(q.Snippet) > 256 || !strings.HasPrefix(q.Snippet, "2 111122223333 eni-000") {
			t.Errorf("snippet %q", q.Snippet)
		}
		if c.vpc[1].Unit != 2 {
			t.Errorf("the line after: unit %d", c.vpc[1].Unit)
		}
	}
}

func gzipMember(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.NoCompression)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A bit flip in a gzip member is only seen at its CRC: the message says
// what was decoded, and concatenated members still work.
func TestGzipChecksum(t *testing.T) {
	m1 := gzipMember(t, testFlowLine+testFlowLine)
	m2 := gzipMember(t, testFlowLine)
	c := decodeFlows(t, "ok.gz", append(append([]byte{}, m1...), m2...), Options{})
	if len(c.vpc) != 3 || len(c.q) != 0 {
		t.Fatalf("two members: %d records, %d quarantined %+v", len(c.vpc), len(c.q), c.q)
	}
	bad := append([]byte{}, m1...)
	i := bytes.Index(bad, []byte("49152"))
	bad[i+4] ^= 1
	c = decodeFlows(t, "bad.gz", append(bad, m2...), Options{})
	if len(c.vpc) != 2 || len(c.q) != 1 {
		t.Fatalf("damaged first member: %d records, %d quarantined", len(c.vpc), len(c.q))
	}
	r := c.q[0].Reason
	for _, want := range []string{"gzip checksum mismatch at the end of a gzip member", "2 units were decoded before the check", "the data may be damaged", "members after it are not read"} {
		if !strings.Contains(r, want) {
			t.Errorf("reason %q lacks %q", r, want)
		}
	}
	c = decodeFlows(t, "bad-last.gz", append(append([]byte{}, m2...), bad...), Options{})
	if r := c.q[0].Reason; len(c.vpc) != 3 || !strings.Contains(r, "at the end of the object: 3 units") || strings.Contains(r, "lost") {
		t.Errorf("damaged last member: %d records, %q", len(c.vpc), r)
	}
}
