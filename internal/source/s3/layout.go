package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/s3/layout"
)

// Lister returns c as a layout.Lister: ListObjectsV2 pages (PageSize keys)
// with transient failures retried.
func (c *Client) Lister() layout.Lister { return lister{c} }

type lister struct{ c *Client }

func (l lister) List(ctx context.Context, bucket, prefix, delimiter, startAfter string, page func(prefixes []string, objects []layout.Object) error) error {
	in := &awss3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(l.c.opt.PageSize)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	if delimiter != "" {
		in.Delimiter = aws.String(delimiter)
	}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	for {
		out, err := l.c.listInput(ctx, in)
		if err != nil {
			return listError(bucket, prefix, err)
		}
		prefixes := make([]string, 0, len(out.CommonPrefixes))
		for _, p := range out.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(p.Prefix))
		}
		objs := make([]layout.Object, 0, len(out.Contents))
		for _, o := range out.Contents {
			size := int64(-1)
			if o.Size != nil {
				size = *o.Size
			}
			objs = append(objs, layout.Object{Key: aws.ToString(o.Key), Size: size, ETag: aws.ToString(o.ETag)})
		}
		if err := page(prefixes, objs); err != nil {
			return err
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			return nil
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}

// Layout returns a source of the objects layout.Walk finds in bucket under
// root with filter f (date windows, accounts, regions, kinds), read and
// prefetched as List's are. Keys ending in / (folder markers) are left
// out. A denied or missing bucket ends it with a
// *pipeline.ListError.
func (c *Client) Layout(bucket, root string, f layout.Filter) pipeline.Source {
	var (
		next  func() (layout.Entry, error)
		stop  func()
		ended bool
	)
	return c.Keys(bucket, func(ctx context.Context) (string, int64, string, error) {
		if ended {
			return "", 0, "", io.EOF
		}
		if next == nil {
			next, stop = layout.Pull(ctx, c.Lister(), bucket, root, f)
		}
		e, err := next()
		for err == nil && strings.HasSuffix(e.Key, "/") {
			e, err = next() // a folder marker, left out as List does
		}
		if err != nil {
			ended = true
			stop()
			var le *pipeline.ListError
			switch {
			case err == io.EOF || ctx.Err() != nil:
			case errors.As(err, &le):
				err = le // unwrapped: Merge tells a ListError by its type
			default:
				err = fmt.Errorf("listing %s: %w", URL(bucket, root), err)
			}
			return "", 0, "", err
		}
		return e.Key, e.Size, e.ETag, nil
	})
}

// listError makes a denied listing, or one of a missing bucket, a
// *pipeline.ListError naming what is needed; other errors are returned.
func listError(bucket, prefix string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		name := URL(bucket, prefix)
		switch ae.ErrorCode() {
		case "AccessDenied", "Forbidden", "AllAccessDisabled":
			return &pipeline.ListError{Name: name, Err: fmt.Errorf("access denied: listing needs s3:ListBucket on arn:aws:s3:::%s (for the prefix %q): %w", bucket, prefix, err)}
		case "NoSuchBucket":
			return &pipeline.ListError{Name: name, Err: fmt.Errorf("no such bucket %q: %w", bucket, err)}
		}
	}
	return err
}
