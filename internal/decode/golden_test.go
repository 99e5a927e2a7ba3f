package decode

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/decode/vpcflow"
	"github.com/trawl-project/trawl/internal/event"
)

var update = flag.Bool("update", false, "rewrite the golden want.jsonl files of testdata cases")

// goldenLine is one line of a want.jsonl file: a unit (record or quarantine
// entry) or a warning, without the record's raw text, which is checked by
// its properties instead (checkRaw).
type goldenLine struct {
	Input      string         `json:"input"`
	Unit       int64          `json:"unit"`
	CloudTrail map[string]any `json:"cloudtrail,omitempty"`
	Digest     map[string]any `json:"digest,omitempty"`
	Finding    map[string]any `json:"finding,omitempty"`
	VPCFlow    map[string]any `json:"vpcflow,omitempty"`
	Quarantine map[string]any `json:"quarantine,omitempty"`
	Warning    map[string]any `json:"warning,omitempty"`

	kind string // the record's kind: cloudtrail, digest, finding or vpcflow
	raw  string // the record's raw text
}

// recorder keeps every unit and warning of one object.
type recorder struct {
	input string
	lines []goldenLine
}

func (r *recorder) add(n int64, kind string, v map[string]any) {
	l := goldenLine{Input: r.input, Unit: n, kind: kind}
	if raw, ok := v["Raw"].(string); ok {
		l.raw = raw
	}
	delete(v, "Raw")
	delete(v, "Unit")
	switch kind {
	case "cloudtrail":
		l.CloudTrail = v
	case "digest":
		l.Digest = v
	case "finding":
		l.Finding = v
	case "vpcflow":
		l.VPCFlow = v
	case "quarantine":
		l.Quarantine = v
	case "warning":
		l.Warning = v
	}
	r.lines = append(r.lines, l)
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
		f := &b.VPCFlow[i]
		v := presentFlow(f)
		v["Raw"] = f.Raw
		r.add(f.Unit, "vpcflow", v)
	}
	for _, q := range b.Quarantined {
		m := present(q)
		m["Object"] = filepath.Base(q.Object)
		delete(m, "Record")
		r.add(q.Record, "quarantine", m)
	}
	for _, w := range b.Warnings {
		m := present(w)
		m["Object"] = filepath.Base(w.Object)
		delete(m, "Record")
		r.add(w.Record, "warning", m)
	}
	return nil
}

// sorted returns the lines in input order, a unit's warnings after it.
func (r *recorder) sorted() []goldenLine {
	sort.SliceStable(r.lines, func(i, j int) bool {
		a, b := r.lines[i], r.lines[j]
		if a.Unit != b.Unit {
			return a.Unit < b.Unit
		}
		return a.Warning == nil && b.Warning != nil
	})
	return r.lines
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
	out := map[string]any{}
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

// TestGolden decodes every testdata/<case>/ input and compares its units
// and warnings, one JSON line each, with testdata/<case>/want.jsonl
// (go test ./internal/decode -run TestGolden -update rewrites them). Every
// record's raw text is checked by its properties, and every line for
// plausible values, so that -update cannot bless a typo in an input.
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
				if n := e.Name(); n != "want.jsonl" && n != "options.json" {
					inputs = append(inputs, n)
				}
			}
			sort.Strings(inputs)
			var got bytes.Buffer
			for _, in := range inputs {
				content, err := os.ReadFile(filepath.Join(dir, in))
				if err != nil {
					t.Fatal(err)
				}
				rec := &recorder{input: in}
				if err := Decode(context.Background(), Object{Name: in, Key: in}, bytes.NewReader(content), opt, rec.emit); err != nil {
					t.Fatalf("%s: %v", in, err)
				}
				for _, l := range rec.sorted() {
					if l.kind != "quarantine" && l.kind != "warning" {
						checkRaw(t, in, content, opt, l)
					}
					b, err := json.Marshal(l)
					if err != nil {
						t.Fatal(err)
					}
					got.Write(b)
					got.WriteByte('\n')
				}
			}
			lines := strings.SplitAfter(got.String(), "\n")
			lines = lines[:len(lines)-1]
			for i, l := range lines {
				checkPlausible(t, fmt.Sprintf("line %d", i+1), l)
			}
			wantPath := filepath.Join(dir, "want.jsonl")
			if *update {
				if t.Failed() {
					t.Fatalf("not writing %s", wantPath)
				}
				if err := os.WriteFile(wantPath, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/decode -run TestGolden -update to create it)", err)
			}
			wantLines := strings.SplitAfter(string(want), "\n")
			if len(wantLines) > 0 && wantLines[len(wantLines)-1] == "" {
				wantLines = wantLines[:len(wantLines)-1]
			}
			for i := 0; i < max(len(lines), len(wantLines)); i++ {
				var g, w string
				if i < len(lines) {
					g = lines[i]
				}
				if i < len(wantLines) {
					w = wantLines[i]
				}
				if g != w {
					t.Errorf("%s line %d differs (go test ./internal/decode -run TestGolden -update rewrites it)\ngot:  %swant: %s", wantPath, i+1, g, w)
				}
			}
		})
	}
}

