package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/rules"
	"github.com/trawl-project/trawl/internal/rules/ruletest"
)

// packRules returns the streaming engine of the built-in pack, reporting
// rule files that cannot be loaded on stderr.
func packRules(e *env) (*rules.Engine, error) {
	_, eng, err := app.Rules(config.Rules{Enabled: true}, func(file, reason string) {
		fmt.Fprintf(e.stderr, "trawl: rule %s not loaded: %s\n", file, reason)
	})
	return eng, err
}

// ruleProcessors returns the pipeline processors of an engine (none for nil).
func ruleProcessors(eng *rules.Engine) []pipeline.Processor {
	if eng == nil {
		return nil
	}
	return []pipeline.Processor{eng}
}

func newRulesCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List, test and backfill detection rules",
		Long: `Rules are Sigma rules with a trawl: block (alert title, dedup, suppression,
test events) or scheduled rules (threshold, first-seen, aggregation) run as
SQL against the store. The built-in pack is embedded; rules.dirs in
trawl.yaml adds your own. docs/rules.md describes the format.`,
		Args: usageArgs(cobra.NoArgs),
	}
	cmd.AddCommand(newRulesListCmd(e), newRulesTestCmd(e), newRulesBackfillCmd(e))
	return cmd
}

// loadRulesFor loads the pack, the configuration's rules section (when
// file is set or trawl.yaml exists) and extra directories.
func loadRulesFor(file string, dirs []string) (*rules.Set, config.Rules, error) {
	c := config.Rules{Enabled: true}
	if file != "" {
		cfg, err := config.Load(file)
		if err != nil {
			var ce *config.Error
			if errors.As(err, &ce) {
				return nil, c, &exitError{code: exitUsage, err: err}
			}
			return nil, c, &exitError{code: exitFailure, err: err}
		}
		c = cfg.Rules
	}
	c.Dirs = append(c.Dirs, dirs...)
	set, err := rules.LoadConfigured(c)
	if err != nil {
		return nil, c, &exitError{code: exitUsage, err: err}
	}
	return set, c, nil
}

func newRulesListCmd(e *env) *cobra.Command {
	var format, file string
	cmd := &cobra.Command{
		Use:   "list [DIR...]",
		Short: "List the rules: id, level, log type, kind, MITRE ATT&CK, enabled, file",
		Example: `  trawl rules list
  trawl rules list --format json | jq '.[] | select(.enabled)'
  trawl rules list --config trawl.yaml ./my-rules`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageError("--format %q: use table or json", format)
			}
			set, _, err := loadRulesFor(file, args)
			if err != nil {
				return err
			}
			return printRules(e.stdout, e.stderr, set, format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	cmd.Flags().StringVarP(&file, "config", "c", "", "apply the rules: section of this configuration (dirs, disable, override)")
	return cmd
}

type ruleJSON struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Level       string   `json:"level"`
	Severity    string   `json:"severity"`
	LogType     string   `json:"log_type"`
	Kind        string   `json:"kind"`
	MITRE       []string `json:"mitre"`
	Enabled     bool     `json:"enabled"`
	File        string   `json:"file"`
	Description string   `json:"description,omitempty"`
}

