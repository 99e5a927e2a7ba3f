package lake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trawl-project/trawl/internal/awsconf"
	"github.com/trawl-project/trawl/internal/event"
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
	// FileSize is the size at which a data file is closed and a new one
	// begun; default DefaultFileSize. A commit closes every open file, so
	// files are often smaller; trawl lake compact merges them.
	FileSize int64
	// Writer names this process among the lake's writers: unique per
	// process; stable names let a restarted writer clean up after itself.
	// Default hostname-pid.
	Writer string
	// TempDir holds the local copies of files bound for S3 before their
	// upload; default os.TempDir().
	TempDir string
	// RecoverEvery is how often a running writer looks for commits that
	// another writer made but did not publish (a process killed between
	// writing its manifest and moving its files) and publishes them, at a
	// Begin or a LedgerEntries call; default DefaultRecoverEvery, negative
	// never (Open and Close still do).
	RecoverEvery time.Duration
	// RecoverGrace is the age at which a commit not yet published is taken
	// as abandoned by its writer and published by this one; default
	// DefaultRecoverGrace. A commit of a writer that is a dead process of
	// this host (default writer names, hostname-pid) is published at once.
	RecoverGrace time.Duration
}

// DefaultRecoverEvery and DefaultRecoverGrace are the defaults of
// Options.RecoverEvery and Options.RecoverGrace.
const (
	DefaultRecoverEvery = 30 * time.Second
	DefaultRecoverGrace = time.Minute
)

// Lake is a Parquet lake opened for writing. It implements pipeline.Store
// (the lake holds its own ledger in its commit manifests), and Sink gives a
// pipeline.Sink for use beside another store. Its methods are safe for
// concurrent use; a transaction is used from one goroutine.
type Lake struct {
	target string
	opt    Options
	b      backend

	mu     sync.Mutex
	next   uint64                // this writer's next commit sequence number
	seen   map[string]bool       // manifests read into the cache, by <seq>-<writer>
	ledger map[string]timedEntry // by object
	held   map[string]int64      // units held, by object
	closed bool

	lastSweep time.Time       // when PublishAbandoned last ran (or Open), under mu
	sweepMu   sync.Mutex      // one PublishAbandoned at a time
	pubKnown  map[string]bool // manifests known published, under sweepMu

	// hook, in tests, is called at the stages of a commit ("staged",
	// "manifest", "publishing"); an error simulates a crash there: the
	// commit stops and nothing cleans up after it.
	hook    func(stage string) error
	crashed bool
}

