// Package rules is trawl's rule engine: a rule is a Sigma rule (see
// internal/sigma) plus a trawl: block with the alert's title template,
// dedup fields, suppression window and test events, or a scheduled rule
// (threshold, first-seen, aggregation) compiled to SQL and run against the
// store. Rules come from the embedded pack (internal/rules/pack) and from
// user directories; configuration disables or overrides any of them by id.
// See docs/rules.md.
package rules

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/rules/pack"
	"github.com/trawl-project/trawl/internal/sigma"
)

// Kinds of rules.
const (
	KindStreaming = "streaming"  // evaluated on each record during ingest
	KindThreshold = "threshold"  // count (or distinct count) per group per window
	KindAggregate = "aggregate"  // sum of a column per group per window
	KindFirstSeen = "first_seen" // a value never seen before for a key
)

// DefaultSuppress is the suppression window of a rule that sets none.
const DefaultSuppress = time.Hour

// Rule is one loaded rule.
type Rule struct {
	ID, Title, Description string
	// Level is the Sigma level; Severity the alert severity it maps to
	// (informational → info).
	Level   string
	LogType event.Kind
	Kind    string
	// Tags are the rule's tags; Techniques the MITRE ATT&CK techniques
	// among them (attack.t1136.003 → T1136.003).
	Tags, Techniques []string
	Enabled          bool
	// File is where the rule was loaded from: pack:cloudtrail/x.yml or a
	// path.
	File     string
	Suppress time.Duration

	// Sigma is the detection of a streaming rule.
	Sigma *sigma.Rule
	title *template
	dedup []*sigma.Field
	// Scheduled is the query part of a scheduled rule.
	Scheduled *Scheduled

	Tests Tests
}

// Severity returns the alert severity of the rule's level.
func (r *Rule) Severity() string { return Severity(r.Level) }

// Severity maps a Sigma level to an alert severity: info, low, medium,
// high or critical.
func Severity(level string) string {
	switch strings.ToLower(level) {
	case "informational", "info":
		return "info"
	case "low":
		return "low"
	case "high":
		return "high"
	case "critical":
		return "critical"
	}
	return "medium"
}

// Tests are a rule's test cases: partial records (streaming rules) or
// groups of them (scheduled rules) that must and must not match.
type Tests struct {
	Match   []map[string]any `yaml:"match"`
	NoMatch []map[string]any `yaml:"no_match"`
}

// LoadError names a rule file that was not loaded, and why.
type LoadError struct {
	File   string
	Reason string
}

func (e LoadError) Error() string { return e.File + ": " + e.Reason }

// Source is a set of rule files: the embedded pack or a directory.
type Source struct {
	// Name prefixes file names in messages: "pack:" or a directory path.
	Name string
	FS   fs.FS
}

// Pack returns the embedded rule pack.
func Pack() Source { return Source{Name: "pack:", FS: pack.FS} }

// Dir returns the rule files under a directory.
func Dir(dir string) Source { return Source{Name: dir + string(filepath.Separator), FS: os.DirFS(dir)} }

// Set is the loaded rules, sorted by id.
type Set struct {
	Rules []*Rule
	// Errors are the rule files that could not be loaded, with the reason.
	Errors []LoadError
}

// DuplicateError reports two rule files with the same id.
type DuplicateError struct{ ID, First, Second string }

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("rule id %q is defined twice: in %s and in %s", e.ID, e.First, e.Second)
}

// Load reads every .yml and .yaml file of the sources. A file that is not
// a rule trawl can run is reported in Set.Errors with its reason; two
// rules with one id are an error naming both files.
func Load(sources ...Source) (*Set, error) {
	s := &Set{}
	seen := map[string]string{}
	for _, src := range sources {
		err := fs.WalkDir(src.FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			if ext := path.Ext(p); ext != ".yml" && ext != ".yaml" {
				return nil
			}
			name := src.Name + p
			data, err := fs.ReadFile(src.FS, p)
			if err != nil {
				return err
			}
			r, err := Parse(data)
			if err != nil {
				s.Errors = append(s.Errors, LoadError{File: name, Reason: err.Error()})
				return nil
			}
			r.File = name
			if first, ok := seen[r.ID]; ok {
				return &DuplicateError{ID: r.ID, First: first, Second: name}
			}
			seen[r.ID] = name
			s.Rules = append(s.Rules, r)
			return nil
		})
		if err != nil {
			var dup *DuplicateError
			if errors.As(err, &dup) {
				return nil, err
			}
			return nil, fmt.Errorf("reading rules from %s: %w", src.Name, err)
		}
	}
	sort.Slice(s.Rules, func(i, j int) bool { return s.Rules[i].ID < s.Rules[j].ID })
	return s, nil
}

