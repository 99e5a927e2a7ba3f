package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSizeFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64 // 0: a usage error is expected
	}{
		{"1048576", 1 << 20},
		{"32MiB", 32 << 20},
		{"32mib", 32 << 20},
		{"1.5GiB", 3 << 29},
		{"10TB", 10_000_000_000_000},
		{"64MB", 64_000_000},
		{" 512 KiB ", 512 << 10},
		{"9999999999G", 0}, // overflows int64
		{"1zz", 0},
		{"-5MB", 0},
		{"0", 0},
		{"0.1B", 0},
		{"", 0},
		{"MiB", 0},
	} {
		got, err := parseSizeFlag("max-record-size", tc.in, 1)
		if tc.want == 0 {
			var xe *exitError
			if !errors.As(err, &xe) || xe.code != exitUsage || !strings.Contains(err.Error(), "--max-record-size") {
				t.Errorf("%q: got %d, %v; want a usage error naming --max-record-size", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	if _, err := parseSizeFlag("memory-limit", "1MB", minMemoryLimit); err == nil || !strings.Contains(err.Error(), "at least 16 MiB") {
		t.Errorf("a memory limit below the minimum: %v", err)
	}
}

// TestBadSizeFlags checks that bad size values end the command with exit 2
// and a message naming the flag as the user typed it, before DuckDB sees them.
func TestBadSizeFlags(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "ct.json")
	writeFile(t, good, strings.ReplaceAll(ctLine, "%s", "x")+"\n")
	db := filepath.Join(dir, "t.duckdb")
	for _, args := range [][]string{
		{"--memory-limit", "1zz"},
		{"--memory-limit", "9999999999G"},
		{"--memory-limit", "0"},
		{"--max-record-size", "1zz"},
		{"--max-record-size", "9999999999G"},
		{"--max-record-size", "0"},
	} {
		_, stderr, code := trawl(t, nil, append(append([]string{"ingest", "--db", db}, args...), good)...)
		if code != exitUsage || !strings.Contains(stderr, args[0]) || strings.Contains(stderr, "memory_limit") {
			t.Errorf("%v: exit %d, want %d and a message naming %s: %s", args, code, exitUsage, args[0], stderr)
		}
	}
	out, stderr, code := trawl(t, nil, "ingest", "--db", db, "--memory-limit", "1.5GiB", "--max-record-size", "32mib", good)
	if code != exitOK {
		t.Errorf("good size flags: exit %d\n%s%s", code, out, stderr)
	}
}
