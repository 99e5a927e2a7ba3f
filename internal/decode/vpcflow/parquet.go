package vpcflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/trawl-project/trawl/internal/event"
)

// ParquetRows reads the rows of a flow-log Parquet file as AWS delivers it
// to S3: one column per field, named like the field with underscores
// (account_id, pkt_src_aws_service…), INT_32/INT_64/STRING typed. Columns
// of unknown names are kept in Raw but not parsed.
//
// Each row is rendered as a flow-log text line in the file's column order
// ("-" for nulls), which becomes the record's Raw, and parsed like a line
// under a header of the column names. fn gets the record, or an error for a
// row that cannot be read as a flow record. An error returned by ParquetRows
// itself means the file is not readable Parquet.
func ParquetRows(ctx context.Context, r io.ReaderAt, size int64, fn func(rec *event.VPCFlow, rowErr error) error) error {
	f, err := parquet.OpenFile(r, size)
	if err != nil {
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
	p := &Parser{header: headerFormat(names)}
	buf := make([]parquet.Row, 256)
	vals := make([]string, len(cols))
	var line strings.Builder
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		for {
			if err := ctx.Err(); err != nil {
				rows.Close()
				return err
			}
			n, rerr := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				rowLine(row, vals, &line)
				rec, err := p.Line(line.String())
				if errors.Is(err, ErrHeader) {
					err = fmt.Errorf("the row looks like a header line")
				}
				if cerr := fn(&rec, err); cerr != nil {
					rows.Close()
					return cerr
				}
			}
			if errors.Is(rerr, io.EOF) {
				break
			}
			if rerr != nil {
				rows.Close()
				return fmt.Errorf("reading Parquet rows: %w", rerr)
			}
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("reading Parquet rows: %w", err)
		}
	}
	return nil
}

// rowLine renders a row as a flow-log line: values in column order,
// "-" for nulls (and for empty strings, which would break the line up).
// vals has one entry per column; it is scratch space reused between rows.
func rowLine(row parquet.Row, vals []string, line *strings.Builder) {
	line.Reset()
	ncols := len(vals)
	for i := range vals {
		vals[i] = "-"
	}
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
			text = strings.Join(strings.Fields(string(v.ByteArray())), "_")
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
}
