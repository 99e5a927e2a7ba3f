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
	"sync"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/trawl-project/trawl/internal/decode/vpcflow"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/jsonscan"
)

// Emit receives the batches of an object, in input order. The receiver owns
// a batch from then on (and may return it with event.PutBatch). A returned
// error stops decoding and is returned by Decode.
type Emit func(b *event.Batch) error

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
	// BatchUnits and BatchBytes bound a batch: it is emitted once it holds
	// this many units or this much record text. Zero means 4096 units and
	// 8 MiB.
	BatchUnits int
	BatchBytes int
}

// DefaultMaxRecordSize is the default record size limit (CloudTrail events
// are at most a few hundred KiB).
const DefaultMaxRecordSize = 32 << 20

// Object identifies the input for error messages and type hints.
type Object struct {
	Name string // shown in messages and stored as the rows' source
	Key  string // S3-style key or path, used as a type hint ("/CloudTrail/")
	// Skip is the number of units an earlier run committed: they are
	// decoded (decoding is deterministic) but not emitted.
	Skip int64
}

// Format reads one kind of content out of an object: JSON documents and
// streams, flow-log text, Parquet, or one a caller registers. The decoder
// gives each format, in order, the first bytes of the object's content
// (after decompression and leading whitespace); the first whose Match
// accepts them reads the object.
type Format struct {
	Name  string
	Match func(head []byte) bool
	Read  func(s *Stream) error
}

// Stream is what a Format reads from and writes to: the object's content
// and the batches of its records.
type Stream struct {
	d          *decoder
	br         *bufio.Reader
	compressed bool
	cr         *countingReader
}

// Reader returns the object's decompressed content.
func (s *Stream) Reader() *bufio.Reader { return s.br }

// Context returns the decode's context.
func (s *Stream) Context() context.Context { return s.d.ctx }

// CloudTrail adds an event.
func (s *Stream) CloudTrail(e *event.CloudTrail) error { return s.d.addCloudTrail(e) }

// VPCFlow adds a flow-log record.
func (s *Stream) VPCFlow(f *event.VPCFlow) error { return s.d.addFlow(f) }

// Finding adds a GuardDuty finding.
func (s *Stream) Finding(f *event.Finding) error { return s.d.addFinding(f) }

// Quarantine records input that could not be decoded, at a 1-based line
// (0 if not line-oriented) and byte offset (-1 if unknown).
func (s *Stream) Quarantine(kind event.Kind, line, offset int64, reason string, snippet []byte) error {
	return s.d.quarantine(kind, line, offset, reason, snippet)
}

// Warn reports a value of the next record that could not be kept as it was.
func (s *Stream) Warn(kind event.Kind, field, reason string) { s.d.warn(kind, field, reason) }

// Decoder decodes objects with a registry of formats. It is safe for
// concurrent use.
type Decoder struct {
	opt     Options
	formats []Format
	// readers keeps the per-object readers and buffers (*readers) between
	// objects: allocating and clearing them anew for each object (600 KB)
	// cost more than decoding the records of a typical CloudTrail file.
	readers sync.Pool
}

// readers are the buffers and readers one object is decoded with.
type readers struct {
	raw     *bufio.Reader // the object as stored
	content *bufio.Reader // its content, after decompression
	gz      *gzip.Reader
	sc      *jsonscan.Scanner // the main JSON scanner
	sub     *jsonscan.Scanner // validates wrapped records (decoder.sub)
}

// getReaders returns pooled readers, or new ones.
func (dec *Decoder) getReaders() *readers {
	if rs, ok := dec.readers.Get().(*readers); ok {
		return rs
	}
	return &readers{
		raw:     bufio.NewReaderSize(nil, 64<<10),
		content: bufio.NewReaderSize(nil, 256<<10),
	}
}

// putReaders makes rs available to the next object, without references to
// the last one's input.
func (dec *Decoder) putReaders(rs *readers) {
	rs.raw.Reset(nil)
	rs.content.Reset(nil)
	for _, sc := range []*jsonscan.Scanner{rs.sc, rs.sub} {
		if sc != nil {
			sc.Reset(nil)
		}
	}
	dec.readers.Put(rs)
}

