package awscall

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

func TestRetry(t *testing.T) {
	throttle := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException"}
	closed := fmt.Errorf("deserialization failed: %w", &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed})
	for _, c := range []struct {
		errs              []error
		want              error
		calls, thr, trans int
	}{
		{[]error{throttle, closed, nil}, nil, 3, 1, 1},
		{[]error{denied}, denied, 1, 0, 0},
		{[]error{throttle, throttle, throttle, throttle}, throttle, 3, 2, 0},
	} {
		var calls, thr, trans int
		r := Retry{Limiter: NewLimiter(1000), Base: time.Millisecond, Attempts: 3,
			OnThrottle: func(error) { thr++ }, OnTransient: func(error) { trans++ }}
		err := r.Do(context.Background(), func(context.Context) error { calls++; return c.errs[calls-1] })
		if !errors.Is(err, c.want) || calls != c.calls || thr != c.thr || trans != c.trans {
			t.Errorf("%v: err %v, %d calls, %d throttled, %d transient", c.errs, err, calls, thr, trans)
		}
	}
	if Transient(context.Canceled) || Transient(throttle) || !Transient(closed) {
		t.Error("Transient")
	}
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(50)
	t0 := time.Now()
	for i := 0; i < 11; i++ {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(t0); d < 190*time.Millisecond {
		t.Errorf("11 calls at 50/s in %v", d)
	}
}
