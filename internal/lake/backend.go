package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// backend is where a lake's files live: a local directory or an S3
// prefix. Keys are slash-separated paths relative to the lake root.
type backend interface {
	// Create returns a writer for a new file at key. The file is complete
	// (durable, and on S3 uploaded) once Close returns nil; Abort drops it.
	Create(ctx context.Context, key string) (fileWriter, error)
	// PutAtomic writes a small file so that it appears whole or not at all.
	PutAtomic(ctx context.Context, key string, data []byte) error
	// Get reads a whole file; a missing one gives an error wrapping
	// fs.ErrNotExist.
	Get(ctx context.Context, key string) ([]byte, error)
	// Rename moves from to to, replacing to. A missing from is success:
	// staging files disappear only by being published (someone else
	// finished the move, and compaction may since have merged the file).
	Rename(ctx context.Context, from, to string) error
	// Delete removes a file; a missing one is success.
	Delete(ctx context.Context, key string) error
	// List returns the files under prefix (recursively) with their
	// modification times and sizes.
	List(ctx context.Context, prefix string) ([]listed, error)
}

type listed struct {
	Key     string
	ModTime time.Time
	Size    int64
}

// fileWriter is a file being written.
type fileWriter interface {
	io.Writer
	Close() error
	Abort()
}

// local is a lake in a local directory.
type local struct{ root string }

func (b *local) abs(key string) string { return filepath.Join(b.root, filepath.FromSlash(key)) }

type localFile struct {
	f    *os.File
	name string
}

func (f *localFile) Write(p []byte) (int, error) { return f.f.Write(p) }

func (f *localFile) Close() error {
	if err := f.f.Sync(); err != nil {
		f.f.Close()
		return fmt.Errorf("syncing %s: %w", f.name, err)
	}
	if err := f.f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", f.name, err)
	}
	return nil
}

func (f *localFile) Abort() {
	f.f.Close()
	os.Remove(f.name)
}

func (b *local) Create(_ context.Context, key string) (fileWriter, error) {
	name := b.abs(key)
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return nil, fmt.Errorf("creating lake directory: %w", err)
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("creating lake file: %w", err)
	}
	return &localFile{f: f, name: name}, nil
}

func (b *local) PutAtomic(ctx context.Context, key string, data []byte) error {
	name := b.abs(key)
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating lake directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	lf := &localFile{f: tmp, name: tmp.Name()}
	if _, err := tmp.Write(data); err != nil {
		lf.Abort()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := lf.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

func (b *local) Get(_ context.Context, key string) ([]byte, error) {
	data, err := os.ReadFile(b.abs(key))
	if err != nil {
		return nil, fmt.Errorf("reading lake file: %w", err)
	}
	return data, nil
}

func (b *local) Rename(_ context.Context, from, to string) error {
	dst := b.abs(to)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("creating lake directory: %w", err)
	}
	if err := os.Rename(b.abs(from), dst); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, serr := os.Stat(b.abs(from)); errors.Is(serr, fs.ErrNotExist) {
				return nil
			}
		}
		return fmt.Errorf("publishing lake file: %w", err)
	}
	return syncDir(filepath.Dir(dst))
}

func (b *local) Delete(_ context.Context, key string) error {
	if err := os.Remove(b.abs(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting lake file: %w", err)
	}
	return nil
}

func (b *local) List(_ context.Context, prefix string) ([]listed, error) {
	var out []listed
	root := b.abs(prefix)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, err := filepath.Rel(b.root, p)
		if err != nil {
			return err
		}
		out = append(out, listed{Key: filepath.ToSlash(rel), ModTime: info.ModTime(), Size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing lake directory %s: %w", root, err)
	}
	return out, nil
}

// s3Lake is a lake under an S3 prefix. Files are written to a local
// temporary file and uploaded with one PutObject when complete, so an
// object appears only whole.
type s3Lake struct {
	client  *s3.Client
	bucket  string
	prefix  string // "" or ending in "/"
	tempDir string
}

func (b *s3Lake) key(k string) string { return b.prefix + k }

type s3File struct {
	b   *s3Lake
	ctx context.Context
	key string
	f   *os.File
}

func (f *s3File) Write(p []byte) (int, error) { return f.f.Write(p) }

func (f *s3File) Close() error {
	defer os.Remove(f.f.Name())
	defer f.f.Close()
	if _, err := f.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("uploading s3://%s/%s: %w", f.b.bucket, f.b.key(f.key), err)
	}
	_, err := f.b.client.PutObject(f.ctx, &s3.PutObjectInput{
		Bucket: &f.b.bucket, Key: aws.String(f.b.key(f.key)), Body: f.f,
	})
	if err != nil {
		return fmt.Errorf("uploading s3://%s/%s: %w", f.b.bucket, f.b.key(f.key), err)
	}
	return nil
}

func (f *s3File) Abort() {
	f.f.Close()
	os.Remove(f.f.Name())
}

func (b *s3Lake) Create(ctx context.Context, key string) (fileWriter, error) {
	f, err := os.CreateTemp(b.tempDir, "trawl-lake-*.parquet")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary file for s3://%s/%s: %w", b.bucket, b.key(key), err)
	}
	return &s3File{b: b, ctx: ctx, key: key, f: f}, nil
}

