package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunBadConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "trawl.yaml")
	if err := os.WriteFile(cfg, []byte("store:\n  path: t.duckdb\nsourcs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := trawl(t, nil, "run", "--config", cfg)
	if code != exitUsage || !strings.Contains(stderr, "trawl.yaml:3:1") || !strings.Contains(stderr, "sources") {
		t.Errorf("bad config: exit %d: %s", code, stderr)
	}
	_, stderr, code = trawl(t, nil, "run", "--config", filepath.Join(dir, "missing.yaml"))
	if code != exitFailure || !strings.Contains(stderr, "missing.yaml") {
		t.Errorf("missing config: exit %d: %s", code, stderr)
	}
	if err := os.WriteFile(cfg, []byte("store:\n  path: t.duckdb\nsources: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = trawl(t, nil, "run", "--config", cfg, "--log-format", "xml")
	if code != exitUsage || !strings.Contains(stderr, "--log-format") {
		t.Errorf("bad --log-format: exit %d: %s", code, stderr)
	}
	_, stderr, code = trawl(t, nil, "run", "--config", cfg, "--once")
	if code != exitFailure || !strings.Contains(stderr, "no enabled source") {
		t.Errorf("no sources: exit %d: %s", code, stderr)
	}
	// The rules: section is checked when run starts, and by config check.
	bad := "store:\n  path: t.duckdb\nrules:\n  override:\n    aws-vpcflow-port-scn: {level: high}\n  watch:\n    - {name: a, principal: alice}\n"
	if err := os.WriteFile(cfg, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"run", "--config", cfg, "--once"}, {"config", "check", cfg}} {
		_, stderr, code = trawl(t, nil, args...)
		if code != exitUsage || !strings.Contains(stderr, `no rule has id "aws-vpcflow-port-scn"`) {
			t.Errorf("%v with a bad override: exit %d: %s", args, code, stderr)
		}
	}
}
