package decode

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/trawl-project/trawl/internal/decode/cloudtrail"
	"github.com/trawl-project/trawl/internal/decode/guardduty"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/jsonscan"
)

// errStop ends an object early after its problem has been quarantined.
var errStop = errors.New("stop object")

// isStreamKey reports whether k is a container key whose array is read
// element by element instead of as one value.
// "Events" is the array of `aws cloudtrail lookup-events` output.
func isStreamKey(k string) bool {
	return k == "Records" || k == "findings" || k == "Findings" || k == "Events"
}

func (d *decoder) json(br *bufio.Reader, compressed bool, cr *countingReader) error {
	sc := d.rs.sc
	if sc == nil {
		sc = jsonscan.NewScanner(br, d.opt.MaxRecordSize)
		d.rs.sc = sc
	} else {
		sc.Reset(br)
	}
	err := d.jsonStream(sc)
	var re *readError
	if errors.As(err, &re) {
		return d.readFailure(re.err, cr.n, compressed, sc.Line())
	}
	return err
}

// readError wraps a failure to read the input (not a problem of the data's
// structure), which ends the object.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }

// scanErr sorts a scanner error into fatal (returned) and data problems
// (quarantined, with recovered==true when scanning can go on). from is
// where the broken value starts (-1: at the error): the search for the next
// record starts there, not at the error, which can lie past the next
// record's start (an unclosed string swallows the next record's first
// bytes; a truncated line's error is found on the next line).
func (d *decoder) scanErr(sc *jsonscan.Scanner, err error, inArray bool, from int64) (recovered bool, fatal error) {
	var ve *jsonscan.ValueError
	var se *jsonscan.SyntaxError
	switch {
	case errors.As(err, &ve):
		reason := fmt.Sprintf("record of %d bytes exceeds the %d-byte limit (--max-record-size)", ve.Size, d.opt.MaxRecordSize)
		return true, d.quarantine(d.hint(), ve.Line, ve.Offset, reason, ve.Snippet)
	case errors.As(err, &se):
		snip := sc.Snippet(se.Offset-64, 192)
		if from >= 0 {
			sc.Rewind(from)
		}
		start := sc.Offset()
		var found bool
		var big *jsonscan.ValueError
		if inArray {
			found, big = resyncElement(sc)
		} else {
			found = sc.SkipTo([]byte("\n{"), []byte("\n["))
			if found {
				sc.SkipByte()
			}
		}
		if re := sc.ReadErr(); re != nil {
			return false, &readError{re}
		}
		reason := "invalid JSON: " + se.Msg
		if found {
			reason += fmt.Sprintf("; skipped %d bytes from the start of the record to the next one", sc.Offset()-start)
		} else {
			reason += "; no further record found, the rest of the object is skipped"
		}
		if qerr := d.quarantine(d.hint(), se.Line, se.Offset, reason, snip); qerr != nil {
			return false, qerr
		}
		if big != nil {
			return d.scanErr(sc, big, inArray, -1)
		}
		return found, nil
	}
	return false, &readError{err}
}

// resyncElement moves sc, after a broken element of an array, to the start
// of the next element. sc is at the start of the broken element. A
// candidate is a '{' after a ',' (whitespace between them allowed); it is
// the next element when it starts a valid object with the keys of a
// record. Objects nested in a record follow a ',' as well, but they are
// not records (a resource, a request parameter), so they are passed over.
// A candidate that is itself broken is taken when its first key is the one
// the broken element started with, or a record's usual first key
// ("eventVersion", "schemaVersion"), so that each broken record is
// reported on its own. This does not depend on key order, whitespace or
// record type. An element too large to keep is reported in big.
func resyncElement(sc *jsonscan.Scanner) (found bool, big *jsonscan.ValueError) {
	head, _ := sc.PeekAhead(256)
	first, _ := firstKey(head)
	for sc.SkipToElement() {
		at := sc.Offset()
		head, _ := sc.PeekAhead(256)
		k, _ := firstKey(head)
		sameStart := k != "" && (k == first || k == "eventVersion" || k == "schemaVersion")
		v, err := sc.ReadValue()
		if errors.As(err, &big) {
			return sc.SkipToElement(), big
		}
		if err == nil && recordLike(scanKeys(string(v.Bytes), v.Members)) || err != nil && sameStart {
			if sc.Rewind(at) { // read it again as the next element
				return true, nil
			}
		}
		if err == nil || !sc.Rewind(at) {
			continue // a nested object, or not an object at all
		}
		sc.SkipByte()
	}
	return false, nil
}

