package opensearch

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/schema"
)

// Index base names (before the prefix and the -YYYY.MM.DD day).
const (
	IndexCloudTrail = "cloudtrail"
	IndexVPCFlow    = "vpcflowlogs"
	IndexGuardDuty  = "guardduty"
)

// UndatedDay replaces YYYY.MM.DD in the index of a record without the time
// its index is chosen by.
const UndatedDay = "undated"

// maxIDBytes is the longest _id the clusters accept; longer ids are hashed.
const maxIDBytes = 512

// item is one document of a chunk: its action and source lines are
// buf[start:end].
type item struct {
	index, id  string
	start, end int
	external   bool // versioned externally (GuardDuty): 409 means a newer version is stored
}

// chunk is the body of one _bulk request and what it holds.
type chunk struct {
	buf     []byte
	items   []item
	sendCtx context.Context
	names   [3]dayName // index-name cache per index kind
}

type dayName struct {
	day  int64
	name string
	ok   bool
}

func newChunk(size int) *chunk {
	return &chunk{buf: make([]byte, 0, size+size/8)}
}

// reset empties c for reuse.
func (c *chunk) reset() {
	clear(c.items)
	c.buf, c.items, c.sendCtx = c.buf[:0], c.items[:0], nil
}

// indexName returns prefix+base+"-YYYY.MM.DD" for the UTC day of t.
func (c *chunk) indexName(kind int, prefix, base string, t time.Time) string {
	if t.IsZero() {
		return prefix + base + "-" + UndatedDay
	}
	t = t.UTC()
	day := t.Unix() / 86400
	if t.Unix() < 0 && t.Unix()%86400 != 0 {
		day--
	}
	n := &c.names[kind]
	if !n.ok || n.day != day {
		*n = dayName{day: day, name: prefix + base + "-" + t.Format("2006.01.02"), ok: true}
	}
	return n.name
}

func (c *chunk) begin(index, id string, version int64, external bool) int {
	start := len(c.buf)
	c.buf = append(c.buf, `{"index":{"_index":`...)
	c.buf = appendString(c.buf, index)
	c.buf = append(c.buf, `,"_id":`...)
	c.buf = appendString(c.buf, id)
	if external {
		c.buf = append(c.buf, `,"version":`...)
		c.buf = strconv.AppendInt(c.buf, version, 10)
		c.buf = append(c.buf, `,"version_type":"external"`...)
	}
	c.buf = append(c.buf, "}}\n"...)
	return start
}

func (c *chunk) end(index, id string, start int, external bool) {
	c.buf = append(c.buf, '\n')
	c.items = append(c.items, item{index: index, id: id, start: start, end: len(c.buf), external: external})
}

func docID(id string) string {
	if len(id) <= maxIDBytes && utf8.ValidString(id) {
		return id
	}
	h := sha256.Sum256([]byte(id))
	return "sha256-" + hex.EncodeToString(h[:])
}

