// Package ruletest runs rules' test cases: streaming rules on records
// built from their partial test records, scheduled rules by storing their
// test records in a temporary DuckDB store and running their query. It
// serves `trawl rules test` and the test that checks the whole pack.
package ruletest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/trawl-project/trawl/internal/enrich"
	"github.com/trawl-project/trawl/internal/enrich/geo"
	"github.com/trawl-project/trawl/internal/enrich/geo/geobuild"
	"github.com/trawl-project/trawl/internal/enrich/useragent"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/rules"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// Result is the outcome of one rule's tests.
type Result struct {
	Rule *rules.Rule
	// Failures describe each failed case; none means the rule passed.
	Failures []string
	// Skipped says why the tests could not run (a scheduled rule whose
	// columns the store does not have yet).
	Skipped string
	Cases   int
}

// Passed reports whether every case passed.
func (r Result) Passed() bool { return len(r.Failures) == 0 }

// Run runs the tests of every rule. dir holds the temporary stores of
// scheduled rules.
func Run(ctx context.Context, rs []*rules.Rule, dir string) []Result {
	out := make([]Result, 0, len(rs))
	for _, r := range rs {
		var res Result
		if r.Scheduled != nil {
			res = runScheduled(ctx, r, dir)
		} else {
			res = runStreaming(r)
		}
		res.Rule = r
		out = append(out, res)
	}
	return out
}

