// Package sigma loads Sigma rules (https://sigmahq.io) written for AWS
// CloudTrail and evaluates them on single CloudTrail events, as a streaming
// rule engine in the ingest pipeline (see docs/sigma.md).
//
// Field names are CloudTrail's own JSON paths, as the AWS rules of the
// SigmaHQ repository use them (eventName, userIdentity.type,
// requestParameters.bucketName…); they are read from the typed fields of
// event.CloudTrail where it has them and otherwise from the record's raw
// JSON. A rule that uses something this package cannot evaluate on one
// event (aggregations, near, unknown modifiers, another log source) is
// refused with the reason, never loaded with a part silently ignored.
package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/trawl-project/trawl/internal/event"
)

// Rule is one parsed Sigma rule, ready to match CloudTrail events.
type Rule struct {
	id, title, level, description, status string
	service                               string
	tags                                  []string
	cond                                  node
}

// ID returns the rule's id (a UUID in SigmaHQ rules).
func (r *Rule) ID() string { return r.id }

// Title returns the rule's title.
func (r *Rule) Title() string { return r.title }

// Level returns the rule's level (informational, low, medium, high, critical).
func (r *Rule) Level() string { return r.level }

// Tags returns the rule's tags (attack.t1078…).
func (r *Rule) Tags() []string { return r.tags }

// Description returns the rule's description.
func (r *Rule) Description() string { return r.description }

// Status returns the rule's status (stable, test, experimental…).
func (r *Rule) Status() string { return r.status }

// Service returns the log source the rule evaluates on: ServiceCloudTrail,
// ServiceVPCFlow or ServiceGuardDuty.
func (r *Rule) Service() string { return r.service }

// Match reports whether the CloudTrail event matches the rule's detection
// (false for a rule of another log source).
func (r *Rule) Match(e *event.CloudTrail) bool {
	return r.service == ServiceCloudTrail && r.cond.eval(rec{ct: e})
}

// MatchFlow reports whether the flow record matches a vpcflow rule.
func (r *Rule) MatchFlow(e *event.VPCFlow) bool {
	return r.service == ServiceVPCFlow && r.cond.eval(rec{flow: e})
}

// MatchFinding reports whether the finding matches a guardduty rule.
func (r *Rule) MatchFinding(e *event.Finding) bool {
	return r.service == ServiceGuardDuty && r.cond.eval(rec{gd: e})
}

// Pinned returns the values (lowercased) a field must have for the rule
// to match, when its detection pins the field to a list of exact values in
// every alternative (eventName: [CreateUser, CreateLoginProfile]), and nil
// otherwise. Rule engines use it to evaluate a record only against rules
// that can match it.
func (r *Rule) Pinned(name string) []string {
	vals, ok := pinned(r.cond, name)
	if !ok {
		return nil
	}
	return vals
}

func pinned(n node, name string) ([]string, bool) {
	switch n := n.(type) {
	case *fieldNode:
		if n.path.name != name || n.all || n.exist != 0 || len(n.vals) == 0 {
			return nil, false
		}
		var out []string
		for _, m := range n.vals {
			if m.null || m.ref != nil || m.op != opEqual || m.pat.kind != patExact {
				return nil, false
			}
			out = append(out, m.pat.lit)
		}
		return out, true
	case andNode:
		for _, c := range n {
			if v, ok := pinned(c, name); ok {
				return v, true
			}
		}
	case orNode:
		var out []string
		for _, c := range n {
			v, ok := pinned(c, name)
			if !ok {
				return nil, false
			}
			out = append(out, v...)
		}
		return out, len(n) > 0
	}
	return nil, false
}

// UnsupportedError is returned by Parse for a well-formed rule that uses a
// feature this package cannot evaluate on single CloudTrail events.
type UnsupportedError struct{ Reason string }

func (e *UnsupportedError) Error() string { return "unsupported: " + e.Reason }

func unsupported(format string, args ...any) error {
	return &UnsupportedError{Reason: fmt.Sprintf(format, args...)}
}

// Unsupported names a rule file that was not loaded, and why.
type Unsupported struct {
	File   string
	Reason string
}

