package rules_test

import (
	"context"
	"testing"

	"github.com/trawl-project/trawl/internal/corpustest"
	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/rules"
	"github.com/trawl-project/trawl/internal/sigma"
	"github.com/trawl-project/trawl/internal/source/file"
)

// benchData generates a demo data set (background activity and the
// attack) and decodes it into records.
func benchData(b *testing.B) (ct []event.CloudTrail, flows []event.VPCFlow) {
	dir := b.TempDir()
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents, cfg.FlowRecords = 20000, 50000
	if _, err := gen.Generate(context.Background(), dir, cfg); err != nil {
		b.Fatal(err)
	}
	objs, err := file.Objects([]string{dir}, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, o := range objs {
		r, err := o.Open(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		err = decode.Decode(context.Background(), decode.Object{Name: o.Name, Key: o.Key}, r, decode.Options{}, func(bt *event.Batch) error {
			ct = append(ct, bt.CloudTrail...)
			flows = append(flows, bt.VPCFlow...)
			return nil
		})
		r.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	return ct, flows
}

// benchRules is the pack plus every SigmaHQ AWS CloudTrail rule of the
// corpus, standing in for a full CloudTrail pack.
func benchRules(b *testing.B) []*rules.Rule {
	set, err := rules.Load(rules.Pack())
	if err != nil {
		b.Fatal(err)
	}
	all := set.Rules
	srs, _, err := sigma.LoadDir(corpustest.Sub(b, "sigma"))
	if err != nil {
		b.Fatal(err)
	}
	for _, sr := range srs {
		all = append(all, rules.FromSigma(sr, "corpus"))
	}
	return all
}

// BenchmarkEngine runs the streaming engine with the whole pack (and the
// SigmaHQ CloudTrail rules) on decoded demo records, in batches of 1,024,
// and reports events/s on one core and ns per event. "unindexed" evaluates
// every CloudTrail rule on every event, as without the eventName index.
func BenchmarkEngine(b *testing.B) {
	ct, flows := benchData(b)
	all := benchRules(b)
	run := func(b *testing.B, eng *rules.Engine, n int, fill func(bt *event.Batch, i int)) {
		b.ReportAllocs()
		bt := &event.Batch{Object: "bench"}
		events := 0
		for b.Loop() {
			for i := 0; i < n; i += 1024 {
				bt.CloudTrail, bt.VPCFlow, bt.Hits = nil, nil, bt.Hits[:0]
				fill(bt, i)
				if err := eng.Process(context.Background(), bt); err != nil {
					b.Fatal(err)
				}
				events += bt.Rows()
			}
		}
		b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
	}
	ctFill := func(bt *event.Batch, i int) { bt.CloudTrail = ct[i:min(i+1024, len(ct))] }
	flowFill := func(bt *event.Batch, i int) { bt.VPCFlow = flows[i:min(i+1024, len(flows))] }
	pack, err := rules.Load(rules.Pack())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cloudtrail-pack", func(b *testing.B) { run(b, rules.NewEngine(pack.Rules, nil), len(ct), ctFill) })
	b.Run("cloudtrail", func(b *testing.B) { run(b, rules.NewEngine(all, nil), len(ct), ctFill) })
	b.Run("cloudtrail-unindexed", func(b *testing.B) {
		// Every CloudTrail rule evaluated on every event.
		var unpinned []*rules.Rule
		for _, r := range all {
			if r.Sigma != nil && r.LogType == event.KindCloudTrail {
				unpinned = append(unpinned, r)
			}
		}
		bt := &event.Batch{}
		b.ReportAllocs()
		events := 0
		for b.Loop() {
			for i := range ct {
				for _, r := range unpinned {
					if r.Sigma.Match(&ct[i]) {
						bt.Hits = append(bt.Hits, rules.CloudTrailHit(r, &ct[i]))
					}
				}
				events++
			}
			bt.Hits = bt.Hits[:0]
		}
		b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
	})
	b.Run("vpcflow", func(b *testing.B) { run(b, rules.NewEngine(all, nil), len(flows), flowFill) })
	eng := rules.NewEngine(all, nil)
	bt := &event.Batch{CloudTrail: ct}
	_ = eng.Process(context.Background(), bt)
	pe := rules.NewEngine(pack.Rules, nil)
	pb := &event.Batch{CloudTrail: ct}
	_ = pe.Process(context.Background(), pb)
	b.Logf("pack: %s, %d hits; with SigmaHQ: %d rules (%s), %d CloudTrail events with %d hits, %d flow records",
		pe, len(pb.Hits), len(all), eng, len(ct), len(bt.Hits), len(flows))
}