// recordLike reports whether an object has the keys of a record or of a
// container of records trawl reads.
func recordLike(k objectKeys) bool {
	return k.ctRecord || k.digest || k.finding() || k.detail != "" || k.logEvents != "" ||
		k.records != "" || k.findings != "" || k.message != "" || k.events != "" || k.ctEvent != ""
}

func (d *decoder) jsonStream(sc *jsonscan.Scanner) error {
	for {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		c, err := sc.Peek()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &readError{err}
		}
		switch c {
		case '[':
			if err := d.streamArray(sc); err != nil {
				return err
			}
		case '{':
			head, _ := sc.PeekAhead(512)
			if k, ok := firstKey(head); ok && isStreamKey(k) {
				if err := d.streamObject(sc); err != nil {
					return err
				}
				continue
			}
			if err := d.topValue(sc); err != nil {
				return err
			}
		default:
			if err := d.topValue(sc); err != nil {
				return err
			}
		}
	}
}

// topValue reads and handles one whole top-level value.
func (d *decoder) topValue(sc *jsonscan.Scanner) error {
	v, err := sc.ReadValue()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		ok, fatal := d.scanErr(sc, err, false, v.Offset)
		if fatal != nil {
			return fatal
		}
		if !ok {
			return errStop
		}
		return nil
	}
	return d.handleScanned(sc, v)
}

// streamObject reads an object member by member, streaming the arrays of
// container keys ("Records", "findings") and skipping other members.
func (d *decoder) streamObject(sc *jsonscan.Scanner) error {
	if err := sc.Consume('{'); err != nil {
		return d.containerErr(sc, err)
	}
	for {
		c, err := sc.Peek()
		if err != nil {
			return d.containerErr(sc, err)
		}
		switch c {
		case '}':
			sc.SkipByte()
			return nil
		case ',':
			sc.SkipByte()
			continue
		}
		key, err := sc.ReadKey()
		if err != nil {
			return d.containerErr(sc, err)
		}
		if c, _ := sc.Peek(); isStreamKey(key) && c == '[' {
			if err := d.streamArray(sc); err != nil {
				return err
			}
			continue
		}
		v, err := sc.ReadValue()
		if err != nil {
			return d.containerErr(sc, err)
		}
		if isStreamKey(key) {
			if err := d.notArray(key, string(v.Bytes), v.Line, v.Offset); err != nil {
				return err
			}
		}
	}
}

// containerErr handles a problem in the structure around records.
func (d *decoder) containerErr(sc *jsonscan.Scanner, err error) error {
	if err == io.EOF {
		err = &jsonscan.SyntaxError{Offset: sc.Offset(), Line: sc.Line(), Msg: "unexpected end of input inside an object"}
	}
	ok, fatal := d.scanErr(sc, err, false, -1)
	if fatal != nil {
		return fatal
	}
	if !ok {
		return errStop
	}
	return nil
}

// notArray quarantines a container key ("Records", "findings") whose value
// is not an array: the object holds no records, which should not pass
// silently.
func (d *decoder) notArray(key, v string, line, off int64) error {
	what := map[byte]string{'{': "a JSON object", '"': "a string", 'n': "null", 't': "a boolean", 'f': "a boolean"}[v[0]]
	if what == "" {
		what = "a number"
	}
	return d.quarantine(d.hint(), line, off, fmt.Sprintf("%q is %s, not an array of records: the object holds no records", key, what), []byte(v))
}

// streamArray reads an array element by element.
func (d *decoder) streamArray(sc *jsonscan.Scanner) error {
	if err := sc.Consume('['); err != nil {
		return d.containerErr(sc, err)
	}
	if c, err := sc.Peek(); err == nil && c == ']' {
		sc.SkipByte()
		return nil
	}
	for {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		v, err := sc.ReadValue()
		if err == io.EOF {
			err = &jsonscan.SyntaxError{Offset: sc.Offset(), Line: sc.Line(), Msg: "unexpected end of input inside an array (truncated file?)"}
		}
		if err != nil {
			ok, fatal := d.scanErr(sc, err, true, v.Offset)
			if fatal != nil {
				return fatal
			}
			if !ok {
				return errStop
			}
			var ve *jsonscan.ValueError
			if !errors.As(err, &ve) {
				continue // resynchronised at the start of the next element
			}
		} else if err := d.handleScanned(sc, v); err != nil {
			return err
		}
		c, err := sc.Peek()
		if err != nil {
			if err == io.EOF {
				err = &jsonscan.SyntaxError{Offset: sc.Offset(), Line: sc.Line(), Msg: "unexpected end of input inside an array (truncated file?)"}
			}
			ok, fatal := d.scanErr(sc, err, true, -1)
			if fatal != nil {
				return fatal
			}
			if !ok {
				return errStop
			}
			continue
		}
		switch c {
		case ',':
			sc.SkipByte()
		case ']':
			sc.SkipByte()
			return nil
		default:
			ok, fatal := d.scanErr(sc, &jsonscan.SyntaxError{Offset: sc.Offset(), Line: sc.Line(), Msg: fmt.Sprintf("expected ',' or ']' after an array element, found %q", c)}, true, -1)
			if fatal != nil {
				return fatal
			}
			if !ok {
				return errStop
			}
		}
	}
}

