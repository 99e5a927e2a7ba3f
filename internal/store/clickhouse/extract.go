package clickhouse

import (
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
