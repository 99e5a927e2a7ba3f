package decode

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/trawl-project/trawl/internal/event"
)

const testFlowLine = "2 111122223333 eni-0a1b2c3d4e5f60001 10.0.1.5 10.0.2.9 49152 443 6 10 840 1793613000 1793613060 ACCEPT OK\n"

// An over-long flow-log line longer than the read buffer is reported at the
// offset where it starts, not where it ends.
func TestLongLineOffset(t *testing.T) {
	long := "2 111122223333 eni-" + strings.Repeat("0", 600<<10) + " 10.0.1.5 10.0.2.9 1 2 6 1 40 1793613000 1793613060 ACCEPT OK\n"
	in := testFlowLine + long + testFlowLine
	for _, limit := range []int{1000, 300 << 10} { // under and over the 256 KiB buffer
		c := decodeBytes(t, "long.log", []byte(in), Options{MaxRecordSize: limit})
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

func gzipMember(t testing.TB, s string) []byte {
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
	c := decodeBytes(t, "ok.gz", append(append([]byte{}, m1...), m2...), Options{})
	if len(c.vpc) != 3 || len(c.q) != 0 {
		t.Fatalf("two members: %d records, %d quarantined %+v", len(c.vpc), len(c.q), c.q)
	}
	bad := append([]byte{}, m1...)
	i := bytes.Index(bad, []byte("49152"))
	bad[i+4] ^= 1
	c = decodeBytes(t, "bad.gz", append(bad, m2...), Options{})
	if len(c.vpc) != 2 || len(c.q) != 1 {
		t.Fatalf("damaged first member: %d records, %d quarantined", len(c.vpc), len(c.q))
	}
	r := c.q[0].Reason
	for _, want := range []string{"gzip checksum mismatch at the end of a gzip member", "2 units were decoded before the check", "the data may be damaged", "members after it are not read"} {
		if !strings.Contains(r, want) {
			t.Errorf("reason %q lacks %q", r, want)
		}
	}
	c = decodeBytes(t, "bad-last.gz", append(append([]byte{}, m2...), bad...), Options{})
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
	records := map[int64]bool{}
	for _, u := range units {
		records[u] = true
	}
	for _, q := range c.q {
		records[q.Record] = false
	}
	for _, w := range c.w {
		if w.Object != name || !records[w.Record] {
			return fmt.Errorf("warning %+v is not about a record of the object", w)
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
	plain := validParquet(t, 300)
	inputs := [][]byte{withoutCRC(t, plain), withoutCRC(t, validParquet(t, 300, parquet.Compression(&parquet.Gzip))),
		withoutCRC(t, validParquet(t, 300, parquet.Compression(&parquet.Snappy))), plain}
	for i, in := range inputs {
		if c, err := decodeChecked("valid.parquet", in, Options{}, 0); err != nil || len(c.vpc) != 300 || len(c.q) != 0 {
			t.Fatalf("valid input %d: %v, %d records, %d quarantined %v", i, err, len(c.vpc), len(c.q), c.q)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	var records, quarantined, whole, panics, lost, rows, goneOn int
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
		for _, q := range c.q {
			switch {
			case strings.Contains(q.Reason, "are lost"):
				lost++
				if strings.Contains(q.Reason, "parquet-go failed") {
					panics++
				}
			case strings.HasPrefix(q.Reason, "Parquet row "):
				rows++
			}
			if strings.Contains(q.Reason, "are lost") && len(c.vpc) > 0 && c.vpc[len(c.vpc)-1].Unit > q.Record {
				goneOn++
			}
		}
	}
	t.Logf("%d corruptions in %v: %d records, %d quarantine entries (%d bad rows, %d row groups lost, %d of them after a panic, %d followed by records), %d objects without a record",
		n, time.Since(start).Round(time.Millisecond), records, quarantined, rows, lost, panics, goneOn, whole)
	if !testing.Short() && (panics == 0 || goneOn == 0 || rows == 0) {
		t.Error("the corruptions should include recovered panics, row groups lost with records after them, and bad rows")
	}
}

// withoutCRC rewrites a Parquet file without page checksums, as writers
// other than parquet-go (and AWS's) may deliver it: corruptions inside
// pages then reach the decoders instead of failing the checksum.
func withoutCRC(t testing.TB, b []byte) []byte { return rewrite(t, b, nil, nil) }

// rewrite rebuilds a Parquet file page by page, letting page edit each page
// header and its data (page counts from 0 per column chunk) and meta edit
// the metadata.
func rewrite(t testing.TB, b []byte, page func(g, c, p int, h *format.PageHeader, data []byte) []byte, meta func(*format.FileMetaData)) []byte {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)), parquet.SkipPageIndex(true))
	if err != nil {
		t.Fatal(err)
	}
	md := *f.Metadata()
	md.RowGroups = slices.Clone(md.RowGroups)
	proto := &thrift.CompactProtocol{}
	out := []byte("PAR1")
	for g := range md.RowGroups {
		rg := &md.RowGroups[g]
		rg.Columns = slices.Clone(rg.Columns)
		rg.FileOffset = int64(len(out))
		for c := range rg.Columns {
			cm := &rg.Columns[c].MetaData
			rg.Columns[c].ColumnIndexOffset, rg.Columns[c].ColumnIndexLength = 0, 0
			rg.Columns[c].OffsetIndexOffset, rg.Columns[c].OffsetIndexLength = 0, 0
			pos := cm.DataPageOffset
			if cm.DictionaryPageOffset > 0 {
				pos = min(pos, cm.DictionaryPageOffset)
			}
			end, first := pos+cm.TotalCompressedSize, int64(len(out))
			cm.DictionaryPageOffset = 0
			data := int64(-1)
			for p := 0; pos < end; p++ {
				br := bytes.NewReader(b[pos:end])
				var h format.PageHeader
				if err := thrift.NewDecoder(proto.NewReader(br)).Decode(&h); err != nil {
					t.Fatal(err)
				}
				hl := int64(len(b[pos:end]) - br.Len())
				body := slices.Clone(b[pos+hl : pos+hl+int64(h.CompressedPageSize)])
				pos += hl + int64(h.CompressedPageSize)
				h.CRC = 0
				if page != nil {
					n := len(body)
					if body = page(g, c, p, &h, body); len(body) != n {
						h.CompressedPageSize = int32(len(body))
					}
				}
				hb, err := thrift.Marshal(proto, &h)
				if err != nil {
					t.Fatal(err)
				}
				if h.Type == format.DictionaryPage {
					cm.DictionaryPageOffset = int64(len(out))
				} else if data < 0 {
					data = int64(len(out))
				}
				out = append(append(out, hb...), body...)
			}
			cm.DataPageOffset = data
			cm.TotalCompressedSize = int64(len(out)) - first
		}
	}
	if meta != nil {
		meta(&md)
	}
	footer, err := thrift.Marshal(proto, &md)
	if err != nil {
		t.Fatal(err)
	}
	return withFooter(out, footer)
}

func withFooter(data, footer []byte) []byte {
	out := append(slices.Clone(data), footer...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(footer)))
	return append(out, "PAR1"...)
}

type dictFlow struct {
	Version int32  `parquet:"version"`
	SrcAddr string `parquet:"srcaddr,dict"`
	Start   int64  `parquet:"start"`
}

// Files that claim huge sizes are refused before anything is allocated for
// them: parquet-go would allocate what they claim.
func TestParquetClaimedSizes(t *testing.T) {
	valid := validParquet(t, 200)
	snappy := validParquet(t, 200, parquet.Compression(&parquet.Snappy))
	var db bytes.Buffer
	dw := parquet.NewGenericWriter[dictFlow](&db)
	if _, err := dw.Write([]dictFlow{{5, "10.0.0.1", 1793613000}, {5, "10.0.0.2", 1793613000}}); err != nil || dw.Close() != nil {
		t.Fatal(err)
	}
	dict := db.Bytes()
	first := func(edit func(h *format.PageHeader, data []byte) []byte) func(g, c, p int, h *format.PageHeader, data []byte) []byte {
		return func(g, c, p int, h *format.PageHeader, data []byte) []byte {
			if g == 0 && c == 3 && p == 0 { // srcaddr
				return edit(h, data)
			}
			return data
		}
	}
	// A metadata struct whose second field, a list of structs, claims 2^30
	// elements, and one whose key_value_metadata has a key of 2 GiB.
	hugeList := []byte{0x15, 0x02, 0x19, 0xfc, 0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x00}
	hugeString := []byte{0x59, 0x1c, 0x18, 0xf0, 0xff, 0xff, 0xff, 0x07, 'k', 0x00, 0x00}
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"metadata-length", append(slices.Clone(valid[:len(valid)-8]), 0xf0, 0xff, 0xff, 0xff, 'P', 'A', 'R', '1'), "metadata claims 4294967280 bytes"},
		{"metadata-list", withFooter(valid[:4], hugeList), "a list claims 1073741824 elements in 2 bytes"},
		{"metadata-string", withFooter(valid[:4], hugeString), "2147483632 bytes claimed, 3 left"},
		{"chunk-size", rewrite(t, valid, nil, func(md *format.FileMetaData) { md.RowGroups[1].Columns[2].MetaData.TotalCompressedSize = 1 << 40 }), "row group 2, column 3: the column chunk claims bytes"},
		{"page-size", rewrite(t, valid, first(func(h *format.PageHeader, d []byte) []byte { h.UncompressedPageSize = 1<<31 - 1; return d }), nil), "claims 2147483647 bytes decompressed"},
		{"compressed-page-size", rewrite(t, valid, first(func(h *format.PageHeader, d []byte) []byte { h.CompressedPageSize = 1<<31 - 1; return d }), nil), "the page claims 2147483647 bytes"},
		{"dictionary-values", rewrite(t, dict, func(g, c, p int, h *format.PageHeader, d []byte) []byte {
			if h.DictionaryPageHeader.Valid {
				h.DictionaryPageHeader.V.NumValues = 1 << 30
			}
			return d
		}, nil), "dictionary claims 1073741824 values"},
		{"page-values", rewrite(t, valid, first(func(h *format.PageHeader, d []byte) []byte {
			h.DataPageHeaderV2.V.NumValues = 1<<31 - 1
			h.DataPageHeader.V.NumValues = 1<<31 - 1
			return d
		}), nil), "the page claims 2147483647 values"},
		{"snappy-length", rewrite(t, snappy, first(func(h *format.PageHeader, d []byte) []byte {
			lv := int(h.DataPageHeaderV2.V.RepetitionLevelsByteLength + h.DataPageHeaderV2.V.DefinitionLevelsByteLength)
			_, l := binary.Uvarint(d[lv:])
			return append(binary.AppendUvarint(slices.Clone(d[:lv]), 1<<32-1), d[lv+l:]...)
		}), nil), "SNAPPY page claims 4294967295 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			c, err := decodeChecked(tc.name+".parquet", tc.in, Options{}, 0)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes allocated in all (an upper bound of the peak), heap in use after: %d bytes", alloc, after.HeapInuse)
			if len(c.q) != 1 || !strings.Contains(c.q[0].Reason, tc.want) || len(c.vpc) != 0 {
				t.Errorf("%d records, quarantined %+v; want one entry saying %q", len(c.vpc), c.q, tc.want)
			}
			if alloc > 16<<20 {
				t.Errorf("decoding allocated %d MiB", alloc>>20)
			}
		})
	}
}