func printRules(w, errw io.Writer, set *rules.Set, format string) error {
	if format == "json" {
		out := make([]ruleJSON, 0, len(set.Rules))
		for _, r := range set.Rules {
			out = append(out, ruleJSON{ID: r.ID, Title: r.Title, Level: r.Level, Severity: r.Severity(), LogType: r.LogType.String(),
				Kind: r.Kind, MITRE: append([]string{}, r.Techniques...), Enabled: r.Enabled, File: r.File, Description: r.Description})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLEVEL\tLOG TYPE\tKIND\tMITRE\tENABLED\tFILE")
		for _, r := range set.Rules {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%s\n", r.ID, r.Level, r.LogType, r.Kind, strings.Join(r.Techniques, ","), r.Enabled, r.File)
		}
		tw.Flush()
	}
	for _, le := range set.Errors {
		fmt.Fprintf(errw, "trawl: rule %s not loaded: %s\n", le.File, le.Reason)
	}
	return nil
}

func newRulesTestCmd(e *env) *cobra.Command {
	var file string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "test [DIR...]",
		Short: "Run every rule's test events: the built-in pack and the given directories",
		Long: `Test runs the match and no_match test events of every rule: streaming rules
on records built from the partial test records, scheduled rules by storing
their test records in a temporary DuckDB database and running their query.
It prints one line per rule that failed (every rule with -v) and exits 1 when
a rule failed or a rule file could not be loaded.`,
		Example: `  trawl rules test
  trawl rules test ./my-rules`,
		RunE: func(cmd *cobra.Command, args []string) error {
			set, _, err := loadRulesFor(file, args)
			if err != nil {
				return err
			}
			dir, err := os.MkdirTemp("", "trawl-rules-test-")
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			defer os.RemoveAll(dir)
			failed := len(set.Errors)
			for _, le := range set.Errors {
				fmt.Fprintf(e.stdout, "FAIL  %s: not loaded: %s\n", le.File, le.Reason)
			}
			results := ruletest.Run(cmd.Context(), set.Rules, dir)
			skipped, passed := 0, 0
			for _, res := range results {
				switch {
				case !res.Passed():
					failed++
					fmt.Fprintf(e.stdout, "FAIL  %s (%s)\n", res.Rule.ID, res.Rule.File)
					for _, f := range res.Failures {
						fmt.Fprintf(e.stdout, "        %s\n", f)
					}
				case res.Skipped != "":
					skipped++
					fmt.Fprintf(e.stdout, "SKIP  %s: %s\n", res.Rule.ID, res.Skipped)
				default:
					passed++
					if verbose {
						fmt.Fprintf(e.stdout, "ok    %s (%d cases)\n", res.Rule.ID, res.Cases)
					}
				}
			}
			fmt.Fprintf(e.stdout, "%d rules, %d passed, %d failed, %d skipped\n", len(results)+len(set.Errors), passed, failed, skipped)
			if failed > 0 {
				return &exitError{code: exitFailure}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "also test the rules.dirs of this configuration")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print every rule, not only failures")
	return cmd
}

func newRulesBackfillCmd(e *env) *cobra.Command {
	var since, until, file string
	var globs []string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "backfill --since TIME [--until TIME]",
		Short: "Run the rules over stored history and store the alerts",
		Long: `Backfill runs the enabled rules over what the database holds between --since
and --until (now by default): streaming rules and the watch list on every
stored record (CloudTrail events and findings decoded again from their raw
text, flow records from their columns), scheduled rules on each window of
the range. Hits go to the alert store, which de-duplicates them like live
ones; --dry-run prints them instead (JSON lines). Times are RFC 3339 dates
or durations back from now (72h, 30d).`,
		Example: `  trawl rules backfill --since 30d --dry-run
  trawl rules backfill --since 2026-11-01 --until 2026-11-08 --rules 'aws-iam-*'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, _ := cmd.Flags().GetString("db")
			return runBackfill(cmd.Context(), e, db, file, since, until, globs, dryRun)
		},
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "", "start of the range: a date/time or a duration back from now (required)")
	f.StringVar(&until, "until", "", "end of the range (default now)")
	f.StringSliceVar(&globs, "rules", nil, "only these rule ids or globs (default: every enabled rule)")
	f.BoolVar(&dryRun, "dry-run", false, "print the hits as JSON lines instead of storing alerts")
	f.StringVarP(&file, "config", "c", "", "apply the rules: section of this configuration (dirs, disable, override, watch)")
	return cmd
}

func runBackfill(ctx context.Context, e *env, db, file, since, until string, globs []string, dryRun bool) error {
	if since == "" {
		return usageError("--since is required")
	}
	now := time.Now().UTC()
	ms, err := parseMoment(since)
	if err != nil {
		return usageError("--since: %v", err)
	}
	end := now
	if until != "" {
		mu, err := parseMoment(until)
		if err != nil {
			return usageError("--until: %v", err)
		}
		end = mu.Resolve(now)
	}
	start := ms.Resolve(now)
	if !start.Before(end) {
		return usageError("--since %s is not before --until %s", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	set, c, err := loadRulesFor(file, nil)
	if err != nil {
		return err
	}
	for _, le := range set.Errors {
		fmt.Fprintf(e.stderr, "trawl: rule %s not loaded: %s\n", le.File, le.Reason)
	}
	sel, err := set.Select(globs)
	if err != nil {
		return usageError("--rules: %v", err)
	}
	var watch []*rules.Watch
	if len(globs) == 0 {
		if watch, err = rules.NewWatchList(c.Watch); err != nil {
			return usageError("%v", err)
		}
	}
	if missingDB(db) {
		return &exitError{code: exitFailure, err: fmt.Errorf("no database at %s: pass --db", db)}
	}
	mode := app.Serve
	if dryRun {
		mode = app.Query
	}
	st, err := app.Open(ctx, app.Options{DB: db, Mode: mode})
	if err != nil {
		return openFailure(err)
	}
	defer st.Close()
	enc := json.NewEncoder(e.stdout)
	var rec rules.HitRecorder
	if !dryRun {
		rec = app.Recorder(st)
	}
	var created, updated int
	bf := &rules.Backfill{Store: st.Querier(), Rules: sel, Watch: watch, Since: start, Until: end,
		Emit: func(ctx context.Context, hits []event.Hit) error {
			if dryRun {
				for _, h := range hits {
					if err := enc.Encode(hitJSON(h)); err != nil {
						return err
					}
				}
				return nil
			}
			c, u, err := rec.RecordHits(ctx, hits)
			created, updated = created+c, updated+u
			return err
		},
		Progress: func(part string, records, hits int64) {
			fmt.Fprintf(e.stderr, "backfill: %s: %d records, %d hits so far\n", part, records, hits)
		},
	}
	t0 := time.Now()
	n, hits, err := bf.Run(ctx)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	fmt.Fprintf(e.stderr, "backfill: %d records and %d rules over %s – %s: %d hits in %s", n, len(sel),
		start.Format(time.RFC3339), end.Format(time.RFC3339), hits, time.Since(t0).Round(time.Millisecond))
	if !dryRun {
		fmt.Fprintf(e.stderr, " (%d alerts created, %d updated)", created, updated)
	}
	fmt.Fprintln(e.stderr)
	return nil
}

// parseMoment reads a date or time, or a duration back from now (with or
// without a leading -).
func parseMoment(s string) (config.Moment, error) {
	if d, err := config.ParseDuration(strings.TrimPrefix(s, "-")); err == nil && d > 0 {
		return config.Moment{Ago: d}, nil
	}
	return config.ParseMoment(s)
}

func hitJSON(h event.Hit) map[string]any {
	return map[string]any{"rule_id": h.RuleID, "severity": h.Severity, "title": h.Title, "log_type": h.LogType.String(),
		"event_ids": h.EventIDs, "first": h.First, "last": h.Last, "dedup_key": h.DedupKey,
		"suppress": h.Suppress.String(), "count": h.Count, "fields": h.Fields, "tags": h.Tags}
}
