package app

import (
	"context"
	"log/slog"

	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/rules"
)

// Rules loads the built-in pack and the configured rule directories,
// applies disable and override, compiles the watch list and returns the
// streaming engine. A rule file that cannot be loaded is reported to warn
// with its reason and the others run; a duplicate id, a bad override or a
// bad watch entry is an error.
func Rules(c config.Rules, warn func(file, reason string)) (*rules.Set, *rules.Engine, error) {
	set, err := rules.LoadConfigured(c)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range set.Errors {
		warn(e.File, e.Reason)
	}
	watch, err := rules.NewWatchList(c.Watch)
	if err != nil {
		return nil, nil, err
	}
	return set, rules.NewEngine(set.Rules, watch), nil
}

// Recorder returns the store's alert recorder when the store has one
// (the alert table), and otherwise one that logs each hit.
func Recorder(st *Store, log *slog.Logger) rules.HitRecorder {
	if r, ok := any(st.Store).(rules.HitRecorder); ok {
		return r
	}
	return logRecorder{log}
}

type logRecorder struct{ log *slog.Logger }

func (l logRecorder) RecordHits(_ context.Context, hits []event.Hit) (int, int, error) {
	for _, h := range hits {
		l.log.Warn("rule hit", "rule", h.RuleID, "severity", h.Severity, "title", h.Title, "count", h.Count,
			"first", h.First, "last", h.Last, "dedup_key", h.DedupKey)
	}
	return len(hits), 0, nil
}
