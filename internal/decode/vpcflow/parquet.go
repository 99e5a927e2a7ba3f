package vpcflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/trawl-project/trawl/internal/event"
)

// ParquetRows reads the rows of a flow-log Parquet file as AWS delivers it
// to S3: one column per field, named like the field with underscores
// (account_id, pkt_src_aws_service…), INT_32/INT_64/STRING typed. Columns
// of unknown names are ignored.
//
// For each row, fn gets the record (Raw is the row as a flow-log text line
// in the file's column order, "-" for nulls) or an error for a row that
// cannot be read as a flow record. An error returned by ParquetRows itself
// means the file is not readable Parquet.
func ParquetRows(ctx context.Context, r io.ReaderAt, size int64, fn func(rec *event.VPCFlow, rowErr error) error) error {
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return fmt.Errorf("invalid Parquet file: %w", err)
	}
	cols := f.Schema().Columns()
	fields := make([]int, len(cols)) // index into event.FlowFields, -1 unknown
	names := make([]string, len(cols))
	known := 0
	for i, path := range cols {
		name := strings.Join(path, ".")
		names[i] = name
		fields[i] = -1
		if fi, ok := byName[name]; ok {
			fields[i] = fi
			known++
		}
	}
	if known == 0 {
		return fmt.Errorf("the Parquet file has no flow-log columns (columns: %s)", strings.Join(names, ", "))
	}
	buf := make([]parquet.Row, 256)
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
				rec, err := fromRow(row, fields, &line)
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

func fromRow(row parquet.Row, fields []int, line *strings.Builder) (event.VPCFlow, error) {
	var rec event.VPCFlow
	line.Reset()
	for _, v := range row {
		col := v.Column()
		if col < 0 || col >= len(fields) {
			continue
		}
		if line.Len() > 0 {
			line.WriteByte(' ')
		}
		if v.IsNull() {
			line.WriteByte('-')
			continue
		}
		var text string
		var num int64
		isNum := false
		switch v.Kind() {
		case parquet.Int32:
			num, isNum = int64(v.Int32()), true
		case parquet.Int64:
			num, isNum = v.Int64(), true
		case parquet.ByteArray, parquet.FixedLenByteArray:
			text = string(v.ByteArray())
		default:
			text = v.String()
		}
		if isNum {
			text = strconv.FormatInt(num, 10)
		}
		line.WriteString(text)
		fi := fields[col]
		if fi < 0 || text == "-" {
			continue
		}
		fd := &event.FlowFields[fi]
		if fd.Kind != event.FlowStr && !isNum {
			n, ok := atoi(text)
			if !ok {
				return rec, fmt.Errorf("column %s: %q is not an integer", fd.Column, text)
			}
			num = n
		}
		switch fd.Kind {
		case event.FlowStr:
			rec.Strs[fd.Index] = text
		case event.FlowInt:
			rec.Ints[fd.Index] = event.IntOf(num)
		case event.FlowStart:
			rec.Start = time.Unix(num, 0).UTC()
		case event.FlowEnd:
			rec.End = time.Unix(num, 0).UTC()
		}
	}
	rec.Raw = line.String()
	return rec, nil
}
