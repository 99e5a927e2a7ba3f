package file

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestListInTimeOrder: AWS delivery files of several accounts and regions
// are listed by the time in their names (then date folders, then path),
// not account by account.
func TestListInTimeOrder(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		"AWSLogs/111111111111/CloudTrail/us-east-1/2026/11/02/111111111111_CloudTrail_us-east-1_20261102T0005Z_a.json.gz",
		"AWSLogs/111111111111/CloudTrail/us-east-1/2026/11/01/111111111111_CloudTrail_us-east-1_20261101T2355Z_b.json.gz",
		"AWSLogs/222222222222/CloudTrail/eu-west-1/2026/11/01/222222222222_CloudTrail_eu-west-1_20261101T0000Z_c.json.gz",
		"AWSLogs/222222222222/vpcflowlogs/eu-west-1/2026/11/02/222222222222_vpcflowlogs_eu-west-1_fl-0abc_20261102T0000Z_d.log.gz",
		"AWSLogs/222222222222/GuardDuty/eu-west-1/2026/11/01/finding.jsonl.gz",
		"notes/readme.txt",
		"other/b.json",
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := List(context.Background(), []string{dir}, nil)
	if len(l.Problems) > 0 {
		t.Fatal(l.Problems)
	}
	var got []string
	for _, o := range l.Objects {
		got = append(got, filepath.Base(o.Name))
	}
	want := []string{
		"readme.txt", "b.json", // no time: first, by path
		"222222222222_CloudTrail_eu-west-1_20261101T0000Z_c.json.gz",
		"finding.jsonl.gz", // 2026/11/01 folder: midnight, after c by path
		"111111111111_CloudTrail_us-east-1_20261101T2355Z_b.json.gz",
		"222222222222_vpcflowlogs_eu-west-1_fl-0abc_20261102T0000Z_d.log.gz",
		"111111111111_CloudTrail_us-east-1_20261102T0005Z_a.json.gz",
	}
	if !slices.Equal(got, want) {
		t.Errorf("order:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
