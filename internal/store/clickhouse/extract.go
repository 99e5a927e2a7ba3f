package clickhouse

import (
	"math"
	"strconv"
	"time"

	"github.com/valyala/fastjson"
)

// ctExtracted are the values of ctExtra for one CloudTrail record, read
// from its raw text at ingest: ClickHouse 18.16 has no JSON path
// functions to compute them at query time as DuckDB's view does. ok[i]
// false is NULL.
type ctExtracted struct {
	text [14]string
	ok   [14]bool
	sess time.Time
}

// ctPaths are ctExtra's JSON paths, in ctExtra's order; the first eight
// are text (json_extract_string), the others JSON documents (json_extract).
var ctPaths = [][]string{
	{"eventVersion"},
	{"userIdentity", "principalId"},
	{"userIdentity", "sessionContext", "attributes", "creationDate"},
	{"requestID"},
	{"apiVersion"},
	{"tlsDetails", "tlsVersion"},
	{"tlsDetails", "cipherSuite"},
	{"tlsDetails", "clientProvidedHostHeader"},
	{"resources"},
	{"requestParameters"},
	{"responseElements"},
	{"additionalEventData"},
	{"serviceEventDetails"},
	{"insightDetails"},
}

const ctSessionCreated = 2 // index of session_created_at in ctPaths

var parsers fastjson.ParserPool

// extractCT reads ctExtra's values from raw. A record whose raw is not a
// JSON object gets NULLs.
func extractCT(raw string, out *ctExtracted) {
	*out = ctExtracted{}
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.Parse(raw)
	if err != nil {
		return
	}
	var buf []byte
	for i, path := range ctPaths {
		x := v.Get(path...)
		if x == nil || x.Type() == fastjson.TypeNull {
			continue
		}
		if i < 8 && x.Type() == fastjson.TypeString {
			out.text[i], out.ok[i] = string(x.GetStringBytes()), true
		} else {
			buf = x.MarshalTo(buf[:0])
			out.text[i], out.ok[i] = string(buf), true
		}
	}
	if out.ok[ctSessionCreated] {
		out.sess = parseCreationDate(out.text[ctSessionCreated])
	}
}

// parseCreationDate reads a session's creationDate, basic
// (20240102T030405Z) or extended ISO 8601; the zero time if neither.
func parseCreationDate(s string) time.Time {
	if t, err := time.Parse("20060102T150405Z", s); err == nil {
		return t
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// jsonBuf builds JSONEachRow lines.
type jsonBuf struct {
	b     []byte
	first bool
}

func (j *jsonBuf) begin() { j.b = append(j.b, '{'); j.first = true }
func (j *jsonBuf) end()   { j.b = append(j.b, '}', '\n') }

func (j *jsonBuf) key(name string) {
	if !j.first {
		j.b = append(j.b, ',')
	}
	j.first = false
	j.b = append(j.b, '"')
	j.b = append(j.b, name...)
	j.b = append(j.b, '"', ':')
}

func (j *jsonBuf) null(name string) { j.key(name); j.b = append(j.b, "null"...) }

func (j *jsonBuf) str(name, s string) {
	j.key(name)
	j.b = appendJSONString(j.b, s)
}

func (j *jsonBuf) int(name string, n int64) {
	j.key(name)
	j.b = strconv.AppendInt(j.b, n, 10)
}

func (j *jsonBuf) uint(name string, n uint64) {
	j.key(name)
	j.b = strconv.AppendUint(j.b, n, 10)
}

func (j *jsonBuf) float(name string, f float64) {
	j.key(name)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		j.b = append(j.b, '"')
		j.b = append(j.b, formatFloat(f)...)
		j.b = append(j.b, '"')
		return
	}
	j.b = strconv.AppendFloat(j.b, f, 'g', -1, 64)
}

func (j *jsonBuf) time(name string, t time.Time) {
	j.key(name)
	j.b = append(j.b, '"')
	j.b = clampTime(t).AppendFormat(j.b, time.DateTime)
	j.b = append(j.b, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Bytes that are not valid
// UTF-8 pass through: ClickHouse stores the bytes as they are.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
