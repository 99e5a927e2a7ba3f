// Package opensearch is a pipeline.Sink that indexes CloudTrail events,
// VPC flow records and GuardDuty findings into OpenSearch or Elasticsearch
// through the _bulk API: daily indices (cloudtrail-YYYY.MM.DD,
// vpcflowlogs-YYYY.MM.DD, guardduty-YYYY.MM.DD) whose mappings come from
// index templates built from internal/schema (Templates).
//
// Documents have stable ids, so writing a record again replaces it:
// CloudTrail by event id, flow records by a hash of (object, unit),
// GuardDuty findings by finding id with external versioning on updatedAt,
// so the latest version wins whatever order versions arrive in. Flush
// returns only when every document is acknowledged by the cluster; items
// the cluster rejects for load (429, 503, es_rejected_execution_exception)
// are retried with backoff, items it rejects as invalid fail the Flush
// with the index, id and reason. docs/opensearch.md has the details.
package opensearch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/opensearch-project/opensearch-go/v4/opensearchtransport"
	"github.com/opensearch-project/opensearch-go/v4/signer/awsv2"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/source/awscall"
)

// Flavors of cluster; they differ in how free-form objects are mapped.
const (
	// FlavorOpenSearch maps free-form objects as flat_object (OpenSearch 2.7
	// or later).
	FlavorOpenSearch = "opensearch"
	// FlavorElasticsearch maps free-form objects as flattened
	// (Elasticsearch 7.3 or later).
	FlavorElasticsearch = "elasticsearch"
	// FlavorPlain maps free-form objects as objects with enabled: false:
	// kept in _source, not searchable (older OpenSearch, Serverless
	// collections without flat_object).
	FlavorPlain = "plain"
)

// Defaults of Config.
const (
	DefaultFlushBytes = 5 << 20
	DefaultWorkers    = 2
	DefaultMaxRetries = 10
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

// SigV4 signs requests for Amazon OpenSearch Service ("es") or OpenSearch
// Serverless ("aoss") with the credentials of an AWS configuration.
type SigV4 struct {
	Region  string     // overrides AWS.Region when set
	Service string     // "es" (default) or "aoss"
	AWS     aws.Config // credentials (and region) to sign with
}

// Config configures a Sink.
type Config struct {
	URLs     []string // cluster endpoints, e.g. https://search-x.eu-west-1.es.amazonaws.com
	Username string   // basic auth, if set
	Password string
	SigV4    *SigV4 // AWS request signing, if set (instead of basic auth)
	// IndexPrefix is prepended to index and template names
	// ("prod-" gives prod-cloudtrail-2026.01.02).
	IndexPrefix string
	// Flavor is FlavorOpenSearch (default), FlavorElasticsearch or
	// FlavorPlain.
	Flavor string
	// FlushBytes is the size of one _bulk request body (DefaultFlushBytes
	// when 0).
	FlushBytes int
	// Workers is the number of _bulk requests in flight (DefaultWorkers
	// when 0).
	Workers int
	// Insecure skips TLS certificate verification.
	Insecure bool
	// HTTPClient supplies the transport (and with its Timeout, the request
	// timeout); http.DefaultTransport when nil.
	HTTPClient *http.Client
	// SkipTemplates leaves index templates alone; by default New puts
	// trawl's templates (Templates) before the first document is sent.
	SkipTemplates bool
	// MaxRetries bounds the attempts for one document (DefaultMaxRetries
	// when 0); MinBackoff and MaxBackoff bound the wait between attempts
	// (DefaultMinBackoff, DefaultMaxBackoff when 0).
	MaxRetries             int
	MinBackoff, MaxBackoff time.Duration
}

// Sink indexes batches into OpenSearch or Elasticsearch. It implements
// pipeline.Sink; Write and Flush are called from one goroutine.
type Sink struct {
	cfg    Config
	client *opensearchtransport.Client
	prefix string

	pending  *chunk // being filled by Write
	work     chan *chunk
	free     chan *chunk    // sent chunks, for reuse
	wg       sync.WaitGroup // workers
	inflight sync.WaitGroup

	mu  sync.Mutex
	err error // the first failure since the last Flush

	closed bool
	stats  Stats
	sleep  func(ctx context.Context, d time.Duration) error // waits between attempts; tests replace it
}

// Stats counts what a Sink sent.
type Stats struct {
	Docs     int64 // documents acknowledged
	Bytes    int64 // bytes of _bulk bodies sent (first attempts)
	Requests int64 // _bulk requests, retries included
	Retried  int64 // documents sent again after a retryable failure
	Stale    int64 // GuardDuty versions the cluster already had newer (409)
}

// New connects a Sink to the cluster of cfg and, unless cfg.SkipTemplates,
// puts trawl's index templates.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("opensearch: no URLs configured")
	}
	switch cfg.Flavor {
	case "":
		cfg.Flavor = FlavorOpenSearch
	case FlavorOpenSearch, FlavorElasticsearch, FlavorPlain:
	default:
		return nil, fmt.Errorf("opensearch: unknown flavor %q (want %s, %s or %s)", cfg.Flavor, FlavorOpenSearch, FlavorElasticsearch, FlavorPlain)
	}
	if cfg.FlushBytes <= 0 {
		cfg.FlushBytes = DefaultFlushBytes
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	urls := make([]*url.URL, 0, len(cfg.URLs))
	for _, s := range cfg.URLs {
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("opensearch: URL %q: want http(s)://host[:port]", s)
		}
		urls = append(urls, u)
	}
	tc := opensearchtransport.Config{
		URLs:               urls,
		Username:           cfg.Username,
		Password:           cfg.Password,
		InsecureSkipVerify: cfg.Insecure,
		// Retries are the sink's own (per item, with backoff), so the
		// transport sends each request once.
		DisableRetry: true,
		HealthCheck:  opensearchtransport.NoOpHealthCheck,
	}
	if cfg.HTTPClient != nil {
		tc.Transport = cfg.HTTPClient.Transport
		tc.RequestTimeout = cfg.HTTPClient.Timeout
	}
	if tc.Transport == nil {
		tc.Transport = http.DefaultTransport
	}
	if cfg.SigV4 != nil {
		awsCfg := cfg.SigV4.AWS.Copy()
		if cfg.SigV4.Region != "" {
			awsCfg.Region = cfg.SigV4.Region
		}
		if awsCfg.Region == "" {
			return nil, errors.New("opensearch: sigv4 needs a region")
		}
		if awsCfg.Credentials == nil {
			return nil, errors.New("opensearch: sigv4 needs AWS credentials")
		}
		service := cfg.SigV4.Service
		switch service {
		case "":
			service = "es"
		case "es", "aoss":
		default:
			return nil, fmt.Errorf("opensearch: sigv4 service %q: want es or aoss", service)
		}
		sg, err := awsv2.NewSignerWithService(awsCfg, service)
		if err != nil {
			return nil, fmt.Errorf("opensearch: sigv4 signer: %w", err)
		}
		tc.Signer = sg
	}
	client, err := opensearchtransport.New(tc)
	if err != nil {
		return nil, fmt.Errorf("opensearch: client for %v: %w", cfg.URLs, err)
	}
	s := &Sink{cfg: cfg, client: client, prefix: cfg.IndexPrefix, sleep: awscall.Sleep, work: make(chan *chunk),
		free: make(chan *chunk, cfg.Workers+1)}
	if !cfg.SkipTemplates {
		if err := s.putTemplates(ctx); err != nil {
			_ = client.Close()
			return nil, err
		}
	}
	for range cfg.Workers {
		s.wg.Add(1)
		go s.worker()
	}
	return s, nil
}

