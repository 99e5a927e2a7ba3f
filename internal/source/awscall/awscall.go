// Package awscall paces and retries the AWS API calls of the stream
// sources (CloudWatch Logs, CloudTrail LookupEvents): a client-side rate
// limiter keeps them under the account's request quota, and a throttled
// call is retried after a jittered exponential backoff.
package awscall

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/aws/smithy-go"
)

// Limiter spaces calls evenly: at most Rate per second, with no bursts.
// Its zero value, or a nil *Limiter, does not limit.
type Limiter struct {
	mu   sync.Mutex
	gap  time.Duration
	next time.Time
}

// NewLimiter allows perSecond calls a second (≤ 0: unlimited).
func NewLimiter(perSecond float64) *Limiter {
	if perSecond <= 0 {
		return &Limiter{}
	}
	return &Limiter{gap: time.Duration(float64(time.Second) / perSecond)}
}

// Wait blocks until the next call may be made, or ctx ends.
func (l *Limiter) Wait(ctx context.Context) error {
	if l == nil || l.gap == 0 {
		return ctx.Err()
	}
	l.mu.Lock()
	now := time.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.gap)
	l.mu.Unlock()
	return Sleep(ctx, time.Until(at))
}

// Sleep waits d, or until ctx ends (then with its error).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Throttled reports whether err is AWS refusing a call for its rate:
// ThrottlingException (CloudWatch Logs, CloudTrail), and the other codes
// AWS services use for it.
func Throttled(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException",
		"RequestLimitExceeded", "RequestThrottled", "RequestThrottledException", "SlowDown":
		return true
	}
	return false
}

// Transient reports whether err is a connection failure worth another
// attempt (reset, closed or cut short), not an answer from AWS.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return false
	}
	var ne net.Error
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) || (errors.As(err, &ne) && ne.Timeout())
}

// Retry paces calls with a limiter and retries throttled ones, and
// transient connection failures (the SDK's own retryer retries those too,
// when it is not replaced).
type Retry struct {
	Limiter *Limiter
	// Base and Max bound the backoff: attempt n waits a random time in
	// [0, min(Max, Base·2ⁿ)] ("full jitter"). Defaults 500 ms and 20 s.
	Base, Max time.Duration
	// Attempts is how many times a throttled call is made before its
	// error is returned (default 10).
	Attempts int
	// OnThrottle, if set, is called for each throttled attempt.
	OnThrottle func(err error)
	// OnTransient, if set, is called for each attempt that failed with a
	// transient connection error.
	OnTransient func(err error)
}

// Do calls f (after the limiter allows it) until it succeeds, fails with
// an error other than throttling or a transient one, or has failed
// Attempts times.
func (r *Retry) Do(ctx context.Context, f func(ctx context.Context) error) error {
	base, maxWait, attempts := r.Base, r.Max, r.Attempts
	if base <= 0 {
		base = 500 * time.Millisecond
	}
	if maxWait <= 0 {
		maxWait = 20 * time.Second
	}
	if attempts <= 0 {
		attempts = 10
	}
	for n := 0; ; n++ {
		if err := r.Limiter.Wait(ctx); err != nil {
			return err
		}
		err := f(ctx)
		throttled := Throttled(err)
		if err == nil || !(throttled || Transient(err)) || n+1 >= attempts || ctx.Err() != nil {
			return err
		}
		if throttled && r.OnThrottle != nil {
			r.OnThrottle(err)
		}
		if !throttled && r.OnTransient != nil {
			r.OnTransient(err)
		}
		d := base << min(n, 20)
		if d > maxWait || d <= 0 {
			d = maxWait
		}
		if err := Sleep(ctx, rand.N(d)+1); err != nil {
			return err
		}
	}
}
