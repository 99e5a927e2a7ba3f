package config

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

var durationPart = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h|d|w)`)

var durationUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "us": time.Microsecond, "µs": time.Microsecond,
	"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
	"d": 24 * time.Hour, "w": 7 * 24 * time.Hour,
}

// ParseDuration parses a non-negative duration: Go's syntax (90s, 1h30m)
// with days (d, 24h) and weeks (w) as further units: 90d, 2w, 1d12h. "0"
// is zero.
func ParseDuration(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	bad := fmt.Errorf("%q is not a duration (such as 90d, 12h, 5m or 30s)", s)
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, bad
	}
	var total float64
	for rest != "" {
		m := durationPart.FindStringSubmatch(rest)
		if m == nil {
			return 0, bad
		}
		f, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return 0, bad
		}
		total += f * float64(durationUnits[m[2]])
		rest = rest[len(m[0]):]
	}
	if total > math.MaxInt64 {
		return 0, fmt.Errorf("%q is too long a duration", s)
	}
	return time.Duration(total), nil
}

// FormatDuration formats d as ParseDuration reads it, in whole days when
// it is a multiple of a day (90d), otherwise as Go does without trailing
// zero units (1h30m, 5m).
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseSize parses a size in bytes: a number with an optional unit, kB,
// MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), in
// any case: 512MB, 32MiB, 1.5GiB, 1048576.
func ParseSize(s string) (int64, error) {
	n, err := humanize.ParseBigBytes(strings.TrimSpace(s))
	switch {
	case err != nil || strings.TrimSpace(s) == "":
		return 0, fmt.Errorf("%q is not a size (such as 512MB, 32MiB or 1.5GiB)", s)
	case !n.IsInt64():
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n.Int64(), nil
}

// FormatSize formats n exactly, with the largest unit that divides it
// (IEC units first): 32MiB, 512MB, 1000B.
func FormatSize(n int64) string {
	if n == 0 {
		return "0B"
	}
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"TB", 1e12}, {"GiB", 1 << 30}, {"GB", 1e9}, {"MiB", 1 << 20}, {"MB", 1e6}, {"KiB", 1 << 10}, {"kB", 1e3}} {
		if n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%dB", n)
}

// Moment is a point in time given either absolutely (Time) or relative
// to when trawl starts (Ago before it). The zero Moment is unset.
type Moment struct {
	Time time.Time
	Ago  time.Duration
}

// IsZero reports whether the moment is unset.
func (m Moment) IsZero() bool { return m.Time.IsZero() && m.Ago == 0 }

// Resolve returns the moment as a time, relative moments counted back
// from now; the zero Moment resolves to the zero time.
func (m Moment) Resolve(now time.Time) time.Time {
	if m.Ago != 0 {
		return now.Add(-m.Ago)
	}
	return m.Time
}

// String formats the moment as ParseMoment reads it.
func (m Moment) String() string {
	switch {
	case m.Ago != 0:
		return "-" + FormatDuration(m.Ago)
	case m.Time.IsZero():
		return ""
	case m.Time.Equal(m.Time.Truncate(24*time.Hour)) && m.Time.Location() == time.UTC:
		return m.Time.Format(time.DateOnly)
	}
	return m.Time.Format(time.RFC3339)
}

// ParseMoment parses a date (2026-11-01, UTC midnight), an RFC 3339 time
// (2026-11-01T08:00:00Z) or a time relative to now (-7d, -12h).
func ParseMoment(s string) (Moment, error) {
	if rel, ok := strings.CutPrefix(s, "-"); ok {
		d, err := ParseDuration(rel)
		if err != nil || d == 0 {
			return Moment{}, fmt.Errorf("%q is not a relative time (such as -7d or -12h)", s)
		}
		return Moment{Ago: d}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return Moment{Time: t}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return Moment{Time: t.UTC()}, nil
	}
	if _, err := ParseDuration(s); err == nil {
		return Moment{}, fmt.Errorf("%q is not a date; write -%s for %s ago", s, s, s)
	}
	return Moment{}, fmt.Errorf("%q is not a date (2026-11-01), a time (2026-11-01T08:00:00Z) or a relative time (-7d)", s)
}
