package lake

import (
	"fmt"
	"io"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/schema"
)

// orderedGroup is a parquet group whose fields keep the table's column
// order (parquet.Group sorts them by name).
type orderedGroup struct {
	parquet.Group
	order []string
}

func (g orderedGroup) Fields() []parquet.Field {
	byName := map[string]parquet.Field{}
	for _, f := range g.Group.Fields() {
		byName[f.Name()] = f
	}
	out := make([]parquet.Field, 0, len(g.order))
	for _, n := range g.order {
		out = append(out, byName[n])
	}
	return out
}

// zstdCodec is the data files' compression: zstd's fastest level. It
// costs half the CPU of the default level (about 3.5 µs per CloudTrail
// event, most of it on raw); the larger pages (pageBytes) and the
// dictionaries of low-cardinality columns make up for the larger output.
var zstdCodec = &zstd.Codec{Level: zstd.SpeedFastest}

// highCardinality names the string columns whose values rarely repeat
// within a file: they are written DELTA_LENGTH_BYTE_ARRAY. The other
// string columns of cloudtrail and guardduty (accounts, regions, event
// names, ARNs, user agents, source…) are dictionary encoded
// (RLE_DICTIONARY): zstd then compresses small index pages instead of the
// repeated text, and CloudTrail files are about 6% smaller for the same
// CPU. vpcflow has none: its files (many small hourly partitions) were no
// smaller, and the dictionaries allocated 1.6 KB more per record. Readers
// get the same values either way.
var highCardinality = map[string]bool{
	// cloudtrail
	"raw": true, "event_id": true, "shared_event_id": true, "req_key": true, "error_message": true,
	// guardduty
	"id": true, "arn": true, "description": true, "resource": true, "service": true,
}

// parquetSchema returns the Parquet schema of a table's data files: every
// column optional; strings UTF8 byte arrays (dictionary encoded unless
// highCardinality), times INT64
// TIMESTAMP(MICROS, UTC), integers INT32/INT64, booleans, doubles.
func parquetSchema(t Table) *parquet.Schema {
	g := parquet.Group{}
	order := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		var n parquet.Node
		switch c.Type {
		case schema.String:
			n = parquet.String()
			if t.Name != VPCFlow && !highCardinality[c.Name] {
				n = parquet.Encoded(n, &parquet.RLEDictionary)
			}
		case schema.Timestamp:
			n = parquet.Timestamp(parquet.Microsecond)
		case schema.Bool:
			n = parquet.Leaf(parquet.BooleanType)
		case schema.Int32:
			n = parquet.Int(32)
		case schema.Int64:
			n = parquet.Int(64)
		case schema.Float64:
			n = parquet.Leaf(parquet.DoubleType)
		default:
			panic(fmt.Sprintf("lake: column %s.%s has unknown type %d", t.Name, c.Name, c.Type))
		}
		g[c.Name] = parquet.Optional(n)
		order[i] = c.Name
	}
	return parquet.NewSchema(t.Name, orderedGroup{Group: g, order: order})
}

// getter reads one data-file column from a record into a parquet value
// (its column index and levels set by the caller).
type getter[T any] func(r *T, src string, ingested int64) parquet.Value

