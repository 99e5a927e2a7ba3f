// Package decode turns one input object (a file, an S3 object, a Lambda
// payload) into records. It recognises the container (gzip by its magic
// bytes, base64+gzip, Parquet, JSON streams, CloudWatch Logs subscription
// envelopes, EventBridge events, {"message": …} wrappers) and the log type
// from content, then hands each unit to the type's parser in
// decode/cloudtrail, decode/vpcflow or decode/guardduty.
//
// It streams: a CloudTrail file is read record by record out of its
// "Records" array. Input that cannot be decoded goes to the sink's
// Quarantine with the object name, its position and a reason, and decoding
// goes on with the rest of the object wherever that is possible.
package decode

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/trawl-project/trawl/internal/decode/vpcflow"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/jsonscan"
)

// Sink receives what a decoder finds, in input order. Calls come from one
// goroutine. A returned error stops decoding and is returned by Decode.
type Sink interface {
	CloudTrail(e *event.CloudTrail) error
	Digest(d *event.Digest) error
	VPCFlow(f *event.VPCFlow) error
	Finding(f *event.Finding) error
	Quarantine(q *event.Quarantined) error
}

// Options control decoding.
type Options struct {
	// Kind, when set, is the only log type accepted; records of other types
	// are quarantined. Text lines are always taken for flow logs.
	Kind event.Kind
	// VPCFormat is the flow-log format of lines that come without a header
	// (CloudWatch Logs delivery). Nil picks a layout by field count.
	VPCFormat *vpcflow.Format
	// MaxRecordSize bounds one record; larger ones are quarantined.
	// Zero means DefaultMaxRecordSize.
	MaxRecordSize int
	// TempDir is where a non-seekable Parquet object is spooled.
	TempDir string
}

// DefaultMaxRecordSize is the default record size limit (CloudTrail events
// are at most a few hundred KiB).
const DefaultMaxRecordSize = 32 << 20

// Object identifies the input for error messages and type hints.
type Object struct {
	Name string // shown in messages and stored as the rows' source
	Key  string // S3-style key or path, used as a type hint ("/CloudTrail/")
}

// ErrEmpty is reported (as a quarantine reason) for an object with no data.
var ErrEmpty = errors.New("empty object")

// Decode reads one object and sends its records to sink. It returns nil
// when the object was read to its end or as far as it could be (problems
// are in the quarantine), and an error only when the sink or ctx fails.
func Decode(ctx context.Context, obj Object, r io.Reader, opt Options, sink Sink) error {
	if opt.MaxRecordSize <= 0 {
		opt.MaxRecordSize = DefaultMaxRecordSize
	}
	d := &decoder{ctx: ctx, obj: obj, opt: opt, sink: sink, holding: true}
	err := d.run(r)
	if errors.Is(err, errStop) {
		err = nil
	}
	if err != nil {
		return err
	}
	return d.release()
}

type decoder struct {
	ctx          context.Context
	obj          Object
	opt          Options
	sink         Sink
	unit         int64 // index of the next unit (record or quarantine entry)
	nQuarantined int64

	vpc *vpcflow.Parser
	src *sourceReader
	sub *jsonscan.Scanner // validates values that do not come from the main scanner

	// Until the first record, quarantine entries are held back: when the
	// first few units all fail, the object is not of a known format and one
	// entry says so instead of one per line.
	holding bool
	held    []event.Quarantined
}

// giveUp is how many failed units, with no record before them, make an
// object count as not being of a known format.
const giveUp = 3

