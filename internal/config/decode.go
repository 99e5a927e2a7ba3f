package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong in a configuration file.
type Problem struct {
	File         string
	Line, Column int    // 1-based; 0 when unknown
	Path         string // key path such as sources[0].s3.bucket; empty for the document
	Msg          string
}

// Error formats the problem as FILE:LINE:COL: key.path: what is wrong.
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is every problem found in a configuration file, in file order.
type Error struct {
	Problems []*Problem
}

// Error returns the problems, one a line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// decoder walks a yaml.Node tree into the typed structs, recording the
// node of every key path for later checks and collecting problems.
type decoder struct {
	file     string
	dir      string                // the config file's directory, for relative paths
	nodes    map[string]*yaml.Node // value nodes by key path
	keys     map[string]*yaml.Node // key nodes by key path
	bad      map[string]bool       // paths whose value did not parse
	problems []*Problem
	lookup   func(string) (string, bool)
}

func (d *decoder) errAt(n *yaml.Node, path, format string, args ...any) {
	p := &Problem{File: d.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	d.problems = append(d.problems, p)
}

// errPath reports a problem at path, positioned at its node or, for a key
// that is absent, at the nearest enclosing one.
func (d *decoder) errPath(path, format string, args ...any) {
	if d.bad[path] {
		return // already reported
	}
	d.errAt(d.nodeOf(path), path, format, args...)
}

// errKey reports a problem with a key itself (rather than its value),
// positioned at the key.
func (d *decoder) errKey(path, format string, args ...any) {
	n := d.keys[path]
	if n == nil {
		n = d.nodeOf(path)
	}
	d.errAt(n, path, format, args...)
}

func (d *decoder) nodeOf(path string) *yaml.Node {
	for p := path; ; {
		if n, ok := d.nodes[p]; ok {
			return n
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return d.nodes[""]
		}
		p = p[:i]
	}
}

// has reports whether path was given in the file.
func (d *decoder) has(path string) bool { _, ok := d.nodes[path]; return ok }

var syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse parses and validates a configuration; name is the file's path,
// used in messages and to resolve relative paths. Problems in the
// content are returned together as an *Error.
func Parse(name string, data []byte) (*Config, error) {
	dir, err := filepath.Abs(filepath.Dir(name))
	if err != nil {
		return nil, fmt.Errorf("resolving the directory of %s: %w", name, err)
	}
	d := &decoder{file: name, dir: dir, nodes: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{},
		bad: map[string]bool{}, lookup: os.LookupEnv}
	c := &Config{File: name}
	c.defaults()

	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF): // an empty file: all defaults
	case err != nil:
		p := &Problem{File: name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := syntaxLine.FindStringSubmatch(err.Error()); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			p.Msg = m[2]
		}
		return nil, &Error{Problems: []*Problem{p}}
	default:
		var extra yaml.Node
		if err := dec.Decode(&extra); err == nil {
			d.errAt(&extra, "", "a second YAML document; the configuration is one document")
		}
		root := &doc
		if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
			root = root.Content[0]
		}
		if !(root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
			d.decode(root, reflect.ValueOf(c).Elem(), "", "")
		}
	}
	d.check(c)
	if len(d.problems) > 0 {
		sort.SliceStable(d.problems, func(i, j int) bool {
			a, b := d.problems[i], d.problems[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Column < b.Column
		})
		return nil, &Error{Problems: d.problems}
	}
	return c, nil
}

type defaulter interface{ defaults() }

var (
	durationType = reflect.TypeFor[time.Duration]()
	momentType   = reflect.TypeFor[Moment]()
)

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decode stores node in v; opts are the field's cfg tag options.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path, opts string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	d.nodes[path] = n
	t := v.Type()
	switch {
	case t == durationType, t == momentType:
	case t.Kind() == reflect.Pointer:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		p := reflect.New(t.Elem())
		if df, ok := p.Interface().(defaulter); ok {
			df.defaults()
		}
		d.decode(n, p.Elem(), path, opts)
		v.Set(p)
		return
	case t.Kind() == reflect.Struct:
		d.decodeStruct(n, v, path)
		return
	case t.Kind() == reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.bad[path] = true
			d.errAt(n, path, "expected a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, e := range n.Content {
			if df, ok := s.Index(i).Addr().Interface().(defaulter); ok {
				df.defaults()
			}
			d.decode(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i), opts)
		}
		v.Set(s)
		return
	case t.Kind() == reflect.Map:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.bad[path] = true
			d.errAt(n, path, "expected a mapping, got %s", kindName(n))
			return
		}
		m := reflect.MakeMap(t)
		for _, kv := range d.pairs(n, path) {
			k, val := kv[0], kv[1]
			kp := join(path, k.Value)
			if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
				d.errAt(k, kp, "duplicate key")
				continue
			}
			d.keys[kp] = k
			e := reflect.New(t.Elem()).Elem()
			d.decode(val, e, kp, opts)
			m.SetMapIndex(reflect.ValueOf(k.Value), e)
		}
		v.Set(m)
		return
	}

	// A scalar.
	if n.Kind != yaml.ScalarNode {
		d.bad[path] = true
		d.errAt(n, path, "expected %s, got %s", want(t, opts), kindName(n))
		return
	}
	if n.Tag == "!!null" {
		return
	}
	s := n.Value
	if !hasOpt(opts, "literal") {
		var err error
		if s, err = expand(s, d.lookup); err != nil {
			d.bad[path] = true
			d.errAt(n, path, "%v", err)
			return
		}
	}
	if err := setScalar(v, s, opts, d.dir); err != nil {
		d.bad[path] = true
		d.errAt(n, path, "%v", err)
	}
}

