// Package lookup reads CloudTrail's event history (the LookupEvents API:
// the last 90 days of management events of one account and region, with
// no trail needed) as a pipeline.Source.
//
// The time from the region's cursor (or Config.Start, at most 90 days
// back) to now − Settle is read in windows of Config.Window, oldest first.
// LookupEvents returns a window's events newest first, at most 50 a page
// and 2 requests a second per account and region; every page is one object
// (NoLedger) whose lines are its events' CloudTrailEvent records. Every
// page carries the region's cursor: the window's start, and for the last
// page of the window its end, so the cursor moves past a window only with
// the commit of all of its rows. A run that fails inside a window reads
// the window again; its events are de-duplicated by the store (CloudTrail
// events are keyed by event id and time).
//
// Settle (15 minutes by default) is how late an event may appear in the
// history and still be read (CloudTrail delivers events to the history
// within about 5 minutes, but gives no guarantee); a window is never read
// again once the cursor is past it.
package lookup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/trawl-project/trawl/internal/ledger"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/awscall"
)

// API is the part of the CloudTrail client the source uses;
// *cloudtrail.Client implements it.
type API interface {
	LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

// Ledger reads the cursor back; app.PipelineStore(st) and *duckdb.Store
// implement it.
type Ledger interface {
	LedgerEntries(ctx context.Context, objects []string) (map[string]ledger.Entry, error)
}

// Config configures a Source.
type Config struct {
	// Account names the cursor: an account id or a profile name.
	Account string
	// Region is the client's region.
	Region string
	// Start is where to begin without a cursor (zero, or more than 90
	// days back: 90 days back, the history's length).
	Start time.Time
	// Settle is how far behind now reading stops (default 15 minutes;
	// < 0: none).
	Settle time.Duration
	// Window is the span of one query (default 6 hours). A failed run
	// reads at most one window again; an empty window costs one request.
	Window time.Duration
	// Follow, if > 0, makes the source run until its context ends, reading
	// what has settled every Follow. 0: up to now − Settle, then io.EOF.
	Follow time.Duration
	// RequestsPerSecond limits LookupEvents calls (default 2, the quota
	// per account and region).
	RequestsPerSecond float64
	// Backoff, MaxBackoff and Attempts tune the retries of throttled calls
	// (awscall.Retry; defaults 500 ms, 20 s, 10).
	Backoff, MaxBackoff time.Duration
	Attempts            int
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// Defaults.
const (
	DefaultSettle = 15 * time.Minute
	DefaultWindow = 6 * time.Hour
	History       = 90 * 24 * time.Hour // how far back LookupEvents reaches
)

// Stats counts a source's work.
type Stats struct {
	Requests  int64 // API calls, throttled ones included
	Throttled int64 // calls refused with ThrottlingException and retried
	Transient int64 // calls failed on the connection (reset, closed) and retried
	Windows   int64 // windows read to their end
	Pages     int64 // objects yielded
	Events    int64
}

// Source reads one region's event history. Next is called from one
// goroutine; a Source serves one pipeline.Run. Join regions with
// pipeline.Merge.
type Source struct {
	api   API
	led   Ledger
	cfg   Config
	key   string
	retry awscall.Retry

	pipeline.Generator // Run is s.run

	pos time.Time // the end of what is read
	seq int64

	requests, throttled, transient, windows, pages, events atomic.Int64
}

// Key is the ledger key of a region's cursor.
func Key(account, region string) string { return "lookup://" + account + "/" + region }

// New returns a source reading cfg.Region's history with api.
func New(api API, led Ledger, cfg Config) (*Source, error) {
	if cfg.Account == "" || cfg.Region == "" {
		return nil, errors.New("lookup: the account (or profile) and the region are required")
	}
	if cfg.Settle == 0 {
		cfg.Settle = DefaultSettle
	} else if cfg.Settle < 0 {
		cfg.Settle = 0
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.RequestsPerSecond == 0 {
		cfg.RequestsPerSecond = 2
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Source{api: api, led: led, cfg: cfg, key: Key(cfg.Account, cfg.Region)}
	s.Run = s.run
	s.retry = awscall.Retry{Limiter: awscall.NewLimiter(cfg.RequestsPerSecond), Base: cfg.Backoff, Max: cfg.MaxBackoff, Attempts: cfg.Attempts,
		OnThrottle: func(error) { s.throttled.Add(1) }, OnTransient: func(error) { s.transient.Add(1) }}
	return s, nil
}

// Stats returns the counts so far.
func (s *Source) Stats() Stats {
	return Stats{Requests: s.requests.Load(), Throttled: s.throttled.Load(), Transient: s.transient.Load(), Windows: s.windows.Load(), Pages: s.pages.Load(), Events: s.events.Load()}
}

const stamp = time.RFC3339

func (s *Source) start() error {
	now := s.cfg.Now()
	oldest := now.Add(-History).Truncate(time.Second).Add(time.Second)
	s.pos = s.cfg.Start.Truncate(time.Second)
	if s.led != nil {
		ents, err := s.led.LedgerEntries(s.Ctx(), []string{s.key})
		if err != nil {
			return fmt.Errorf("lookup: reading the cursor of %s: %w", s.key, err)
		}
		if e, ok := ents[s.key]; ok && e.Status == ledger.StatusCursor && e.Cursor != "" {
			t, err := time.Parse(stamp, e.Cursor)
			if err != nil {
				return fmt.Errorf("lookup: the cursor of %s: bad time %q", s.key, e.Cursor)
			}
			s.pos = t
		}
	}
	if s.pos.Before(oldest) {
		s.pos = oldest
	}
	return nil
}

func (s *Source) run(yield func(pipeline.Object, error) bool) {
	if err := s.start(); err != nil {
		yield(pipeline.Object{}, err)
		return
	}
	for {
		end := s.cfg.Now().Add(-s.cfg.Settle).Truncate(time.Second)
		for s.pos.Before(end) {
			to := s.pos.Add(s.cfg.Window)
			if to.After(end) {
				to = end
			}
			if !s.window(s.pos, to, yield) {
				return
			}
			s.pos = to
		}
		if s.cfg.Follow <= 0 {
			return
		}
		t := time.NewTimer(s.cfg.Follow)
		select {
		case <-t.C:
		case <-s.Ctx().Done():
			t.Stop()
			yield(pipeline.Object{}, s.Ctx().Err())
			return
		}
	}
}

// window reads [from, to): LookupEvents' times are whole seconds and both
// ends inclusive, so the query ends a second before to.
func (s *Source) window(from, to time.Time, yield func(pipeline.Object, error) bool) bool {
	in := &cloudtrail.LookupEventsInput{StartTime: aws.Time(from), EndTime: aws.Time(to.Add(-time.Second)), MaxResults: aws.Int32(50)}
	// A page is held back until the next one is known, so that the last
	// page of the window carries the window's end.
	var held *pipeline.Object
	for page := 0; ; page++ {
		var out *cloudtrail.LookupEventsOutput
		err := s.retry.Do(s.Ctx(), func(ctx context.Context) error {
			s.requests.Add(1)
			var err error
			out, err = s.api.LookupEvents(ctx, in)
			return err
		})
		if err != nil {
			return yield(pipeline.Object{}, fmt.Errorf("lookup: %s: events %s to %s: %w", s.key, from.Format(stamp), to.Format(stamp), err))
		}
		if len(out.Events) > 0 {
			if held != nil && !s.yield(held, from, yield) {
				return false
			}
			var b strings.Builder
			for _, e := range out.Events {
				if ev := strings.TrimSpace(aws.ToString(e.CloudTrailEvent)); ev != "" {
					b.WriteString(ev)
					b.WriteByte('\n')
				}
			}
			text := b.String()
			s.events.Add(int64(len(out.Events)))
			held = &pipeline.Object{
				Name:     fmt.Sprintf("%s@%s#%d", s.key, from.UTC().Format(stamp), page),
				Size:     int64(len(text)),
				NoLedger: true,
				Open:     func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(text)), nil },
			}
		}
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	s.windows.Add(1)
	if held != nil {
		return s.yield(held, to, yield)
	}
	return true
}

func (s *Source) yield(o *pipeline.Object, pos time.Time, yield func(pipeline.Object, error) bool) bool {
	o.Cursor = &pipeline.Cursor{Key: s.key, Seq: s.seq, Value: pos.UTC().Format(stamp)}
	s.seq++
	s.pages.Add(1)
	return yield(*o, nil)
}
