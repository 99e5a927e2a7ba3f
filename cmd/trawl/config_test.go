package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/config"
)

// TestConfigCheck runs `trawl config example` and `trawl config check`
// in-process: output, exit codes, secrets redacted.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	call := func(stdin string, args ...string) (string, string, int) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(args, strings.NewReader(stdin), &out, &errb)
		return out.String(), errb.String(), code
	}

	out, errs, code := call("", "config", "example")
	if code != exitOK || out != config.Example || errs != "" {
		t.Fatalf("config example: exit %d, stderr %q, stdout the example: %v", code, errs, out == config.Example)
	}

	// No ./trawl.yaml: exit 1, naming the file.
	if _, errs, code := call("", "config", "check"); code != exitFailure || !strings.Contains(errs, "trawl.yaml: no such file") {
		t.Errorf("config check without trawl.yaml: exit %d, stderr %q; want 1 and the missing file", code, errs)
	}

	// The default file, the example with a secret: normalised, redacted.
	t.Setenv("TRAWL_EXTERNAL_ID", "ext-secret-42")
	example := strings.Replace(config.Example, "  # external_id: ${TRAWL_EXTERNAL_ID}", "  external_id: ${TRAWL_EXTERNAL_ID}", 1)
	example = strings.Replace(example, "  # role_arn: arn:aws:iam::111122223333:role/trawl-reader", "  role_arn: arn:aws:iam::111122223333:role/trawl-reader", 1)
	if err := os.WriteFile("trawl.yaml", []byte(example), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code = call("", "config", "check")
	if code != exitOK || errs != "" {
		t.Fatalf("config check of the example: exit %d, stderr:\n%s", code, errs)
	}
	for _, want := range []string{
		"path: " + filepath.Join(dir, "trawl.duckdb") + "\n", // resolved against the file's directory
		"external_id: REDACTED\n",
		"  - name: org-trail\n",
		"      since: -30d\n",
		"  listen: 127.0.0.1:9464\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config check output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ext-secret-42") {
		t.Errorf("config check prints the external id:\n%s", out)
	}

	// A bad file: every problem, one a line, exit 2, nothing on stdout.
	bad := filepath.Join("sub", "bad.yaml")
	if err := os.Mkdir("sub", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("store:\n  pth: x\nsources:\n  - name: a\n    s3: {prefix: p}\nmetrics:\n  listen: 0.0.0.0:9464\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code = call("", "config", "check", bad)
	wantErr := `sub/bad.yaml:2:3: store.pth: unknown key; did you mean "path"?
sub/bad.yaml:5:9: sources[0].s3.bucket: required
sub/bad.yaml:7:11: metrics.listen: "0.0.0.0:9464" is reachable from other hosts; set metrics.token, or listen on 127.0.0.1
trawl: sub/bad.yaml: 3 problems
`
	if code != exitUsage || out != "" || errs != wantErr {
		t.Errorf("config check of a bad file: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and:\n%s", code, out, errs, wantErr)
	}

	// Stdin, and usage errors.
	if out, errs, code := call("log: {format: json}\n", "config", "check", "-"); code != exitOK || !strings.Contains(out, "format: json\n") {
		t.Errorf("config check -: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	for _, args := range [][]string{{"config", "check", "a", "b"}, {"config", "example", "x"}, {"config", "chek"}} {
		if _, errs, code := call("", args...); code != exitUsage || !strings.Contains(errs, "--help") {
			t.Errorf("trawl %s: exit %d, stderr %q; want a usage error", strings.Join(args, " "), code, errs)
		}
	}
}
