package sigma

import (
	"fmt"
	"path"
	"strings"
)

// parseCondition compiles a condition: search identifiers joined with and,
// or, not and parentheses, and "1 of"/"all of" a name pattern or "them".
// names is the sorted list of the detection's search identifiers.
func parseCondition(cond string, searches map[string]node, names []string) (node, error) {
	for _, t := range tokenize(cond) {
		if strings.EqualFold(t, "near") {
			return nil, unsupported("near (temporal correlation) in condition %q: a streaming rule sees one event at a time", strings.TrimSpace(cond))
		}
	}
	if i := strings.IndexByte(cond, '|'); i >= 0 {
		return nil, unsupported("aggregation in condition %q: a streaming rule sees one event at a time", strings.TrimSpace(cond))
	}
	p := &condParser{toks: tokenize(cond), searches: searches, names: names, cond: cond}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, p.errorf("unexpected %q", p.toks[p.i])
	}
	return n, nil
}

func tokenize(s string) []string {
	var toks []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for _, c := range s {
		switch c {
		case '(', ')':
			flush()
			toks = append(toks, string(c))
		case ' ', '\t', '\n', '\r':
			flush()
		default:
			cur.WriteRune(c)
		}
	}
	flush()
	return toks
}

type condParser struct {
	toks     []string
	i        int
	searches map[string]node
	names    []string
	cond     string
}

func (p *condParser) errorf(format string, args ...any) error {
	return fmt.Errorf("sigma: condition %q: %s", p.cond, fmt.Sprintf(format, args...))
}

func (p *condParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *condParser) expr() (node, error) {
	var alts orNode
	for {
		n, err := p.term()
		if err != nil {
			return nil, err
		}
		alts = append(alts, n)
		if strings.ToLower(p.peek()) != "or" {
			break
		}
		p.i++
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return alts, nil
}

func (p *condParser) term() (node, error) {
	var all andNode
	for {
		n, err := p.factor()
		if err != nil {
			return nil, err
		}
		all = append(all, n)
		if strings.ToLower(p.peek()) != "and" {
			break
		}
		p.i++
	}
	if len(all) == 1 {
		return all[0], nil
	}
	return all, nil
}

func (p *condParser) factor() (node, error) {
	t := p.peek()
	if t == "" {
		return nil, p.errorf("ends early")
	}
	p.i++
	switch lt := strings.ToLower(t); {
	case lt == "not":
		n, err := p.factor()
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	case lt == "(":
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, p.errorf("missing )")
		}
		p.i++
		return n, nil
	case lt == "near":
		return nil, unsupported("near in condition %q", p.cond)
	case strings.ToLower(p.peek()) == "of":
		p.i++
		return p.of(lt)
	case lt == "and" || lt == "or" || lt == ")":
		return nil, p.errorf("unexpected %q", t)
	}
	n, ok := p.searches[t]
	if !ok {
		return nil, p.errorf("no search named %q", t)
	}
	return n, nil
}

// of compiles "1 of X" and "all of X" (X a name pattern or "them").
func (p *condParser) of(quant string) (node, error) {
	target := p.peek()
	if target == "" {
		return nil, p.errorf("%s of what?", quant)
	}
	p.i++
	if quant != "1" && quant != "all" {
		return nil, unsupported("%q of in condition %q (Sigma defines only 1 of and all of)", quant, p.cond)
	}
	var set []node
	for _, name := range p.names {
		if target == "them" {
			if strings.HasPrefix(name, "_") {
				continue
			}
		} else if ok, err := path.Match(target, name); err != nil {
			return nil, p.errorf("bad pattern %q", target)
		} else if !ok {
			continue
		}
		set = append(set, p.searches[name])
	}
	if len(set) == 0 {
		return nil, p.errorf("%s of %s matches no search", quant, target)
	}
	if quant == "all" {
		return andNode(set), nil
	}
	return orNode(set), nil
}