// firstKey returns the first key of the object that head starts with.
func firstKey(head []byte) (string, bool) {
	i := 1
	for i < len(head) && (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' || head[i] == '\t') {
		i++
	}
	if i >= len(head) || head[i] != '"' {
		return "", false
	}
	j := bytes.IndexByte(head[i+1:], '"')
	if j < 0 {
		return "", false
	}
	return string(head[i+1 : i+1+j]), true
}

// handleScanned dispatches a value read (and validated) by the scanner.
func (d *decoder) handleScanned(sc *jsonscan.Scanner, v jsonscan.Value) error {
	raw := text(v.Bytes)
	mem := v.Members
	if len(raw) != len(v.Bytes) {
		mem = nil // invalid UTF-8 was replaced: the index no longer fits
	}
	if sc.Unreadable() {
		raw, mem = d.readable(raw, mem)
	}
	return d.handleValue(raw, mem, v.Line, v.Offset, 0)
}

// readable rewrites what DuckDB's JSON functions cannot read (see
// jsonscan.Readable), with a warning for each change.
func (d *decoder) readable(raw string, mem []jsonscan.Member) (string, []jsonscan.Member) {
	fixed, fixes := jsonscan.Readable(raw)
	if len(fixes) == 0 {
		return raw, mem
	}
	for _, f := range fixes {
		d.note(event.KindUnknown, "raw", "record text: "+f)
	}
	return fixed, nil
}

// handleText validates a value that did not come through the main scanner
// (a line of a text object, a wrapped message, a payload) and dispatches it.
func (d *decoder) handleText(raw string, line, off int64, depth int) error {
	if d.sub == nil {
		if d.rs.sub == nil {
			d.rs.sub = jsonscan.NewScanner(nil, d.opt.MaxRecordSize)
		}
		d.sub = d.rs.sub
	}
	mem, err := d.sub.Validate(raw)
	if err != nil {
		var se *jsonscan.SyntaxError
		if errors.Is(err, jsonscan.ErrTooLarge) {
			return d.quarantine(d.hint(), line, off, fmt.Sprintf("record of %d bytes exceeds the %d-byte limit (--max-record-size)", len(raw), d.opt.MaxRecordSize), []byte(raw))
		}
		if errors.As(err, &se) {
			return d.quarantine(d.hint(), line, off, "invalid JSON: "+se.Msg+fmt.Sprintf(" (at byte %d of the record)", se.Offset), []byte(raw))
		}
		return d.quarantine(d.hint(), line, off, "invalid JSON: "+err.Error(), []byte(raw))
	}
	if d.sub.Unreadable() {
		raw, mem = d.readable(raw, mem)
	}
	return d.handleValue(raw, mem, line, off, depth)
}

// eventTimeNote warns that a CloudTrail record's eventTime is stored as
// NULL: it is missing or not a timestamp trawl reads.
func (d *decoder) eventTimeNote(raw string, mem []jsonscan.Member) {
	reason := "the record has no eventTime: stored as NULL"
	jsonscan.EachMember(raw, mem, func(k, v string) bool {
		if k != "eventTime" {
			return true
		}
		if !jsonscan.IsNull(v) {
			reason = fmt.Sprintf("eventTime %s is not a timestamp trawl reads: stored as NULL", jsonscan.Abbrev(v))
		}
		return false
	})
	d.note(event.KindCloudTrail, "eventTime", reason)
}

// maxDepth bounds recursion through nested containers and payloads.
const maxDepth = 8

