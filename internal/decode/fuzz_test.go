package decode

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"testing"

	"github.com/trawl-project/trawl/internal/event"
)

// seedInputs returns every golden input, plus inputs of the containers the
// golden cases lack (Parquet, base64 of gzip), built here to stay small.
func seedInputs(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob("testdata/*/*")
	if err != nil {
		t.Fatal(err)
	}
	in := map[string][]byte{}
	for _, p := range paths {
		if b := filepath.Base(p); b == "want.json" || b == "options.json" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		in[p] = b
	}
	in["flows.parquet"] = validParquet(t, 40)
	in["flows.b64"] = []byte(base64.StdEncoding.EncodeToString(gzipMember(t, testFlowLine+testFlowLine)))
	return in
}

// unitLog keeps the units of a decode by number, described for comparison.
type unitLog struct {
	collect
	end int64
}

func (u *unitLog) emit(b *event.Batch) error {
	u.end = b.End
	return u.collect.emit(b)
}

func (u *unitLog) described() map[int64]string {
	m := map[int64]string{}
	for _, e := range u.ct {
		m[e.Unit] = "cloudtrail " + e.Raw
	}
	for _, e := range u.dg {
		m[e.Unit] = "digest " + e.Raw
	}
	for _, e := range u.gd {
		m[e.Unit] = "finding " + e.Raw
	}
	for _, e := range u.vpc {
		m[e.Unit] = "vpcflow " + e.Raw
	}
	for _, q := range u.q {
		m[q.Record] = fmt.Sprintf("quarantine %d %d %s", q.Line, q.Offset, q.Reason)
	}
	return m
}

func decodeLog(in []byte, opt Options, skip int64) (u *unitLog, err error) {
	u = &unitLog{}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	if err := Decode(context.Background(), Object{Name: "obj", Skip: skip}, bytes.NewReader(in), opt, u.emit); err != nil {
		return u, fmt.Errorf("Decode returned %v", err)
	}
	if err := checkUnits("obj", skip, &u.collect); err != nil {
		return u, err
	}
	if n := int64(len(u.described())); u.end != skip+n && !(skip > 0 && n == 0) {
		return u, fmt.Errorf("the last batch ends at unit %d, but %d units from %d were emitted", u.end, n, skip)
	}
	return u, nil
}

// checkDecode decodes in and checks the invariants of every decode, then
// decodes it again skipping the first units (as a resumed ingest does):
// exactly the units from there on must come out, the same as before.
func checkDecode(in []byte, opt Options, skip uint64) error {
	full, err := decodeLog(in, opt, 0)
	if err != nil {
		return err
	}
	k := int64(skip % uint64(full.end+1))
	part, err := decodeLog(in, opt, k)
	if err != nil {
		return fmt.Errorf("with Skip %d: %w", k, err)
	}
	all, rest := full.described(), part.described()
	for u, d := range all {
		if u >= k && rest[u] != d {
			return fmt.Errorf("with Skip %d, unit %d is %q; without, %q", k, u, rest[u], d)
		}
	}
	if int64(len(rest)) != full.end-k || part.end != full.end {
		return fmt.Errorf("with Skip %d: %d units ending at %d; without: %d units ending at %d", k, len(rest), part.end, len(all), full.end)
	}
	return nil
}

func fuzzOptions(small bool) Options {
	if small {
		return Options{MaxRecordSize: 300, BatchUnits: 3}
	}
	return Options{}
}

// FuzzDecode runs arbitrary input through Decode, seeded with an input of
// every container and format: go test -fuzz FuzzDecode -fuzztime 60s.
func FuzzDecode(f *testing.F) {
	for _, b := range seedInputs(f) {
		f.Add(b, uint64(1), false)
		f.Add(b, uint64(2), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, skip uint64, small bool) {
		if err := checkDecode(in, fuzzOptions(small), skip); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCorruptInputs runs seeded corruptions of every seed input through the
// fuzz target's checks, so that plain go test covers them.
func TestCorruptInputs(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 0
	seeds := seedInputs(t)
	for _, name := range slices.Sorted(maps.Keys(seeds)) {
		b := seeds[name]
		if err := checkDecode(b, Options{}, r.Uint64()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for i := 0; i < 8; i++ {
			in := corrupt(r, b)
			if err := checkDecode(in, fuzzOptions(i%2 == 1), r.Uint64()); err != nil {
				t.Errorf("%s, corruption %d: %v", name, i, err)
			}
			n++
		}
	}
	t.Logf("%d corrupted inputs", n)
}