// Values a column cannot hold are stored as NULL, each with a warning on
// its record (the golden case shows the records).
func TestPoisonValueWarnings(t *testing.T) {
	c := decodeFile(t, "testdata/bad-poison-values/flows.log", Options{})
	var got []string
	for _, w := range c.w {
		got = append(got, fmt.Sprintf("%d:%s", w.Record, w.Field))
		if w.Kind != event.KindVPCFlow || !strings.Contains(w.Reason, "stored as NULL") {
			t.Errorf("warning %+v", w)
		}
	}
	if want := "0:end 1:srcport 1:protocol 1:packets 1:bytes 1:start"; strings.Join(got, " ") != want {
		t.Errorf("warnings %q, want %q", strings.Join(got, " "), want)
	}
	if len(c.vpc) != 3 || len(c.q) != 0 {
		t.Errorf("%d records, %d quarantined", len(c.vpc), len(c.q))
	}
}

// Parquet rows honour --max-record-size like lines do.
func TestParquetRowLimit(t *testing.T) {
	in := validParquet(t, 200)
	all := decodeBytes(t, "f.parquet", in, Options{})
	var sizes []int
	for _, r := range all.vpc {
		sizes = append(sizes, len(r.Raw))
	}
	slices.Sort(sizes)
	limit, over := sizes[len(sizes)/2], 0
	for _, n := range sizes {
		if n > limit {
			over++
		}
	}
	c := decodeBytes(t, "f.parquet", in, Options{MaxRecordSize: limit})
	if len(c.q) != over || len(c.vpc) != 200-over || over == 0 {
		t.Fatalf("limit %d: %d records, %d quarantined; want %d over the limit", limit, len(c.vpc), len(c.q), over)
	}
	if r := c.q[0].Reason; !strings.HasPrefix(r, "Parquet row ") || !strings.Contains(r, "--max-record-size") {
		t.Errorf("reason %q", r)
	}
}