func hasOpt(opts, o string) bool {
	for _, x := range strings.Split(opts, ",") {
		if x == o {
			return true
		}
	}
	return false
}

func want(t reflect.Type, opts string) string {
	switch {
	case t == durationType:
		return "a duration"
	case t == momentType:
		return "a date or a relative time"
	case hasOpt(opts, "size"):
		return "a size"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	}
	return "a string"
}

func setScalar(v reflect.Value, s, opts, dir string) error {
	t := v.Type()
	switch {
	case t == durationType:
		dur, err := ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(dur))
	case t == momentType:
		m, err := ParseMoment(s)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(m))
	case hasOpt(opts, "size"):
		n, err := ParseSize(s)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case t.Kind() == reflect.Bool:
		switch s {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return fmt.Errorf("%q is not true or false", s)
		}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		v.SetInt(i)
	case t.Kind() == reflect.String:
		if hasOpt(opts, "path") && s != "" && !filepath.IsAbs(s) && !IsURL(s) {
			s = filepath.Join(dir, s)
		}
		v.SetString(s)
	default:
		return fmt.Errorf("cannot hold a %s", t)
	}
	return nil
}

// fieldInfo describes a struct field known to the configuration.
type fieldInfo struct {
	key   string
	index int
	opts  string
}

func fields(t reflect.Type) []fieldInfo {
	var fs []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if key == "" || key == "-" {
			continue
		}
		fs = append(fs, fieldInfo{key: key, index: i, opts: f.Tag.Get("cfg")})
	}
	return fs
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	fs := fields(v.Type())
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		d.bad[path] = true
		d.errAt(n, path, "expected a mapping of %s, got %s", keyList(fs), kindName(n))
		return
	}
	seen := map[string]bool{}
	for _, kv := range d.pairs(n, path) {
		k, val := kv[0], kv[1]
		kp := join(path, k.Value)
		var f *fieldInfo
		for j := range fs {
			if fs[j].key == k.Value {
				f = &fs[j]
			}
		}
		switch {
		case f == nil && path == "" && strings.HasPrefix(k.Value, "x-"):
			// An extension key at the top level: a place for anchors.
		case f == nil:
			names := make([]string, len(fs))
			for j, f := range fs {
				names[j] = f.key
			}
			if s := suggest(k.Value, names); s != "" {
				d.errAt(k, kp, "unknown key; did you mean %q?", s)
			} else {
				d.errAt(k, kp, "unknown key; known keys are %s", keyList(fs))
			}
		case seen[k.Value]:
			d.errAt(k, kp, "duplicate key")
		default:
			seen[k.Value] = true
			d.keys[kp] = k
			d.decode(val, v.Field(f.index), kp, f.opts)
		}
	}
}

// pairs returns the key and value nodes of mapping n, with YAML merge
// keys (<<: *anchor, or a list of anchors) replaced by the pairs of the
// mappings they name that n does not set itself.
func (d *decoder) pairs(n *yaml.Node, path string) [][2]*yaml.Node {
	var own, merged [][2]*yaml.Node
	set := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag != "!!merge" {
			own = append(own, [2]*yaml.Node{k, v})
			set[k.Value] = true
			continue
		}
		srcs := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			srcs = v.Content
		}
		for _, src := range srcs {
			for src.Kind == yaml.AliasNode && src.Alias != nil {
				src = src.Alias
			}
			if src.Kind != yaml.MappingNode {
				d.errAt(src, join(path, "<<"), "a merge key takes a mapping or a list of mappings, got %s", kindName(src))
				continue
			}
			merged = append(merged, d.pairs(src, path)...)
		}
	}
	for _, kv := range merged {
		if !set[kv[0].Value] {
			own = append(own, kv)
			set[kv[0].Value] = true
		}
	}
	return own
}

func keyList(fs []fieldInfo) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.key
	}
	return strings.Join(names, ", ")
}

// suggest returns the candidate closest to s by edit distance, if close
// enough to be a likely typo.
func suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if dd := editDistance(strings.ToLower(s), c); dd < bestD {
			best, bestD = c, dd
		}
	}
	if bestD <= max(2, len(s)/3) && bestD < len(s) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces ${VAR} and ${VAR:-default} by the environment's values;
// $$ is a literal $. A variable that is not set and has no default is an
// error.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "$$"):
			b.WriteByte('$')
			i++
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${ in %q", s)
			}
			expr := s[i+2 : i+end]
			name, def, hasDef := strings.Cut(expr, ":-")
			if !envName.MatchString(name) {
				return "", fmt.Errorf("${%s}: not a variable name (write $$ for a literal $)", expr)
			}
			val, ok := lookup(name)
			switch {
			case ok && (val != "" || !hasDef):
				b.WriteString(val)
			case hasDef:
				b.WriteString(def)
			default:
				return "", fmt.Errorf("environment variable %s is not set (use ${%s:-default} for a default)", name, name)
			}
			i += end
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), nil
}