func (b *s3Lake) PutAtomic(ctx context.Context, key string, data []byte) error {
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &b.bucket, Key: aws.String(b.key(key)), Body: bytes.NewReader(data),
	})
	if err != nil {
		return fmt.Errorf("writing s3://%s/%s: %w", b.bucket, b.key(key), err)
	}
	return nil
}

func (b *s3Lake) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String(b.key(key))})
	if err != nil {
		var nsk *s3types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, fmt.Errorf("reading s3://%s/%s: %w", b.bucket, b.key(key), fs.ErrNotExist)
		}
		return nil, fmt.Errorf("reading s3://%s/%s: %w", b.bucket, b.key(key), err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("reading s3://%s/%s: %w", b.bucket, b.key(key), err)
	}
	return data, nil
}

func (b *s3Lake) exists(ctx context.Context, key string) (bool, error) {
	_, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: aws.String(b.key(key))})
	if err == nil {
		return true, nil
	}
	var nf *s3types.NotFound
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nf) || errors.As(err, &nsk) {
		return false, nil
	}
	return false, fmt.Errorf("looking up s3://%s/%s: %w", b.bucket, b.key(key), err)
}

// Rename copies from to to (CopyObject: the copy appears whole) and
// deletes from.
func (b *s3Lake) Rename(ctx context.Context, from, to string) error {
	src := b.bucket + "/" + pathEscape(b.key(from))
	_, err := b.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: &b.bucket, Key: aws.String(b.key(to)), CopySource: &src,
	})
	if err != nil {
		var nsk *s3types.NoSuchKey
		if errors.As(err, &nsk) || strings.Contains(err.Error(), "NoSuchKey") {
			if ok, eerr := b.exists(ctx, from); eerr == nil && !ok {
				return nil
			}
		}
		return fmt.Errorf("publishing s3://%s/%s: %w", b.bucket, b.key(to), err)
	}
	return b.Delete(ctx, from)
}

// pathEscape escapes a key for CopySource, keeping the slashes.
func pathEscape(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = urlPathEscape(p)
	}
	return strings.Join(parts, "/")
}

func (b *s3Lake) Delete(ctx context.Context, key string) error {
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: aws.String(b.key(key))})
	if err != nil {
		return fmt.Errorf("deleting s3://%s/%s: %w", b.bucket, b.key(key), err)
	}
	return nil
}

func (b *s3Lake) List(ctx context.Context, prefix string) ([]listed, error) {
	var out []listed
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: &b.bucket, Prefix: aws.String(b.key(prefix))})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing s3://%s/%s: %w", b.bucket, b.key(prefix), err)
		}
		for _, o := range page.Contents {
			k := strings.TrimPrefix(aws.ToString(o.Key), b.prefix)
			out = append(out, listed{Key: k, ModTime: aws.ToTime(o.LastModified), Size: aws.ToInt64(o.Size)})
		}
	}
	return out, nil
}

// parseS3 splits s3://bucket/prefix.
func parseS3(target string) (bucket, prefix string, err error) {
	rest := strings.TrimPrefix(target, "s3://")
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("lake target %q: no bucket", target)
	}
	prefix = strings.Trim(path.Clean("/"+prefix), "/")
	if prefix != "" {
		prefix += "/"
	}
	return bucket, prefix, nil
}

func urlPathEscape(s string) string { return url.PathEscape(s) }
