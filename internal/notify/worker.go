package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/trawl-project/trawl/internal/alert"
)

// Outbox is the store's delivery queue as the worker uses it.
type Outbox interface {
	// DueDeliveries returns pending deliveries due at now, leaving out
	// the ids in skip.
	DueDeliveries(ctx context.Context, now time.Time, limit int, skip []int64) ([]alert.Delivery, error)
	Alert(ctx context.Context, id int64) (alert.Alert, error)
	MarkDelivered(ctx context.Context, id int64, attempts int, at time.Time) error
	// MarkRetry records a failed attempt; a zero next marks it failed.
	MarkRetry(ctx context.Context, id int64, attempts int, at, next time.Time, reason string) error
}

// Outcomes of an attempt, as Worker.Observe receives them.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"
	OutcomeFailed    = "failed"
)

// Worker sends the outbox's due deliveries: each is rendered with its
// notifier's templates from the alert as it is now, sent, and marked
// delivered right after the receiver accepted it. A failed attempt is
// retried after a backoff that doubles from MinBackoff up to MaxBackoff,
// with jitter, until RetryFor after the delivery was queued; then it is
// marked failed (kept, and shown by `trawl alerts deliveries`). The
// worker never touches ingest: ingest only inserts outbox rows.
type Worker struct {
	Outbox    Outbox
	Notifiers map[string]*Configured
	// Poll is the time between passes (default 5s).
	Poll time.Duration
	// RetryFor, MinBackoff and MaxBackoff: defaults 24h, 10s and 1h.
	RetryFor, MinBackoff, MaxBackoff time.Duration
	// Batch is the most deliveries taken in one pass (default 100), and
	// Parallel how many are sent at once (default 4).
	Batch, Parallel int
	Log             *slog.Logger
	// Observe, if set, is called after every attempt (metrics).
	Observe func(notifier, outcome string)
	// Now is the clock (time.Now when nil); Jitter returns a factor in
	// [0.5, 1) applied to backoffs (random when nil).
	Now    func() time.Time
	Jitter func() float64

	// pass makes passes one at a time: two passes at once (trawl run
	// --once ends with a pass while the polling one may be running) would
	// both take the same due rows and send them twice.
	pass sync.Mutex
}

// Default worker settings.
const (
	DefaultPoll       = 5 * time.Second
	DefaultRetryFor   = 24 * time.Hour
	DefaultMinBackoff = 10 * time.Second
	DefaultMaxBackoff = time.Hour
)

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

// Run makes passes until ctx ends; a pass that fails (the store busy or
// closing) is logged and tried again at the next poll. It returns nil when
// ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	poll := w.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.log().Warn("alert delivery pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

// RunOnce sends the deliveries due now (up to Batch of them) and returns
// how many were delivered.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.pass.Lock()
	defer w.pass.Unlock()
	batch, parallel := w.Batch, w.Parallel
	if batch <= 0 {
		batch = 100
	}
	if parallel <= 0 {
		parallel = 4
	}
	due, err := w.Outbox.DueDeliveries(ctx, w.now(), batch, nil)
	if err != nil {
		return 0, err
	}
	var mu sync.Mutex
	var delivered int
	var errs []error
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, d := range due {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ok, err := w.deliver(ctx, d)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				delivered++
			}
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	return delivered, errors.Join(errs...)
}

// deliver makes one attempt of d. The error is the store's, not the
// notifier's: a failed send is recorded as a retry.
func (w *Worker) deliver(ctx context.Context, d alert.Delivery) (bool, error) {
	attempts := d.Attempts + 1
	sendErr := func() error {
		n := w.Notifiers[d.Notifier]
		if n == nil {
			return permanent{fmt.Errorf("no notifier named %q in the configuration", d.Notifier)}
		}
		a, err := w.Outbox.Alert(ctx, d.AlertID)
		if err != nil {
			return fmt.Errorf("reading alert %d: %w", d.AlertID, err)
		}
		return n.send(ctx, d, a)
	}()
	now := w.now()
	if sendErr == nil {
		// Marked right after the send: a crash in between sends it again
		// (same id), the one at-least-once window.
		if err := w.Outbox.MarkDelivered(context.WithoutCancel(ctx), d.ID, attempts, now); err != nil {
			return true, fmt.Errorf("delivery %d was sent but not marked delivered (it will be sent again): %w", d.ID, err)
		}
		w.observe(d.Notifier, OutcomeDelivered)
		w.log().Info("alert delivered", "delivery", d.ID, "alert", d.AlertID, "notifier", d.Notifier, "attempts", attempts)
		return true, nil
	}
	if ctx.Err() != nil {
		return false, nil // stopping: the attempt does not count
	}
	next := w.next(d, attempts, now, sendErr)
	outcome := OutcomeRetry
	if next.IsZero() {
		outcome = OutcomeFailed
		w.log().Error("alert delivery failed for good", "delivery", d.ID, "alert", d.AlertID, "notifier", d.Notifier, "attempts", attempts, "err", sendErr)
	} else {
		w.log().Warn("alert delivery failed; will retry", "delivery", d.ID, "alert", d.AlertID, "notifier", d.Notifier,
			"attempts", attempts, "next", next, "err", sendErr)
	}
	w.observe(d.Notifier, outcome)
	if err := w.Outbox.MarkRetry(context.WithoutCancel(ctx), d.ID, attempts, now, next, sendErr.Error()); err != nil {
		return false, err
	}
	return false, nil
}

func (w *Worker) observe(notifier, outcome string) {
	if w.Observe != nil {
		w.Observe(notifier, outcome)
	}
}

// permanent marks an error retrying cannot fix (no such notifier, a
// template failing on the data).
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// next returns when to try d again after its attempts-th failure at now,
// or zero to give up.
func (w *Worker) next(d alert.Delivery, attempts int, now time.Time, err error) time.Time {
	retryFor, lo, hi := w.RetryFor, w.MinBackoff, w.MaxBackoff
	if retryFor <= 0 {
		retryFor = DefaultRetryFor
	}
	if lo <= 0 {
		lo = DefaultMinBackoff
	}
	if hi <= 0 {
		hi = DefaultMaxBackoff
	}
	var p permanent
	if errors.As(err, &p) {
		return time.Time{}
	}
	wait := hi
	if attempts < 40 {
		wait = min(hi, lo<<(attempts-1))
	}
	jitter := 0.5 + rand.Float64()/2
	if w.Jitter != nil {
		jitter = w.Jitter()
	}
	wait = time.Duration(float64(wait) * jitter)
	var ra *RetryAfter
	if errors.As(err, &ra) && ra.After > wait {
		wait = min(ra.After, hi)
	}
	next := now.Add(wait)
	if next.After(d.CreatedAt.Add(retryFor)) {
		if now.Before(d.CreatedAt.Add(retryFor)) {
			return d.CreatedAt.Add(retryFor) // one last attempt at the deadline
		}
		return time.Time{}
	}
	return next
}
