package event

import (
	"testing"
	"time"
)

// TestHitTimes: each missing time stands in for the other; now for both.
func TestHitTimes(t *testing.T) {
	a, b, now := time.Unix(100, 0), time.Unix(200, 0), time.Unix(300, 0)
	for _, tc := range []struct {
		first, last, wantFirst, wantLast time.Time
	}{
		{a, b, a, b},
		{a, time.Time{}, a, a},
		{time.Time{}, b, b, b},
		{time.Time{}, time.Time{}, now, now},
	} {
		h := Hit{First: tc.first, Last: tc.last}
		if f, l := h.Times(now); !f.Equal(tc.wantFirst) || !l.Equal(tc.wantLast) {
			t.Errorf("Times(%v, %v) = %v, %v; want %v, %v", tc.first, tc.last, f, l, tc.wantFirst, tc.wantLast)
		}
	}
}