// handleValue dispatches a valid JSON value. raw must be kept by callers
// (records keep substrings of it); mem is its member index or nil.
func (d *decoder) handleValue(raw string, mem []jsonscan.Member, line, off int64, depth int) error {
	if depth > maxDepth {
		return d.quarantine(d.hint(), line, off, "containers nested too deep", []byte(raw))
	}
	switch raw[0] {
	case '{':
		return d.handleObject(raw, mem, line, off, depth)
	case '[':
		var err error
		jsonscan.Elements(raw, func(el string) bool {
			err = d.handleValue(el, nil, line, off, depth+1)
			return err == nil
		})
		return err
	case '"':
		return d.handleMessage(jsonscan.Text(raw), line, off, depth+1)
	}
	return d.quarantine(d.hint(), line, off, "JSON value is not a record", []byte(raw))
}

// objectKeys summarises an object for classification.
type objectKeys struct {
	keys                          [12]string // the first keys (an array: no allocation per record)
	nkeys                         int
	ctRecord, digest              bool
	records, findings, logEvents  string
	messageType, message, awslogs string
	detailType, detail            string
	id, typ, severity, service    bool // GuardDuty finding keys, either case
	arn                           string
	events, ctEvent               string // lookup-events output: "Events", an event's "CloudTrailEvent"
}

// finding reports whether the keys are those of a GuardDuty finding.
func (k *objectKeys) finding() bool {
	return k.id && k.typ && (k.severity || k.service || strings.Contains(k.arn, ":guardduty:"))
}

func scanKeys(raw string, mem []jsonscan.Member) objectKeys {
	var k objectKeys
	jsonscan.EachMember(raw, mem, func(key, v string) bool {
		if k.nkeys < len(k.keys) {
			k.keys[k.nkeys] = key
			k.nkeys++
		}
		switch {
		case cloudtrail.IsRecordKey(key):
			k.ctRecord = true
		case cloudtrail.IsDigestKey(key):
			k.digest = true
		}
		switch key {
		case "Records":
			k.records = v
		case "findings", "Findings":
			k.findings = v
		case "logEvents":
			k.logEvents = v
		case "messageType":
			k.messageType = jsonscan.Text(v)
		case "message":
			k.message = v
		case "awslogs":
			k.awslogs = v
		case "detail-type":
			k.detailType = jsonscan.Text(v)
		case "detail":
			k.detail = v
		case "id", "Id":
			k.id = true
		case "type", "Type":
			k.typ = true
		case "severity", "Severity":
			k.severity = true
		case "service", "Service":
			k.service = true
		case "arn", "Arn":
			k.arn = v
		case "Events":
			k.events = v
		case "CloudTrailEvent":
			k.ctEvent = v
		}
		return true
	})
	return k
}

func (d *decoder) accept(kind event.Kind, line, off int64, raw string) (bool, error) {
	want := d.opt.Kind
	if want == event.KindUnknown || want == kind || (want == event.KindCloudTrail && kind == event.KindCloudTrailDigest) {
		return true, nil
	}
	return false, d.quarantine(want, line, off, fmt.Sprintf("found a %s record but --type is %s", kind, want), []byte(raw))
}