// Write encodes the records of b into _bulk actions; full requests are
// sent in the background. It returns the error of an earlier request that
// failed, if any. b may be reused once Write returns.
func (s *Sink) Write(ctx context.Context, b *event.Batch) error {
	if s.closed {
		return errors.New("opensearch: write after close")
	}
	if err := s.failure(); err != nil {
		return err
	}
	for i := range b.CloudTrail {
		s.cur().addCloudTrail(s.prefix, &b.CloudTrail[i])
		if err := s.maybeSend(ctx); err != nil {
			return err
		}
	}
	for i := range b.VPCFlow {
		s.cur().addFlow(s.prefix, b.Object, &b.VPCFlow[i])
		if err := s.maybeSend(ctx); err != nil {
			return err
		}
	}
	for i := range b.Findings {
		s.cur().addFinding(s.prefix, &b.Findings[i])
		if err := s.maybeSend(ctx); err != nil {
			return err
		}
	}
	return nil
}

// cur returns the chunk being filled.
func (s *Sink) cur() *chunk {
	if s.pending == nil {
		select {
		case s.pending = <-s.free:
		default:
			s.pending = newChunk(s.cfg.FlushBytes)
		}
	}
	return s.pending
}

func (s *Sink) maybeSend(ctx context.Context) error {
	if len(s.pending.buf) < s.cfg.FlushBytes {
		return nil
	}
	return s.send(ctx)
}

// send hands the pending chunk to a worker, waiting while all are busy.
func (s *Sink) send(ctx context.Context) error {
	c := s.pending
	s.pending = nil
	if c == nil || len(c.items) == 0 {
		return nil
	}
	c.sendCtx = ctx
	s.inflight.Add(1)
	select {
	case s.work <- c:
		return nil
	case <-ctx.Done():
		s.inflight.Done()
		return fmt.Errorf("opensearch: sending %d documents: %w", len(c.items), ctx.Err())
	}
}

func (s *Sink) worker() {
	defer s.wg.Done()
	for c := range s.work {
		if err := s.bulk(c.sendCtx, c); err != nil {
			s.fail(err)
		}
		c.reset()
		select {
		case s.free <- c:
		default:
		}
		s.inflight.Done()
	}
}

func (s *Sink) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

func (s *Sink) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Flush sends every document written so far and returns when the cluster
// has acknowledged all of them, or with the first failure (naming index,
// id and the cluster's reason). After a failure the documents of the
// failed request are dropped from the sink; the pipeline does not commit
// their objects, so a later run writes them again.
func (s *Sink) Flush(ctx context.Context) error {
	if s.closed {
		return errors.New("opensearch: flush after close")
	}
	err := s.send(ctx)
	s.inflight.Wait()
	s.mu.Lock()
	if err == nil {
		err = s.err
	}
	s.err = nil
	s.mu.Unlock()
	return err
}

// Close flushes and releases the client.
func (s *Sink) Close(ctx context.Context) error {
	if s.closed {
		return nil
	}
	err := s.Flush(ctx)
	s.closed = true
	close(s.work)
	s.wg.Wait()
	return errors.Join(err, s.client.Close())
}

// Stats returns what the sink has sent so far.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}