// New returns a decoder with the built-in formats: Parquet, JSON, binary
// data (quarantined) and flow-log text, tried in that order.
func New(opt Options) *Decoder {
	if opt.MaxRecordSize <= 0 {
		opt.MaxRecordSize = DefaultMaxRecordSize
	}
	if opt.BatchUnits <= 0 {
		opt.BatchUnits = 4096
	}
	if opt.BatchBytes <= 0 {
		opt.BatchBytes = 8 << 20
	}
	return &Decoder{opt: opt, formats: []Format{
		{Name: "parquet", Match: func(h []byte) bool { return bytes.HasPrefix(h, []byte("PAR1")) },
			Read: func(s *Stream) error { return s.d.parquet(s.br, s.compressed, s.cr) }},
		{Name: "json", Match: func(h []byte) bool { return h[0] == '{' || h[0] == '[' },
			Read: func(s *Stream) error { return s.d.json(s.br, s.compressed, s.cr) }},
		{Name: "binary", Match: looksBinary,
			Read: func(s *Stream) error {
				head, _ := s.br.Peek(4096)
				return s.d.quarantine(s.d.hint(), 1, 0, "binary data that is not a known log format (not gzip, JSON, flow-log text or Parquet)", head)
			}},
		{Name: "lines", Match: func([]byte) bool { return true },
			Read: func(s *Stream) error { return s.d.lines(s.br, s.compressed, s.cr) }},
	}}
}

// Register adds a format, tried before the built-in ones.
func (dec *Decoder) Register(f Format) {
	dec.formats = append([]Format{f}, dec.formats...)
}

// Decode reads one object and emits its records in batches. It returns nil
// when the object was read to its end or as far as it could be (problems
// are in the quarantine), and an error only when emit or ctx fails, or when
// reading the object failed (a *SourceError). The last batch is emitted
// even when it is empty, so its End counts every unit of the object.
func (dec *Decoder) Decode(ctx context.Context, obj Object, r io.Reader, emit Emit) error {
	rs := dec.getReaders()
	defer dec.putReaders(rs)
	d := &decoder{ctx: ctx, obj: obj, opt: dec.opt, formats: dec.formats, emit: emit, holding: true, rs: rs}
	err := d.run(r)
	if errors.Is(err, errStop) {
		err = nil
	}
	if err == nil {
		err = d.finish()
	}
	if err != nil {
		if d.batch != nil {
			event.PutBatch(d.batch)
		}
		return err
	}
	return d.flush()
}

// Decode decodes one object with the built-in formats.
func Decode(ctx context.Context, obj Object, r io.Reader, opt Options, emit Emit) error {
	return New(opt).Decode(ctx, obj, r, emit)
}

type decoder struct {
	ctx          context.Context
	obj          Object
	opt          Options
	formats      []Format
	emit         Emit
	batch        *event.Batch
	unit         int64 // index of the next unit (record or quarantine entry)
	nQuarantined int64

	rs  *readers // pooled readers and buffers
	vpc *vpcflow.Parser
	src *sourceReader
	gz  *bufio.Reader     // the compressed stream under a gzip reader
	sub *jsonscan.Scanner // validates values that do not come from the main scanner

	// Until the first record, quarantine entries are held back: when the
	// first units all fail, the object is not of a known format and one
	// entry says so instead of one per line.
	holding bool
	held    []event.Quarantined

	// notes are warnings about the record being decoded; they are attached
	// to it when it is added, and dropped when it is quarantined instead.
	notes []event.Warning
}

// next returns the batch being filled.
func (d *decoder) next() *event.Batch {
	if d.batch == nil {
		d.batch = event.GetBatch()
		d.batch.Object = d.obj.Name
	}
	return d.batch
}

// take numbers the next unit and reports whether it is new, that is not
// committed by an earlier run.
func (d *decoder) take() (int64, bool) {
	u := d.unit
	d.unit++
	return u, u >= d.obj.Skip
}

// added emits the batch once it is full.
func (d *decoder) added(text int) error {
	b := d.batch
	b.Text += text
	if b.Units() >= d.opt.BatchUnits || b.Text >= d.opt.BatchBytes {
		return d.flush()
	}
	return nil
}

