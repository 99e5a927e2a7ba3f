package sigma

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// node is a compiled part of a detection.
type node interface {
	eval(r rec) bool
}

type andNode []node

func (n andNode) eval(r rec) bool {
	for _, c := range n {
		if !c.eval(r) {
			return false
		}
	}
	return true
}

type orNode []node

func (n orNode) eval(r rec) bool {
	for _, c := range n {
		if c.eval(r) {
			return true
		}
	}
	return false
}

type notNode struct{ n node }

func (n notNode) eval(r rec) bool { return !n.n.eval(r) }

// parseSearch compiles a search identifier: a map (every field matches) or
// a list of maps (any of them matches).
func parseSearch(svc, name string, v *yaml.Node) (node, error) {
	switch v.Kind {
	case yaml.MappingNode:
		return parseMap(svc, name, v)
	case yaml.SequenceNode:
		var alts orNode
		for _, c := range v.Content {
			if c.Kind != yaml.MappingNode {
				return nil, unsupported("search %q: keyword (field-less) search", name)
			}
			m, err := parseMap(svc, name, c)
			if err != nil {
				return nil, err
			}
			alts = append(alts, m)
		}
		return alts, nil
	}
	return nil, unsupported("search %q: keyword (field-less) search", name)
}

func parseMap(svc, name string, v *yaml.Node) (node, error) {
	var all andNode
	for i := 0; i+1 < len(v.Content); i += 2 {
		f, err := parseField(svc, name, v.Content[i].Value, v.Content[i+1])
		if err != nil {
			return nil, err
		}
		all = append(all, f)
	}
	// Evaluate cheap fields first (the outcome is the same): typed fields
	// before walks of the raw record, regular expressions last.
	sort.SliceStable(all, func(i, j int) bool { return cost(all[i]) < cost(all[j]) })
	return all, nil
}

func cost(n node) int {
	f, ok := n.(*fieldNode)
	if !ok {
		return 3
	}
	c := 0
	if f.path.typed == nil && f.path.str == nil && f.path.num == nil {
		c = 2
	}
	for _, m := range f.vals {
		if m.op == opRegexp || m.ref != nil {
			c++
			break
		}
	}
	return c
}

// fieldNode matches one field against its values: any value (or every
// value with |all).
type fieldNode struct {
	path  field
	all   bool
	exist int8 // 0: no |exists; 1: must exist; -1: must not
	vals  []matcher
}

func (f *fieldNode) eval(r rec) bool {
	if f.exist != 0 {
		found := false
		f.path.each(r, func(string, kind) bool { found = true; return false })
		return found == (f.exist > 0)
	}
	if f.all {
		for _, m := range f.vals {
			if !f.matchAny(r, m) {
				return false
			}
		}
		return true
	}
	for _, m := range f.vals {
		if f.matchAny(r, m) {
			return true
		}
	}
	return false
}

// matchAny reports whether m matches the field's value, or any element
// when the path reaches arrays; a null matcher also matches an absent field.
func (f *fieldNode) matchAny(r rec, m matcher) bool {
	if r.ct == nil && f.path.num != nil && !m.null && m.ref == nil {
		// A number of a flow record or finding: compared without text.
		if n, ok := f.path.num(r); ok {
			return m.matchNum(n)
		}
	}
	hit, seen := false, false
	f.path.each(r, func(v string, k kind) bool {
		seen = true
		if k == kindNull {
			hit = m.null
			return !hit
		}
		if m.null {
			return true
		}
		if m.ref != nil {
			hit = m.matchRef(r, v)
			return !hit
		}
		hit = m.match(v, k)
		return !hit
	})
	if !seen && m.null {
		return true
	}
	return hit
}

