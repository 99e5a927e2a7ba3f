// Package metrics exposes a collecting process's Prometheus metrics: what
// each source delivered (objects by outcome, records, bytes), errors, and
// how far collection lags behind the newest object. It serves them on a
// local address; any other address requires a bearer token.
package metrics

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/pipeline"
)

// Metrics are the collectors of one process.
type Metrics struct {
	reg      *prometheus.Registry
	objects  *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	records  *prometheus.CounterVec
	errs     *prometheus.CounterVec
	newest   *prometheus.GaugeVec
	verify   *prometheus.GaugeVec
	quar     prometheus.Counter
	warnings prometheus.Counter
	dups     prometheus.Counter

	mu       sync.Mutex
	newestAt map[string]time.Time
	last     pipeline.Progress
}

// New returns the metrics, registered with a registry of their own (plus
// the Go runtime's and the process's collectors).
func New() *Metrics {
	m := &Metrics{
		reg:      prometheus.NewRegistry(),
		newestAt: map[string]time.Time{},
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trawl_objects_total",
			Help: "Objects finished, by source and outcome (ingested, skipped, failed, not_finished)."}, []string{"source", "outcome"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trawl_object_bytes_total",
			Help: "Bytes of the objects ingested, as stored, by source."}, []string{"source"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trawl_records_total",
			Help: "Records stored, by log type."}, []string{"kind"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trawl_errors_total",
			Help: "Errors, by source and what failed (read, list)."}, []string{"source", "what"}),
		newest: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "trawl_newest_object_timestamp_seconds",
			Help: "Modification time of the newest object ingested, by source: time() minus this is the lag."}, []string{"source"}),
		verify: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "trawl_verify_problems",
			Help: "Problems the last digest verification of a source found, by kind (missing-log-file, altered-log-file, …)."}, []string{"source", "kind"}),
		quar: prometheus.NewCounter(prometheus.CounterOpts{Name: "trawl_quarantined_total",
			Help: "Inputs that could not be decoded and went to the quarantine table."}),
		warnings: prometheus.NewCounter(prometheus.CounterOpts{Name: "trawl_warnings_total",
			Help: "Values stored as NULL or rewritten (ingest_warning)."}),
		dups: prometheus.NewCounter(prometheus.CounterOpts{Name: "trawl_duplicates_total",
			Help: "Records dropped as already stored."}),
	}
	m.reg.MustRegister(m.objects, m.bytes, m.records, m.errs, m.newest, m.verify, m.quar, m.warnings, m.dups,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry, for further collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Source wraps the objects of a named source so that their outcomes are
// counted when they are acked.
func (m *Metrics) Source(name string, src pipeline.Source) pipeline.Source {
	return pipeline.SourceFunc(func(ctx context.Context) (pipeline.Object, error) {
		o, err := src.Next(ctx)
		var le *pipeline.ListError
		if errors.As(err, &le) {
			m.errs.WithLabelValues(name, "list").Inc()
		}
		if err != nil {
			return o, err
		}
		ack := o.Ack
		size, mod := o.Size, o.ModTime
		o.Ack = func(ctx context.Context, err error) {
			switch {
			case err == nil:
				m.objects.WithLabelValues(name, "ingested").Inc()
				if size > 0 {
					m.bytes.WithLabelValues(name).Add(float64(size))
				}
				if !mod.IsZero() {
					m.mu.Lock()
					if mod.After(m.newestAt[name]) {
						m.newestAt[name] = mod
						m.newest.WithLabelValues(name).Set(float64(mod.Unix()))
					}
					m.mu.Unlock()
				}
			case errors.Is(err, pipeline.ErrNotFinished):
				m.objects.WithLabelValues(name, "not_finished").Inc()
			default:
				m.objects.WithLabelValues(name, "failed").Inc()
				m.errs.WithLabelValues(name, "read").Inc()
			}
			if ack != nil {
				ack(ctx, err)
			}
		}
		return o, nil
	})
}

// VerifyProblems sets the problems the last verification of a source
// found, by kind; kinds not in counts go back to zero.
func (m *Metrics) VerifyProblems(source string, counts map[string]int) {
	m.verify.DeletePartialMatch(prometheus.Labels{"source": source})
	for kind, n := range counts {
		m.verify.WithLabelValues(source, kind).Set(float64(n))
	}
}

// Progress records the totals of a run; give it every progress snapshot of
// one run (pipeline.Config.Progress), in order.
func (m *Metrics) Progress(p pipeline.Progress) {
	for _, k := range event.Kinds {
		if d := p.Records[k] - m.last.Records[k]; d > 0 {
			m.records.WithLabelValues(k.String()).Add(float64(d))
		}
	}
	if d := p.Quarantined - m.last.Quarantined; d > 0 {
		m.quar.Add(float64(d))
	}
	if d := p.Warnings - m.last.Warnings; d > 0 {
		m.warnings.Add(float64(d))
	}
	if d := p.Duplicates - m.last.Duplicates; d > 0 {
		m.dups.Add(float64(d))
	}
	m.last = p
	m.last.Records = p.Records.Clone()
}

// Handler serves the metrics; with a token, only to requests bearing it.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="trawl"`)
			http.Error(w, "a bearer token is required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Serve listens on addr and serves /metrics until ctx ends. An address
// that is not loopback needs a token.
func (m *Metrics) Serve(ctx context.Context, addr, token string) (net.Addr, <-chan error, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics address %q: %w", addr, err)
	}
	if !isLoopback(host) && token == "" {
		return nil, nil, fmt.Errorf("metrics address %s is not loopback: set a token (metrics.token) so that only Prometheus can read them", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("serving metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler(token))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return ln.Addr(), done, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
