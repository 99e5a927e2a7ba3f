package decode

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/decode/vpcflow"
	"github.com/trawl-project/trawl/internal/event"
)

var update = flag.Bool("update", false, "rewrite the golden want.json files of testdata cases")

// recorder keeps every unit in input order, in a form that compares well
// as JSON.
type recorder struct {
	units []unit
}

type unit struct {
	n int64
	v map[string]any
}

func (r *recorder) add(n int64, kind string, v map[string]any) {
	delete(v, "Unit")
	r.units = append(r.units, unit{n, map[string]any{kind: v}})
}

func (r *recorder) emit(b *event.Batch) error {
	for _, e := range b.CloudTrail {
		r.add(e.Unit, "cloudtrail", present(e))
	}
	for _, d := range b.Digests {
		r.add(d.Unit, "digest", present(d))
	}
	for _, f := range b.Findings {
		r.add(f.Unit, "finding", present(f))
	}
	for i := range b.VPCFlow {
		r.add(b.VPCFlow[i].Unit, "vpcflow", presentFlow(&b.VPCFlow[i]))
	}
	for _, q := range b.Quarantined {
		m := present(q)
		m["Object"] = filepath.Base(q.Object)
		r.add(q.Record, "quarantine", m)
	}
	for _, w := range b.Warnings { // after their record (the sort is stable)
		m := present(w)
		m["Object"] = filepath.Base(w.Object)
		r.add(w.Record, "warning", m)
	}
	return nil
}

// list returns the units in input order.
func (r *recorder) list() []map[string]any {
	sort.SliceStable(r.units, func(i, j int) bool { return r.units[i].n < r.units[j].n })
	out := make([]map[string]any, len(r.units))
	for i, u := range r.units {
		out[i] = u.v
	}
	return out
}

// present maps a struct's non-zero fields by name.
func present(v any) map[string]any {
	out := map[string]any{}
	rv := reflect.ValueOf(v)
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Field(i)
		name := rv.Type().Field(i).Name
		if f.IsZero() {
			continue
		}
		switch x := f.Interface().(type) {
		case time.Time:
			out[name] = x.UTC().Format(time.RFC3339Nano)
		case event.Bool:
			out[name] = x.Value()
		case event.Int:
			out[name] = x.V
		case event.Kind:
			out[name] = x.String()
		case []event.DigestLogFile:
			var files []any
			for _, lf := range x {
				files = append(files, present(lf))
			}
			out[name] = files
		default:
			out[name] = x
		}
	}
	return out
}

func presentFlow(f *event.VPCFlow) map[string]any {
	out := map[string]any{"raw": f.Raw}
	for _, fd := range event.FlowFields {
		switch fd.Kind {
		case event.FlowStr:
			if v := f.Str(fd.Index); v != "" {
				out[fd.Name] = v
			}
		case event.FlowInt:
			if v, ok := f.Int(fd.Index); ok {
				out[fd.Name] = v
			}
		case event.FlowStart:
			if t, ok := f.Start(); ok {
				out[fd.Name] = t.Format(time.RFC3339)
			}
		case event.FlowEnd:
			if t, ok := f.End(); ok {
				out[fd.Name] = t.Format(time.RFC3339)
			}
		}
	}
	return out
}

type caseOptions struct {
	Type      string `json:"type"`
	VPCFormat string `json:"vpc_format"`
	MaxRecord int    `json:"max_record_size"`
}

// TestGolden decodes every testdata/<case>/ input and compares the units
// with testdata/<case>/want.json (go test -update rewrites them).
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/*")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var co caseOptions
			if b, err := os.ReadFile(filepath.Join(dir, "options.json")); err == nil {
				if err := json.Unmarshal(b, &co); err != nil {
					t.Fatal(err)
				}
			}
			opt := Options{MaxRecordSize: co.MaxRecord}
			if co.Type != "" {
				k, ok := event.ParseKind(co.Type)
				if !ok {
					t.Fatalf("bad type %q", co.Type)
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
			entries, _ := os.ReadDir(dir)
			var inputs []string
			for _, e := range entries {
				if n := e.Name(); n != "want.json" && n != "options.json" {
					inputs = append(inputs, n)
				}
			}
			sort.Strings(inputs)
			got := map[string][]map[string]any{}
			for _, in := range inputs {
				f, err := os.Open(filepath.Join(dir, in))
				if err != nil {
					t.Fatal(err)
				}
				rec := &recorder{}
				err = Decode(context.Background(), Object{Name: in, Key: in}, f, opt, rec.emit)
				f.Close()
				if err != nil {
					t.Fatalf("%s: %v", in, err)
				}
				got[in] = rec.list()
			}
			gotJSON, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			gotJSON = append(gotJSON, '\n')
			wantPath := filepath.Join(dir, "want.json")
			if *update {
				if err := os.WriteFile(wantPath, gotJSON, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(normalize(t, want), normalize(t, gotJSON)) {
				t.Errorf("output differs from %s (go test ./internal/decode -run TestGolden -update rewrites it)\ngot:\n%s", wantPath, gotJSON)
			}
		})
	}
}

// normalize re-encodes JSON so that formatting differences do not matter.
func normalize(t *testing.T, b []byte) []byte {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("bad JSON: %v", err)
	}
	out, _ := json.Marshal(v)
	return out
}
