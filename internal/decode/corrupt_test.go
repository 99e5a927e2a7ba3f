package decode

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"
	"github.com/trawl-project/trawl/internal/event"
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

// validParquet writes an AWS-format flow-log Parquet file of n rows in row
// groups of 64 rows and small pages, so that corruptions hit every part.
func validParquet(t testing.TB, n int, opts ...parquet.WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	opts = append([]parquet.WriterOption{parquet.PageBufferSize(512), parquet.MaxRowsPerRowGroup(64)}, opts...)
	w := parquet.NewGenericWriter[awsFlow](&buf, opts...)
	acts := []string{"ACCEPT", "REJECT"}
	for i := 0; i < n; i++ {
		row := awsFlow{Version: 5, AccountID: ptr("111122223333"), InterfaceID: ptr(fmt.Sprintf("eni-%04d", i%7)),
			SrcAddr: ptr(fmt.Sprintf("10.0.%d.%d", i%3, i%250)), DstAddr: ptr("52.94.0.1"),
			SrcPort: ptr(int32(40000 + i)), DstPort: ptr(int32(443)), Protocol: ptr(int32(6)), Packets: ptr(int64(i)), Bytes: ptr(int64(40 * i)),
			Start: 1793613000 + int64(i), End: 1793613060 + int64(i), Action: ptr(acts[i%2]), LogStatus: ptr("OK")}
		if i%5 == 0 {
			row.PktSrcSvc = ptr("S3")
		}
		if _, err := w.Write([]awsFlow{row}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// corrupt returns a copy of b with seeded damage: bit flips, overwritten
// bytes, a cut, or a span of random bytes.
func corrupt(r *rand.Rand, b []byte) []byte {
	b = append([]byte(nil), b...)
	if len(b) == 0 {
		return b
	}
	switch r.IntN(5) {
	case 0:
		for k := 1 + r.IntN(4); k > 0; k-- {
			b[r.IntN(len(b))] ^= 1 << r.IntN(8)
		}
	case 1:
		for k := 1 + r.IntN(8); k > 0; k-- {
			b[r.IntN(len(b))] = byte(r.IntN(256))
		}
	case 2:
		b = b[:r.IntN(len(b))]
	case 3:
		i := r.IntN(len(b))
		for j := i; j < min(len(b), i+1+r.IntN(16)); j++ {
			b[j] = byte(r.IntN(256))
		}
	case 4: // damage near the end, where the metadata is
		i := len(b) - 1 - r.IntN(min(len(b), 512))
		b[i] ^= 1 << r.IntN(8)
	}
	return b
}

// checkUnits checks what every decode must produce, whatever the input:
// records with a non-empty valid-UTF-8 Raw and sane values, quarantine
// entries naming the object, units numbered from skip without gaps.
func checkUnits(name string, skip int64, c *collect) error {
	seen := map[int64]bool{}
	var units []int64
	add := func(u int64) { units = append(units, u) }
	raw := func(kind string, u int64, s string) error {
		add(u)
		if s == "" || !utf8.ValidString(s) {
			return fmt.Errorf("%s unit %d: raw %q is empty or not valid UTF-8", kind, u, Snippet([]byte(s)))
		}
		return nil
	}
	for _, e := range c.ct {
		if err := raw("cloudtrail", e.Unit, e.Raw); err != nil {
			return err
		}
	}
	for _, e := range c.dg {
		if err := raw("digest", e.Unit, e.Raw); err != nil {
			return err
		}
	}
	for _, e := range c.gd {
		if err := raw("finding", e.Unit, e.Raw); err != nil {
			return err
		}
	}
	for i := range c.vpc {
		f := &c.vpc[i]
		if err := raw("vpcflow", f.Unit, f.Raw); err != nil {
			return err
		}
		for _, tm := range []func() (time.Time, bool){f.Start, f.End} {
			if v, ok := tm(); ok && (v.Year() < 1 || v.Year() > 9999) {
				return fmt.Errorf("vpcflow unit %d: time %v", f.Unit, v)
			}
		}
		for _, p := range []int{event.FlowSrcPort, event.FlowDstPort} {
			if v, ok := f.Int(p); ok && (v < 0 || v > 65535) {
				return fmt.Errorf("vpcflow unit %d: port %d", f.Unit, v)
			}
		}
	}
	for _, q := range c.q {
		add(q.Record)
		if q.Object != name || q.Reason == "" {
			return fmt.Errorf("quarantine entry %d: object %q, reason %q", q.Record, q.Object, q.Reason)
		}
	}
	for _, w := range c.w {
		if w.Object != name || w.Record < skip {
			return fmt.Errorf("warning %+v", w)
		}
	}
	slices.Sort(units)
	for i, u := range units {
		if u != skip+int64(i) || seen[u] {
			return fmt.Errorf("units %v are not numbered consecutively from %d", units, skip)
		}
		seen[u] = true
	}
	return nil
}

// decodeChecked decodes in without letting a panic escape the test's
// reporting, and checks the invariants.
func decodeChecked(name string, in []byte, opt Options, skip int64) (c *collect, err error) {
	c = &collect{}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	if err := Decode(context.Background(), Object{Name: name, Skip: skip}, bytes.NewReader(in), opt, c.emit); err != nil {
		return c, fmt.Errorf("Decode returned %v", err)
	}
	return c, checkUnits(name, skip, c)
}

// Corrupt Parquet objects are quarantined, row by row where possible; no
// panic escapes and nothing that reaches the store lacks a raw line.
func TestParquetCorruption(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	inputs := [][]byte{validParquet(t, 300), validParquet(t, 300, parquet.Compression(&parquet.Gzip)), validParquet(t, 300, parquet.Compression(&parquet.Snappy))}
	r := rand.New(rand.NewPCG(1, 2))
	var records, quarantined, whole int
	start := time.Now()
	for i := 0; i < n; i++ {
		in := corrupt(r, inputs[i%len(inputs)])
		name := fmt.Sprintf("corrupt-%d.parquet", i)
		c, err := decodeChecked(name, in, Options{}, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		records += len(c.vpc)
		quarantined += len(c.q)
		if len(c.vpc) == 0 {
			whole++
		}
	}
	t.Logf("%d corruptions in %v: %d records, %d quarantine entries, %d objects without a record", n, time.Since(start).Round(time.Millisecond), records, quarantined, whole)
}