func parseField(svc, search, key string, v *yaml.Node) (node, error) {
	parts := strings.Split(key, "|")
	name := parts[0]
	if name == "" {
		return nil, unsupported("search %q: keyword search with modifiers %q", search, key)
	}
	fp, err := newServiceField(svc, name)
	if err != nil {
		return nil, unsupported("field %q: %v", key, err)
	}
	f := &fieldNode{path: fp}
	op := opEqual
	var reFlags string
	fieldref := false
	for _, mod := range parts[1:] {
		switch mod {
		case "contains":
			op = opContains
		case "startswith":
			op = opStartsWith
		case "endswith":
			op = opEndsWith
		case "all":
			f.all = true
		case "re":
			op = opRegexp
		case "i", "m", "s":
			if op != opRegexp {
				return nil, unsupported("field %q: modifier %q outside |re", key, mod)
			}
			reFlags += mod
		case "cidr":
			op = opCIDR
		case "fieldref":
			fieldref = true
		case "exists":
			op = opExists
		case "lt", "lte", "gt", "gte":
			op = map[string]opKind{"lt": opLT, "lte": opLTE, "gt": opGT, "gte": opGTE}[mod]
		case "cased":
			return nil, unsupported("field %q: modifier cased", key)
		default:
			return nil, unsupported("field %q: modifier %q", key, mod)
		}
	}
	var vals []*yaml.Node
	switch v.Kind {
	case yaml.SequenceNode:
		vals = v.Content
	case yaml.ScalarNode:
		vals = []*yaml.Node{v}
	default:
		return nil, fmt.Errorf("sigma: field %q: value is a mapping", key)
	}
	if len(vals) == 0 {
		return nil, fmt.Errorf("sigma: field %q: empty list of values", key)
	}
	for _, y := range vals {
		if y.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("sigma: field %q: value is not a scalar", key)
		}
		if op == opExists {
			b, err := strconv.ParseBool(y.Value)
			if err != nil || len(vals) != 1 {
				return nil, fmt.Errorf("sigma: field %q: |exists takes true or false", key)
			}
			f.exist = 1
			if !b {
				f.exist = -1
			}
			return f, nil
		}
		if fieldref {
			if op != opEqual && op != opContains && op != opStartsWith && op != opEndsWith {
				return nil, unsupported("field %q: fieldref with this modifier", key)
			}
			ref, err := newServiceField(svc, y.Value)
			if err != nil {
				return nil, unsupported("field %q: %v", key, err)
			}
			f.vals = append(f.vals, matcher{op: op, ref: &ref})
			continue
		}
		m, err := newMatcher(op, y, reFlags)
		if err != nil {
			return nil, fmt.Errorf("sigma: field %q: %w", key, err)
		}
		f.vals = append(f.vals, m)
	}
	return f, nil
}

type opKind uint8

const (
	opEqual opKind = iota
	opContains
	opStartsWith
	opEndsWith
	opRegexp
	opCIDR
	opExists
	opLT
	opLTE
	opGT
	opGTE
)

// matcher is one value of a field condition.
type matcher struct {
	null   bool
	op     opKind
	pat    pattern
	re     *regexp.Regexp
	prefix netip.Prefix
	num    float64
	isNum  bool   // the rule's value is a number: also compare numerically
	ref    *field // |fieldref: compare with this field's value
}

func newMatcher(op opKind, y *yaml.Node, reFlags string) (matcher, error) {
	m := matcher{op: op}
	if y.Tag == "!!null" {
		if op != opEqual {
			return m, errors.New("null with a modifier")
		}
		m.null = true
		return m, nil
	}
	s := y.Value
	switch op {
	case opRegexp:
		expr := s
		if reFlags != "" {
			expr = "(?" + reFlags + ")" + s
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return m, unsupported("regular expression %q: %v", s, err)
		}
		m.re = re
		return m, nil
	case opCIDR:
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return m, fmt.Errorf("cidr %q: %w", s, err)
		}
		m.prefix = p.Masked()
		return m, nil
	case opLT, opLTE, opGT, opGTE:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return m, fmt.Errorf("%q is not a number", s)
		}
		m.num = n
		return m, nil
	}
	if y.Tag == "!!int" || y.Tag == "!!float" {
		if n, err := strconv.ParseFloat(s, 64); err == nil && op == opEqual {
			m.num, m.isNum = n, true
		}
	}
	if y.Tag == "!!bool" {
		s = strings.ToLower(s)
	}
	m.pat = compilePattern(s, op)
	return m, nil
}

func (m *matcher) match(v string, k kind) bool {
	switch m.op {
	case opRegexp:
		return m.re.MatchString(v)
	case opCIDR:
		a, err := netip.ParseAddr(v)
		return err == nil && m.prefix.Contains(a.Unmap())
	case opLT, opLTE, opGT, opGTE:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(n) {
			return false
		}
		switch m.op {
		case opLT:
			return n < m.num
		case opLTE:
			return n <= m.num
		case opGT:
			return n > m.num
		}
		return n >= m.num
	}
	if m.isNum && k == kindNumber {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return n == m.num
		}
	}
	return m.pat.match(v)
}

// matchNum matches a numeric value of a flow record or finding.
func (m *matcher) matchNum(n float64) bool {
	switch m.op {
	case opLT:
		return n < m.num
	case opLTE:
		return n <= m.num
	case opGT:
		return n > m.num
	case opGTE:
		return n >= m.num
	case opEqual:
		if m.isNum {
			return n == m.num
		}
	}
	return m.match(strconv.FormatFloat(n, 'f', -1, 64), kindNumber)
}

// matchRef compares v with the value(s) of the referenced field, ignoring
// case; an absent reference never matches.
func (m *matcher) matchRef(r rec, v string) bool {
	hit := false
	v = strings.ToLower(v)
	m.ref.each(r, func(r string, k kind) bool {
		if k == kindNull {
			return true
		}
		r = strings.ToLower(r)
		switch m.op {
		case opContains:
			hit = strings.Contains(v, r)
		case opStartsWith:
			hit = strings.HasPrefix(v, r)
		case opEndsWith:
			hit = strings.HasSuffix(v, r)
		default:
			hit = v == r
		}
		return !hit
	})
	return hit
}
