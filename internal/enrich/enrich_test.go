package enrich

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/trawl-project/trawl/internal/enrich/geo"
	"github.com/trawl-project/trawl/internal/enrich/geo/geobuild"
	"github.com/trawl-project/trawl/internal/enrich/useragent"
	"github.com/trawl-project/trawl/internal/event"
)

func openDB(t testing.TB, nets []geobuild.Net) *geo.DB {
	t.Helper()
	f, err := geobuild.Write(t.TempDir(), nets)
	if err != nil {
		t.Fatal(err)
	}
	d, err := geo.Open(geo.Paths{City: f.City, ASN: f.ASN})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// flow returns a flow record with srcaddr and dstaddr set as spans of Raw,
// as the decoder sets them.
func flow(src, dst string) event.VPCFlow {
	raw := "2 123456789012 eni-0a1b2c3d " + src + " " + dst + " 443 51000 6 10 5000 1793613000 1793613060 ACCEPT OK"
	var f event.VPCFlow
	f.Raw = raw
	off := strings.Index(raw, src)
	f.SetStr(event.FlowSrcAddr, off, len(src))
	f.SetStr(event.FlowDstAddr, off+len(src)+1, len(dst))
	return f
}

func geoStr(g *event.Geo) string {
	if g == nil {
		return "-"
	}
	return fmt.Sprintf("%s/%s/%d", g.Country, g.City, g.ASN)
}

func TestProcess(t *testing.T) {
	d := openDB(t, []geobuild.Net{
		{Prefix: netip.MustParsePrefix("81.2.69.0/24"), Country: "GB", City: "London", ASN: 20712, ASOrg: "Andrews & Arnold Ltd"},
		{Prefix: netip.MustParsePrefix("185.220.101.0/24"), Country: "DE", City: "Berlin", ASN: 60729},
	})
	e := New(d, useragent.New())
	b := &event.Batch{
		CloudTrail: []event.CloudTrail{
			{EventID: "1", SourceIP: "81.2.69.142", UserAgent: "aws-cli/2.13.0 Python/3.11.4 Linux/5.15.0"},
			{EventID: "2", SourceIP: "81.2.69.142", UserAgent: "aws-cli/2.13.0 Python/3.11.4 Linux/5.15.0"}, // repeats: reused
			{EventID: "3", SourceIP: "s3.amazonaws.com", UserAgent: "s3.amazonaws.com"},
			{EventID: "4", SourceIP: "185.220.101.7"},
			{EventID: "5"},
		},
		VPCFlow: []event.VPCFlow{flow("185.220.101.7", "10.0.0.5"), flow("185.220.101.7", "10.0.0.6"), flow("10.0.0.5", "81.2.69.142"), flow("10.0.0.5", "10.0.0.6")},
	}
	if err := e.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range b.CloudTrail {
		got = append(got, geoStr(r.SrcGeo)+" "+r.UA.UAClass()+"/"+r.UA.UAFamily()+"/"+r.UA.UAVersion())
	}
	for _, r := range b.VPCFlow {
		got = append(got, geoStr(r.SrcGeo)+" > "+geoStr(r.DstGeo))
	}
	want := []string{
		"GB/London/20712 aws-cli/aws-cli/2.13.0",
		"GB/London/20712 aws-cli/aws-cli/2.13.0",
		"- aws-service/s3.amazonaws.com/",
		"DE/Berlin/60729 //",
		"- //",
		"DE/Berlin/60729 > -",
		"DE/Berlin/60729 > -",
		"- > GB/London/20712",
		"- > -",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("enriched:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Only user agents; only geo; nothing.
	for _, tc := range []struct {
		e          *Enricher
		geo, class bool
	}{{New(nil, useragent.New()), false, true}, {New(d, nil), true, false}} {
		b := &event.Batch{CloudTrail: []event.CloudTrail{{SourceIP: "81.2.69.142", UserAgent: "aws-cli/2.13.0"}}}
		if err := tc.e.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if (b.CloudTrail[0].SrcGeo != nil) != tc.geo || (b.CloudTrail[0].UA != nil) != tc.class {
			t.Errorf("geo %v, class %v: got %+v", tc.geo, tc.class, b.CloudTrail[0])
		}
	}
}

// TestProcessConcurrent runs several batches through one Enricher at once,
// as the pipeline's workers do, and checks every record.
func TestProcessConcurrent(t *testing.T) {
	d := openDB(t, geobuild.Synthetic())
	e := New(d, useragent.New())
	addrs := pool(2000)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range 20 {
				b := batch(r, addrs, 1000)
				if err := e.Process(context.Background(), b); err != nil {
					t.Error(err)
					return
				}
				for i := range b.VPCFlow {
					f := &b.VPCFlow[i]
					if want := d.LookupString(f.Str(event.FlowSrcAddr)); f.SrcGeo != want {
						t.Errorf("%s: %s, want %s", f.Str(event.FlowSrcAddr), geoStr(f.SrcGeo), geoStr(want))
						return
					}
					if want := d.LookupString(f.Str(event.FlowDstAddr)); f.DstGeo != want {
						t.Errorf("%s: %s, want %s", f.Str(event.FlowDstAddr), geoStr(f.DstGeo), geoStr(want))
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// pool returns n addresses: a VPC's private ones and public ones, as flow
// logs see them.
func pool(n int) []string {
	r := rand.New(rand.NewPCG(7, 7))
	var addrs []string
	for i := range n {
		if i%3 == 0 {
			addrs = append(addrs, fmt.Sprintf("10.%d.%d.%d", r.IntN(4), r.IntN(16), r.IntN(250)+2))
		} else {
			addrs = append(addrs, fmt.Sprintf("%d.%d.%d.%d", r.IntN(220)+1, r.IntN(256), r.IntN(256), r.IntN(250)+2))
		}
	}
	return addrs
}

// batch returns n flows between addresses of the pool: one side private,
// the other mostly from a small set of busy peers.
func batch(r *rand.Rand, addrs []string, n int) *event.Batch {
	b := &event.Batch{}
	for range n {
		a, c := addrs[3*r.IntN(len(addrs)/3)], addrs[r.IntN(len(addrs))]
		if r.IntN(2) == 0 {
			a, c = c, a
		}
		b.VPCFlow = append(b.VPCFlow, flow(a, c))
	}
	return b
}

// BenchmarkProcessFlows is the enrichment cost per flow record, with the
// synthetic GeoLite2-shaped databases and a realistic repeat rate.
func BenchmarkProcessFlows(b *testing.B) {
	d := openDB(b, geobuild.Synthetic())
	e := New(d, nil)
	r := rand.New(rand.NewPCG(1, 2))
	addrs := pool(5000)
	batches := make([]*event.Batch, 16)
	for i := range batches {
		batches[i] = batch(r, addrs, 4096)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; b.Loop(); i++ {
		bt := batches[i%len(batches)]
		if err := e.Process(context.Background(), bt); err != nil {
			b.Fatal(err)
		}
		n += len(bt.VPCFlow)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
}