// LoadConfigured loads the pack and the configured directories and applies
// the configuration's disable and override lists.
func LoadConfigured(c config.Rules) (*Set, error) {
	srcs := []Source{Pack()}
	for _, d := range c.Dirs {
		srcs = append(srcs, Dir(d))
	}
	s, err := Load(srcs...)
	if err != nil {
		return nil, err
	}
	if err := s.Configure(c); err != nil {
		return nil, err
	}
	return s, nil
}

// Configure applies disable globs and per-rule overrides. An override of
// an id no rule has, or a disable pattern that matches nothing, is an
// error (a typo would otherwise silently leave a rule on).
func (s *Set) Configure(c config.Rules) error {
	byID := map[string]*Rule{}
	for _, r := range s.Rules {
		byID[r.ID] = r
	}
	var problems []string
	for _, pat := range c.Disable {
		n := 0
		for _, r := range s.Rules {
			if ok, err := path.Match(pat, r.ID); err != nil {
				problems = append(problems, fmt.Sprintf("rules.disable: bad pattern %q", pat))
				break
			} else if ok {
				r.Enabled = false
				n++
			}
		}
		if n == 0 {
			problems = append(problems, fmt.Sprintf("rules.disable: %q matches no rule", pat))
		}
	}
	ids := make([]string, 0, len(c.Override))
	for id := range c.Override {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		o := c.Override[id]
		r, ok := byID[id]
		if !ok {
			problems = append(problems, fmt.Sprintf("rules.override: no rule has id %q", id))
			continue
		}
		if o.Level != "" {
			if !validLevel(o.Level) {
				problems = append(problems, fmt.Sprintf("rules.override.%s.level: %q is not informational, low, medium, high or critical", id, o.Level))
			}
			r.Level = o.Level
		}
		if o.Suppress != nil {
			r.Suppress = *o.Suppress
		}
		if o.Enabled != nil {
			r.Enabled = *o.Enabled
		}
		if len(o.Params) > 0 {
			if r.Scheduled == nil {
				problems = append(problems, fmt.Sprintf("rules.override.%s.params: only scheduled rules take params", id))
				continue
			}
			for k, v := range o.Params {
				if _, ok := r.Scheduled.Params[k]; !ok {
					problems = append(problems, fmt.Sprintf("rules.override.%s.params: the rule has no param %q", id, k))
					continue
				}
				r.Scheduled.Params[k] = v
			}
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// Enabled returns the enabled rules.
func (s *Set) Enabled() []*Rule {
	var out []*Rule
	for _, r := range s.Rules {
		if r.Enabled {
			out = append(out, r)
		}
	}
	return out
}

// Select returns the rules whose id matches one of the globs (all rules
// when there are none).
func (s *Set) Select(globs []string) ([]*Rule, error) {
	if len(globs) == 0 {
		return s.Rules, nil
	}
	var out []*Rule
	for _, r := range s.Rules {
		for _, g := range globs {
			ok, err := path.Match(g, r.ID)
			if err != nil {
				return nil, fmt.Errorf("bad rule pattern %q: %w", g, err)
			}
			if ok {
				out = append(out, r)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no rule matches %s", strings.Join(globs, ", "))
	}
	return out, nil
}

func validLevel(l string) bool {
	switch l {
	case "informational", "low", "medium", "high", "critical":
		return true
	}
	return false
}

// header is what every rule file has besides its detection.
type header struct {
	Title       string   `yaml:"title"`
	ID          string   `yaml:"id"`
	Description string   `yaml:"description"`
	Level       string   `yaml:"level"`
	Tags        []string `yaml:"tags"`
	Logsource   struct {
		Product string `yaml:"product"`
		Service string `yaml:"service"`
	} `yaml:"logsource"`
	Trawl trawlBlock `yaml:"trawl"`
}

type trawlBlock struct {
	Title    string   `yaml:"title"`
	Dedup    []string `yaml:"dedup"`
	Suppress string   `yaml:"suppress"`
	Enabled  *bool    `yaml:"enabled"`
	Tests    Tests    `yaml:"tests"`

	Kind      string              `yaml:"kind"`
	Every     string              `yaml:"every"`
	Window    string              `yaml:"window"`
	Settle    string              `yaml:"settle"`
	Where     string              `yaml:"where"`
	GroupBy   []string            `yaml:"group_by"`
	Threshold float64             `yaml:"threshold"`
	Distinct  string              `yaml:"distinct"`
	Sum       string              `yaml:"sum"`
	Key       []string            `yaml:"key"`
	Value     []string            `yaml:"value"`
	Lookback  string              `yaml:"lookback"`
	History   *bool               `yaml:"require_history"`
	Requires  []string            `yaml:"requires"`
	Params    map[string][]string `yaml:"params"`
	// ClickHouse holds the parts of a scheduled rule's SQL written for a
	// ClickHouse store (see Scheduled.ClickHouse).
	ClickHouse *sqlPartsBlock `yaml:"clickhouse"`
}

type sqlPartsBlock struct {
	Where    string `yaml:"where"`
	Distinct string `yaml:"distinct"`
	Sum      string `yaml:"sum"`
}

// Parse parses one rule file.
func Parse(data []byte) (*Rule, error) {
	var h header
	if err := yaml.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if h.ID == "" {
		return nil, errors.New("the rule has no id")
	}
	if h.Title == "" {
		return nil, errors.New("the rule has no title")
	}
	if !validLevel(h.Level) {
		return nil, fmt.Errorf("level %q is not informational, low, medium, high or critical", h.Level)
	}
	r := &Rule{ID: h.ID, Title: h.Title, Description: strings.TrimSpace(h.Description), Level: h.Level,
		Tags: h.Tags, Techniques: techniques(h.Tags), Enabled: true, Suppress: DefaultSuppress, Tests: h.Trawl.Tests}
	svc := strings.ToLower(h.Logsource.Service)
	switch svc {
	case sigma.ServiceCloudTrail:
		r.LogType = event.KindCloudTrail
	case sigma.ServiceVPCFlow:
		r.LogType = event.KindVPCFlow
	case sigma.ServiceGuardDuty:
		r.LogType = event.KindGuardDuty
	default:
		return nil, fmt.Errorf("logsource.service %q is not cloudtrail, vpcflow or guardduty", h.Logsource.Service)
	}
	t := h.Trawl
	if t.Enabled != nil {
		r.Enabled = *t.Enabled
	}
	if t.Suppress != "" {
		d, err := config.ParseDuration(t.Suppress)
		if err != nil {
			return nil, fmt.Errorf("trawl.suppress: %w", err)
		}
		r.Suppress = d
	}
	if len(r.Tests.Match) == 0 || len(r.Tests.NoMatch) == 0 {
		return nil, errors.New("trawl.tests needs at least one match and one no_match test")
	}
	r.Kind = t.Kind
	if r.Kind == "" {
		r.Kind = KindStreaming
	}
	if r.Kind != KindStreaming {
		sch, err := parseScheduled(r, t)
		if err != nil {
			return nil, err
		}
		r.Scheduled = sch
		return r, nil
	}
	sr, err := sigma.Parse(data)
	if err != nil {
		return nil, err
	}
	r.Sigma = sr
	tmpl := t.Title
	if tmpl == "" {
		tmpl = h.Title
	}
	if r.title, err = parseTemplate(svc, tmpl); err != nil {
		return nil, fmt.Errorf("trawl.title: %w", err)
	}
	for _, d := range t.Dedup {
		f, err := sigma.NewField(svc, d)
		if err != nil {
			return nil, fmt.Errorf("trawl.dedup: %w", err)
		}
		r.dedup = append(r.dedup, f)
	}
	return r, nil
}

// techniques returns the MITRE ATT&CK techniques of Sigma tags.
func techniques(tags []string) []string {
	var out []string
	for _, t := range tags {
		lt := strings.ToLower(t)
		if rest, ok := strings.CutPrefix(lt, "attack.t"); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			out = append(out, "T"+strings.ToUpper(rest))
		}
	}
	return out
}

// FromSigma wraps a plain Sigma rule (one without a trawl: block, such as
// SigmaHQ's) as an enabled streaming rule: its title is the alert title
// and every matching record is its own alert.
func FromSigma(sr *sigma.Rule, file string) *Rule {
	r := &Rule{ID: sr.ID(), Title: sr.Title(), Description: sr.Description(), Level: sr.Level(), Tags: sr.Tags(),
		Techniques: techniques(sr.Tags()), Enabled: true, File: file, Suppress: DefaultSuppress, Kind: KindStreaming,
		Sigma: sr, title: &template{lits: []string{sr.Title()}}}
	switch sr.Service() {
	case sigma.ServiceVPCFlow:
		r.LogType = event.KindVPCFlow
	case sigma.ServiceGuardDuty:
		r.LogType = event.KindGuardDuty
	default:
		r.LogType = event.KindCloudTrail
	}
	if !validLevel(r.Level) {
		r.Level = "medium"
	}
	return r
}