// FlowID is the _id of a flow record: a hash of its object and unit.
func FlowID(object string, unit int64) string {
	h := sha256.New()
	h.Write([]byte(object))
	var u [9]byte
	binary.BigEndian.PutUint64(u[1:], uint64(unit))
	h.Write(u[:])
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

// ctExtra are CloudTrail fields that are not stored columns of the DuckDB
// table (its view computes them) but are cheap to index here.
var ctExtra = []struct {
	name string
	get  func(*event.CloudTrail) string
}{
	{"event_version", func(e *event.CloudTrail) string { return e.EventVersion }},
	{"user_principal_id", func(e *event.CloudTrail) string { return e.UserPrincipalID }},
	{"request_id", func(e *event.CloudTrail) string { return e.RequestID }},
	{"api_version", func(e *event.CloudTrail) string { return e.APIVersion }},
	{"tls_version", func(e *event.CloudTrail) string { return e.TLSVersion }},
	{"tls_cipher_suite", func(e *event.CloudTrail) string { return e.TLSCipherSuite }},
	{"tls_client_host", func(e *event.CloudTrail) string { return e.TLSClientHost }},
}

// ctObjects are CloudTrail's free-form parts, indexed as flat objects.
var ctObjects = []struct {
	name string
	get  func(*event.CloudTrail) string
}{
	{"request_parameters", func(e *event.CloudTrail) string { return e.RequestParameters }},
	{"response_elements", func(e *event.CloudTrail) string { return e.ResponseElements }},
	{"additional_event_data", func(e *event.CloudTrail) string { return e.AdditionalEventData }},
	{"service_event_details", func(e *event.CloudTrail) string { return e.ServiceEventDetails }},
	{"resources", func(e *event.CloudTrail) string { return e.Resources }},
}

// findingObjects are the GuardDuty columns holding JSON objects.
var findingObjects = map[string]bool{"resource": true, "service": true}

func (c *chunk) addCloudTrail(prefix string, e *event.CloudTrail) {
	index := c.indexName(0, prefix, IndexCloudTrail, e.EventTime)
	id := docID(e.EventID)
	start := c.begin(index, id, 0, false)
	c.buf = append(c.buf, '{')
	c.buf = appendTimeField(c.buf, "@timestamp", e.EventTime)
	c.buf = appendColumns(c.buf, schema.CloudTrail, e, nil)
	for _, x := range ctExtra {
		if v := x.get(e); v != "" {
			c.buf = appendStrField(c.buf, x.name, v)
		}
	}
	if !e.SessionCreatedAt.IsZero() {
		c.buf = appendTimeField(c.buf, "session_created_at", e.SessionCreatedAt)
	}
	for _, x := range ctObjects {
		if v := x.get(e); v != "" {
			c.buf = appendObjField(c.buf, x.name, v)
		}
	}
	c.buf = closeObject(c.buf)
	c.end(index, id, start, false)
}

func (c *chunk) addFlow(prefix, object string, r *event.VPCFlow) {
	t, ok := r.Start()
	if !ok {
		t, _ = r.End()
	}
	index := c.indexName(1, prefix, IndexVPCFlow, t)
	id := FlowID(object, r.Unit)
	start := c.begin(index, id, 0, false)
	c.buf = append(c.buf, '{')
	c.buf = appendTimeField(c.buf, "@timestamp", t)
	c.buf = appendStrField(c.buf, "object", object)
	c.buf = appendColumns(c.buf, schema.VPCFlow, r, nil)
	c.buf = closeObject(c.buf)
	c.end(index, id, start, false)
}

func (c *chunk) addFinding(prefix string, f *event.Finding) {
	day := f.CreatedAt
	if day.IsZero() {
		day = f.UpdatedAt
	}
	index := c.indexName(2, prefix, IndexGuardDuty, day)
	id := docID(f.ID)
	start := c.begin(index, id, max(f.UpdatedAt.UnixMilli(), 0), true)
	c.buf = append(c.buf, '{')
	c.buf = appendTimeField(c.buf, "@timestamp", f.UpdatedAt)
	c.buf = appendColumns(c.buf, schema.Finding, f, findingObjects)
	c.buf = closeObject(c.buf)
	c.end(index, id, start, true)
}

// closeObject ends a document, replacing a trailing comma.
func closeObject(buf []byte) []byte {
	if buf[len(buf)-1] == ',' {
		buf[len(buf)-1] = '}'
		return buf
	}
	return append(buf, '}')
}

// appendColumns appends "name":value, for every column of r that is not
// NULL; columns named in objects hold JSON text and are embedded.
func appendColumns[T any](buf []byte, cols []schema.Column[T], r *T, objects map[string]bool) []byte {
	for i := range cols {
		col := &cols[i]
		switch col.Type {
		case schema.String:
			v := col.Str(r)
			if v == "" {
				continue
			}
			if objects[col.Name] {
				buf = appendObjField(buf, col.Name, v)
			} else {
				buf = appendStrField(buf, col.Name, v)
			}
		case schema.Timestamp:
			if t := col.Time(r); !t.IsZero() {
				buf = appendTimeField(buf, col.Name, t)
			}
		case schema.Bool:
			switch col.Bool(r) {
			case event.BoolTrue:
				buf = appendKey(buf, col.Name)
				buf = append(buf, "true,"...)
			case event.BoolFalse:
				buf = appendKey(buf, col.Name)
				buf = append(buf, "false,"...)
			}
		case schema.Int32, schema.Int64:
			if v, ok := col.Int(r); ok {
				buf = appendKey(buf, col.Name)
				buf = strconv.AppendInt(buf, v, 10)
				buf = append(buf, ',')
			}
		case schema.Float64:
			if v := col.Float(r); !math.IsNaN(v) && !math.IsInf(v, 0) {
				buf = appendKey(buf, col.Name)
				buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
				buf = append(buf, ',')
			}
		}
	}
	return buf
}

func appendKey(buf []byte, name string) []byte {
	buf = append(buf, '"')
	buf = append(buf, name...)
	return append(buf, '"', ':')
}

func appendStrField(buf []byte, name, v string) []byte {
	buf = appendKey(buf, name)
	buf = appendString(buf, v)
	return append(buf, ',')
}

// timeLayout is RFC 3339 in UTC with up to microseconds, which the date
// type's default format (strict_date_optional_time) reads.
const timeLayout = "2006-01-02T15:04:05.999999Z07:00"

func appendTimeField(buf []byte, name string, t time.Time) []byte {
	if t.IsZero() {
		return buf
	}
	buf = appendKey(buf, name)
	buf = append(buf, '"')
	buf = t.UTC().AppendFormat(buf, timeLayout)
	return append(buf, '"', ',')
}

// appendObjField embeds the JSON text v as an object: an object as it is,
// anything else (an array, a string such as HIDDEN_DUE_TO_SECURITY_REASONS,
// text that is not JSON) as {"value": …}, so the field always holds an
// object, which flat_object and flattened fields require.
func appendObjField(buf []byte, name, v string) []byte {
	buf = appendKey(buf, name)
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
	}
	valid := fastjson.Validate(v) == nil
	switch {
	case valid && v[0] == '{':
		buf = append(buf, v...)
	case valid:
		buf = append(buf, `{"value":`...)
		buf = append(buf, v...)
		buf = append(buf, '}')
	default:
		buf = append(buf, `{"value":`...)
		buf = appendString(buf, v)
		buf = append(buf, '}')
	}
	return append(buf, ',')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '"', '\\':
				buf = append(buf, '\\', b)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
