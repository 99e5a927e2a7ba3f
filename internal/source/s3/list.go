package s3

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/awscall"
)

// KeyFunc yields the keys of a bucket one at a time, with their size (-1
// if unknown) and ETag (empty if unknown); io.EOF ends them, and a
// *pipeline.ListError reports one entry that could not be listed.
type KeyFunc func(ctx context.Context) (key string, size int64, etag string, err error)

// List returns a source of the objects of bucket whose keys start with
// prefix, in key order, listed a page (PageSize keys) at a time as the
// pipeline asks for them. Keys ending in "/" (folder markers) are left
// out. A listing that is denied, or of a bucket that does not exist, ends
// with a *pipeline.ListError naming the permission needed; transient
// failures are retried like reads.
func (c *Client) List(bucket, prefix string) pipeline.Source {
	return c.Keys(bucket, c.lister(bucket, prefix))
}

func (c *Client) lister(bucket, prefix string) KeyFunc {
	var (
		page  []keyInfo
		token *string
		ended bool
	)
	name := URL(bucket, prefix)
	return func(ctx context.Context) (string, int64, string, error) {
		for len(page) == 0 {
			if ended {
				return "", 0, "", io.EOF
			}
			out, err := c.listPage(ctx, bucket, prefix, token)
			if err != nil {
				ended = true
				if err := listError(bucket, prefix, err); errors.As(err, new(*pipeline.ListError)) {
					return "", 0, "", err
				}
				if ctx.Err() != nil {
					return "", 0, "", ctx.Err()
				}
				return "", 0, "", fmt.Errorf("listing %s: %w", name, err)
			}
			for _, o := range out.Contents {
				k := aws.ToString(o.Key)
				if strings.HasSuffix(k, "/") {
					continue
				}
				size := int64(-1)
				if o.Size != nil {
					size = *o.Size
				}
				page = append(page, keyInfo{k, size, aws.ToString(o.ETag)})
			}
			token = out.NextContinuationToken
			if !aws.ToBool(out.IsTruncated) || token == nil {
				ended = true
			}
		}
		k := page[0]
		page = page[1:]
		return k.key, k.size, k.etag, nil
	}
}

type keyInfo struct {
	key  string
	size int64
	etag string
}

