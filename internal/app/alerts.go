package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/metrics"
	"github.com/trawl-project/trawl/internal/notify"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// ConfigureAlerts makes the store turn hits into alerts as the alerts
// section says: the default suppression window, and the notifiers a new
// alert is queued for (routes). Call it before ingesting or recording
// hits; without it no delivery is queued.
func ConfigureAlerts(st *Store, cfg config.Alerts) {
	st.SetAlertOptions(duckdb.AlertOptions{DefaultSuppress: cfg.Suppress, Route: cfg.Route, RemindAfter: cfg.RemindAfter})
}

// NewAlertWorker builds the notifiers of cfg and a delivery worker over
// st's outbox; m, if set, counts deliveries by notifier and outcome
// (trawl_alert_deliveries_total). Run it beside ingest: it only reads and
// updates outbox rows, so a slow notifier never slows ingest.
func NewAlertWorker(ctx context.Context, st *Store, cfg config.Alerts, log *slog.Logger, m *metrics.Metrics) (*notify.Worker, error) {
	ns, err := notify.Build(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	w := &notify.Worker{Outbox: st.Backend, Notifiers: ns, Poll: cfg.Poll, RetryFor: cfg.RetryFor, MaxBackoff: cfg.MaxBackoff, Log: log}
	if m != nil {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trawl_alert_deliveries_total",
			Help: "Attempts to deliver alerts, by notifier and outcome (delivered, retry, failed)."}, []string{"notifier", "outcome"})
		if err := m.Registry().Register(c); err == nil {
			w.Observe = func(n, outcome string) { c.WithLabelValues(n, outcome).Inc() }
		}
	}
	return w, nil
}
