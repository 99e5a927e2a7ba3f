package vpcflow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// parquet-go trusts the sizes a file claims and allocates them before it
// reads the data: the metadata length, byte strings and list lengths in the
// metadata and page headers, page sizes, value counts, the decoded length a
// compressed page announces. A corrupt or crafted file could take gigabytes
// that way. The checks below read the metadata and every page header first
// and refuse the object when a claimed size does not fit the file or a cap.
const (
	maxFooterSize = 32 << 20 // metadata (AWS flow-log files are at most 75 MB)
	maxPageSize   = 64 << 20 // one page, decompressed
	maxPageValues = 1 << 22  // values in one page (decoded into arrays)
	maxPageHeader = 1 << 20
	// maxListStructs bounds the struct elements of the metadata: parquet-go
	// allocates each list whole (up to ~560 bytes per element), so this is
	// about 140 MiB at most. A file with 1,000 row groups of 100 columns
	// needs 100,000.
	maxListStructs = 256 << 10
)

var errShort = errors.New("data ends inside a structure")

// thriftWalk checks a Thrift compact-protocol struct at the start of b the
// way a decoder would read it, without allocating: every length must fit in
// the bytes that are left. It returns the struct's length.
type thriftWalk struct {
	b       []byte
	i       int
	structs int // struct elements of lists so far
}

func (w *thriftWalk) byte() (byte, error) {
	if w.i >= len(w.b) {
		return 0, errShort
	}
	c := w.b[w.i]
	w.i++
	return c, nil
}

func (w *thriftWalk) uvarint() (uint64, error) {
	v, n := binary.Uvarint(w.b[w.i:])
	if n == 0 {
		return 0, errShort
	}
	if n < 0 {
		return 0, errors.New("bad varint")
	}
	w.i += n
	return v, nil
}

func (w *thriftWalk) skip(n uint64) error {
	if n > uint64(len(w.b)-w.i) {
		return fmt.Errorf("%d bytes claimed, %d left: %w", n, len(w.b)-w.i, errShort)
	}
	w.i += int(n)
	return nil
}

func (w *thriftWalk) structure(depth int) error {
	if depth > 32 {
		return errors.New("structures nested too deep")
	}
	for {
		h, err := w.byte()
		if err != nil {
			return err
		}
		if h == 0 {
			return nil
		}
		if h>>4 == 0 { // long form: the field id follows
			if _, err := w.uvarint(); err != nil {
				return err
			}
		}
		if t := h & 0xf; t != 1 && t != 2 { // booleans live in the header
			if err := w.value(t, depth); err != nil {
				return err
			}
		}
	}
}

