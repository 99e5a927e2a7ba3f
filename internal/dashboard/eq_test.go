package dashboard

import (
	"slices"
	"testing"

	"github.com/trawl-project/trawl/internal/search"
)

// TestEqRoundTrips checks that a click-through term for any value —
// quotes, backslashes, wildcards, operators, unicode, the empty string —
// compiles to an equality with exactly that value as its bound argument.
func TestEqRoundTrips(t *testing.T) {
	for _, v := range []string{"", "plain", `a"b`, `a\b`, `\`, `"`, `\"`, "x*y?z", "a OR b", "NOT x", "(x)", "x:y", "arn:aws:iam::1:user/a b",
		"Mozilla/5.0 (X11; Linux x86_64) \"quoted\" \\path", "ünïcödé ✓", "new\nline", "tab\there", "<script>alert(1)</script>", "10.0.0.0/8"} {
		q := eq("userAgent", v)
		c, err := search.ParseCompile(q, search.Options{Table: search.CloudTrail})
		if err != nil {
			t.Errorf("%q → %s: %v", v, q, err)
			continue
		}
		if c.Where != "((user_agent = ?))" || !slices.Equal(c.Args, []any{v}) {
			t.Errorf("%q → %s → %s %v", v, q, c.Where, c.Args)
		}
	}
	for _, c := range []struct {
		field string
		v     any
		where string
		args  []any
	}{
		{"userAgent", nil, "((NOT coalesce((user_agent IS NOT NULL), false)))", nil},
		{"dstport", int32(443), "((dstport = ?))", []any{int64(443)}},
		{"severity", 7.5, "((severity = ?))", []any{7.5}},
		{"archived", true, "((archived = true))", nil},
	} {
		tb := search.CloudTrail
		switch c.field {
		case "dstport":
			tb = search.VPCFlow
		case "severity", "archived":
			tb = search.GuardDuty
		}
		q := eq(c.field, c.v)
		comp, err := search.ParseCompile(q, search.Options{Table: tb})
		if err != nil {
			t.Errorf("%v → %s: %v", c.v, q, err)
			continue
		}
		if comp.Where != c.where || !slices.Equal(comp.Args, c.args) {
			t.Errorf("%v → %s → %s %v, want %s %v", c.v, q, comp.Where, comp.Args, c.where, c.args)
		}
	}
}
