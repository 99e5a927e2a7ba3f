package lake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trawl-project/trawl/internal/pipeline"
)

// DefaultFileSize is the data file size a writer rolls a file at unless
// Options.FileSize says otherwise: Athena reads files of 128 MiB well.
const DefaultFileSize = 128 << 20

// Options configure a lake writer. Every field is optional.
type Options struct {
	// AWS is the SDK configuration for an s3:// target (internal/awsconf
	// loads it); nil means awsconf's defaults.
	AWS *aws.Config
	// S3Options modify the S3 client after awsconf.S3Options (path-style
	// addressing for an endpoint override is already set by awsconf).
	S3Options []func(*s3.Options)
	// FileSize is the compressed size at which a data file is closed and a
	// new one begun; default DefaultFileSize. A commit closes every open
	// file, so files are often smaller; trawl lake compact merges them.
	FileSize int64
	// Writer names this process among the lake's writers: unique per
	// process, stable names let a restarted writer clean up after itself.
	// Default hostname-pid.
	Writer string
	// TempDir holds the local copies of files bound for S3 before their
	// upload; default os.TempDir().
	TempDir string
}

// Lake is a Parquet lake opened for writing. It implements pipeline.Store
// (the lake holds its own ledger in its commit manifests), and Sink gives a
// pipeline.Sink for use beside another store. Its methods are safe for
// concurrent use; a Tx is used from one goroutine.
type Lake struct {
	target string
	opt    Options
}

// Open opens the lake at target, a local directory (created if missing)
// or s3://bucket/prefix, and completes or discards what an interrupted
// writer left: manifests whose files were not all published are
// published, staging files no manifest names are deleted.
func Open(ctx context.Context, target string, opt Options) (*Lake, error) {
	if opt.FileSize <= 0 {
		opt.FileSize = DefaultFileSize
	}
	if opt.Writer == "" {
		host, _ := os.Hostname()
		opt.Writer = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if strings.TrimSpace(target) == "" {
		return nil, errors.New("opening lake: empty target")
	}
	return nil, errors.New("lake: not implemented yet")
}

// LedgerEntries returns the ledger entries the lake's manifests hold for
// the given objects (pipeline.Store).
func (l *Lake) LedgerEntries(ctx context.Context, objects []string) (map[string]pipeline.LedgerEntry, error) {
	return nil, errors.New("lake: not implemented yet")
}

// Begin starts a write transaction (pipeline.Store): its rows become
// visible, with its ledger entries, at Commit.
func (l *Lake) Begin(ctx context.Context) (pipeline.Tx, error) {
	return nil, errors.New("lake: not implemented yet")
}

// Sink returns a pipeline.Sink writing every batch to the lake beside
// another store. Each Flush commits what was written; records of units
// the lake already holds (by object and unit) are dropped, so a re-run
// after a crash between the sink's flush and the store's commit does not
// store them twice.
func (l *Lake) Sink() pipeline.Sink {
	return nil
}

// Close releases the lake. Transactions not committed are discarded.
func (l *Lake) Close() error { return nil }

var _ pipeline.Store = (*Lake)(nil)
