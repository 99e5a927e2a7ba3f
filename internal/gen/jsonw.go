package gen

import (
	"strconv"
	"time"
)

// jw builds compact JSON by appending to a byte slice, the way AWS writes
// it: no spaces, no HTML escaping, keys in the order they are written. It
// tracks commas itself so that writers read like the records they produce.
// It does no validation; the tests decode every generated file.
type jw struct {
	b        []byte
	comma    uint64 // bit d set: the container at depth d has a member
	depth    uint
	afterKey bool
}

func (w *jw) reset() {
	w.b = w.b[:0]
	w.comma = 0
	w.depth = 0
	w.afterKey = false
}

// pre writes the comma before a value or key when one is needed.
func (w *jw) pre() {
	if w.afterKey {
		w.afterKey = false
		return
	}
	if w.depth == 0 {
		return
	}
	bit := uint64(1) << w.depth
	if w.comma&bit != 0 {
		w.b = append(w.b, ',')
	} else {
		w.comma |= bit
	}
}

func (w *jw) open(c byte) {
	w.pre()
	w.b = append(w.b, c)
	w.depth++
	w.comma &^= 1 << w.depth
}

// Obj opens an object value.
func (w *jw) Obj() { w.open('{') }

// Arr opens an array value.
func (w *jw) Arr() { w.open('[') }

// EndObj closes an object.
func (w *jw) EndObj() {
	w.depth--
	w.b = append(w.b, '}')
}

// EndArr closes an array.
func (w *jw) EndArr() {
	w.depth--
	w.b = append(w.b, ']')
}

// K writes a key; k must not need escaping.
func (w *jw) K(k string) {
	w.pre()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
	w.afterKey = true
}

// S writes a string value.
func (w *jw) S(s string) {
	w.pre()
	w.b = appendQuoted(w.b, s)
}

// SB writes a string value from bytes.
func (w *jw) SB(s []byte) {
	w.pre()
	w.b = appendQuoted(w.b, s)
}

// Open starts a string value whose content the caller appends to w.b
// directly (content that needs no escaping); Close ends it.
func (w *jw) Open() {
	w.pre()
	w.b = append(w.b, '"')
}

// Close ends a string started with Open.
func (w *jw) Close() { w.b = append(w.b, '"') }

// Raw writes pre-built JSON.
func (w *jw) Raw(s string) {
	w.pre()
	w.b = append(w.b, s...)
}

// I writes an integer.
func (w *jw) I(v int64) {
	w.pre()
	w.b = strconv.AppendInt(w.b, v, 10)
}

// F writes a number, integral values without a fraction.
func (w *jw) F(v float64) {
	w.pre()
	w.b = strconv.AppendFloat(w.b, v, 'f', -1, 64)
}

// B writes a boolean.
func (w *jw) B(v bool) {
	w.pre()
	w.b = strconv.AppendBool(w.b, v)
}

// Null writes null.
func (w *jw) Null() {
	w.pre()
	w.b = append(w.b, "null"...)
}

// T writes a time as "2006-01-02T15:04:05Z".
func (w *jw) T(sec int64) {
	w.pre()
	w.b = append(w.b, '"')
	w.b = appendTime(w.b, sec)
	w.b = append(w.b, '"')
}

// TMs writes a time as "2006-01-02T15:04:05.000Z".
func (w *jw) TMs(ms int64) {
	w.pre()
	w.b = append(w.b, '"')
	w.b = appendTimeMs(w.b, ms)
	w.b = append(w.b, '"')
}

// Shorthands for key-value pairs.

func (w *jw) KS(k, v string)       { w.K(k); w.S(v) }
func (w *jw) KI(k string, v int64) { w.K(k); w.I(v) }
func (w *jw) KF(k string, v float64) {
	w.K(k)
	w.F(v)
}
func (w *jw) KB(k string, v bool)     { w.K(k); w.B(v) }
func (w *jw) KNull(k string)          { w.K(k); w.Null() }
func (w *jw) KRaw(k, raw string)      { w.K(k); w.Raw(raw) }
func (w *jw) KObj(k string)           { w.K(k); w.Obj() }
func (w *jw) KArr(k string)           { w.K(k); w.Arr() }
func (w *jw) KT(k string, sec int64)  { w.K(k); w.T(sec) }
func (w *jw) KTMs(k string, ms int64) { w.K(k); w.TMs(ms) }

