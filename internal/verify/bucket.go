package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Bucket is where CloudTrail delivered its log and digest files: an S3
// bucket or a local copy of one. Keys are slash-separated. Get returns an
// error satisfying errors.Is(err, fs.ErrNotExist) when the object does not
// exist, and the object's user metadata (without the x-amz-meta- prefix;
// nil when the bucket keeps none, as a local copy does).
type Bucket interface {
	List(ctx context.Context, prefix string, fn func(key string, size int64) error) error
	Get(ctx context.Context, key string) (io.ReadCloser, map[string]string, error)
}

// Dir is a local copy of a bucket (aws s3 sync s3://bucket[/prefix] DIR):
// keys are paths relative to Root. A copy of part of a bucket works too:
// Run matches each digest's own key to where it lies and finds the log
// files it names relative to the same place.
type Dir struct {
	Root string
}

// Path returns the local path of a key.
func (d Dir) Path(key string) string {
	return filepath.Join(d.Root, filepath.FromSlash(key))
}

// List calls fn for every regular file under Root whose key starts with
// prefix, in lexical order. Hidden files and directories are skipped.
func (d Dir) List(ctx context.Context, prefix string, fn func(key string, size int64) error) error {
	return filepath.WalkDir(d.Root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p != d.Root && strings.HasPrefix(e.Name(), ".") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(d.Root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		return fn(key, info.Size())
	})
}

// Get opens the file of a key; a local copy has no metadata.
func (d Dir) Get(ctx context.Context, key string) (io.ReadCloser, map[string]string, error) {
	if !filepath.IsLocal(filepath.FromSlash(key)) {
		return nil, nil, fmt.Errorf("%s: %w (a key outside the directory)", key, fs.ErrNotExist)
	}
	f, err := os.Open(d.Path(key))
	if err != nil {
		return nil, nil, err
	}
	return f, nil, nil
}

// S3 is a bucket read through the S3 API (s3:ListBucket, s3:GetObject).
type S3 struct {
	Client *s3.Client
	Bucket string
	// KeepVersions makes Get remember the size and ETag of every object
	// it reads, for Read (about 100 bytes an object).
	KeepVersions bool

	mu   sync.Mutex
	read map[string]objectVersion // by key: what Get read
}

type objectVersion struct {
	size int64
	etag string
}

// Read returns the size and ETag of the object Get read for key (the
// version verified), or ok false if Get did not read it or KeepVersions
// was off.
func (b *S3) Read(key string) (size int64, etag string, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.read[key]
	if !ok {
		return -1, "", false
	}
	return v.size, v.etag, true
}

// NewS3 returns the bucket name read through client.
func NewS3(client *s3.Client, bucket string) *S3 {
	return &S3{Client: client, Bucket: bucket}
}

// List lists the keys under prefix.
func (b *S3) List(ctx context.Context, prefix string, fn func(key string, size int64) error) error {
	p := s3.NewListObjectsV2Paginator(b.Client, &s3.ListObjectsV2Input{Bucket: aws.String(b.Bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing s3://%s/%s: %w", b.Bucket, prefix, err)
		}
		for _, o := range page.Contents {
			if err := fn(aws.ToString(o.Key), aws.ToInt64(o.Size)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Get reads an object and its user metadata.
func (b *S3) Get(ctx context.Context, key string) (io.ReadCloser, map[string]string, error) {
	out, err := b.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(key)})
	if err != nil {
		var nsk *types.NoSuchKey
		var api smithy.APIError
		if errors.As(err, &nsk) || (errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NotFound")) {
			return nil, nil, fmt.Errorf("s3://%s/%s: %w", b.Bucket, key, fs.ErrNotExist)
		}
		return nil, nil, fmt.Errorf("reading s3://%s/%s: %w", b.Bucket, key, err)
	}
	if b.KeepVersions {
		size := int64(-1)
		if out.ContentLength != nil {
			size = *out.ContentLength
		}
		b.mu.Lock()
		if b.read == nil {
			b.read = map[string]objectVersion{}
		}
		b.read[key] = objectVersion{size, aws.ToString(out.ETag)}
		b.mu.Unlock()
	}
	return out.Body, out.Metadata, nil
}
