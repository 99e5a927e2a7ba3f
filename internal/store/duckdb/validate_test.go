package duckdb

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/schema"
)

// TestWriteValidates: a batch that did not go through schema.Validate (a
// processor or another caller built it) with a time no store can hold is
// written anyway: the value is NULL with a warning, the rest of the
// transaction commits.
func TestWriteValidates(t *testing.T) {
	st, _ := openTemp(t)
	tx := mustTx(t, st)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	far := time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)
	bad := ctEvent("e-bad", t0, "CreateUser")
	bad.EventTime = far
	f := mkFinding("f1", t0, 5, 1)
	f.LastSeen = far
	b := &event.Batch{Object: "o1",
		CloudTrail: []event.CloudTrail{ctEvent("e1", t0, "ListUsers"), bad},
		VPCFlow: []event.VPCFlow{
			flowRec("good", func(r *event.VPCFlow) { r.SetStart(1793613000); r.SetEnd(1793613060) }),
			flowRec("bad end", func(r *event.VPCFlow) { r.SetStart(1793613000); r.SetEnd(99999999999999) }),
			flowRec("bad start", func(r *event.VPCFlow) { r.SetStart(-99999999999999) }),
		},
		Findings: []event.Finding{f},
	}
	if err := tx.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int64{
		`SELECT count(*) FROM cloudtrail_base`:                                        2,
		`SELECT count(*) FROM vpcflow`:                                                3,
		`SELECT count(*) FROM vpcflow WHERE raw = 'bad end' AND end_time IS NULL`:     1,
		`SELECT count(*) FROM vpcflow WHERE raw = 'bad start' AND start_time IS NULL`: 1,
		`SELECT count(*) FROM guardduty_finding_history WHERE last_seen IS NULL`:      1,
		`SELECT count(*) FROM ingest_warning WHERE object = 'o1'`:                     4,
		`SELECT count(*) FROM vpcflow WHERE raw = 'good' AND end_time IS NOT NULL`:    1,
	} {
		if n := count(t, st, q); n != want {
			t.Errorf("%s: %d, want %d", q, n, want)
		}
	}
}

// BenchmarkWriteFlows measures Tx.Write of a batch of flow records, and
// schema.Validate alone, which Write runs on every batch.
func BenchmarkWriteFlows(b *testing.B) {
	recs := make([]event.VPCFlow, 1024)
	for i := range recs {
		recs[i] = flowRec("2 111122223333 eni-0123 10.0.0.1 10.0.1.1 1024 443 6 1 60 1793613000 1793613060 ACCEPT OK", func(r *event.VPCFlow) {
			for _, f := range []int{event.FlowVersion, event.FlowSrcPort, event.FlowDstPort, event.FlowProtocol, event.FlowPackets, event.FlowBytes} {
				r.SetInt(f, 60)
			}
			r.SetStart(1793613000)
			r.SetEnd(1793613060)
		})
	}
	b.Run("validate", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			schema.Validate(&event.Batch{Object: "o", VPCFlow: recs})
		}
	})
	// With enrichment: one side of every flow has GeoIP data.
	geoRecs := slices.Clone(recs)
	for i := range geoRecs {
		g := &event.Geo{Country: "US", City: "Ashburn", ASN: 14618 + uint32(i%4), ASOrg: "AMAZON-AES"}
		if i%2 == 0 {
			geoRecs[i].SrcGeo = g
		} else {
			geoRecs[i].DstGeo = g
		}
	}
	for _, bc := range []struct {
		name string
		recs []event.VPCFlow
	}{{"write", recs}, {"write-geo", geoRecs}} {
		b.Run(bc.name, func(b *testing.B) { benchWrite(b, bc.recs) })
	}
}

func benchWrite(b *testing.B, recs []event.VPCFlow) {
	{
		path := filepath.Join(b.TempDir(), "t.duckdb")
		st, err := Open(ctx, path, Options{MemoryLimit: "256MB", Threads: 1})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		tx, err := st.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer tx.Rollback()
		for i := 0; i < b.N; i++ {
			if err := tx.Write(ctx, &event.Batch{Object: "o", VPCFlow: recs}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := tx.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
