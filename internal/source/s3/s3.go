// Package s3 reads S3 objects as pipeline objects: one object by bucket,
// key, size and ETag (for queue sources that learn of objects from
// notifications), a plain ListObjectsV2 listing of a bucket and prefix,
// and a source over keys that come from elsewhere (a layout-aware
// listing). Bodies are streamed, never held whole; transient failures
// (5xx, SlowDown and throttling, timeouts, stalls, connection resets) are
// retried with backoff, and a body cut off in the middle is resumed with a
// ranged GET pinned to the object's ETag, so the decoder sees one
// continuous stream. A listed source fetches the next objects ahead of
// the decoders (8 by default, a bounded number of bytes each), so that S3
// latency does not stall them.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/awscall"
)

// Options tune a Client. Zero values take the defaults.
type Options struct {
	// Prefetch is how many listed objects are fetched ahead of the
	// decoders (default 8; negative: none). Prefetching starts with the
	// first object the pipeline opens, so a run that skips everything
	// (all unchanged) sends no GET.
	Prefetch int
	// PrefetchBytes is how much of each prefetched object is buffered
	// (default 1 MiB); the rest streams when the object is read.
	PrefetchBytes int
	// Attempts is how many times in a row reading an object may fail
	// without progress before it is given up (default 10). Each failure
	// waits a backoff starting at Backoff (default 200ms), doubling up to
	// MaxBackoff (default 10s), with jitter. The SDK's own retries of each
	// request come on top.
	Attempts   int
	Backoff    time.Duration
	MaxBackoff time.Duration
	// IdleTimeout ends a request that has sent no byte for this long
	// (default 1m); it is then retried (resumed from the byte reached).
	IdleTimeout time.Duration
	// PageSize is the MaxKeys of each ListObjectsV2 request (default 1000).
	PageSize int32
}

func (o *Options) defaults() {
	if o.Prefetch == 0 {
		o.Prefetch = 8
	}
	if o.PrefetchBytes <= 0 {
		o.PrefetchBytes = 1 << 20
	}
	if o.Attempts <= 0 {
		o.Attempts = 10
	}
	if o.Backoff <= 0 {
		o.Backoff = 200 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = time.Minute
	}
	if o.PageSize <= 0 {
		o.PageSize = 1000
	}
}

// Client reads objects with an S3 client.
type Client struct {
	api *awss3.Client
	opt Options
}

// New returns a Client using api (see awsconf.NewS3).
func New(api *awss3.Client, opt Options) *Client {
	opt.defaults()
	return &Client{api: api, opt: opt}
}

// URL returns the name of an object: s3://bucket/key.
func URL(bucket, key string) string { return "s3://" + bucket + "/" + key }

// ParseURL splits s3://bucket/prefix into bucket and prefix (which may be
// empty: the whole bucket).
func ParseURL(u string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q: not an s3:// URL", u)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q: no bucket name (use s3://bucket/prefix)", u)
	}
	return bucket, prefix, nil
}

// Object returns the pipeline object for one S3 object. size is -1 when
// unknown; etag is the ETag as S3 returns it (quotes included), or empty
// when unknown (the first GET's ETag is then used to pin resumed reads).
// An ETag without quotes, as S3 event notifications carry it, is quoted, so
// that the ledger sees the same ETag whichever way an object was found.
// The ledger knows the object by its name, s3://bucket/key, and its ETag.
func (c *Client) Object(bucket, key string, size int64, etag string) pipeline.Object {
	if etag != "" && !strings.HasPrefix(etag, `"`) && !strings.HasPrefix(etag, `W/"`) {
		etag = `"` + etag + `"`
	}
	return pipeline.Object{
		Name: URL(bucket, key),
		Key:  key,
		Size: size,
		ETag: etag,
		Open: func(ctx context.Context) (io.ReadCloser, error) {
			return c.open(ctx, bucket, key, size, etag)
		},
	}
}

// open starts a resumable read of an object: the first response (or the
// final error) comes before it returns.
func (c *Client) open(ctx context.Context, bucket, key string, size int64, etag string) (*body, error) {
	b := &body{c: c, ctx: ctx, bucket: bucket, key: key, size: size, etag: etag}
	if err := b.connect(); err != nil {
		return nil, err
	}
	return b, nil
}

// body streams an object across reconnections.
type body struct {
	c           *Client
	ctx         context.Context
	bucket, key string
	size        int64 // -1 until known
	etag        string
	off         int64 // bytes delivered
	rc          io.ReadCloser
	cancel      context.CancelFunc
	timer       *time.Timer
	failures    int // in a row, without progress
	closed      bool
}