func (w *thriftWalk) value(t byte, depth int) error {
	switch t {
	case 1, 2, 3: // bool (in a list), byte
		return w.skip(1)
	case 4, 5, 6: // i16, i32, i64
		_, err := w.uvarint()
		return err
	case 7: // double
		return w.skip(8)
	case 8: // binary
		n, err := w.uvarint()
		if err != nil {
			return err
		}
		return w.skip(n)
	case 9, 10: // list, set
		h, err := w.byte()
		if err != nil {
			return err
		}
		n := uint64(h >> 4)
		if n == 15 {
			if n, err = w.uvarint(); err != nil {
				return err
			}
		}
		return w.elements(n, h&0xf, depth)
	case 11: // map
		n, err := w.uvarint()
		if err != nil || n == 0 {
			return err
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		if n > uint64(len(w.b)-w.i)/2 {
			return fmt.Errorf("a map claims %d entries in %d bytes", n, len(w.b)-w.i)
		}
		for ; n > 0; n-- {
			if err := w.value(kv>>4, depth+1); err != nil {
				return err
			}
			if err := w.value(kv&0xf, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 12:
		return w.structure(depth + 1)
	case 13: // uuid
		return w.skip(16)
	}
	return fmt.Errorf("unknown Thrift type %d", t)
}

func (w *thriftWalk) elements(n uint64, t byte, depth int) error {
	// Every element takes at least one byte.
	if n > uint64(len(w.b)-w.i) {
		return fmt.Errorf("a list claims %d elements in %d bytes: %w", n, len(w.b)-w.i, errShort)
	}
	if t == 12 {
		w.structs += int(n)
		if w.structs > maxListStructs {
			return fmt.Errorf("more than %d structures in lists", maxListStructs)
		}
	}
	for ; n > 0; n-- {
		if err := w.value(t, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// checkFooter checks the file's metadata before parquet-go reads it and
// returns its length.
func checkFooter(r io.ReaderAt, size int64) (int64, error) {
	if size < 12 {
		return 0, fmt.Errorf("%d bytes are too short for a Parquet file", size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return 0, err
	}
	if string(tail[4:]) != "PAR1" {
		return 0, fmt.Errorf("no PAR1 at the end of the file (found %q): truncated or not Parquet", tail[4:])
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n > size-12 || n > maxFooterSize {
		return 0, fmt.Errorf("the metadata claims %d bytes in a file of %d bytes (at most %d)", n, size, min(size-12, maxFooterSize))
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, size-8-n); err != nil {
		return 0, err
	}
	w := thriftWalk{b: b}
	if err := w.structure(0); err != nil {
		return 0, fmt.Errorf("corrupt metadata (at byte %d of %d): %w", w.i, n, err)
	}
	return n, nil
}

// checkChunk reads the page headers of a column chunk and checks every size
// they claim against the chunk, the file and the caps. end is where the
// column data of the file ends (before the metadata).
func checkChunk(r io.ReaderAt, end int64, cc *format.ColumnChunk, buf *[]byte) error {
	md := &cc.MetaData
	if cc.FilePath != "" {
		return fmt.Errorf("the column chunk is in another file (%q)", cc.FilePath)
	}
	switch md.Codec {
	case format.Uncompressed, format.Snappy, format.Gzip, format.Zstd:
	default:
		return fmt.Errorf("compression %s is not read for flow logs (UNCOMPRESSED, SNAPPY, GZIP and ZSTD are)", md.Codec)
	}
	pos := md.DataPageOffset
	if d := md.DictionaryPageOffset; d > 0 && d < pos {
		pos = d
	}
	stop := pos + md.TotalCompressedSize
	if pos < 4 || md.TotalCompressedSize < 0 || stop > end || stop < pos {
		return fmt.Errorf("the column chunk claims bytes %d to %d; the column data of the file is bytes 4 to %d", pos, stop, end)
	}
	if md.NumValues < 0 || md.TotalUncompressedSize < 0 {
		return fmt.Errorf("the column chunk claims %d values of %d bytes", md.NumValues, md.TotalUncompressedSize)
	}
	for page := 1; pos < stop; page++ {
		var h format.PageHeader
		n, err := readPageHeader(r, pos, stop, buf, &h)
		if err != nil {
			return fmt.Errorf("page %d at byte %d: %w", page, pos, err)
		}
		if err := checkPage(r, pos+n, stop, md.Codec, &h, *buf); err != nil {
			return fmt.Errorf("page %d at byte %d: %w", page, pos, err)
		}
		pos += n + int64(h.CompressedPageSize)
	}
	return nil
}

// readPageHeader reads the page header at pos, growing the window until the
// header fits (up to maxPageHeader).
func readPageHeader(r io.ReaderAt, pos, stop int64, buf *[]byte, h *format.PageHeader) (int64, error) {
	for size := int64(4 << 10); ; size *= 4 {
		size = min(size, stop-pos, maxPageHeader)
		if int64(cap(*buf)) < size {
			*buf = make([]byte, size)
		}
		b := (*buf)[:size]
		if _, err := r.ReadAt(b, pos); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		w := thriftWalk{b: b}
		err := w.structure(0)
		if errors.Is(err, errShort) && size < min(stop-pos, maxPageHeader) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("corrupt page header: %w", err)
		}
		if err := thrift.Unmarshal(&thrift.CompactProtocol{}, b[:w.i], h); err != nil {
			return 0, fmt.Errorf("corrupt page header: %w", err)
		}
		return int64(w.i), nil
	}
}

func checkPage(r io.ReaderAt, pos, stop int64, codec format.CompressionCodec, h *format.PageHeader, buf []byte) error {
	if h.CompressedPageSize < 0 || int64(h.CompressedPageSize) > stop-pos {
		return fmt.Errorf("the page claims %d bytes; %d are left in the column chunk", h.CompressedPageSize, stop-pos)
	}
	if h.UncompressedPageSize < 0 || h.UncompressedPageSize > maxPageSize {
		return fmt.Errorf("the page claims %d bytes decompressed (at most %d)", h.UncompressedPageSize, maxPageSize)
	}
	var values, levels int64
	switch {
	case h.DataPageHeader.Valid:
		values = int64(h.DataPageHeader.V.NumValues)
	case h.DataPageHeaderV2.Valid:
		v := &h.DataPageHeaderV2.V
		values = int64(v.NumValues)
		levels = int64(v.RepetitionLevelsByteLength) + int64(v.DefinitionLevelsByteLength)
		if v.NumNulls < 0 || v.NumRows < 0 || v.RepetitionLevelsByteLength < 0 || v.DefinitionLevelsByteLength < 0 ||
			levels > int64(h.CompressedPageSize) || levels > int64(h.UncompressedPageSize) {
			return fmt.Errorf("the page claims %d nulls, %d rows and %d+%d bytes of levels in %d bytes", v.NumNulls, v.NumRows,
				v.RepetitionLevelsByteLength, v.DefinitionLevelsByteLength, h.CompressedPageSize)
		}
	case h.DictionaryPageHeader.Valid:
		values = int64(h.DictionaryPageHeader.V.NumValues)
		if values > 8*int64(h.UncompressedPageSize) {
			return fmt.Errorf("the dictionary claims %d values in %d bytes", values, h.UncompressedPageSize)
		}
	}
	if values < 0 || values > maxPageValues {
		return fmt.Errorf("the page claims %d values (at most %d)", values, maxPageValues)
	}
	if codec == format.Uncompressed || int64(h.CompressedPageSize) == levels {
		return nil
	}
	return checkDecompressed(r, pos+levels, int64(h.CompressedPageSize)-levels, codec, buf)
}

// checkDecompressed makes sure a compressed page does not decompress to more
// than maxPageSize, whatever its header says: parquet-go's decoders size
// their output by what the compressed data announces or produces.
func checkDecompressed(r io.ReaderAt, pos, n int64, codec format.CompressionCodec, buf []byte) error {
	src := io.NewSectionReader(r, pos, n)
	switch codec {
	case format.Snappy: // the decoded length comes first
		head := buf[:min(int64(len(buf)), n, binary.MaxVarintLen64)]
		if _, err := io.ReadFull(src, head); err != nil {
			return err
		}
		v, k := binary.Uvarint(head)
		if k <= 0 || v > maxPageSize {
			return fmt.Errorf("the SNAPPY page claims %d bytes decompressed (at most %d)", v, maxPageSize)
		}
		return nil
	case format.Gzip:
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil // parquet-go reports it
		}
		defer zr.Close()
		return limitDecompressed(zr, "GZIP")
	case format.Zstd:
		zr, err := zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxPageSize), zstd.WithDecoderMaxWindow(maxPageSize))
		if err != nil {
			return err
		}
		defer zr.Close()
		return limitDecompressed(zr, "ZSTD")
	}
	return nil
}

func limitDecompressed(zr io.Reader, codec string) error {
	m, err := io.Copy(io.Discard, io.LimitReader(zr, maxPageSize+1))
	if m > maxPageSize {
		return fmt.Errorf("the %s page decompresses to more than %d bytes", codec, maxPageSize)
	}
	if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return fmt.Errorf("the %s page decompresses to more than %d bytes: %v", codec, maxPageSize, err)
	}
	return nil // a corrupt stream is parquet-go's to report
}
