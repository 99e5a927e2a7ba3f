package decode

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/corpustest"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/gen"
)

// identityInput is one object of the identity tests.
type identityInput struct {
	name    string
	content []byte
}

// identityInputs reads every file under dir, in name order.
func identityInputs(t *testing.T, dir string) []identityInput {
	t.Helper()
	var in []identityInput
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(p) == "want.jsonl" || filepath.Base(p) == "options.json" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		in = append(in, identityInput{name: filepath.ToSlash(rel), content: b})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(in, func(i, j int) bool { return in[i].name < in[j].name })
	return in
}

// generatedInputs generates (once per test binary) a small data set of
// every log type with the attack story, large request parameters and
// duplicate deliveries.
var generatedInputs = sync.OnceValues(func() (string, error) {
	generated = true
	dir, err := os.MkdirTemp("", "trawl-decode-identity-")
	if err != nil {
		return "", err
	}
	cfg := gen.DefaultConfig()
	cfg.Accounts, cfg.Duration = 2, 6*time.Hour
	cfg.CloudTrailEvents, cfg.FlowRecords, cfg.Findings, cfg.LargeParams = 4000, 3000, 20, true
	_, err = gen.Generate(context.Background(), dir, cfg)
	return dir, err
})

// TestMain removes the generated data set after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if generated {
		if dir, err := generatedInputs(); err == nil {
			os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}

// generated is set once generatedInputs ran.
var generated bool

// identityOptions are the option sets each input is decoded with: the
// defaults, small batches (records crossing batch boundaries) with a
// resumed object, and a small record limit with a --type.
var identityOptions = []struct {
	opt  Options
	skip int64
}{
	{Options{}, 0},
	{Options{BatchUnits: 7, BatchBytes: 4096}, 3},
	{Options{MaxRecordSize: 2048, Kind: event.KindCloudTrail}, 0},
}

// writeDecoded decodes one input with dec and writes every emitted batch
// in full (records with their raw text, quarantine entries, warnings,
// End and Text) to h.
func writeDecoded(t *testing.T, h hash.Hash, dec *Decoder, in identityInput, skip int64) {
	t.Helper()
	fmt.Fprintf(h, "object %s skip %d\n", in.name, skip)
	err := dec.Decode(context.Background(), Object{Name: in.name, Key: in.name, Skip: skip}, bytes.NewReader(in.content), func(b *event.Batch) error {
		writeBatch(h, b)
		event.PutBatch(b)
		return nil
	})
	fmt.Fprintf(h, "error %v\n", err)
}

// writeBatch writes a batch's every field; an empty slice is written as a
// nil one (pooled batches keep their slices' capacity).
func writeBatch(h hash.Hash, b *event.Batch) {
	fmt.Fprintf(h, "batch %q end %d text %d\n", b.Object, b.End, b.Text)
	for i := range b.CloudTrail {
		fmt.Fprintf(h, "%#v\n", b.CloudTrail[i])
	}
	for i := range b.VPCFlow {
		fmt.Fprintf(h, "%#v\n", b.VPCFlow[i])
	}
	for i := range b.Findings {
		fmt.Fprintf(h, "%#v\n", b.Findings[i])
	}
	for i := range b.Digests {
		fmt.Fprintf(h, "%#v\n", b.Digests[i])
	}
	for i := range b.Quarantined {
		fmt.Fprintf(h, "%#v\n", b.Quarantined[i])
	}
	for i := range b.Warnings {
		fmt.Fprintf(h, "%#v\n", b.Warnings[i])
	}
	for i := range b.Hits {
		fmt.Fprintf(h, "%#v\n", b.Hits[i])
	}
}

// decodedDigest decodes the inputs with each option set, one decoder per
// option set reused for every input (as the pipeline does), and returns
// the SHA-256 of everything emitted.
func decodedDigest(t *testing.T, inputs []identityInput) string {
	t.Helper()
	h := sha256.New()
	for _, o := range identityOptions {
		dec := New(o.opt)
		for _, in := range inputs {
			writeDecoded(t, h, dec, in, o.skip)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestDecodedIdentity pins the decoder's complete output (every field of
// every record, quarantine entry and warning, and the batch boundaries)
// for the testdata cases, a generated data set and the shared corpus. The
// digests were recorded before the decoder's buffers were pooled and its
// allocations cut: speed work must leave them unchanged. A deliberate
// change of the decoder's output changes them too: check the golden tests
// and the corpus tests first, then update the constants with the digests
// this test prints.
func TestDecodedIdentity(t *testing.T) {
	gdir, err := generatedInputs()
	if err != nil {
		t.Fatal(err)
	}
	sets := []struct {
		name, dir, want string
	}{
		{"testdata", "testdata", "08b7aa1da9434410747b2b9a5f51bebc9b5e0e035c99c0ec3dcbfa5887b94ee6"},
		{"generated", gdir, "1357a55ed1f6d07e21965e3c1877c05a5acebff94b532012474a15a9850d940a"},
		{"corpus", corpustest.Dir(t), "a213f2f7e7dbb6a2f1beb52ee475b4c73b3c61c977b18f4ba3fd8833ef964e43"},
	}
	for _, s := range sets {
		inputs := identityInputs(t, s.dir)
		if len(inputs) == 0 {
			t.Fatalf("%s: no inputs in %s", s.name, s.dir)
		}
		if got := decodedDigest(t, inputs); got != s.want {
			t.Errorf("%s (%d objects): decoded output digest %s, want %s", s.name, len(inputs), got, s.want)
		}
	}
}

// TestDecoderReuse checks that a decoder reused for many objects, also
// from several goroutines at once, decodes each exactly as a fresh
// decoder does: nothing of one object (pooled buffers, scanner or gzip
// state) leaks into the next.
func TestDecoderReuse(t *testing.T) {
	gdir, err := generatedInputs()
	if err != nil {
		t.Fatal(err)
	}
	var inputs []identityInput
	for _, in := range identityInputs(t, "testdata") {
		in.name = "testdata/" + in.name
		inputs = append(inputs, in)
	}
	gen := identityInputs(t, gdir)
	for i, in := range gen {
		if i%7 == 0 || strings.Contains(in.name, "GuardDuty") || strings.Contains(in.name, "Digest") {
			in.name = "gen/" + in.name
			inputs = append(inputs, in)
		}
	}
	for _, o := range identityOptions {
		want := make([]string, len(inputs))
		for i, in := range inputs {
			h := sha256.New()
			writeDecoded(t, h, New(o.opt), in, o.skip)
			want[i] = hex.EncodeToString(h.Sum(nil))
		}
		shared := New(o.opt)
		var wg sync.WaitGroup
		errs := make(chan string, len(inputs)*3)
		for w := range 3 {
			wg.Go(func() {
				// Each goroutine walks the inputs in its own order.
				for k := range inputs {
					i := (k*(w+1) + w) % len(inputs)
					if w == 2 {
						i = len(inputs) - 1 - k
					}
					h := sha256.New()
					writeDecoded(t, h, shared, inputs[i], o.skip)
					if got := hex.EncodeToString(h.Sum(nil)); got != want[i] {
						errs <- fmt.Sprintf("options %+v: %s decoded by a reused decoder differs from a fresh decoder's output", o.opt, inputs[i].name)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	}
}
