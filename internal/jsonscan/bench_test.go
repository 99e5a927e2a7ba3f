package jsonscan_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/jsonscan"
	"github.com/valyala/fastjson"
)

// ctCorpus is a generated set of CloudTrail log files ({"Records":[…]},
// decompressed), shared by the benchmarks below, with the number of records
// and of their top-level members as encoding/json counts them.
var ctCorpus = sync.OnceValues(func() (*ctFiles, error) {
	dir, err := os.MkdirTemp("", "trawl-jsonscan-bench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg := gen.DefaultConfig()
	// One account and region over an hour: 12 files of a few MB each, as
	// busy accounts deliver them, 5% of the events with 5–40 KB request
	// parameters as in make bench.
	cfg.Accounts, cfg.Regions, cfg.Duration, cfg.Attack = 1, []string{"us-east-1"}, time.Hour, false
	cfg.CloudTrailEvents, cfg.FlowRecords, cfg.Findings, cfg.LargeParams = 6000, -1, -1, true
	if _, err := gen.Generate(context.Background(), dir, cfg); err != nil {
		return nil, err
	}
	c := &ctFiles{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p, "/CloudTrail/") || !strings.HasSuffix(p, ".json.gz") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		doc, err := io.ReadAll(zr)
		if err != nil {
			return err
		}
		var v struct{ Records []map[string]json.RawMessage }
		if err := json.Unmarshal(doc, &v); err != nil {
			return err
		}
		for _, r := range v.Records {
			c.records++
			c.members += len(r)
		}
		c.docs = append(c.docs, doc)
		c.bytes += int64(len(doc))
		return nil
	})
	return c, err
})

type ctFiles struct {
	docs             [][]byte
	bytes            int64
	records, members int
}

// loadCT returns the corpus and prepares b to report MB/s over it.
func loadCT(b *testing.B) *ctFiles {
	b.Helper()
	c, err := ctCorpus()
	if err != nil {
		b.Fatal(err)
	}
	if c.records == 0 {
		b.Fatal("the generated data set has no CloudTrail records")
	}
	b.SetBytes(c.bytes)
	b.ReportAllocs()
	return c
}

// check fails the benchmark unless it saw every record and member.
func (c *ctFiles) check(b *testing.B, records, members int) {
	b.Helper()
	if records != c.records || members != c.members {
		b.Fatalf("saw %d records with %d members; encoding/json sees %d with %d", records, members, c.records, c.members)
	}
	b.ReportMetric(float64(records), "records/op")
}

// BenchmarkScanCloudTrail is what the CloudTrail decoder asks of the
// scanner: stream the Records array of each file, validating every record
// completely and indexing its members, then read each member's key and
// value from the index. The record's bytes are viewed as a string without
// a copy: the decoder's copy of the record text is not JSON work, and any
// parser that must hand out the text needs one.
func BenchmarkScanCloudTrail(b *testing.B) {
	c := loadCT(b)
	sc := jsonscan.NewScanner(nil, 64<<20)
	var rd bytes.Reader
	for b.Loop() {
		records, members := 0, 0
		for _, doc := range c.docs {
			rd.Reset(doc)
			sc.Reset(&rd)
			if err := sc.Consume('{'); err != nil {
				b.Fatal(err)
			}
			if k, err := sc.ReadKey(); err != nil || k != "Records" {
				b.Fatalf("first key %q, %v", k, err)
			}
			if err := sc.Consume('['); err != nil {
				b.Fatal(err)
			}
			for {
				v, err := sc.ReadValue()
				if err != nil {
					b.Fatal(err)
				}
				records++
				jsonscan.EachMember(unsafe.String(unsafe.SliceData(v.Bytes), len(v.Bytes)), v.Members, func(key, value string) bool {
					members++
					return true
				})
				ch, err := sc.Peek()
				if err != nil {
					b.Fatal(err)
				}
				sc.SkipByte()
				if ch == ']' {
					break
				}
			}
		}
		c.check(b, records, members)
	}
}

// fastjsonRecords visits the members of every record of a parsed file.
func fastjsonRecords(b *testing.B, v *fastjson.Value, records, members *int) {
	for _, r := range v.GetArray("Records") {
		o, err := r.Object()
		if err != nil {
			b.Fatal(err)
		}
		*records++
		o.Visit(func(key []byte, v *fastjson.Value) { *members++ })
	}
}

// BenchmarkFastjsonParse parses each file with fastjson and visits every
// record's members. fastjson.Parse does not validate: it accepts control
// characters and unknown escapes in strings and numbers such as 01 or 1.,
// which the scanner rejects. It also needs the whole file in memory and
// gives no record's text, which the decoder stores (it would have to
// serialise each record again). So this is a lower bound on what fastjson
// would cost the decoder, not the same work.
func BenchmarkFastjsonParse(b *testing.B) {
	c := loadCT(b)
	var p fastjson.Parser
	for b.Loop() {
		records, members := 0, 0
		for _, doc := range c.docs {
			v, err := p.ParseBytes(doc)
			if err != nil {
				b.Fatal(err)
			}
			fastjsonRecords(b, v, &records, &members)
		}
		c.check(b, records, members)
	}
}

// BenchmarkFastjsonValidateParse validates each file with fastjson.Validate
// (as strict as the scanner) before parsing it: two passes over the text,
// and the member visit a third.
func BenchmarkFastjsonValidateParse(b *testing.B) {
	c := loadCT(b)
	var p fastjson.Parser
	for b.Loop() {
		records, members := 0, 0
		for _, doc := range c.docs {
			if err := fastjson.ValidateBytes(doc); err != nil {
				b.Fatal(err)
			}
			v, err := p.ParseBytes(doc)
			if err != nil {
				b.Fatal(err)
			}
			fastjsonRecords(b, v, &records, &members)
		}
		c.check(b, records, members)
	}
}
