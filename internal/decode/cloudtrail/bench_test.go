package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/jsonscan"
)

// benchRecord is a record as the decoder hands it to FromRaw: its text and
// the scanner's index of its members.
type benchRecord struct {
	raw string
	mem []jsonscan.Member
}

// benchRecords reads the records of a small generated CloudTrail data set
// (5% of them with 5–40 KB request parameters, as in make bench).
func benchRecords(b *testing.B) ([]benchRecord, int64) {
	b.Helper()
	dir := b.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Accounts, cfg.Regions, cfg.Duration, cfg.Attack = 1, []string{"us-east-1"}, time.Hour, false
	cfg.CloudTrailEvents, cfg.FlowRecords, cfg.Findings, cfg.LargeParams = 3000, -1, -1, true
	if _, err := gen.Generate(context.Background(), dir, cfg); err != nil {
		b.Fatal(err)
	}
	var recs []benchRecord
	var size int64
	sc := jsonscan.NewScanner(nil, 64<<20)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p, "/CloudTrail/") {
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
		sc.Reset(bytes.NewReader(doc))
		if err := sc.Consume('{'); err != nil {
			return err
		}
		if _, err := sc.ReadKey(); err != nil {
			return err
		}
		if err := sc.Consume('['); err != nil {
			return err
		}
		for {
			v, err := sc.ReadValue()
			if err != nil {
				return err
			}
			recs = append(recs, benchRecord{string(v.Bytes), append([]jsonscan.Member(nil), v.Members...)})
			size += int64(len(v.Bytes))
			if c, _ := sc.Peek(); c == ']' {
				return nil
			}
			sc.SkipByte()
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	return recs, size
}

// BenchmarkFromRaw builds events from records with their member index, as
// the decoder does; the time per record is ns/op divided by records/op.
func BenchmarkFromRaw(b *testing.B) {
	recs, size := benchRecords(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range recs {
			if e := FromRaw(r.raw, jsonscan.NewMemberIter(r.raw, r.mem).Next); e.EventName == "" {
				b.Fatalf("no eventName in %.200s", r.raw)
			}
		}
	}
	b.ReportMetric(float64(len(recs)), "records/op")
}
