package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/trawl-project/trawl/internal/app"
)

// rollupQuiet is how long the background refresh of the flow rollup waits
// after the last commit of flow records (internal/store/duckdb rollup.go).
const rollupQuiet = 5 * time.Second

// startRollups keeps the store's flow-log rollup current in the
// background (trawl run, trawl serve). The returned stop ends it, waits
// for it and, unless ctx is done, refreshes once more so that the rollup
// holds everything committed; call it before closing the store.
func startRollups(ctx context.Context, st *app.Store, log *slog.Logger) (stop func()) {
	bg, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.RunRollups(bg, rollupQuiet, func(err error) { log.Warn("flow rollup refresh failed", "error", err) })
	}()
	return func() {
		cancel()
		<-done
		if ctx.Err() == nil {
			if err := st.RefreshRollups(ctx); err != nil && ctx.Err() == nil {
				log.Warn("flow rollup refresh failed", "error", err)
			}
		}
	}
}

// refreshRollups brings the flow-log rollup up to date after an ingest,
// saying how long it took when that was noticeable.
func refreshRollups(ctx context.Context, w io.Writer, st *app.Store, quiet bool) error {
	start := time.Now()
	if err := st.RefreshRollups(ctx); err != nil {
		return err
	}
	if d := time.Since(start); !quiet && d > time.Second {
		fmt.Fprintf(w, "refreshed the dashboards' flow rollup in %s\n", d.Round(10*time.Millisecond))
	}
	return nil
}
