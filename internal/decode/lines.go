package decode

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/trawl-project/trawl/internal/decode/vpcflow"
	"github.com/trawl-project/trawl/internal/event"
)

// lines reads a text object line by line as flow-log records (JSON lines
// mixed in are handled as JSON).
func (d *decoder) lines(br *bufio.Reader, compressed bool, cr *countingReader) error {
	if d.opt.Kind != event.KindUnknown && d.opt.Kind != event.KindVPCFlow {
		first, _ := br.Peek(256)
		return d.quarantine(d.opt.Kind, 1, 0, fmt.Sprintf("text content is not %s data (--type %s)", d.opt.Kind, d.opt.Kind), first)
	}
	var (
		lineNo  int64
		off     int64 // bytes read so far
		start   int64 // where the current line starts
		long    []byte
		tooLong bool
	)
	limit := d.opt.MaxRecordSize
	for {
		if lineNo&1023 == 0 {
			if err := d.ctx.Err(); err != nil {
				return err
			}
		}
		chunk, err := br.ReadSlice('\n')
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			// The input failed mid-line: the partial line is not a record.
			return d.readFailure(err, cr.n, compressed, lineNo)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it, up to the limit;
			// past it keep only the start, for the snippet.
			switch {
			case tooLong:
			case len(long)+len(chunk) > limit:
				tooLong = true
				long = append(long, chunk[:max(0, min(len(chunk), 256-len(long)))]...)
			default:
				long = append(long, chunk...)
			}
			off += int64(len(chunk))
			continue
		}
		off += int64(len(chunk))
		line := chunk
		switch {
		case tooLong:
			line = long // its start, for the snippet
		case len(long) > 0:
			line = append(long, chunk...)
		}
		lineNo++
		switch {
		case tooLong || len(bytes.TrimRight(line, "\r\n")) > limit:
			if err := d.quarantine(event.KindVPCFlow, lineNo, start, fmt.Sprintf("line %d (%d bytes) is longer than the %d-byte limit (--max-record-size)", lineNo, off-start, limit), line); err != nil {
				return err
			}
		default:
			b := bytes.TrimLeft(bytes.TrimRight(line, "\r\n"), " \t")
			if len(b) == 0 {
				break
			}
			if b[0] == '{' || b[0] == '[' {
				if err := d.handleText(text(b), lineNo, start, 0); err != nil {
					return err
				}
				break
			}
			rec, perr := d.parseFlow(text(b))
			switch {
			case errors.Is(perr, vpcflow.ErrHeader):
			case perr == nil:
				if err := d.emitFlow(&rec, d.vpc.Warnings(), lineNo, start); err != nil {
					return err
				}
			default:
				if err := d.quarantine(event.KindVPCFlow, lineNo, start, "flow-log line: "+perr.Error(), b); err != nil {
					return err
				}
			}
		}
		long, tooLong = long[:0], false
		start = off
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return d.readFailure(err, cr.n, compressed, lineNo)
		}
	}
}

func (d *decoder) parseFlow(raw string) (event.VPCFlow, error) {
	if d.vpc == nil {
		d.vpc = vpcflow.NewParser(d.opt.VPCFormat)
	}
	return d.vpc.Line(raw)
}

// emitFlow adds a flow-log record with the warnings of its values.
func (d *decoder) emitFlow(rec *event.VPCFlow, warns []vpcflow.Warning, line, off int64) error {
	for _, w := range warns {
		d.note(event.KindVPCFlow, w.Field, w.Reason)
	}
	if ok, err := d.accept(event.KindVPCFlow, line, off, rec.Raw); !ok {
		return err
	}
	if err := d.release(); err != nil {
		return err
	}
	return d.addFlow(rec)
}

// flowLine parses one flow-log line (from a wrapper or an envelope); raw is
// kept by the record.
func (d *decoder) flowLine(raw string, line, off int64) error {
	rec, err := d.parseFlow(raw)
	if errors.Is(err, vpcflow.ErrHeader) {
		return nil
	}
	if err != nil {
		return d.quarantine(event.KindVPCFlow, line, off, "flow-log line: "+err.Error(), []byte(raw))
	}
	return d.emitFlow(&rec, d.vpc.Warnings(), line, off)
}