// flush emits the batch being filled (an empty one too: its End moves).
func (d *decoder) flush() error {
	b := d.next()
	b.End = d.unit
	d.batch = nil
	return d.emit(b)
}

// addRecord numbers a record and adds it to the batch being filled, with
// the warnings noted while it was decoded, unless an earlier run committed
// it already.
func addRecord[T any](d *decoder, kind event.Kind, r *T, unit *int64, raw string, list func(*event.Batch) *[]T) error {
	u, ok := d.take()
	if !ok {
		d.notes = d.notes[:0]
		return nil
	}
	d.attachNotes(u, kind)
	*unit = u
	l := list(d.next())
	*l = append(*l, *r)
	return d.added(len(raw))
}

func (d *decoder) addCloudTrail(e *event.CloudTrail) error {
	return addRecord(d, event.KindCloudTrail, e, &e.Unit, e.Raw, func(b *event.Batch) *[]event.CloudTrail { return &b.CloudTrail })
}

func (d *decoder) addDigest(g *event.Digest) error {
	return addRecord(d, event.KindCloudTrailDigest, g, &g.Unit, g.Raw, func(b *event.Batch) *[]event.Digest { return &b.Digests })
}

func (d *decoder) addFinding(f *event.Finding) error {
	return addRecord(d, event.KindGuardDuty, f, &f.Unit, f.Raw, func(b *event.Batch) *[]event.Finding { return &b.Findings })
}

func (d *decoder) addFlow(f *event.VPCFlow) error {
	return addRecord(d, event.KindVPCFlow, f, &f.Unit, f.Raw, func(b *event.Batch) *[]event.VPCFlow { return &b.VPCFlow })
}

// warn records a warning about the next unit (the record being decoded).
func (d *decoder) warn(kind event.Kind, field, reason string) {
	if d.unit < d.obj.Skip {
		return
	}
	b := d.next()
	b.Warnings = append(b.Warnings, event.Warning{Object: d.obj.Name, Kind: kind, Record: d.unit, Field: field, Reason: reason})
}

// note records a warning about the record being decoded (see notes).
func (d *decoder) note(kind event.Kind, field, reason string) {
	d.notes = append(d.notes, event.Warning{Object: d.obj.Name, Kind: kind, Field: field, Reason: capText(reason)})
}

// attachNotes adds the pending notes as warnings of unit u, a record of
// the given kind.
func (d *decoder) attachNotes(u int64, kind event.Kind) {
	if len(d.notes) == 0 {
		return
	}
	b := d.next()
	for _, w := range d.notes {
		w.Record = u
		if w.Kind == event.KindUnknown {
			w.Kind = kind
		}
		b.Warnings = append(b.Warnings, w)
	}
	d.notes = d.notes[:0]
}

// giveUp is how many failed units, with no record before them, make an
// object count as not being of a known format: decoding stops there. It is
// large enough that a few broken records at the start of a log file do not
// cost the good ones after them.
const giveUp = 100

// minUnknown is how many failed units, when an object has nothing else,
// are reported as one entry (the object is not of a known format) instead
// of one entry each.
const minUnknown = 3

// finish ends the object: held quarantine entries are emitted, as one
// entry when there are minUnknown or more and no record came.
func (d *decoder) finish() error {
	if d.holding && len(d.held) >= minUnknown {
		return d.unknownFormat(fmt.Sprintf("none of its %d records or lines could be decoded", len(d.held)))
	}
	return d.release()
}

// unknownFormat replaces the held entries by one that says the object is
// not of a known format.
func (d *decoder) unknownFormat(what string) error {
	first := d.held[0]
	d.held = nil
	d.holding = false
	first.Reason = capText(fmt.Sprintf("not a log format trawl knows: %s (the first: %s)", what, first.Reason))
	return d.emitQuarantine(&first)
}

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
	u, ok := d.take()
	d.nQuarantined++
	if !ok {
		return nil
	}
	q.Record = u
	b := d.next()
	b.Quarantined = append(b.Quarantined, *q)
	return d.added(len(q.Snippet))
}

