package vpcflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/trawl-project/trawl/internal/event"
)

// ParquetSink receives what ParquetRows reads, in file order. Reasons
// name rows by their number in the file, from 1.
type ParquetSink struct {
	// Row gets a record and the warnings about its values.
	Row func(rec *event.VPCFlow, warns []Warning) error
	// Bad gets a row that is not a flow record, with a snippet of it.
	Bad func(reason, snippet string) error
	// Lost gets the rows of a row group that could not be read; reading
	// goes on with the next row group.
	Lost func(reason string) error
}

// ParquetRows reads the rows of a flow-log Parquet file as AWS delivers it
// to S3: one column per field, named like the field with underscores
// (account_id, pkt_src_aws_service…), INT_32/INT_64/STRING typed. Columns
// of unknown names are kept in Raw but not parsed.
//
// Each row is rendered as a flow-log text line in the file's column order
// ("-" for nulls), which becomes the record's Raw, and parsed like a line
// under a header of the column names; a line over maxRow bytes is a bad
// row. The metadata and every page header are checked before parquet-go
// reads them (see checkFooter), and a panic of parquet-go loses the rest
// of its row group, not the object. An error returned by ParquetRows
// itself means the file is not readable Parquet, or comes from the sink.
func ParquetRows(ctx context.Context, r io.ReaderAt, size int64, maxRow int, sink ParquetSink) error {
	meta, err := checkFooter(r, size)
	if err != nil {
		return fmt.Errorf("invalid Parquet file: %w", err)
	}
	var f *parquet.File
	if err := catch(nil, func() (err error) {
		f, err = parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true), parquet.ReadBufferSize(64<<10))
		return err
	}); err != nil {
		return fmt.Errorf("invalid Parquet file: %w", err)
	}
	cols := f.Schema().Columns()
	names := make([]string, len(cols))
	known := 0
	for i, path := range cols {
		names[i] = strings.Join(path, ".")
		if _, ok := byName[names[i]]; ok {
			known++
		}
	}
	if known == 0 {
		return fmt.Errorf("the Parquet file has no flow-log columns (columns: %s)", strings.Join(names, ", "))
	}
	md := f.Metadata()
	end := size - 8 - meta // where the column data ends
	var buf []byte
	for g := range md.RowGroups {
		rg := &md.RowGroups[g]
		if rg.NumRows < 0 {
			return fmt.Errorf("invalid Parquet file: row group %d claims %d rows", g+1, rg.NumRows)
		}
		for c := range rg.Columns {
			if err := checkChunk(r, end, &rg.Columns[c], &buf); err != nil {
				return fmt.Errorf("invalid Parquet file: row group %d, column %d: %w", g+1, c+1, err)
			}
		}
	}
	rd := &rowReader{ctx: ctx, p: &Parser{header: headerFormat(names)}, names: names, maxRow: maxRow, sink: sink,
		buf: make([]parquet.Row, 64), vals: make([]string, len(cols))}
	groups := f.RowGroups()
	for g, rg := range groups {
		first := rd.row
		inSink := false
		err := catch(&inSink, func() error { return rd.group(rg, &inSink) })
		var serr sinkError
		switch {
		case errors.As(err, &serr):
			return serr.err
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			from := rd.row + 1
			to := max(first+rg.NumRows(), from)
			if serr := sink.Lost(fmt.Sprintf("Parquet rows %d to %d (row group %d of %d) are lost: %v", from, to, g+1, len(groups), err)); serr != nil {
				return serr
			}
			rd.row = to
		}
	}
	return nil
}

// sinkError carries an error of the sink through the row reader.
type sinkError struct{ err error }

func (e sinkError) Error() string { return e.err.Error() }

// catch runs fn and turns a panic into an error, unless it happened in the
// sink (*inSink), which is a bug of the caller.
func catch(inSink *bool, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if inSink != nil && *inSink {
				panic(p)
			}
			err = fmt.Errorf("parquet-go failed on corrupt data: %v", p)
		}
	}()
	return fn()
}

type rowReader struct {
	ctx    context.Context
	p      *Parser
	names  []string
	maxRow int
	sink   ParquetSink
	buf    []parquet.Row
	vals   []string
	line   strings.Builder
	row    int64 // rows read so far
}

// group reads the rows of one row group.
func (rd *rowReader) group(rg parquet.RowGroup, inSink *bool) error {
	rows := rg.Rows()
	defer rows.Close()
	for {
		if err := rd.ctx.Err(); err != nil {
			return err
		}
		n, rerr := rows.ReadRows(rd.buf)
		for _, row := range rd.buf[:n] {
			rd.row++
			*inSink = true
			if err := rd.one(row); err != nil {
				return sinkError{err}
			}
			*inSink = false
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("reading row %d: %w", rd.row+1, rerr)
		}
	}
}

// one renders, checks and parses one row, and hands it to the sink.
func (rd *rowReader) one(row parquet.Row) error {
	if bad := rowLine(row, rd.vals, &rd.line); bad >= 0 {
		return rd.sink.Bad(fmt.Sprintf("Parquet row %d: the value of column %s is not valid UTF-8", rd.row, rd.names[bad]), rd.line.String())
	}
	line := rd.line.String()
	if len(line) > rd.maxRow {
		return rd.sink.Bad(fmt.Sprintf("Parquet row %d renders to a %d-byte line, over the %d-byte limit (--max-record-size)", rd.row, len(line), rd.maxRow), line)
	}
	rec, err := rd.p.Line(line)
	if errors.Is(err, ErrHeader) {
		err = fmt.Errorf("the row looks like a header line")
	}
	if err == nil && strings.Trim(line, "- ") == "" {
		err = fmt.Errorf("every value is null")
	}
	if err != nil {
		return rd.sink.Bad(fmt.Sprintf("Parquet row %d: %v", rd.row, err), line)
	}
	return rd.sink.Row(&rec, rd.p.Warnings())
}

// rowLine renders a row as a flow-log line: values in column order,
// "-" for nulls (and for empty strings, which would break the line up).
// vals has one entry per column; it is scratch space reused between rows.
// It returns the first column whose value is not valid UTF-8, or -1.
func rowLine(row parquet.Row, vals []string, line *strings.Builder) int {
	line.Reset()
	ncols := len(vals)
	for i := range vals {
		vals[i] = "-"
	}
	bad := -1
	for _, v := range row {
		col := v.Column()
		if col < 0 || col >= ncols || v.IsNull() {
			continue
		}
		var text string
		switch v.Kind() {
		case parquet.Int32:
			text = strconv.FormatInt(int64(v.Int32()), 10)
		case parquet.Int64:
			text = strconv.FormatInt(v.Int64(), 10)
		case parquet.ByteArray, parquet.FixedLenByteArray:
			b := v.ByteArray()
			if !utf8.Valid(b) {
				if bad < 0 {
					bad = col
				}
				b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
			}
			text = strings.Join(strings.Fields(string(b)), "_")
		default:
			text = v.String()
		}
		if text != "" {
			vals[col] = text
		}
	}
	for i, v := range vals {
		if i > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(v)
	}
	return bad
}