type yamlRule struct {
	Title       string    `yaml:"title"`
	ID          string    `yaml:"id"`
	Status      string    `yaml:"status"`
	Description string    `yaml:"description"`
	Level       string    `yaml:"level"`
	Tags        []string  `yaml:"tags"`
	Action      string    `yaml:"action"`
	Correlation yaml.Node `yaml:"correlation"`
	Logsource   struct {
		Product  string `yaml:"product"`
		Service  string `yaml:"service"`
		Category string `yaml:"category"`
	} `yaml:"logsource"`
	Detection yaml.Node `yaml:"detection"`
}

// Parse parses one Sigma rule. A rule this package cannot evaluate returns
// an *UnsupportedError with the reason; malformed YAML or a malformed
// detection returns another error.
func Parse(data []byte) (*Rule, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var y yamlRule
	if err := dec.Decode(&y); err != nil {
		return nil, fmt.Errorf("sigma: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, unsupported("multi-document rule file (rule collections and correlation rules)")
	}
	if y.Action != "" {
		return nil, unsupported("rule collection action %q", y.Action)
	}
	if !y.Correlation.IsZero() {
		return nil, unsupported("correlation rule")
	}
	svc := strings.ToLower(y.Logsource.Service)
	if !strings.EqualFold(y.Logsource.Product, "aws") || (svc != ServiceCloudTrail && svc != ServiceVPCFlow && svc != ServiceGuardDuty) {
		return nil, unsupported("logsource product %q service %q category %q is not AWS CloudTrail, VPC flow logs or GuardDuty",
			y.Logsource.Product, y.Logsource.Service, y.Logsource.Category)
	}
	if y.Detection.Kind != yaml.MappingNode {
		return nil, errors.New("sigma: detection is missing or not a mapping")
	}
	searches := map[string]node{}
	var names []string
	var conds []string
	var timeframe string
	d := y.Detection.Content
	for i := 0; i+1 < len(d); i += 2 {
		k, v := d[i].Value, d[i+1]
		switch k {
		case "condition":
			switch v.Kind {
			case yaml.ScalarNode:
				conds = append(conds, v.Value)
			case yaml.SequenceNode:
				for _, c := range v.Content {
					conds = append(conds, c.Value)
				}
			default:
				return nil, errors.New("sigma: condition is neither a string nor a list")
			}
			continue
		case "timeframe":
			timeframe = v.Value
			continue
		}
		n, err := parseSearch(svc, k, v)
		if err != nil {
			return nil, err
		}
		searches[k] = n
		names = append(names, k)
	}
	if len(conds) == 0 {
		return nil, errors.New("sigma: detection has no condition")
	}
	sort.Strings(names)
	var alts []node
	for _, c := range conds {
		n, err := parseCondition(c, searches, names)
		if err != nil {
			return nil, err
		}
		alts = append(alts, n)
	}
	if timeframe != "" {
		// Without an aggregation, SigmaHQ uses it for "these searches
		// within this time" across several events.
		return nil, unsupported("timeframe %s: a correlation of several events over a time window", timeframe)
	}
	if strings.EqualFold(y.Status, "unsupported") {
		return nil, unsupported("status: unsupported (its authors mark it as not expressible in Sigma)")
	}
	cond := alts[0]
	if len(alts) > 1 {
		cond = orNode(alts)
	}
	return &Rule{
		id: y.ID, title: y.Title, level: y.Level, description: strings.TrimSpace(y.Description),
		status: y.Status, service: svc, tags: y.Tags, cond: cond,
	}, nil
}

// LoadDir parses every .yml and .yaml file under dir (recursively). Files
// that are not rules this package can evaluate — unsupported features,
// other log sources, malformed YAML — are returned in the second list with
// the reason; none is left out. The error is for a directory that cannot
// be read.
func LoadDir(dir string) ([]*Rule, []Unsupported, error) {
	var rules []*Rule
	var unsup []Unsupported
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if ext := filepath.Ext(path); ext != ".yml" && ext != ".yaml" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		r, err := Parse(data)
		if err != nil {
			var u *UnsupportedError
			reason := err.Error()
			if errors.As(err, &u) {
				reason = u.Reason
			}
			unsup = append(unsup, Unsupported{File: path, Reason: reason})
			return nil
		}
		rules = append(rules, r)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("sigma: %w", err)
	}
	return rules, unsup, nil
}