// KS2 writes a string member that is the concatenation of a and b (neither
// needing escaping).
func (w *jw) KS2(k, a, b string) {
	w.K(k)
	w.Open()
	w.b = append(w.b, a...)
	w.b = append(w.b, b...)
	w.Close()
}

// KSRaw writes a string member whose value needs no escaping (an id).
func (w *jw) KSRaw(k string, v []byte) {
	w.K(k)
	w.Open()
	w.b = append(w.b, v...)
	w.Close()
}

// KTags writes an array of {"key":…,"value":…} objects, AWS's tag shape.
func (w *jw) KTags(k string, tags [][2]string) {
	w.KArr(k)
	for _, kv := range tags {
		w.Obj()
		w.KS("key", kv[0])
		w.KS("value", kv[1])
		w.EndObj()
	}
	w.EndArr()
}

// KS3 writes a string member that is the concatenation of a, b and c.
func (w *jw) KS3(k, a, b, c string) {
	w.K(k)
	w.Open()
	w.b = append(w.b, a...)
	w.b = append(w.b, b...)
	w.b = append(w.b, c...)
	w.Close()
}

// appendQuoted appends s as a JSON string. Only '"', '\\' and control
// characters are escaped, as AWS does.
func appendQuoted[S string | []byte](b []byte, s S) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		b = appendEscape(b, c)
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '"':
		return append(b, '\\', '"')
	case '\\':
		return append(b, '\\', '\\')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
}

// Time formatting without time.Time, for speed: times are Unix seconds (or
// milliseconds) in UTC, after 1970.

// civil converts days since 1970-01-01 to a date (Howard Hinnant's
// algorithm).
func civil(days int64) (y int64, m, d int) {
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func append4(b []byte, v int64) []byte {
	return append(b, byte('0'+v/1000%10), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// appendDate appends "YYYY-MM-DD" (sep '-') or "YYYY/MM/DD" (sep '/') or
// "YYYYMMDD" (sep 0).
func appendDate(b []byte, sec int64, sep byte) []byte {
	y, m, d := civil(sec / 86400)
	b = append4(b, y)
	if sep != 0 {
		b = append(b, sep)
	}
	b = append2(b, m)
	if sep != 0 {
		b = append(b, sep)
	}
	return append2(b, d)
}

// appendTime appends "2006-01-02T15:04:05Z".
func appendTime(b []byte, sec int64) []byte {
	b = appendDate(b, sec, '-')
	s := int(sec % 86400)
	b = append(b, 'T')
	b = append2(b, s/3600)
	b = append(b, ':')
	b = append2(b, s/60%60)
	b = append(b, ':')
	b = append2(b, s%60)
	return append(b, 'Z')
}

// appendTimeMs appends "2006-01-02T15:04:05.000Z".
func appendTimeMs(b []byte, ms int64) []byte {
	b = appendTime(b, ms/1000)
	b = b[:len(b)-1]
	f := int(ms % 1000)
	return append(b, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10), 'Z')
}

// appendStamp appends "20060102T1504Z", or "20060102T150405Z" with seconds.
func appendStamp(b []byte, sec int64, seconds bool) []byte {
	b = appendDate(b, sec, 0)
	s := int(sec % 86400)
	b = append(b, 'T')
	b = append2(b, s/3600)
	b = append2(b, s/60%60)
	if seconds {
		b = append2(b, s%60)
	}
	return append(b, 'Z')
}

// iamDate formats a time the way IAM writes dates in responseElements
// ("Nov 3, 2026 3:14:05 AM").
func iamDate(sec int64) string {
	return time.Unix(sec, 0).UTC().Format("Jan 2, 2006 3:04:05 PM")
}

// stsDate formats a time the way STS writes credential expirations
// ("Nov 3, 2026, 3:14:05 AM").
func stsDate(sec int64) string {
	return time.Unix(sec, 0).UTC().Format("Jan 2, 2006, 3:04:05 PM")
}

// rfc3339 formats Unix seconds.
func rfc3339(sec int64) string { return string(appendTime(nil, sec)) }