// checkRaw checks a record's raw text by what it must be. A JSON record's
// raw is one JSON value that, decoded on its own, gives the same record. A
// flow record's raw is one line of the input (or of a message wrapped in
// it), and each of its fields is one of that line's fields.
func checkRaw(t *testing.T, in string, content []byte, opt Options, l goldenLine) {
	t.Helper()
	where := fmt.Sprintf("%s unit %d", in, l.Unit)
	if l.raw == "" {
		t.Errorf("%s: %s record without raw text", where, l.kind)
		return
	}
	if l.kind == "vpcflow" {
		checkFlowRaw(t, where, content, l)
		return
	}
	if !json.Valid([]byte(l.raw)) {
		t.Errorf("%s: raw is not one JSON value: %.200s", where, l.raw)
		return
	}
	again := &recorder{input: in}
	if err := Decode(context.Background(), Object{Name: in, Key: in}, strings.NewReader(l.raw), opt, again.emit); err != nil {
		t.Errorf("%s: decoding raw on its own: %v", where, err)
		return
	}
	var l2 []goldenLine
	for _, x := range again.sorted() {
		if x.kind != "warning" { // the record's warnings come again with it
			l2 = append(l2, x)
		}
	}
	if len(l2) != 1 || l2[0].kind != l.kind {
		t.Errorf("%s: raw decoded on its own gives %d units, want one %s record", where, len(l2), l.kind)
		return
	}
	if l2[0].raw != l.raw {
		t.Errorf("%s: raw decoded on its own gives a record with another raw: %.200s", where, l2[0].raw)
		return
	}
	l2[0].Unit = l.Unit
	a, _ := json.Marshal(l)
	b, _ := json.Marshal(l2[0])
	if !bytes.Equal(a, b) {
		t.Errorf("%s: raw decoded on its own gives another record:\n%s\nnot\n%s", where, b, a)
	}
}

// checkFlowRaw checks a flow record's raw line against the input.
func checkFlowRaw(t *testing.T, where string, content []byte, l goldenLine) {
	t.Helper()
	if strings.ContainsAny(l.raw, "\r\n") {
		t.Errorf("%s: raw has a line break: %q", where, l.raw)
	}
	text := content
	if bytes.HasPrefix(content, gzipMagic) {
		zr, err := gzip.NewReader(bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		if text, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	quoted, _ := json.Marshal(l.raw)
	isLine := slices.Contains(strings.Split(strings.ReplaceAll(string(text), "\r\n", "\n"), "\n"), l.raw)
	if !isLine && !bytes.Contains(text, quoted[1:len(quoted)-1]) {
		t.Errorf("%s: raw is not a line of the input, nor a JSON string in it: %q", where, l.raw)
	}
	fields := strings.Fields(l.raw)
	for name, v := range l.VPCFlow {
		var s string
		switch x := v.(type) {
		case string:
			s = x
			if tm, err := time.Parse(time.RFC3339, x); err == nil && (name == "start" || name == "end") {
				s = strconv.FormatInt(tm.Unix(), 10)
			}
		case int64:
			s = strconv.FormatInt(x, 10)
		default:
			t.Errorf("%s: field %s has a value of type %T", where, name, v)
			continue
		}
		if !slices.Contains(fields, s) {
			t.Errorf("%s: %s = %q is not a field of raw %q", where, name, s, l.raw)
		}
	}
}

// checkPlausible fails a golden line with a value no real log has: a time
// outside 2000–2100, a port outside 0–65535, a protocol outside 0–255, a
// negative byte or packet count, or a flow that ends before it starts.
func checkPlausible(t *testing.T, where, line string) {
	t.Helper()
	var v map[string]any
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	var walk func(path string, x any)
	walk = func(path string, x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case string:
			if tm, err := time.Parse(time.RFC3339Nano, x); err == nil && (tm.Year() < 2000 || tm.Year() >= 2100) {
				t.Errorf("%s: %s = %s is not between 2000 and 2100", where, path, x)
			}
		}
	}
	walk("", v)
	flow, _ := v["vpcflow"].(map[string]any)
	num := func(name string) (int64, bool) {
		n, ok := flow[name].(json.Number)
		if !ok {
			return 0, false
		}
		i, err := n.Int64()
		if err != nil {
			t.Errorf("%s: %s = %s is not an integer", where, name, n)
		}
		return i, err == nil
	}
	for name, hi := range map[string]int64{"srcport": 65535, "dstport": 65535, "protocol": 255} {
		if n, ok := num(name); ok && (n < 0 || n > hi) {
			t.Errorf("%s: %s = %d is outside 0–%d", where, name, n, hi)
		}
	}
	for _, name := range []string{"bytes", "packets", "packets-lost-no-route", "packets-lost-blackhole", "packets-lost-mtu-exceeded", "packets-lost-ttl-expired"} {
		if n, ok := num(name); ok && n < 0 {
			t.Errorf("%s: %s = %d is negative", where, name, n)
		}
	}
	start, _ := flow["start"].(string)
	end, _ := flow["end"].(string)
	if start != "" && end != "" && end < start {
		t.Errorf("%s: flow ends (%s) before it starts (%s)", where, end, start)
	}
}
