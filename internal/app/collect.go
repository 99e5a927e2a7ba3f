package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/metrics"
	"github.com/trawl-project/trawl/internal/notify"
	"github.com/trawl-project/trawl/internal/pipeline"
)

// SourceEnv is what a source builder may use.
type SourceEnv struct {
	Store *Store
	Log   *slog.Logger // with the source's name
	// Once asks for a single pass (a backfill) instead of polling for ever.
	Once bool
	// Metrics, if set, receives what a source measures besides its
	// objects (verification problems).
	Metrics *metrics.Metrics
}

// SourceBuilder makes the pipeline source of a configured source.
type SourceBuilder func(ctx context.Context, src config.Source, env SourceEnv) (pipeline.Source, error)

// SourceBuilders are the source kinds trawl run can collect from, by the
// configuration key of the kind (config.Source.Kind).
var SourceBuilders = map[string]SourceBuilder{}

// Collector runs every configured source into one store, through one
// pipeline (DuckDB allows one writer per file), with metrics, retention
// and structured logs.
type Collector struct {
	Store   *Store
	Config  *config.Config
	Log     *slog.Logger
	Metrics *metrics.Metrics
	// Once collects what is there and returns, instead of polling.
	Once bool
	// Progress, if set, also receives the pipeline's progress.
	Progress func(pipeline.Progress)
	// RetainEvery is how often retention is applied; 0 means hourly.
	RetainEvery time.Duration
	// Processors run on every batch (streaming rules).
	Processors []pipeline.Processor
	// Sinks receive every batch beside the store (OpenSinks).
	Sinks []pipeline.Sink
}

// CollectTxAge is how often a collector commits at least.
const CollectTxAge = 5 * time.Second

// ErrNoSources is returned when no source is enabled.
var ErrNoSources = errors.New("no enabled source in the configuration")

// Run collects until ctx ends (then it commits what is complete and
// returns nil) or, with Once, until every source is exhausted.
func (c *Collector) Run(ctx context.Context) (pipeline.Result, error) {
	procs, closeEnrich, err := OpenEnrichment(EnrichSettings(c.Config.Enrich), func(msg string) { c.Log.Info(msg) })
	if err != nil {
		return pipeline.Result{}, err
	}
	defer closeEnrich()
	var srcs []pipeline.Source
	var names []string
	for _, s := range c.Config.Sources {
		if !s.Enabled {
			continue
		}
		build, ok := SourceBuilders[s.Kind()]
		if !ok {
			return pipeline.Result{}, fmt.Errorf("source %s: %s sources are not supported by this build", s.Name, s.Kind())
		}
		src, err := build(ctx, s, SourceEnv{Store: c.Store, Log: c.Log.With("source", s.Name), Once: c.Once, Metrics: c.Metrics})
		if err != nil {
			return pipeline.Result{}, fmt.Errorf("source %s: %w", s.Name, err)
		}
		if c.Metrics != nil {
			src = c.Metrics.Source(s.Name, src)
		}
		srcs = append(srcs, src)
		names = append(names, s.Name)
	}
	if len(srcs) == 0 {
		return pipeline.Result{}, ErrNoSources
	}
	c.Log.Info("collecting", "sources", names, "db", DescribeDB(c.Config.Store.Path), "sinks", len(c.Sinks), "once", c.Once)
	ConfigureAlerts(c.Store, c.Config.Alerts)
	var alerts *notify.Worker
	if len(c.Config.Alerts.Notifiers) > 0 {
		// Alerts are delivered beside ingest, from the outbox, until ctx
		// ends; Run returns after the worker has stopped.
		w, err := NewAlertWorker(ctx, c.Store, c.Config.Alerts, c.Log.With("part", "alerts"), c.Metrics)
		if err != nil {
			return pipeline.Result{}, err
		}
		alerts = w
		wctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = w.Run(wctx) }()
		defer func() { stop(); <-done }()
	}
	if len(c.Config.Retention) > 0 && !c.Once && c.Config.HasStore() { // a lake keeps what it has
		rctx, stop := context.WithCancel(ctx)
		defer stop()
		go c.retain(rctx)
	}
	cfg := pipeline.Config{
		Decode:     decode.Options{MaxRecordSize: int(c.Config.Ingest.MaxRecordSize)},
		Workers:    c.Config.Ingest.Workers,
		Processors: append(slices.Clip(procs), c.Processors...), // enrichment first: rules read its columns
		Sinks:      c.Sinks,
		// Queue messages are deleted, and cursors advance, at commits:
		// collection commits every few seconds, not every minute.
		TxAge: CollectTxAge,
		Progress: func(p pipeline.Progress) {
			if c.Metrics != nil {
				c.Metrics.Progress(p)
			}
			if c.Progress != nil {
				c.Progress(p)
			}
		},
		Notice: func(msg string) { c.Log.Info(msg) },
		Quarantined: func(q *event.Quarantined) {
			c.Log.Warn("quarantined", "object", q.Object, "line", q.Line, "byte", q.Offset, "reason", q.Reason)
		},
	}
	res, err := c.Store.Ingest(ctx, pipeline.Merge(srcs...), cfg)
	if err == nil && c.Once {
		if c.Config.HasStore() {
			c.applyRetention(ctx)
		}
		if alerts != nil {
			// Send what this pass raised; what fails waits for the next run.
			if _, err := alerts.RunOnce(ctx); err != nil {
				c.Log.Warn("alert delivery pass failed", "err", err)
			}
		}
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		c.Log.Info("stopped; what was complete is committed", "records", res.Stored())
		return res, nil
	}
	return res, err
}

// retain applies the retention section at start and every RetainEvery
// until ctx ends.
func (c *Collector) retain(ctx context.Context) {
	every := c.RetainEvery
	if every <= 0 {
		every = time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		c.applyRetention(ctx)
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// applyRetention deletes, from each table of the retention section, the
// rows older than its age.
func (c *Collector) applyRetention(ctx context.Context) {
	tables := make([]string, 0, len(c.Config.Retention))
	for t := range c.Config.Retention {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, table := range tables {
		cutoff := time.Now().Add(-c.Config.Retention[table])
		n, err := c.Store.Prune(ctx, table, cutoff)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			c.Log.Error("retention", "table", table, "error", err)
		case n > 0:
			c.Log.Info("retention", "table", table, "deleted", n, "before", cutoff.UTC().Format(time.RFC3339))
		}
	}
}
