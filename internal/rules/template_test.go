package rules

import (
	"testing"

	"github.com/trawl-project/trawl/internal/sigma"
)

// TestTemplateAbsent: a placeholder renders its value, "-" when the field
// is absent, or the text after | when it gives one.
func TestTemplateAbsent(t *testing.T) {
	tm, err := parseTemplate("cloudtrail", "{{eventName}} by {{principal}} ({{ errorCode |succeeded}})")
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]string{"eventName": "StopLogging"}
	get := func(f *sigma.Field) (string, bool) { v, ok := vals[f.Name()]; return v, ok }
	if got, want := tm.render(get), "StopLogging by - (succeeded)"; got != want {
		t.Errorf("render %q, want %q", got, want)
	}
	vals["errorCode"], vals["principal"] = "AccessDenied", "alice"
	if got, want := tm.render(get), "StopLogging by alice (AccessDenied)"; got != want {
		t.Errorf("render %q, want %q", got, want)
	}
	if _, err := parseTemplate("cloudtrail", "{{eventName"); err == nil {
		t.Error("an unclosed placeholder parsed")
	}
}