// getters returns, for each column of t, how to read it from a record of
// type T described by cols (internal/schema's list); source and
// ingested_at come from the batch.
func getters[T any](t Table, cols []schema.Column[T]) []getter[T] {
	byName := map[string]schema.Column[T]{}
	for _, c := range cols {
		byName[c.Name] = c
	}
	out := make([]getter[T], len(t.Columns))
	for i, lc := range t.Columns {
		switch lc.Name {
		case "source":
			out[i] = func(_ *T, src string, _ int64) parquet.Value { return str(src) }
			continue
		case "ingested_at":
			out[i] = func(_ *T, _ string, at int64) parquet.Value { return parquet.Int64Value(at) }
			continue
		}
		c, ok := byName[lc.Name]
		if !ok {
			panic(fmt.Sprintf("lake: table %s column %s is not in internal/schema", t.Name, lc.Name))
		}
		switch c.Type {
		case schema.String:
			f := c.Str
			out[i] = func(r *T, _ string, _ int64) parquet.Value { return str(f(r)) }
		case schema.Timestamp:
			f := c.Time
			out[i] = func(r *T, _ string, _ int64) parquet.Value { return timeValue(f(r)) }
		case schema.Bool:
			f := c.Bool
			out[i] = func(r *T, _ string, _ int64) parquet.Value {
				switch f(r) {
				case event.BoolTrue:
					return parquet.BooleanValue(true)
				case event.BoolFalse:
					return parquet.BooleanValue(false)
				}
				return parquet.Value{}
			}
		case schema.Int32:
			f := c.Int
			out[i] = func(r *T, _ string, _ int64) parquet.Value {
				if v, ok := f(r); ok {
					return parquet.Int32Value(int32(v))
				}
				return parquet.Value{}
			}
		case schema.Int64:
			f := c.Int
			out[i] = func(r *T, _ string, _ int64) parquet.Value {
				if v, ok := f(r); ok {
					return parquet.Int64Value(v)
				}
				return parquet.Value{}
			}
		case schema.Float64:
			f := c.Float
			out[i] = func(r *T, _ string, _ int64) parquet.Value { return parquet.DoubleValue(f(r)) }
		}
	}
	return out
}

// str is a string value ("" is NULL, as in the stores). The bytes are
// the string's own: parquet-go copies them into its buffers.
func str(s string) parquet.Value {
	if s == "" {
		return parquet.Value{}
	}
	return parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s)))
}

func timeValue(t time.Time) parquet.Value {
	if t.IsZero() {
		return parquet.Value{}
	}
	return parquet.Int64Value(t.UnixMicro())
}

// appendRow appends a record's values, with levels, to vals.
func appendRow[T any](vals []parquet.Value, gs []getter[T], r *T, src string, at int64) []parquet.Value {
	for i, g := range gs {
		v := g(r, src, at)
		if v.IsNull() {
			v = nulls[i] // most columns of a record are empty: no Level call
		} else {
			v = v.Level(0, 1, i)
		}
		vals = append(vals, v)
	}
	return vals
}

// nulls holds, for each column index, the NULL value with its levels
// (Value.Level is not inlined: a call per value costs about 10 ns).
var nulls = func() []parquet.Value {
	n := 0
	for _, t := range Tables() {
		n = max(n, len(t.Columns))
	}
	out := make([]parquet.Value, n)
	for i := range out {
		out[i] = parquet.Value{}.Level(0, 0, i)
	}
	return out
}()

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// rowGroupBytes is the uncompressed size at which an open file's row
// group is flushed: it bounds the memory of each open file. When the open
// files of a transaction hold more than txBufferBytes together, a file's
// row group is flushed once it holds minRowGroupBytes.
const (
	rowGroupBytes    = 64 << 20
	txBufferBytes    = 256 << 20
	minRowGroupBytes = 4 << 20
)

func newParquetWriter(w io.Writer, s *parquet.Schema) *parquet.GenericWriter[any] {
	return parquet.NewGenericWriter[any](w, s,
		parquet.Compression(zstdCodec),
		parquet.CreatedBy("trawl", "", ""),
		parquet.PageBufferSize(pageBytes),
		parquet.SkipPageBounds("raw"),
		parquet.SkipPageBounds("resource"),
		parquet.SkipPageBounds("service"),
	)
}

// pageBytes is the size of a data page before compression: zstd finds
// more of the repetition between records (raw JSON) in larger pages. 2 MB
// rather than 1 MB: with zstd's fastest level, CloudTrail files are 6%
// smaller for the same CPU (4 MB: 2.5% smaller still, but each open file
// then buffers up to 6 MB of raw).
var pageBytes = 2 << 20
