package ruletest

import (
	"context"
	"testing"

	"github.com/trawl-project/trawl/internal/rules"
)

// TestPack runs every rule's tests in the embedded pack: each rule loads,
// its match cases match and its no_match cases do not.
func TestPack(t *testing.T) {
	set, err := rules.Load(rules.Pack())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range set.Errors {
		t.Errorf("%s: not loaded: %s", e.File, e.Reason)
	}
	if len(set.Rules) < 20 {
		t.Errorf("the pack has %d rules", len(set.Rules))
	}
	for _, res := range Run(context.Background(), set.Rules, t.TempDir()) {
		for _, f := range res.Failures {
			t.Errorf("%s (%s): %s", res.Rule.ID, res.Rule.File, f)
		}
		if res.Skipped != "" {
			t.Logf("%s: skipped: %s", res.Rule.ID, res.Skipped)
		}
		if res.Skipped == "" && res.Cases < 2 {
			t.Errorf("%s: %d test cases", res.Rule.ID, res.Cases)
		}
	}
}
