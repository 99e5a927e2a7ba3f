package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestUsageErrorsByType checks that bad usage is recognised by the error's
// type, not by matching cobra's wording: every case returns an *exitError
// with exitUsage from the command tree itself, and run exits 2.
func TestUsageErrorsByType(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string // in the message
	}{
		{"unknown command", []string{"ingets", "x"}, []string{`unknown command "ingets"`, "Did you mean this?", "\tingest", "trawl --help"}},
		{"unknown command, no suggestion", []string{"frobnicate"}, []string{`unknown command "frobnicate"`}},
		{"ingest without paths", []string{"ingest"}, []string{"requires at least 1 arg", "trawl ingest --help"}},
		{"query with two statements", []string{"query", "SELECT 1", "SELECT 2"}, []string{"takes the SQL as one argument", `trawl query "SELECT 1; SELECT 2"`, "trawl query --help"}},
		{"version with an argument", []string{"version", "extra"}, []string{"extra", "trawl version --help"}},
		{"demo with an argument", []string{"demo", "extra"}, []string{"extra"}},
		{"unknown flag", []string{"ingest", "--no-such-flag", "x"}, []string{"unknown flag: --no-such-flag", "trawl ingest --help"}},
		{"flag without value", []string{"query", "SELECT 1", "--format"}, []string{"--format"}},
		{"bad flag value", []string{"ingest", "--workers", "many", "x"}, []string{"--workers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			root := newRoot(&env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb})
			root.SetArgs(tc.args)
			err := root.Execute()
			var xe *exitError
			if !errors.As(err, &xe) || xe.code != exitUsage {
				t.Fatalf("%v: got %T %v, want an *exitError with code %d", tc.args, err, err, exitUsage)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v: the message lacks %q:\n%s", tc.args, w, err)
				}
			}
			errb.Reset()
			if code := run(tc.args, strings.NewReader(""), &out, &errb); code != exitUsage {
				t.Errorf("%v: run exits %d, want %d: %s", tc.args, code, exitUsage, errb.String())
			}
		})
	}
	// No arguments at all is not an error: the root command shows its help.
	var out, errb bytes.Buffer
	if code := run(nil, strings.NewReader(""), &out, &errb); code != exitOK || !strings.Contains(out.String(), "Available Commands") {
		t.Errorf("trawl without arguments: exit %d\n%s%s", code, out.String(), errb.String())
	}
}
