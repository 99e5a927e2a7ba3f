// Package jsonval reads typed values the way AWS records write them:
// timestamps in several layouts, as text or as epoch seconds or
// milliseconds.
package jsonval

import (
	"strconv"
	"time"
)

// TimeText reads a timestamp from the text of a JSON value (as
// jsonscan.Members hands it out): a string in one of ParseTime's layouts,
// or a number of epoch seconds or milliseconds (see epochTime). A time
// outside the years 1–9999 is not usable: stores cannot hold all of them.
func TimeText(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	if v[0] == '"' {
		return ParseTime(v[1 : len(v)-1]) // a timestamp has no escapes
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f != f {
		return time.Time{}, false
	}
	return EpochTimeOK(f)
}

// Usable time range: years 1–9999 (RFC 3339's, and within every store's).
var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// EpochTimeOK is epochTime for numbers that may be out of range: it
// reports false for a time outside the years 1–9999 instead of returning
// one that wrapped around.
func EpochTimeOK(f float64) (time.Time, bool) {
	ms := f > 1e11 || f < -1e11
	sec := f
	if ms {
		sec = f / 1000
	}
	if sec < float64(minTime.Unix()) || sec > float64(maxTime.Unix()) {
		return time.Time{}, false
	}
	return epochTime(f), true
}

// epochTime converts epoch seconds, or milliseconds when the value is too
// large to be seconds, to UTC time.
func epochTime(f float64) time.Time {
	if f > 1e11 || f < -1e11 { // milliseconds
		return time.UnixMilli(int64(f)).UTC()
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC().Truncate(time.Microsecond)
}

var layouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"20060102T150405Z",
	"2006-01-02T15:04Z",
}

// ParseTime parses the timestamp layouts AWS logs use and returns UTC.
func ParseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