// Open opens the lake at target, a local directory (created if missing)
// or s3://bucket/prefix, and completes or discards what interrupted
// writers left: manifests whose files were not all published are
// published; staging files no manifest names are deleted (this writer's,
// a dead process's of this host, or any older than a day); merges an
// interrupted compaction committed are completed (RecoverCompactions).
// While it runs, the writer also publishes other writers' abandoned
// commits (see Options.RecoverEvery and PublishAbandoned).
func Open(ctx context.Context, target string, opt Options) (*Lake, error) {
	if opt.FileSize <= 0 {
		opt.FileSize = DefaultFileSize
	}
	if opt.RecoverEvery == 0 {
		opt.RecoverEvery = DefaultRecoverEvery
	}
	if opt.RecoverGrace <= 0 {
		opt.RecoverGrace = DefaultRecoverGrace
	}
	if opt.Writer == "" {
		host, _ := os.Hostname()
		opt.Writer = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	opt.Writer = SafeWriter(opt.Writer)
	if strings.TrimSpace(target) == "" {
		return nil, errors.New("opening lake: empty target")
	}
	l := &Lake{target: target, opt: opt, seen: map[string]bool{}, ledger: map[string]timedEntry{}, held: map[string]int64{}, pubKnown: map[string]bool{}}
	if strings.HasPrefix(target, "s3://") {
		bucket, prefix, err := parseS3(target)
		if err != nil {
			return nil, err
		}
		var cfg aws.Config
		if opt.AWS != nil {
			cfg = *opt.AWS
		} else {
			cfg, err = awsconf.Load(ctx, awsconf.Options{})
			if err != nil {
				return nil, fmt.Errorf("opening lake %s: %w", target, err)
			}
		}
		l.b = &s3Lake{client: awsconf.NewS3(cfg, opt.S3Options...), bucket: bucket, prefix: prefix, tempDir: opt.TempDir}
	} else {
		dir, err := filepath.Abs(target)
		if err != nil {
			return nil, fmt.Errorf("opening lake %s: %w", target, err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("opening lake %s: %w", target, err)
		}
		l.b = &local{root: dir}
	}
	next, err := l.recover(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening lake %s: %w", target, err)
	}
	l.next = next
	l.lastSweep = time.Now()
	if _, err := l.RecoverCompactions(ctx); err != nil {
		return nil, fmt.Errorf("opening lake %s: %w", target, err)
	}
	if err := l.refresh(ctx); err != nil {
		return nil, fmt.Errorf("opening lake %s: %w", target, err)
	}
	return l, nil
}

// Target returns the directory or s3:// URL the lake was opened at.
func (l *Lake) Target() string { return l.target }

// Writer returns this process's writer name.
func (l *Lake) Writer() string { return l.opt.Writer }

// LedgerEntries returns the ledger entries the lake's manifests hold for
// the given objects (pipeline.Store). It reads the manifests committed
// since the last call, by every writer of the lake.
func (l *Lake) LedgerEntries(ctx context.Context, objects []string) (map[string]pipeline.LedgerEntry, error) {
	if err := l.maybeRecover(ctx); err != nil {
		return nil, fmt.Errorf("reading the lake's ledger: %w", err)
	}
	if err := l.refresh(ctx); err != nil {
		return nil, fmt.Errorf("reading the lake's ledger: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]pipeline.LedgerEntry{}
	for _, o := range objects {
		if e, ok := l.ledger[o]; ok {
			out[o] = e.Entry
		}
	}
	return out, nil
}

// Begin starts a write transaction (pipeline.Store): its rows become
// visible, with its ledger entries, at Commit.
func (l *Lake) Begin(ctx context.Context) (pipeline.Tx, error) {
	if err := l.maybeRecover(ctx); err != nil {
		return nil, fmt.Errorf("lake: begin: %w", err)
	}
	return l.begin(false)
}

func (l *Lake) begin(sink bool) (*Tx, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errors.New("lake: begin on a closed lake")
	}
	seq := l.next
	l.next++
	return newTx(l, seq, sink), nil
}

// heldUnits returns the number of units of object the lake holds.
func (l *Lake) heldUnits(object string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held[object]
}

// at calls the test hook at a commit stage.
func (l *Lake) at(_ context.Context, stage string) error {
	if l.hook == nil {
		return nil
	}
	if err := l.hook(stage); err != nil {
		l.mu.Lock()
		l.crashed = true
		l.mu.Unlock()
		return err
	}
	return nil
}

func (l *Lake) isCrashed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.crashed
}

// Sink returns a pipeline.Sink writing every batch to the lake beside
// another store. Each Flush commits what was written; records of units
// the lake already holds (by object and unit) are dropped, so a re-run
// after a crash between the sink's flush and the store's commit does not
// store them twice.
func (l *Lake) Sink() pipeline.Sink {
	return &sink{l: l}
}

// Close releases the lake after publishing other writers' abandoned
// commits once more (PublishAbandoned, whatever Options.RecoverEvery
// says), so that a worker that outlives a killed one leaves the lake
// complete. Transactions not committed are discarded by their Rollback (or
// by the next Open).
func (l *Lake) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	crashed := l.crashed
	l.mu.Unlock()
	if crashed {
		return nil // a simulated crash: a dead process does nothing more
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if _, err := l.PublishAbandoned(ctx); err != nil {
		return fmt.Errorf("closing lake %s: %w", l.target, err)
	}
	return nil
}

// closeTimeout bounds Close's last PublishAbandoned.
const closeTimeout = 2 * time.Minute

var _ pipeline.Store = (*Lake)(nil)

// sink is Lake.Sink's pipeline.Sink: a transaction per flush.
type sink struct {
	l  *Lake
	tx *Tx
}

func (s *sink) Write(ctx context.Context, b *event.Batch) error {
	if s.tx == nil {
		// Other writers may have committed units of objects this one
		// reads (a redelivered queue message).
		if err := s.l.maybeRecover(ctx); err != nil {
			return fmt.Errorf("lake sink: %w", err)
		}
		if err := s.l.refresh(ctx); err != nil {
			return fmt.Errorf("lake sink: %w", err)
		}
		tx, err := s.l.begin(true)
		if err != nil {
			return err
		}
		s.tx = tx
	}
	return s.tx.Write(ctx, b)
}

func (s *sink) Flush(ctx context.Context) error {
	if s.tx == nil {
		return nil
	}
	tx := s.tx
	s.tx = nil
	if err := tx.Commit(ctx, nil); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("lake sink: %w", err)
	}
	return nil
}