func (d *decoder) handleObject(raw string, mem []jsonscan.Member, line, off int64, depth int) error {
	k := scanKeys(raw, mem)
	switch {
	case k.records != "" && k.records[0] == '[':
		return d.handleValue(k.records, nil, line, off, depth+1)
	case k.records != "":
		return d.notArray("Records", k.records, line, off)
	case k.ctRecord && k.messageType == "" && k.detailType == "":
		if ok, err := d.accept(event.KindCloudTrail, line, off, raw); !ok {
			return err
		}
		e := cloudtrail.FromRaw(raw, jsonscan.NewMemberIter(raw, mem).Next)
		if e.EventTime.IsZero() {
			d.eventTimeNote(raw, mem)
		}
		if err := d.release(); err != nil {
			return err
		}
		return d.addCloudTrail(&e)
	case k.digest:
		if ok, err := d.accept(event.KindCloudTrailDigest, line, off, raw); !ok {
			return err
		}
		dg, err := cloudtrail.DigestFromRaw(raw)
		if err != nil {
			return d.quarantine(event.KindCloudTrailDigest, line, off, err.Error(), []byte(raw))
		}
		if err := d.release(); err != nil {
			return err
		}
		return d.addDigest(&dg)
	case k.logEvents != "" && k.messageType != "":
		return d.cwlEnvelope(k, line, off, depth)
	case k.awslogs != "":
		return d.lambdaPayload(k.awslogs, line, off, depth)
	case k.detail != "" && k.detail[0] == '{':
		if k.detailType == "GuardDuty Finding" {
			return d.finding(k.detail, line, off)
		}
		dk := scanKeys(k.detail, nil)
		if dk.ctRecord {
			return d.handleObject(k.detail, nil, line, off, depth+1)
		}
	case k.findings != "" && k.findings[0] == '[':
		return d.handleValue(k.findings, nil, line, off, depth+1)
	case k.events != "" && k.events[0] == '[':
		// `aws cloudtrail lookup-events` output: {"Events":[…],"NextToken":…}
		return d.handleValue(k.events, nil, line, off, depth+1)
	case k.ctEvent != "" && k.ctEvent[0] == '"':
		// An event of lookup-events output (or of the LookupEvents API):
		// CloudTrailEvent is the whole CloudTrail record as a JSON string.
		return d.handleText(jsonscan.Text(k.ctEvent), line, off, depth+1)
	case k.message != "" && k.nkeys <= 3:
		return d.handleMessage(jsonscan.Text(k.message), line, off, depth+1)
	case k.finding():
		return d.finding(raw, line, off)
	case k.findings != "":
		return d.notArray("findings", k.findings, line, off)
	}
	keys := append([]string(nil), k.keys[:k.nkeys]...)
	sort.Strings(keys)
	return d.quarantine(d.hint(), line, off, fmt.Sprintf("JSON object is not a CloudTrail, GuardDuty or flow-log record (keys: %s)", strings.Join(keys, ", ")), []byte(raw))
}

func (d *decoder) finding(raw string, line, off int64) error {
	if ok, err := d.accept(event.KindGuardDuty, line, off, raw); !ok {
		return err
	}
	f, err := guardduty.FromRaw(raw, func(field, reason string) { d.note(event.KindGuardDuty, field, reason) })
	if err != nil {
		return d.quarantine(event.KindGuardDuty, line, off, err.Error(), []byte(raw))
	}
	if err := d.release(); err != nil {
		return err
	}
	return d.addFinding(&f)
}

// cwlEnvelope handles a CloudWatch Logs subscription payload: each log
// event's message is a record (a CloudTrail event or a flow-log line).
func (d *decoder) cwlEnvelope(k objectKeys, line, off int64, depth int) error {
	if k.messageType == "CONTROL_MESSAGE" {
		return nil // a connectivity check from CloudWatch Logs, not data
	}
	var err error
	i := 0
	jsonscan.Elements(k.logEvents, func(ev string) bool {
		var msg string
		jsonscan.Members(ev, func(key, v string) bool {
			if key == "message" {
				msg = jsonscan.Text(v)
				return false
			}
			return true
		})
		err = d.handleMessage(msg, line, off, depth+1)
		i++
		return err == nil
	})
	return err
}

// maxPayload bounds a decoded Lambda payload (CloudWatch Logs sends at most
// a few MB).
const maxPayload = 64 << 20

// lambdaPayload handles {"awslogs":{"data":"<base64 gzip>"}}.
func (d *decoder) lambdaPayload(v string, line, off int64, depth int) error {
	var data string
	jsonscan.Members(v, func(k, x string) bool {
		if k == "data" {
			data = jsonscan.Text(x)
		}
		return true
	})
	zr, err := gzip.NewReader(base64.NewDecoder(base64.StdEncoding, strings.NewReader(data)))
	if err != nil {
		return d.quarantine(d.hint(), line, off, "awslogs.data is not base64-encoded gzip: "+err.Error(), []byte(v))
	}
	body, err := io.ReadAll(io.LimitReader(zr, maxPayload+1))
	if err != nil {
		return d.quarantine(d.hint(), line, off, "awslogs.data: corrupt gzip: "+err.Error(), []byte(v))
	}
	if len(body) > maxPayload {
		return d.quarantine(d.hint(), line, off, fmt.Sprintf("awslogs.data decodes to more than %d bytes", maxPayload), nil)
	}
	raw := text(bytes.TrimSpace(body))
	if raw == "" {
		return nil
	}
	return d.handleText(raw, line, off, depth+1)
}

// handleMessage handles the text of a wrapped record: JSON is a record
// (CloudTrail through CloudWatch Logs), anything else a flow-log line.
func (d *decoder) handleMessage(msg string, line, off int64, depth int) error {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return nil
	}
	if msg[0] == '{' || msg[0] == '[' {
		return d.handleText(msg, line, off, depth)
	}
	return d.flowLine(msg, line, off)
}