// record builds the record of a streaming test case.
func record(r *rules.Rule, m map[string]any) (*event.Batch, error) {
	it, err := parseItem(m)
	if err != nil {
		return nil, err
	}
	b := &event.Batch{Object: "test"}
	for _, spec := range it.expand() {
		if err := add(b, r.LogType, spec); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func add(b *event.Batch, kind event.Kind, spec recordSpec) error {
	switch kind {
	case event.KindCloudTrail:
		e, err := CloudTrail(spec.fields, spec.at)
		if err != nil {
			return err
		}
		e.Unit = int64(b.Rows())
		b.CloudTrail = append(b.CloudTrail, e)
	case event.KindVPCFlow:
		f, err := Flow(spec.fields, spec.at)
		if err != nil {
			return err
		}
		f.Unit = int64(b.Rows())
		b.VPCFlow = append(b.VPCFlow, f)
	case event.KindGuardDuty:
		f, err := Finding(spec.fields, spec.at)
		if err != nil {
			return err
		}
		f.Unit = int64(b.Rows())
		b.Findings = append(b.Findings, f)
	default:
		return fmt.Errorf("no test records for %s", kind)
	}
	return nil
}

func runStreaming(r *rules.Rule) Result {
	var res Result
	eng := rules.NewEngine([]*rules.Rule{withEnabled(r)}, nil)
	for _, c := range []struct {
		cases []map[string]any
		want  bool
		name  string
	}{{r.Tests.Match, true, "match"}, {r.Tests.NoMatch, false, "no_match"}} {
		for i, m := range c.cases {
			res.Cases++
			b, err := record(r, m)
			if err != nil {
				res.Failures = append(res.Failures, fmt.Sprintf("%s[%d]: %v", c.name, i, err))
				continue
			}
			if err := eng.Process(context.Background(), b); err != nil {
				res.Failures = append(res.Failures, fmt.Sprintf("%s[%d]: %v", c.name, i, err))
				continue
			}
			if got := len(b.Hits) > 0; got != c.want {
				res.Failures = append(res.Failures, fmt.Sprintf("%s[%d]: the rule %s", c.name, i, map[bool]string{true: "matched", false: "did not match"}[got]))
			}
			for _, h := range b.Hits {
				if strings.Contains(h.Title, "{{") {
					res.Failures = append(res.Failures, fmt.Sprintf("%s[%d]: title %q has an unrendered placeholder", c.name, i, h.Title))
				}
			}
		}
	}
	return res
}

// withEnabled returns r, or an enabled copy of a disabled rule (its tests
// run too).
func withEnabled(r *rules.Rule) *rules.Rule {
	if r.Enabled {
		return r
	}
	c := *r
	c.Enabled = true
	return &c
}

// Window is the window a scheduled rule's test evaluates: it ends five
// minutes after Base.
func Window(r *rules.Rule) (start, end time.Time) {
	end = Base.Add(5 * time.Minute)
	return end.Add(-r.Scheduled.Window), end
}

func runScheduled(ctx context.Context, r *rules.Rule, dir string) Result {
	var res Result
	for _, c := range []struct {
		cases []map[string]any
		want  bool
		name  string
	}{{r.Tests.Match, true, "match"}, {r.Tests.NoMatch, false, "no_match"}} {
		for i, m := range c.cases {
			res.Cases++
			hits, err := scheduledCase(ctx, r, m, filepath.Join(dir, fmt.Sprintf("%s-%s-%d.duckdb", r.ID, c.name, i)))
			var miss *missingError
			if errors.As(err, &miss) {
				res.Skipped = miss.Error()
				return res
			}
			if err != nil {
				res.Failures = append(res.Failures, fmt.Sprintf("%s[%d]: %v", c.name, i, err))
				continue
			}
			if got := len(hits) > 0; got != c.want {
				res.Failures = append(res.Failures, fmt.Sprintf("%s[%d]: the rule %s (%d hits)", c.name, i, map[bool]string{true: "fired", false: "did not fire"}[got], len(hits)))
			}
			for _, h := range hits {
				if strings.Contains(h.Title, "{{") || strings.Contains(h.Title, "{-}") {
					res.Failures = append(res.Failures, fmt.Sprintf("%s[%d]: title %q has an unrendered placeholder", c.name, i, h.Title))
				}
			}
		}
	}
	return res
}

type missingError struct{ cols []string }

func (e *missingError) Error() string {
	return "the store has no column " + strings.Join(e.cols, ", ") + " (added by a later schema version)"
}

// scheduledCase stores a case's records in a new store at path and runs
// the rule over the test window.
func scheduledCase(ctx context.Context, r *rules.Rule, m map[string]any, path string) ([]event.Hit, error) {
	b, err := CaseBatch(ctx, r, m)
	if err != nil {
		return nil, err
	}
	st, err := duckdb.Open(ctx, path, duckdb.Options{MemoryLimit: "256MB", Threads: 1})
	if err != nil {
		return nil, err
	}
	defer func() {
		st.Close()
		os.Remove(path)
		os.Remove(path + ".wal")
	}()
	if miss, err := r.MissingColumns(ctx, st); err != nil {
		return nil, err
	} else if len(miss) > 0 {
		return nil, &missingError{cols: miss}
	}
	if err := Store(ctx, st, b); err != nil {
		return nil, err
	}
	start, end := Window(r)
	return r.RunWindow(ctx, st, start, end)
}

// CaseBatch builds the records of a scheduled rule's test case ({records:
// [...]}) as one batch, enriched as ingest would (see Enricher), ready to
// be written to any store.
func CaseBatch(ctx context.Context, r *rules.Rule, m map[string]any) (*event.Batch, error) {
	recs, ok := m["records"].([]any)
	if !ok || len(recs) == 0 {
		return nil, errors.New("a scheduled rule's test case is {records: [...]}")
	}
	b := &event.Batch{Object: "test"}
	for _, x := range recs {
		rm, ok := x.(map[string]any)
		if !ok {
			return nil, errors.New("a test record is not a mapping")
		}
		it, err := parseItem(rm)
		if err != nil {
			return nil, err
		}
		for _, spec := range it.expand() {
			if err := add(b, r.LogType, spec); err != nil {
				return nil, err
			}
		}
	}
	en, err := Enricher()
	if err != nil {
		return nil, err
	}
	if err := en.Process(ctx, b); err != nil {
		return nil, err
	}
	return b, nil
}

// Enricher returns the enrichment stage test records of scheduled rules
// pass through before they are stored, as ingest does: user agent classes,
// and GeoIP data from the synthetic databases (geobuild.Synthetic, which
// places the MaxMind test addresses tests use: 81.2.69.0/24 in GB,
// AS20712; 175.16.199.0/24 in CN, AS4837). It is built once per process.
var Enricher = sync.OnceValues(func() (*enrich.Enricher, error) {
	dir, err := os.MkdirTemp("", "trawl-ruletest-geoip-")
	if err != nil {
		return nil, fmt.Errorf("test GeoIP databases: %w", err)
	}
	// The databases are memory-mapped when opened, so the files can go.
	defer os.RemoveAll(dir)
	f, err := geobuild.Write(dir, geobuild.Synthetic())
	if err != nil {
		return nil, fmt.Errorf("test GeoIP databases: %w", err)
	}
	db, err := geo.Open(geo.Paths{City: f.City, ASN: f.ASN})
	if err != nil {
		return nil, err
	}
	return enrich.New(db, useragent.New()), nil
})

// Store writes a batch to a store in one transaction.
func Store(ctx context.Context, st *duckdb.Store, b *event.Batch) error {
	tx, err := st.Begin(ctx)
	if err != nil {
		return err
	}
	if err := tx.Write(ctx, b); err != nil {
		tx.Rollback()
		return err
	}
	if _, err := tx.Flush(ctx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit(ctx, nil)
}
