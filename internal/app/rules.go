package app

import (
	"github.com/trawl-project/trawl/internal/config"
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

// Recorder returns where scheduled rules and backfill record their hits:
// the store's alert table.
func Recorder(st *Store) rules.HitRecorder { return st.Backend }
