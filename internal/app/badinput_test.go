package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/decode/vpcflow"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// queriesOverAll read every row of every table and view, and the JSON
// that queries read out of raw.
var queriesOverAll = func() []string {
	var qs []string
	for _, t := range []string{"cloudtrail", "cloudtrail_base", "vpcflow", "guardduty_finding", "guardduty_finding_history",
		"cloudtrail_digest", "cloudtrail_digest_file", "quarantine", "ingest_warning", "ingest_ledger"} {
		qs = append(qs, "SELECT * FROM "+t)
	}
	return append(qs, `SELECT request_parameters, response_elements, raw->>'$.userAgent' FROM cloudtrail`)
}()

// corrupt returns the n-th seeded corruption of data.
func corrupt(data []byte, n int, rng *rand.Rand) []byte {
	out := append([]byte(nil), data...)
	if len(out) == 0 {
		return []byte{byte(rng.Intn(256))}
	}
	at := func() int { return rng.Intn(len(out)) }
	switch n {
	case 0: // one bit
		i := at()
		out[i] ^= 1 << rng.Intn(8)
	case 1: // a few bits
		for range 8 {
			i := at()
			out[i] ^= 1 << rng.Intn(8)
		}
	case 2: // truncated
		out = out[:at()]
	case 3: // random bytes inserted
		for range 3 {
			i := at()
			out = append(out[:i], append([]byte{byte(rng.Intn(256))}, out[i:]...)...)
		}
	case 4: // bytes deleted
		for range 3 {
			if i := at(); len(out) > 1 {
				out = append(out[:i], out[i+1:]...)
			}
		}
	case 5: // text that matters to JSON, lines and stores, mostly at a value's start
		special := []string{"\"", "\\", "{", "]", ",", "\n", "\x00", "\xff", `\ud800`, `\u0000`, "1e999", "-1e400", "99999999999999999999", "\xed\xa0\x80"}
		for range 3 {
			i := at()
			if k := bytes.Index(out[i:], []byte(`":`)); k >= 0 {
				i += k + 2
			}
			out = append(out[:i], append([]byte(special[rng.Intn(len(special))]), out[i:]...)...)
		}
	case 6: // a stretch repeated
		i, j := at(), at()
		if i > j {
			i, j = j, i
		}
		out = append(out[:j], append(append([]byte(nil), out[i:j]...), out[j:]...)...)
	default: // truncated and a bit flipped
		out = out[:at()+1]
		i := rng.Intn(len(out))
		out[i] ^= 1 << rng.Intn(8)
	}
	return out
}

// variants writes an input (v0) and 8 corruptions of it (v1–v8) under dir,
// each in its own directory with the input's name (which decoders look
// at). Of a gzip input, half the corruptions are of its content,
// compressed again.
func variants(t *testing.T, dir, name string, data []byte, seed int64) []string {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	var content []byte
	if strings.HasSuffix(name, ".gz") {
		if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
			content, _ = io.ReadAll(zr)
		}
	}
	var paths []string
	for n := -1; n < 8; n++ {
		v := data
		switch {
		case n >= 0 && content != nil && n%2 == 0:
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(corrupt(content, n, rng))
			zw.Close()
			v = b.Bytes()
		case n >= 0:
			v = corrupt(data, n, rng)
		}
		p := filepath.Join(dir, fmt.Sprintf("v%d", n+1), name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, v, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// caseOptions reads a golden case's options.json (see decode's golden test).
func caseOptions(t *testing.T, dir string) decode.Options {
	t.Helper()
	var co struct {
		Type      string `json:"type"`
		VPCFormat string `json:"vpc_format"`
		MaxRecord int    `json:"max_record_size"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "options.json")); err == nil {
		if err := json.Unmarshal(b, &co); err != nil {
			t.Fatal(err)
		}
	}
	opt := decode.Options{MaxRecordSize: co.MaxRecord}
	if co.Type != "" {
		k, ok := event.ParseKind(co.Type)
		if !ok {
			t.Fatalf("%s: bad type %q", dir, co.Type)
		}
		opt.Kind = k
	}
	if co.VPCFormat != "" {
		f, err := vpcflow.ParseFormat(co.VPCFormat)
		if err != nil {
			t.Fatal(err)
		}
		opt.VPCFormat = f
	}
	return opt
}

func ingestPaths(st *app.Store, paths []string, opt decode.Options) error {
	objs, err := file.Objects(paths, nil)
	if err != nil {
		return err
	}
	_, err = st.Ingest(context.Background(), pipeline.Objects(objs...), pipeline.Config{Decode: opt, Workers: 1})
	return err
}

// queryAll runs every query, reading every row; it returns the first error.
func queryAll(st *app.Store) error {
	for _, q := range queriesOverAll {
		if _, err := store.Collect(context.Background(), st, store.Request{SQL: q}, output.Text); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

func openApp(t *testing.T) *app.Store {
	t.Helper()
	st, err := app.Open(context.Background(), app.Options{DB: filepath.Join(t.TempDir(), "t.duckdb"), Mode: app.Ingest})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestBadInputNeverBreaksQueries ingests every golden input of the
// decoders, and seeded corruptions of each, into one store: no ingest may
// fail, and afterwards every row of every table and view must be readable.
func TestBadInputNeverBreaksQueries(t *testing.T) {
	cases, err := filepath.Glob("../decode/testdata/*")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	st := openApp(t)
	work := t.TempDir()
	for ci, dir := range cases {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		opt := caseOptions(t, dir)
		var paths []string
		for _, e := range entries {
			if n := e.Name(); n != "want.jsonl" && n != "options.json" && !e.IsDir() {
				data, err := os.ReadFile(filepath.Join(dir, n))
				if err != nil {
					t.Fatal(err)
				}
				paths = append(paths, variants(t, filepath.Join(work, filepath.Base(dir)), n, data, int64(ci))...)
			}
		}
		if err := ingestPaths(st, paths, opt); err != nil {
			t.Errorf("%s: ingest failed: %v", dir, err)
		}
		if err := queryAll(st); err != nil {
			// Name the input: each one alone in a new store.
			for _, p := range paths {
				one := openApp(t)
				if err := ingestPaths(one, []string{p}, opt); err != nil {
					t.Errorf("%s: ingest failed: %v", p, err)
				} else if err := queryAll(one); err != nil {
					t.Errorf("%s: %v", p, err)
				}
			}
			t.Fatalf("%s: %v", dir, err)
		}
	}
	for _, q := range queriesOverAll {
		duckdbtest.Rows(t, st, q)
	}
	if n := duckdbtest.Scalar(t, st, `SELECT count(*) FROM ingest_ledger`); n < int64(9*len(cases)) {
		t.Errorf("%d objects in the ledger, want at least %d", n, 9*len(cases))
	}
}