// quarantine records a problem at a position.
func (d *decoder) quarantine(kind event.Kind, line, offset int64, reason string, snippet []byte) error {
	d.notes = d.notes[:0] // about a record that is not kept
	q := event.Quarantined{
		Object:  d.obj.Name,
		Kind:    kind,
		Line:    line,
		Offset:  offset,
		Reason:  capText(reason),
		Snippet: Snippet(snippet),
	}
	if !d.holding {
		return d.emitQuarantine(&q)
	}
	d.held = append(d.held, q)
	if len(d.held) < giveUp {
		return nil
	}
	if err := d.unknownFormat(fmt.Sprintf("the first %d records or lines could not be decoded; the rest of the object is skipped", giveUp)); err != nil {
		return err
	}
	return errStop
}

// MaxReason bounds the length of a quarantine reason or warning, in bytes.
const MaxReason = 1 << 10

// capText cuts a message to MaxReason bytes (at a character boundary).
func capText(s string) string {
	if len(s) <= MaxReason {
		return s
	}
	const more = "… (cut)"
	i := MaxReason - len(more)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return strings.ToValidUTF8(s[:i], "") + more
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
	br := d.rs.raw
	br.Reset(r)
	head, _ := br.Peek(4)
	var in io.Reader = br
	compressed := false
	switch {
	case len(head) == 0:
		return d.quarantine(d.hint(), 0, 0, "empty object (0 bytes)", nil)
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := d.gzipReader(br)
		d.gz = br
		if err != nil {
			return d.quarantine(d.hint(), 0, 0, fmt.Sprintf("corrupt gzip header: %v", err), head)
		}
		defer zr.Close()
		in = zr
		compressed = true
	case bytes.HasPrefix(head, []byte("H4sI")):
		// base64 of a gzip stream, as in a CloudWatch Logs payload's data field.
		d.gz = bufio.NewReader(base64.NewDecoder(base64.StdEncoding, br))
		zr, err := d.gzipReader(d.gz)
		if err != nil {
			return d.quarantine(d.hint(), 0, 0, fmt.Sprintf("corrupt base64 gzip data: %v", err), head)
		}
		defer zr.Close()
		in = zr
		compressed = true
	}
	cr := &countingReader{r: in}
	cbr := d.rs.content
	cbr.Reset(cr)
	first, err := peekContent(cbr)
	if err != nil {
		return d.readFailure(err, cr.n, compressed, 0)
	}
	if first == nil {
		if compressed {
			return d.quarantine(d.hint(), 0, 0, "empty object (no data after decompression)", nil)
		}
		return d.quarantine(d.hint(), 0, 0, "empty object (only whitespace)", nil)
	}
	s := &Stream{d: d, br: cbr, compressed: compressed, cr: cr}
	for _, f := range d.formats {
		if f.Match(first) {
			return f.Read(s)
		}
	}
	return d.quarantine(d.hint(), 1, 0, "content that no registered format reads", first)
}

// gzipReader returns the pooled gzip reader reading from r (as
// gzip.NewReader would return a new one), with r's header read.
func (d *decoder) gzipReader(r io.Reader) (*gzip.Reader, error) {
	if d.rs.gz == nil {
		d.rs.gz = new(gzip.Reader)
	}
	if err := d.rs.gz.Reset(r); err != nil {
		return nil, err
	}
	return d.rs.gz, nil
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
	if errors.Is(err, gzip.ErrChecksum) {
		// gzip checks its CRC only at the end of a member, after the
		// member's records were decoded (and emitted): say so, instead of
		// claiming that data was lost.
		where, rest := "at the end of the object", ""
		if d.gz != nil {
			if more, _ := d.gz.Peek(1); len(more) > 0 {
				where = fmt.Sprintf("at the end of a gzip member (after %d bytes of data)", at)
				rest = "; the gzip members after it are not read"
			}
		}
		return d.quarantine(d.hint(), line, at, fmt.Sprintf("gzip checksum mismatch %s: %d units were decoded before the check; the data may be damaged%s", where, d.unit+int64(len(d.held)), rest), nil)
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
