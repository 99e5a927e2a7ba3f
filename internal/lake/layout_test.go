package lake

import (
	"slices"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/schema"
)

func TestTablesColumns(t *testing.T) {
	tabs := Tables()
	if len(tabs) != 3 {
		t.Fatalf("got %d tables", len(tabs))
	}
	want := map[string]int{CloudTrail: len(schema.CloudTrail) + 2, VPCFlow: len(schema.VPCFlow) + 1, GuardDuty: len(schema.Finding) + 1}
	for _, tb := range tabs {
		if got := len(tb.Columns); got != want[tb.Name] {
			t.Errorf("%s: %d columns, want %d", tb.Name, got, want[tb.Name])
		}
		if len(tb.From) != len(tb.Partitions) {
			t.Errorf("%s: From %v vs Partitions %v", tb.Name, tb.From, tb.Partitions)
		}
		seen := map[string]bool{}
		for _, c := range tb.Columns {
			if seen[c.Name] {
				t.Errorf("%s: column %s twice", tb.Name, c.Name)
			}
			seen[c.Name] = true
			if slices.Contains(tb.Partitions, c.Name) {
				t.Errorf("%s: column %s is a partition key", tb.Name, c.Name)
			}
		}
		for i, f := range tb.From {
			if tb.Partitions[i] == PartRegion && tb.Name != CloudTrail {
				continue // dropped from the data files: the path carries it
			}
			if _, ok := tb.Column(f); !ok {
				t.Errorf("%s: partition source %s is not a column", tb.Name, f)
			}
		}
		if c, ok := tb.Column("ingested_at"); !ok || c.Type != schema.Timestamp {
			t.Errorf("%s: ingested_at = %+v, %v", tb.Name, c, ok)
		}
	}
	if vf, _ := TableNamed(VPCFlow); !vf.Hourly() {
		t.Error("vpcflow is not hourly")
	}
	if _, ok := TableNamed("nope"); ok {
		t.Error("TableNamed(nope) found a table")
	}
}

func TestKeyDirAndParse(t *testing.T) {
	ts := time.Date(2024, 3, 5, 7, 59, 0, 0, time.FixedZone("x", -9*3600)) // 16:59 UTC
	cases := []struct {
		k    Key
		want string
	}{
		{Key{CloudTrail, "123456789012", "eu-west-1", ts}, "cloudtrail/account=123456789012/region=eu-west-1/dt=2024-03-05"},
		{Key{VPCFlow, "1", "us-east-1", ts}, "vpcflow/account=1/region=us-east-1/dt=2024-03-05/hour=16"},
		{Key{GuardDuty, "", "", time.Time{}}, "guardduty/account=__HIVE_DEFAULT_PARTITION__/region=__HIVE_DEFAULT_PARTITION__/dt=__HIVE_DEFAULT_PARTITION__"},
		{Key{CloudTrail, "a/b=c%", "r", ts}, "cloudtrail/account=a%2Fb%3Dc%25/region=r/dt=2024-03-05"},
	}
	for _, c := range cases {
		got := c.k.Dir()
		if got != c.want {
			t.Errorf("%+v: Dir = %q, want %q", c.k, got, c.want)
		}
		tab, names, vals, err := ParsePartitionPath(got + "/" + FileName("h-1", 3))
		if err != nil {
			t.Fatal(err)
		}
		tb, _ := TableNamed(tab)
		if tab != c.k.Table || !slices.Equal(names, tb.Partitions) || !slices.Equal(vals, c.k.Values()) {
			t.Errorf("parse %q = %s %v %v, want values %v", got, tab, names, vals, c.k.Values())
		}
	}
	for _, bad := range []string{"x/account=1", "cloudtrail/account=1/region=r", "cloudtrail/region=r/account=1/dt=d", "cloudtrail/account=%4/region=r/dt=d", "cloudtrail/account=%zz/region=r/dt=d"} {
		if _, _, _, err := ParsePartitionPath(bad); err == nil {
			t.Errorf("ParsePartitionPath(%q) succeeded", bad)
		}
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	for _, v := range []string{"", "plain-1.2_x", "a b", "\x01\"#%'*/:=?\\{[]^\x7f", "ü€"} {
		e := EscapeValue(v)
		u, err := UnescapeValue(e)
		if err != nil || u != v {
			t.Errorf("%q → %q → %q, %v", v, e, u, err)
		}
	}
	if got := EscapeValue("a:b"); got != "a%3Ab" {
		t.Errorf("EscapeValue(a:b) = %q", got)
	}
}

func TestFileName(t *testing.T) {
	n := FileName("host.example/x-42", 7)
	if n != "part-host.example_x-42-0000000007.parquet" {
		t.Fatalf("FileName = %q", n)
	}
	w, seq, ok := ParseFileName("dir/" + n)
	if !ok || w != "host.example_x-42" || seq != 7 {
		t.Errorf("ParseFileName = %q %d %v", w, seq, ok)
	}
	for _, bad := range []string{"x.parquet", "part-7.parquet", "part-a-b.parquet", "part-a-1.json"} {
		if _, _, ok := ParseFileName(bad); ok {
			t.Errorf("ParseFileName(%q) ok", bad)
		}
	}
	k := Key{CloudTrail, "1", "r", time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)}
	if got := FilePath(k, "w", 1); got != "cloudtrail/account=1/region=r/dt=2024-01-02/part-w-0000000001.parquet" {
		t.Errorf("FilePath = %q", got)
	}
}
