package rules

import (
	"context"
	"log/slog"
	"time"

	"github.com/trawl-project/trawl/internal/store"
)

// DefaultSettle is how long after an event's time the scheduler waits
// before it evaluates a window holding it: CloudTrail delivers events 5
// to 15 minutes after they happen, flow logs every 1 or 10 minutes.
const DefaultSettle = 20 * time.Minute

// Scheduler runs scheduled rules on their windows against the store and
// hands the hits to a HitRecorder. Windows are in event time, aligned to
// the rule's every (a rule with every: 5m, window: 15m evaluates
// [12:00,12:15), [12:05,12:20)…), and evaluated once their end is Settle
// in the past, so late deliveries are in the store before the query runs.
type Scheduler struct {
	Rules    []*Rule
	Store    store.Querier
	Recorder HitRecorder
	// Settle applies to rules that set none (default DefaultSettle).
	Settle time.Duration
	Log    *slog.Logger
	// Now returns the time (time.Now by default); Tick is how often due
	// windows are looked for (default one minute).
	Now  func() time.Time
	Tick time.Duration

	next    map[string]time.Time // rule id → end of the next window
	skipped map[string]bool
}

func (s *Scheduler) settle(r *Rule) time.Duration {
	if r.Scheduled.Settle > 0 {
		return r.Scheduled.Settle
	}
	if s.Settle > 0 {
		return s.Settle
	}
	return DefaultSettle
}

// Run evaluates due windows every Tick until ctx ends. The first window of
// each rule is the last complete one when Run starts (history is for
// `trawl rules backfill`).
func (s *Scheduler) Run(ctx context.Context) error {
	tick := s.Tick
	if tick <= 0 {
		tick = time.Minute
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if _, err := s.RunDue(ctx); err != nil && ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunDue evaluates every window that is due now and returns the number of
// hits recorded. A rule that fails is logged and tried again next time.
func (s *Scheduler) RunDue(ctx context.Context) (int, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if s.next == nil {
		s.next, s.skipped = map[string]time.Time{}, map[string]bool{}
	}
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	total := 0
	for _, r := range s.Rules {
		if !r.Enabled || r.Scheduled == nil || s.skipped[r.ID] {
			continue
		}
		if miss, err := r.MissingColumns(ctx, s.Store); err != nil {
			return total, err
		} else if len(miss) > 0 {
			log.Warn("scheduled rule skipped: the store lacks its columns", "rule", r.ID, "columns", miss)
			s.skipped[r.ID] = true
			continue
		}
		sc := r.Scheduled
		ready := now().Add(-s.settle(r))
		end, ok := s.next[r.ID]
		if !ok {
			end = ready.Truncate(sc.Every)
		}
		for !end.After(ready) {
			hits, err := r.RunWindow(ctx, s.Store, end.Add(-sc.Window), end)
			if err != nil {
				log.Error("scheduled rule failed", "rule", r.ID, "window_end", end, "error", err)
				break
			}
			if len(hits) > 0 {
				created, updated, err := s.Recorder.RecordHits(ctx, hits)
				if err != nil {
					log.Error("recording hits failed", "rule", r.ID, "error", err)
					break
				}
				log.Info("scheduled rule fired", "rule", r.ID, "hits", len(hits), "created", created, "updated", updated)
				total += len(hits)
			}
			end = end.Add(sc.Every)
			s.next[r.ID] = end
		}
		if ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
	return total, nil
}