// listPage requests one page, retrying transient failures.
func (c *Client) listPage(ctx context.Context, bucket, prefix string, token *string) (*awss3.ListObjectsV2Output, error) {
	in := &awss3.ListObjectsV2Input{Bucket: aws.String(bucket), ContinuationToken: token, MaxKeys: aws.Int32(c.opt.PageSize)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	return c.listInput(ctx, in)
}

// listInput sends a ListObjectsV2 request, retrying transient failures.
func (c *Client) listInput(ctx context.Context, in *awss3.ListObjectsV2Input) (*awss3.ListObjectsV2Output, error) {
	for failures := 1; ; failures++ {
		rctx, cancel := context.WithTimeout(ctx, c.opt.IdleTimeout)
		out, err := c.api.ListObjectsV2(rctx, in)
		cancel()
		if err == nil {
			return out, nil
		}
		if ctx.Err() != nil || !transient(err) || failures >= c.opt.Attempts {
			return nil, err
		}
		if err := awscall.Sleep(ctx, backoff(c.opt, failures)); err != nil {
			return nil, err
		}
	}
}

// head returns an object's size and ETag, retrying transient failures.
func (c *Client) head(ctx context.Context, bucket, key string) (int64, string, error) {
	in := &awss3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	for failures := 1; ; failures++ {
		rctx, cancel := context.WithTimeout(ctx, c.opt.IdleTimeout)
		out, err := c.api.HeadObject(rctx, in)
		cancel()
		if err == nil {
			return aws.ToInt64(out.ContentLength), aws.ToString(out.ETag), nil
		}
		if ctx.Err() != nil || !transient(err) || failures >= c.opt.Attempts {
			return 0, "", describe(URL(bucket, key), err)
		}
		if err := awscall.Sleep(ctx, backoff(c.opt, failures)); err != nil {
			return 0, "", err
		}
	}
}

// Keys returns a source of the objects of bucket that next yields: the
// layout-aware listing (date windows, accounts, regions) feeds keys it
// finds this way. Objects are fetched ahead as List's are. A key yielded
// without an ETag costs a HeadObject, for its ETag and size: without them
// the ledger could not tell an unchanged object from a changed one.
func (c *Client) Keys(bucket string, next KeyFunc) pipeline.Source {
	return &source{c: c, bucket: bucket, next: next, pending: list.New()}
}

// source yields objects and prefetches the ones after the last opened.
//
// Prefetching is driven by Open: when the pipeline opens an object, the
// next Prefetch objects yielded and not yet opened or acknowledged get a
// GET that buffers up to PrefetchBytes of their body. An object the
// pipeline skips (Ack without Open) has its prefetch cancelled. So memory
// stays under Prefetch × PrefetchBytes plus what the decoders read, and a
// run that reads nothing sends no GET.
type source struct {
	c      *Client
	bucket string
	next   KeyFunc

	mu       sync.Mutex
	armed    bool       // an object was opened
	pending  *list.List // of *entry: yielded, not yet opened or acked
	inflight int        // prefetches started for pending entries
}

type entry struct {
	bucket, key string
	size        int64
	etag        string
	ctx         context.Context // the run's, for the prefetch
	elem        *list.Element   // in pending, nil once out
	started     bool
	cancel      context.CancelFunc
	done        chan struct{}
	buf         []byte // the first bytes
	rest        *body  // the rest, nil if buf holds it all
	err         error
}

func (s *source) Next(ctx context.Context) (pipeline.Object, error) {
	key, size, etag, err := s.next(ctx)
	if err != nil {
		return pipeline.Object{}, err
	}
	if etag == "" {
		// The ledger needs the ETag to skip an unchanged object.
		if size, etag, err = s.c.head(ctx, s.bucket, key); err != nil {
			if ctx.Err() != nil {
				return pipeline.Object{}, ctx.Err()
			}
			return pipeline.Object{}, &pipeline.ListError{Name: URL(s.bucket, key), Err: err}
		}
	}
	e := &entry{bucket: s.bucket, key: key, size: size, etag: etag, ctx: ctx}
	o := s.c.Object(s.bucket, key, size, etag)
	e.etag = o.ETag
	o.Open = func(ctx context.Context) (io.ReadCloser, error) { return s.open(ctx, e) }
	o.Ack = func(context.Context, error) { s.ack(e) }
	s.mu.Lock()
	e.elem = s.pending.PushBack(e)
	s.fill()
	s.mu.Unlock()
	return o, nil
}

// fill starts prefetches, with mu held.
func (s *source) fill() {
	if !s.armed || s.c.opt.Prefetch < 0 {
		return
	}
	for el := s.pending.Front(); el != nil && s.inflight < s.c.opt.Prefetch; el = el.Next() {
		e := el.Value.(*entry)
		if e.started {
			continue
		}
		e.started = true
		s.inflight++
		var ctx context.Context
		ctx, e.cancel = context.WithCancel(e.ctx)
		e.done = make(chan struct{})
		go s.prefetch(ctx, e)
	}
}

func (s *source) prefetch(ctx context.Context, e *entry) {
	defer close(e.done)
	b, err := s.c.open(ctx, e.bucket, e.key, e.size, e.etag)
	if err != nil {
		e.err = err
		return
	}
	n := s.c.opt.PrefetchBytes
	if e.size >= 0 && e.size < int64(n) {
		n = int(e.size) + 1 // +1 to see the end
	}
	buf := make([]byte, n)
	m, err := io.ReadFull(b, buf)
	e.buf = buf[:m]
	switch err {
	case io.EOF, io.ErrUnexpectedEOF:
		b.Close()
	case nil:
		e.rest = b
	default:
		b.Close()
		e.err = err
	}
}

// take removes e from pending, with mu held, and reports whether it had a
// prefetch.
func (s *source) take(e *entry) bool {
	if e.elem == nil {
		return false
	}
	s.pending.Remove(e.elem)
	e.elem = nil
	if e.started {
		s.inflight--
	}
	return e.started
}

func (s *source) open(ctx context.Context, e *entry) (io.ReadCloser, error) {
	s.mu.Lock()
	s.armed = true
	had := s.take(e)
	s.fill()
	s.mu.Unlock()
	if !had {
		return s.c.open(ctx, e.bucket, e.key, e.size, e.etag)
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		e.cancel()
		<-e.done
		if e.rest != nil {
			e.rest.Close()
		}
		return nil, ctx.Err()
	}
	if e.err != nil {
		e.cancel()
		if errors.Is(e.err, context.Canceled) && ctx.Err() == nil {
			return s.c.open(ctx, e.bucket, e.key, e.size, e.etag)
		}
		return nil, e.err
	}
	r := &prefetched{buf: bytes.NewReader(e.buf), rest: e.rest, cancel: e.cancel}
	e.buf, e.rest = nil, nil
	return r, nil
}

// ack forgets an object the pipeline is done with; an object acked without
// being opened (skipped as unchanged) has its prefetch cancelled.
func (s *source) ack(e *entry) {
	s.mu.Lock()
	had := s.take(e)
	s.fill()
	s.mu.Unlock()
	if had {
		e.cancel()
		go func() {
			<-e.done
			if e.rest != nil {
				e.rest.Close()
			}
		}()
	}
}

// prefetched reads the buffered start of an object, then the rest.
type prefetched struct {
	buf    *bytes.Reader
	rest   *body
	cancel context.CancelFunc
}

func (p *prefetched) Read(b []byte) (int, error) {
	if p.buf.Len() > 0 {
		return p.buf.Read(b)
	}
	if p.rest == nil {
		return 0, io.EOF
	}
	return p.rest.Read(b)
}

func (p *prefetched) Close() error {
	if p.rest != nil {
		p.rest.Close()
	}
	p.cancel()
	return nil
}
