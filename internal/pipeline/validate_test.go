package pipeline_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/event"
)

func gdFinding(id, times string) string {
	return fmt.Sprintf(`{"schemaVersion":"2.0","accountId":"111122223333","region":"us-east-1","id":"%s","type":"Recon:EC2/PortProbeUnprotectedPort","severity":5,%s"resource":{"resourceType":"Instance"}}`, id, times)
}

// TestImpossibleValuesCommitTheRest: values no store can hold become NULL
// with a warning, a record without a required value is quarantined alone,
// and everything else of the ingest is stored, once.
func TestImpossibleValuesCommitTheRest(t *testing.T) {
	dir := t.TempDir()
	flows := flowHeader + flowLines(0, 300) +
		"2 111122223333 eni-0123 10.0.0.1 10.0.1.1 5000 443 6 1 60 1793613000 99999999999999 ACCEPT OK\n" +
		"2 111122223333 eni-0123 10.0.0.2 10.0.1.1 5001 443 6 1 60 -99999999999999 1793613060 ACCEPT OK\n" +
		flowLines(300, 600)
	writeString(t, filepath.Join(dir, "flows.log"), flows)
	var gd strings.Builder
	for i := 0; i < 100; i++ {
		gd.WriteString(gdFinding(fmt.Sprintf("good-%d", i), `"createdAt":"2026-11-02T10:00:00Z","updatedAt":"2026-11-02T11:00:00Z",`) + "\n")
		if i == 50 {
			gd.WriteString(gdFinding("far-updated", `"createdAt":"2026-11-02T10:00:00Z","updatedAt":1e20,`) + "\n")
			gd.WriteString(gdFinding("no-times", `"createdAt":"someday","updatedAt":1e20,`) + "\n")
		}
	}
	writeString(t, filepath.Join(dir, "findings.jsonl"), gd.String())
	var ct strings.Builder
	for i := 0; i < 500; i++ {
		ct.WriteString(ctRecord(i) + "\n")
	}
	writeString(t, filepath.Join(dir, "ct.json"), ct.String())

	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	res, _ := reingest(t, st, dir, false)
	if res.Records[event.KindVPCFlow] != 602 || res.Records[event.KindGuardDuty] != 101 || res.Records[event.KindCloudTrail] != 500 || res.Quarantined != 1 || len(res.Failed) != 0 {
		t.Fatalf("first run: %+v failed %v", res.Progress, res.Failed)
	}
	want := map[string]int64{
		`SELECT count(*) FROM vpcflow`: 602,
		`SELECT count(*) FROM vpcflow WHERE srcport = 5000 AND end_time IS NULL AND start_time IS NOT NULL`: 1,
		`SELECT count(*) FROM vpcflow WHERE srcport = 5001 AND start_time IS NULL AND end_time IS NOT NULL`: 1,
		`SELECT count(*) FROM cloudtrail`:                                                                                        500,
		`SELECT count(*) FROM guardduty_finding_history`:                                                                         101,
		`SELECT count(*) FROM guardduty_finding WHERE id = 'far-updated' AND updated_at = created_at`:                            1,
		`SELECT count(*) FROM ingest_warning WHERE kind = 'vpcflow' AND field = 'end' AND reason LIKE '%99999999999999%'`:        1,
		`SELECT count(*) FROM ingest_warning WHERE kind = 'vpcflow' AND field = 'start' AND reason LIKE '%-99999999999999%'`:     1,
		`SELECT count(*) FROM ingest_warning WHERE kind = 'guardduty' AND field = 'updatedAt' AND reason LIKE '%1e20%'`:          1,
		`SELECT count(*) FROM quarantine`:                                                                                        1,
		`SELECT count(*) FROM quarantine WHERE kind = 'guardduty' AND snippet LIKE '%"no-times"%' AND reason LIKE '%updatedAt%'`: 1,
	}
	check := func(when string) {
		t.Helper()
		for q, n := range want {
			if got := scalar(t, st, q); got != n {
				t.Errorf("%s: %s: %d, want %d", when, q, got, n)
			}
		}
	}
	check("first run")
	// Nothing is stored twice: not by a plain re-run, not after a touch.
	if res, _ := reingest(t, st, dir, false); res.Stored() != 0 || res.ObjectsSkipped != 3 {
		t.Errorf("re-run: %+v", res.Progress)
	}
	for _, name := range []string{"flows.log", "findings.jsonl", "ct.json"} {
		later(t, filepath.Join(dir, name))
	}
	if res, _ := reingest(t, st, dir, false); res.Stored() != 0 || res.ObjectsSkipped != 3 {
		t.Errorf("re-run after touch: %+v", res.Progress)
	}
	check("re-runs")
}
