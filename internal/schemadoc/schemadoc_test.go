package schemadoc

import "testing"

const sample = "# Schema\n\n## `thing` (view) and `thing_base`\n\nOne row per thing,\nde-duplicated.\n\n" +
	"| column | type | from the record |\n| --- | --- | --- |\n" +
	"| `a`, `b` | VARCHAR (JSON text) | two | columns |\n| `c` | BIGINT, computed | counted |\n| `raw` | VARCHAR | the text |\n\n" +
	"## `thing_base`\n\n| column | type | meaning |\n| --- | --- | --- |\n| `a` | VARCHAR | |\n| `raw` | VARCHAR | as everywhere |\n" +
	"\n## `cloudtrail`\n\n| column | type | x |\n|---|---|---|\n| `raw` | VARCHAR | the record as delivered |\n"

func TestParseAndDescribe(t *testing.T) {
	s := Parse(sample)
	th := s["thing"]
	if th == nil || th.Intro != "One row per thing, de-duplicated." || len(th.Tables) != 2 {
		t.Fatalf("section: %+v", th)
	}
	if c := th.Columns["b"]; c.Type != "VARCHAR" || c.Description != "two|columns" || c.Computed || c.Line != 10 {
		t.Errorf("b: %+v", c)
	}
	if c := th.Columns["c"]; c.Type != "BIGINT" || !c.Computed {
		t.Errorf("c: %+v", c)
	}
	if len(th.Columns) != 4 {
		t.Errorf("columns: %v", th.Columns)
	}
	for _, tc := range []struct{ table, col, want string }{
		{"thing", "a", "two|columns"},
		{"thing_base", "a", "two|columns"}, // empty: the view's
		{"thing_base", "raw", "the text"},  // "as everywhere": the view's first
		{"thing", "nosuch", ""},
		{"nosuch", "a", ""},
	} {
		if got := Describe(s, tc.table, tc.col); got != tc.want {
			t.Errorf("Describe(%s, %s) = %q, want %q", tc.table, tc.col, got, tc.want)
		}
	}
}