// release emits the held quarantine entries; it is called before the first
// record and at the end of the object.
func (d *decoder) release() error {
	d.holding = false
	held := d.held
	d.held = nil
	for i := range held {
		if err := d.emitQuarantine(&held[i]); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) emitQuarantine(q *event.Quarantined) error {
	q.Record = d.unit
	d.unit++
	d.nQuarantined++
	return d.sink.Quarantine(q)
}

// quarantine records a problem at a position.
func (d *decoder) quarantine(kind event.Kind, line, offset int64, reason string, snippet []byte) error {
	q := event.Quarantined{
		Object:  d.obj.Name,
		Kind:    kind,
		Line:    line,
		Offset:  offset,
		Reason:  reason,
		Snippet: Snippet(snippet),
	}
	if !d.holding {
		return d.emitQuarantine(&q)
	}
	d.held = append(d.held, q)
	if len(d.held) < giveUp {
		return nil
	}
	first := d.held[0]
	d.held = nil
	d.holding = false
	first.Reason = fmt.Sprintf("not a log format trawl knows: the first %d records or lines could not be decoded (the first: %s); the rest of the object is skipped", giveUp, first.Reason)
	if err := d.emitQuarantine(&first); err != nil {
		return err
	}
	return errStop
}

// Snippet returns at most 256 bytes of b as valid UTF-8 text for messages.
func Snippet(b []byte) string {
	if len(b) > jsonscan.SnippetSize {
		b = b[:jsonscan.SnippetSize]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// text copies input bytes into a string that records keep, replacing
// invalid UTF-8 (which stores and JSON functions reject) with U+FFFD.
func text(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

var gzipMagic = []byte{0x1f, 0x8b}

// SourceError reports that reading the object itself failed (an I/O or
// network error), as opposed to the object's data being bad. The object
// should be read again later; nothing about it is quarantined.
type SourceError struct{ Err error }

func (e *SourceError) Error() string { return "reading the object: " + e.Err.Error() }

func (e *SourceError) Unwrap() error { return e.Err }

// sourceReader remembers the first error of the underlying reader.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

func (d *decoder) run(r io.Reader) error {
	d.src = &sourceReader{r: r}
	r = d.src
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4)
	var in io.Reader = br
	compressed := false
	switch {
	case len(head) == 0:
		return d.quarantine(d.hint(), 0, 0, "empty object (0 bytes)", nil)
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return d.quarantine(d.hint(), 0, 0, fmt.Sprintf("corrupt gzip header: %v", err), head)
		}
		defer zr.Close()
		in = zr
		compressed = true
	case bytes.HasPrefix(head, []byte("H4sI")):
		// base64 of a gzip stream, as in a CloudWatch Logs payload's data field.
		zr, err := gzip.NewReader(base64.NewDecoder(base64.StdEncoding, br))
		if err != nil {
			return d.quarantine(d.hint(), 0, 0, fmt.Sprintf("corrupt base64 gzip data: %v", err), head)
		}
		defer zr.Close()
		in = zr
		compressed = true
	}
	cr := &countingReader{r: in}
	cbr := bufio.NewReaderSize(cr, 256<<10)
	first, err := peekContent(cbr)
	if err != nil {
		return d.readFailure(err, cr.n, compressed, 0)
	}
	switch {
	case first == nil:
		if compressed {
			return d.quarantine(d.hint(), 0, 0, "empty object (no data after decompression)", nil)
		}
		return d.quarantine(d.hint(), 0, 0, "empty object (only whitespace)", nil)
	case bytes.HasPrefix(first, []byte("PAR1")):
		return d.parquet(cbr, compressed, cr)
	case first[0] == '{' || first[0] == '[':
		return d.json(cbr, compressed, cr)
	case looksBinary(first):
		return d.quarantine(d.hint(), 1, 0, "binary data that is not a known log format (not gzip, JSON, flow-log text or Parquet)", first)
	}
	return d.lines(cbr, compressed, cr)
}

// hint guesses the log type from the object key, for quarantine entries of
// objects whose content says nothing (empty or unreadable).
func (d *decoder) hint() event.Kind {
	if d.opt.Kind != event.KindUnknown {
		return d.opt.Kind
	}
	return KindFromKey(d.obj.Key)
}

// KindFromKey guesses a log type from an AWS delivery path.
func KindFromKey(key string) event.Kind {
	switch {
	case strings.Contains(key, "/CloudTrail-Digest/"):
		return event.KindCloudTrailDigest
	case strings.Contains(key, "/CloudTrail/"), strings.Contains(key, "/CloudTrail-Insight/"):
		return event.KindCloudTrail
	case strings.Contains(key, "/vpcflowlogs/"), strings.Contains(key, "=vpcflowlogs/"):
		return event.KindVPCFlow
	case strings.Contains(key, "/GuardDuty/"):
		return event.KindGuardDuty
	}
	return event.KindUnknown
}

// readFailure quarantines the rest of an object after a read error, which
// for compressed input means a truncated or corrupt stream.
func (d *decoder) readFailure(err error, at int64, compressed bool, line int64) error {
	if ctxErr := d.ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if d.src.err != nil {
		return &SourceError{Err: d.src.err}
	}
	what := "reading failed"
	if compressed {
		what = "truncated or corrupt compressed stream"
	}
	return d.quarantine(d.hint(), line, at, fmt.Sprintf("%s after %d bytes of data: %v; the rest of the object is lost", what, at, err), nil)
}

// peekContent returns the first bytes of content after a UTF-8 byte order
// mark and leading whitespace, or nil when there is none.
func peekContent(br *bufio.Reader) ([]byte, error) {
	for {
		b, err := br.Peek(1)
		if len(b) == 0 {
			if err == io.EOF {
				return nil, nil
			}
			return nil, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.ReadByte()
			continue
		case 0xEF:
			if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
				_, _ = br.Discard(3)
				continue
			}
		}
		head, err := br.Peek(4096)
		if len(head) == 0 && err != nil {
			return nil, err
		}
		return head, nil
	}
}

// looksBinary reports whether data is not text: NUL bytes or invalid UTF-8.
func looksBinary(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return true
	}
	if len(b) > 3 {
		b = b[:len(b)-3] // a peek can cut a character in two
	}
	return !utf8.Valid(b)
}

// countingReader counts bytes read, to place read errors.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