// connect sends a GET (ranged from off when resuming), retrying transient
// failures.
func (b *body) connect() error {
	for {
		err := b.get()
		if err == nil {
			return nil
		}
		if werr := b.failed(err); werr != nil {
			return werr
		}
	}
}

// failed counts a failure and waits the backoff; it returns the error to
// give up with, or nil to try again.
func (b *body) failed(err error) error {
	if cerr := b.ctx.Err(); cerr != nil {
		return cerr
	}
	name := URL(b.bucket, b.key)
	if !transient(err) {
		return describe(name, err)
	}
	b.failures++
	if b.failures >= b.c.opt.Attempts {
		return fmt.Errorf("%s: giving up after %d attempts: %w", name, b.failures, err)
	}
	return awscall.Sleep(b.ctx, backoff(b.c.opt, b.failures))
}

func (b *body) get() error {
	in := &awss3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.key)}
	if b.etag != "" {
		in.IfMatch = aws.String(b.etag)
	}
	if b.off > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", b.off))
	}
	ctx, cancel := context.WithCancel(b.ctx)
	t := time.AfterFunc(b.c.opt.IdleTimeout, cancel)
	out, err := b.c.api.GetObject(ctx, in)
	t.Stop()
	if err != nil {
		cancel()
		return err
	}
	if b.etag == "" && out.ETag != nil {
		b.etag = *out.ETag
	}
	if b.size < 0 && b.off == 0 && out.ContentLength != nil {
		b.size = *out.ContentLength
	}
	b.rc, b.cancel, b.timer = out.Body, cancel, t
	return nil
}

func (b *body) drop() {
	if b.rc != nil {
		b.rc.Close()
		b.cancel()
		b.rc, b.cancel, b.timer = nil, nil, nil
	}
}

// Read reads from the current response; a failure other than the
// context's reconnects from the byte reached.
func (b *body) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errors.New("read after close")
	}
	for {
		if b.size >= 0 && b.off >= b.size {
			b.drop()
			return 0, io.EOF
		}
		if b.rc == nil {
			if err := b.connect(); err != nil {
				return 0, err
			}
		}
		b.timer.Reset(b.c.opt.IdleTimeout)
		n, err := b.rc.Read(p)
		b.timer.Stop()
		b.off += int64(n)
		if n > 0 {
			b.failures = 0
		}
		switch {
		case err == nil:
			return n, nil
		case err == io.EOF && (b.size < 0 || b.off >= b.size):
			b.drop()
			return n, io.EOF
		case err == io.EOF:
			err = io.ErrUnexpectedEOF // the response ended before the object
		}
		// The connection broke (reset, stall, truncated): resume.
		b.drop()
		if cerr := b.ctx.Err(); cerr != nil {
			return n, cerr
		}
		b.failures++
		if b.failures >= b.c.opt.Attempts {
			return n, fmt.Errorf("%s: giving up at byte %d after %d attempts: %w", URL(b.bucket, b.key), b.off, b.failures, err)
		}
		if n > 0 {
			return n, nil // reconnect on the next Read
		}
		if err := awscall.Sleep(b.ctx, backoff(b.c.opt, b.failures)); err != nil {
			return 0, err
		}
	}
}

func (b *body) Close() error {
	b.closed = true
	b.drop()
	return nil
}

// transient reports whether a request error may go away when retried.
func transient(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestTimeTooSkewed",
			"InternalError", "ServiceUnavailable", "RequestLimitExceeded", "TooManyRequests":
			return true
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		s := re.HTTPStatusCode()
		// 0: no response (reset, refused, timeout); 2xx: a response that
		// could not be read whole.
		return s < 300 || s >= 500 || s == http.StatusTooManyRequests || s == http.StatusRequestTimeout
	}
	// An answer with an error code is permanent; anything else is a
	// transport error.
	return ae == nil
}

// describe turns a permanent error into a message that says what to do.
func describe(name string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDenied", "Forbidden", "AllAccessDisabled":
			return fmt.Errorf("%s: access denied (reading needs s3:GetObject, and kms:Decrypt for SSE-KMS objects): %w", name, err)
		case "NoSuchKey", "NotFound":
			return fmt.Errorf("%s: the object no longer exists: %w", name, err)
		case "PreconditionFailed":
			return fmt.Errorf("%s: the object changed while it was being read (its ETag is no longer the one listed); it is read again by the next run: %w", name, err)
		case "NoSuchBucket":
			return fmt.Errorf("%s: no such bucket: %w", name, err)
		}
	}
	return fmt.Errorf("%s: %w", name, err)
}

func backoff(o Options, failures int) time.Duration {
	d := o.Backoff << min(failures-1, 20)
	if d > o.MaxBackoff || d <= 0 {
		d = o.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}
