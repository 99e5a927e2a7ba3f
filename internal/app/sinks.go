package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/awsconf"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/lake"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/sink/opensearch"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// Sinks are the open sinks of a configuration.
type Sinks struct {
	// Sinks receive every batch (pipeline.Config.Sinks).
	Sinks []pipeline.Sink
	// Names are the sinks' names, in order.
	Names []string
	// Ledger is the lake holding the ingest ledger when the configuration
	// has no store, else nil; it is not among Sinks.
	Ledger *lake.Lake

	closers []func(context.Context) error
}

// Close closes every sink, returning the first error.
func (s *Sinks) Close(ctx context.Context) error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i](ctx))
	}
	return errors.Join(errs...)
}

// OpenSinks opens the sinks section of cfg. Lakes on S3 and SigV4
// signing use the top-level aws settings. Without a store (cfg.HasStore
// false) the first lake becomes Ledger, the pipeline's store, instead of a
// sink.
func OpenSinks(ctx context.Context, cfg *config.Config) (*Sinks, error) {
	out := &Sinks{}
	for _, sc := range cfg.Sinks {
		switch {
		case sc.Lake != nil:
			l, err := OpenLake(ctx, sc.Lake.Target, sc.Lake.FileSize, &cfg.AWS)
			if err != nil {
				out.Close(ctx)
				return nil, fmt.Errorf("sink %s: %w", sc.Name, err)
			}
			out.closers = append(out.closers, func(context.Context) error { return l.Close() })
			if !cfg.HasStore() && out.Ledger == nil {
				out.Ledger = l
				continue
			}
			out.Sinks = append(out.Sinks, l.Sink())
		case sc.OpenSearch != nil:
			ocfg, err := openSearchConfig(ctx, sc.OpenSearch, &cfg.AWS)
			if err == nil {
				var s *opensearch.Sink
				if s, err = opensearch.New(ctx, ocfg); err == nil {
					out.closers = append(out.closers, s.Close)
					out.Sinks = append(out.Sinks, s)
				}
			}
			if err != nil {
				out.Close(ctx)
				return nil, fmt.Errorf("sink %s: %w", sc.Name, err)
			}
		default:
			continue
		}
		out.Names = append(out.Names, sc.Name)
	}
	return out, nil
}

// OpenLake opens a lake at target (a directory or s3://bucket/prefix);
// an S3 target uses the aws settings a (nil for the SDK's defaults).
func OpenLake(ctx context.Context, target string, fileSize int64, a *config.AWS) (*lake.Lake, error) {
	opt := lake.Options{FileSize: fileSize}
	if strings.HasPrefix(target, "s3://") {
		if a == nil {
			a = &config.AWS{}
		}
		acfg, err := awsconf.Load(ctx, awsconf.Options(*a))
		if err != nil {
			return nil, err
		}
		opt.AWS = &acfg
	}
	return lake.Open(ctx, target, opt)
}

func openSearchConfig(ctx context.Context, o *config.OpenSearchSink, a *config.AWS) (opensearch.Config, error) {
	c := opensearch.Config{URLs: o.URLs, Username: o.Username, Password: o.Password, IndexPrefix: o.IndexPrefix,
		Flavor: o.Flavor, FlushBytes: int(o.FlushBytes), Workers: o.Workers, Insecure: o.Insecure}
	if o.PasswordFile != "" {
		p, err := firstLine(o.PasswordFile)
		if err != nil {
			return c, fmt.Errorf("password_file: %w", err)
		}
		c.Password = p
	}
	if o.SigV4 != nil {
		opt := awsconf.Options(*a)
		if o.SigV4.Region != "" {
			opt.Region = o.SigV4.Region
		}
		acfg, err := awsconf.Load(ctx, opt)
		if err != nil {
			return c, fmt.Errorf("sigv4: %w", err)
		}
		c.SigV4 = &opensearch.SigV4{Region: o.SigV4.Region, Service: o.SigV4.Service, AWS: acfg}
	}
	return c, nil
}

// firstLine reads the first line of a secret file.
func firstLine(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	line := strings.TrimSpace(sc.Text())
	if line == "" {
		return "", fmt.Errorf("%s: the first line is empty", path)
	}
	return line, nil
}

// ErrNoSQL is returned (wrapped) by what needs SQL when the store is a lake.
var ErrNoSQL = errors.New("a Parquet lake is not a SQL store: query it with trawl query --lake, or give --db")

// LakeStore returns a lake as the store of an ingest: the pipeline writes
// to it and reads its ledger; queries, alerts and retention answer
// ErrNoSQL (hits of streaming rules are not kept: a lake has no alert
// table).
func LakeStore(l *lake.Lake, mode Mode) *Store {
	return &Store{Backend: lakeBackend{l: l}, mode: mode}
}

// lakeBackend is a lake as a Backend.
type lakeBackend struct {
	noSQL
	l *lake.Lake
}

func (b lakeBackend) LedgerEntries(ctx context.Context, objects []string) (map[string]pipeline.LedgerEntry, error) {
	return b.l.LedgerEntries(ctx, objects)
}

func (b lakeBackend) Begin(ctx context.Context) (pipeline.Tx, error) { return b.l.Begin(ctx) }

func (b lakeBackend) Close() error { return b.l.Close() }

// noSQL answers every query and alert-store call with ErrNoSQL.
type noSQL struct{}

func (noSQL) Query(context.Context, store.Request) (store.Rows, error) { return nil, ErrNoSQL }
func (noSQL) QueryEach(context.Context, store.Request, func(store.Rows) error) error {
	return ErrNoSQL
}
func (noSQL) SetAlertOptions(duckdb.AlertOptions) {}
func (noSQL) RecordHits(context.Context, []event.Hit) (int, int, error) {
	return 0, 0, ErrNoSQL
}
func (noSQL) Alerts(context.Context, duckdb.AlertFilter) ([]alert.Alert, error) {
	return nil, ErrNoSQL
}
func (noSQL) Alert(context.Context, int64) (alert.Alert, error) { return alert.Alert{}, ErrNoSQL }
func (noSQL) SetAlertStatus(context.Context, int64, alert.Status, string) error {
	return ErrNoSQL
}
func (noSQL) DueDeliveries(context.Context, time.Time, int, []int64) ([]alert.Delivery, error) {
	return nil, nil // nothing is ever queued
}
func (noSQL) Deliveries(context.Context, []alert.DeliveryStatus, int) ([]alert.Delivery, error) {
	return nil, ErrNoSQL
}
func (noSQL) MarkDelivered(context.Context, int64, int, time.Time) error { return ErrNoSQL }
func (noSQL) MarkRetry(context.Context, int64, int, time.Time, time.Time, string) error {
	return ErrNoSQL
}
func (noSQL) RetryFailed(context.Context, []int64) (int64, error) { return 0, ErrNoSQL }
func (noSQL) Prune(context.Context, string, time.Time) (int64, error) {
	return 0, ErrNoSQL
}
func (noSQL) CountOlder(context.Context, string, time.Time) (int64, error) {
	return 0, ErrNoSQL
}
func (noSQL) Version(context.Context) (string, error) { return "Parquet lake", nil }
func (noSQL) Dialect() store.Dialect                  { return store.DuckDB }

var (
	_ Backend = lakeBackend{}
	_ Backend = duckdbBackend{}
)
