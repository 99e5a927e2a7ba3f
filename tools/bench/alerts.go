package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// alertBenchStore is the alert store as both stores implement it.
type alertBenchStore interface {
	SetAlertOptions(o duckdb.AlertOptions)
	RecordHits(ctx context.Context, hits []event.Hit) (created, updated int, err error)
	Alerts(ctx context.Context, f duckdb.AlertFilter) ([]alert.Alert, error)
	DueDeliveries(ctx context.Context, now time.Time, limit int, skip []int64) ([]alert.Delivery, error)
	MarkDelivered(ctx context.Context, id int64, attempts int, at time.Time) error
	Close() error
}

// clickhouseAlertsBench measures the alert store on ClickHouse beside
// DuckDB's: recording hits (20 calls of 1,000, one new alert in ten, as
// ingest and scheduled rules do), listing every alert, and the delivery
// worker's pass (claim up to 100 due deliveries, mark each delivered).
// target is "start" (a server started for the run) or a clickhouse://
// address (a database is created beside the named one, then dropped).
func clickhouseAlertsBench(ctx context.Context, target string) {
	base := target
	if target == "start" {
		srv, err := chtest.StartServer()
		if err != nil {
			fmt.Printf("\n== ClickHouse alerts: cannot start a server: %v\n", err)
			return
		}
		defer srv.Stop()
		base = "clickhouse://" + strings.TrimPrefix(srv.URL(), "http://") + "/trawl"
	}
	d, err := clickhouse.ParseDSN(base)
	if err != nil {
		fmt.Printf("\n== ClickHouse alerts: %v\n", err)
		return
	}
	d.Database = fmt.Sprintf("%s_alerts_%d", d.Database, os.Getpid())
	ch, err := clickhouse.Open(ctx, d.URL(), clickhouse.Options{})
	if err != nil {
		fmt.Printf("\n== ClickHouse alerts (%s): %v\n", d, err)
		return
	}
	defer func() {
		_ = ch.Client().Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+clickhouse.QuoteIdent(d.Database))
	}()
	dir, err := os.MkdirTemp("", "trawl-bench-alerts-")
	must(err)
	defer os.RemoveAll(dir)
	duck, err := duckdb.Open(ctx, filepath.Join(dir, "alerts.duckdb"), duckdb.Options{})
	must(err)
	version, _ := ch.Version(ctx)
	fmt.Printf("\n== Alert store (%s beside DuckDB)\n", version)
	for _, s := range []struct {
		name string
		st   alertBenchStore
	}{{"duckdb", duck}, {"clickhouse", ch}} {
		alertsBenchOne(ctx, s.name, s.st)
		s.st.Close()
	}
}

func alertsBenchOne(ctx context.Context, name string, st alertBenchStore) {
	st.SetAlertOptions(duckdb.AlertOptions{Route: func(string, string) []string { return []string{"hook"} }})
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	hits := make([]event.Hit, 1000)
	n := 0
	start := time.Now()
	for range 20 {
		for i := range hits {
			n++
			t := at.Add(time.Duration(n) * time.Second)
			hits[i] = event.Hit{RuleID: "r", Severity: "high", Title: "bench", LogType: event.KindCloudTrail, DedupKey: fmt.Sprintf("k%d", n/10),
				EventIDs: []string{fmt.Sprintf("e%d", n)}, First: t, Last: t, Suppress: time.Hour, Count: 1}
		}
		if _, _, err := st.RecordHits(ctx, hits); err != nil {
			fmt.Printf("%-10s RecordHits: %v\n", name, err)
			return
		}
	}
	el := time.Since(start)
	fmt.Printf("%-10s RecordHits: %d hits in %s = %.0f hits/s\n", name, n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	start = time.Now()
	as, err := st.Alerts(ctx, duckdb.AlertFilter{})
	if err != nil {
		fmt.Printf("%-10s Alerts: %v\n", name, err)
		return
	}
	fmt.Printf("%-10s Alerts: %d alerts listed in %s\n", name, len(as), time.Since(start).Round(time.Millisecond))
	now := time.Now().UTC().Add(time.Second)
	done := 0
	start = time.Now()
	for done < 500 {
		due, err := st.DueDeliveries(ctx, now, 100, nil)
		if err != nil || len(due) == 0 {
			fmt.Printf("%-10s DueDeliveries: %d, %v\n", name, len(due), err)
			return
		}
		for _, dl := range due {
			if err := st.MarkDelivered(ctx, dl.ID, 1, now); err != nil {
				fmt.Printf("%-10s MarkDelivered: %v\n", name, err)
				return
			}
			done++
		}
	}
	el = time.Since(start)
	fmt.Printf("%-10s outbox: %d deliveries claimed (100 a pass) and marked in %s = %.0f deliveries/s\n", name, done, el.Round(time.Millisecond), float64(done)/el.Seconds())
}
