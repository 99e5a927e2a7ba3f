package gen

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/klauspost/compress/gzip"
)

// outStats counts what one writer produced.
type outStats struct {
	files int
	bytes int64 // compressed
	raw   int64 // uncompressed
}

// writer writes gzip files under a directory, one at a time, reusing its
// buffers and compressor. It optionally hashes the uncompressed content
// (CloudTrail digests need the SHA-256 of each log file).
type writer struct {
	dir   string
	dirs  map[string]bool
	f     *os.File
	bw    *bufio.Writer
	cw    countWriter
	zw    *gzip.Writer
	h     hash.Hash
	hash  bool
	raw   int64 // uncompressed bytes of the current file
	name  string
	stats outStats
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func newWriter(dir string, level int) (*writer, error) {
	w := &writer{dir: dir, dirs: map[string]bool{}, h: sha256.New()}
	w.bw = bufio.NewWriterSize(nil, 256<<10)
	w.cw.w = w.bw
	zw, err := gzip.NewWriterLevel(&w.cw, level)
	if err != nil {
		return nil, fmt.Errorf("creating gzip writer: %w", err)
	}
	w.zw = zw
	return w, nil
}

// create starts a file at the slash-separated relative path rel.
func (w *writer) create(rel string, hashing bool) error {
	if d := path.Dir(rel); !w.dirs[d] {
		if err := os.MkdirAll(filepath.Join(w.dir, filepath.FromSlash(d)), 0o755); err != nil {
			return fmt.Errorf("creating directory %s: %w", d, err)
		}
		w.dirs[d] = true
	}
	f, err := os.Create(filepath.Join(w.dir, filepath.FromSlash(rel)))
	if err != nil {
		return fmt.Errorf("creating %s: %w", rel, err)
	}
	w.f = f
	w.name = rel
	w.bw.Reset(f)
	w.cw.n = 0
	w.zw.Reset(&w.cw) // a zero header: no name, no modification time
	w.hash = hashing
	w.h.Reset()
	w.raw = 0
	return nil
}

// write adds uncompressed content to the current file.
func (w *writer) write(p []byte) error {
	if _, err := w.zw.Write(p); err != nil {
		return fmt.Errorf("writing %s: %w", w.name, err)
	}
	if w.hash {
		w.h.Write(p)
	}
	w.raw += int64(len(p))
	return nil
}

// close finishes the current file and returns the hex SHA-256 of its
// uncompressed content (when hashing) and its compressed size.
func (w *writer) close() (sum string, size int64, err error) {
	if err := w.zw.Close(); err != nil {
		w.f.Close()
		return "", 0, fmt.Errorf("writing %s: %w", w.name, err)
	}
	if err := w.bw.Flush(); err != nil {
		w.f.Close()
		return "", 0, fmt.Errorf("writing %s: %w", w.name, err)
	}
	if err := w.f.Close(); err != nil {
		return "", 0, fmt.Errorf("closing %s: %w", w.name, err)
	}
	w.f = nil
	w.stats.files++
	w.stats.bytes += w.cw.n
	w.stats.raw += w.raw
	if w.hash {
		var b [sha256.Size]byte
		sum = fmt.Sprintf("%x", w.h.Sum(b[:0]))
	}
	return sum, w.cw.n, nil
}

// abort closes a file left open by an error.
func (w *writer) abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// appendDeliveryKey appends the part of an S3 key that AWS log delivery
// shares across services, up to the service-specific rest of the file name:
//
//	AWSLogs/[org/]account/service/region/YYYY/MM/DD/account_service_region_
//
// org is empty for a bucket outside an organisation trail.
func appendDeliveryKey(b []byte, org, account, service, region string, t int64) []byte {
	b = append(b, "AWSLogs/"...)
	if org != "" {
		b = append(b, org...)
		b = append(b, '/')
	}
	b = append(b, account...)
	b = append(b, '/')
	b = append(b, service...)
	b = append(b, '/')
	b = append(b, region...)
	b = append(b, '/')
	b = appendDate(b, t, '/')
	b = append(b, '/')
	b = append(b, account...)
	b = append(b, '_')
	b = append(b, service...)
	b = append(b, '_')
	b = append(b, region...)
	return append(b, '_')
}
