// Package jsonval holds small helpers for reading typed values out of parsed
// JSON (fastjson values) the way AWS records need: account ids that arrive as
// numbers, booleans that arrive as strings, timestamps in several layouts.
package jsonval

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// String returns v as text: a string's content, a number's literal (so a
// numeric account id keeps its digits), "true"/"false", or "" for null and
// absent values. Objects and arrays are returned as JSON text.
func String(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return validString(b)
	case fastjson.TypeNull:
		return ""
	case fastjson.TypeNumber:
		return string(v.MarshalTo(nil))
	case fastjson.TypeTrue:
		return "true"
	case fastjson.TypeFalse:
		return "false"
	}
	return validString(v.MarshalTo(nil))
}

// validString copies b into a string, replacing invalid UTF-8 (DuckDB and
// most consumers reject it) with U+FFFD.
func validString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// JSON returns v as JSON text, or "" for null and absent values. Strings
// stay JSON strings (quoted), so the text is always valid JSON.
func JSON(v *fastjson.Value) string {
	if v == nil || v.Type() == fastjson.TypeNull {
		return ""
	}
	return validString(v.MarshalTo(nil))
}

// Bool is a nullable boolean read from JSON: true/false literals or the
// strings "true"/"false" (any case). Anything else is null.
func Bool(v *fastjson.Value) (val bool, ok bool) {
	if v == nil {
		return false, false
	}
	switch v.Type() {
	case fastjson.TypeTrue:
		return true, true
	case fastjson.TypeFalse:
		return false, true
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		switch strings.ToLower(string(b)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// Int64 reads an integer from a number or a numeric string.
func Int64(v *fastjson.Value) (int64, bool) {
	if v == nil {
		return 0, false
	}
	switch v.Type() {
	case fastjson.TypeNumber:
		if n, err := v.Int64(); err == nil {
			return n, true
		}
		if f, err := v.Float64(); err == nil {
			return int64(f), true
		}
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}

// Float64 reads a number from a number or a numeric string.
func Float64(v *fastjson.Value) (float64, bool) {
	if v == nil {
		return 0, false
	}
	switch v.Type() {
	case fastjson.TypeNumber:
		f, err := v.Float64()
		return f, err == nil
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		f, err := strconv.ParseFloat(string(b), 64)
		return f, err == nil
	}
	return 0, false
}

// Time reads a timestamp: RFC 3339 with or without fractional seconds or
// zone, CloudTrail's compact 20060102T150405Z, or epoch seconds as a number
// (with fractions, as GuardDuty writes createdAt inside resource details).
func Time(v *fastjson.Value) (time.Time, bool) {
	if v == nil {
		return time.Time{}, false
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return ParseTime(string(b))
	case fastjson.TypeNumber:
		f, err := v.Float64()
		if err != nil {
			return time.Time{}, false
		}
		return epochTime(f), true
	}
	return time.Time{}, false
}

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

// Get returns the value at the key of an object, trying the key as given
// and then with its first letter in the other case (GuardDuty's API answers
// in PascalCase, its exports in camelCase).
func Get(v *fastjson.Value, key string) *fastjson.Value {
	if v == nil {
		return nil
	}
	if x := v.Get(key); x != nil {
		return x
	}
	if key == "" {
		return nil
	}
	c := key[0]
	switch {
	case c >= 'a' && c <= 'z':
		c -= 'a' - 'A'
	case c >= 'A' && c <= 'Z':
		c += 'a' - 'A'
	default:
		return nil
	}
	return v.Get(string(c) + key[1:])
}

// Path follows keys with Get.
func Path(v *fastjson.Value, keys ...string) *fastjson.Value {
	for _, k := range keys {
		v = Get(v, k)
		if v == nil {
			return nil
		}
	}
	return v
}
