package lake

import (
	"context"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// maybeRecover runs PublishAbandoned when Options.RecoverEvery has passed
// since it last ran (or since Open).
func (l *Lake) maybeRecover(ctx context.Context) error {
	if l.opt.RecoverEvery < 0 {
		return nil
	}
	l.mu.Lock()
	due := !l.crashed && time.Since(l.lastSweep) >= l.opt.RecoverEvery
	if due {
		l.lastSweep = time.Now()
	}
	l.mu.Unlock()
	if !due {
		return nil
	}
	_, err := l.PublishAbandoned(ctx)
	return err
}

// PublishAbandoned publishes the commits that their writers did not: every
// commit manifest without a published marker that is older than
// Options.RecoverGrace, or whose writer is a dead process of this host,
// has its files moved to their final names and is marked published —
// whoever wrote it. Such a commit is in the lake's ledger already (other
// writers skip its objects), so until it is published its rows would be
// missing. It returns how many commits it published.
//
// Publishing is idempotent and safe to run in several processes at once
// (and beside the writer's own restart): a staging file that is gone has
// been moved by someone else (locally rename(2) moves it once; on S3 a
// second CopyObject copies the same bytes, or finds the source deleted
// after the first copy), and the marker is written whole by whoever gets
// there. Within one Lake only one call runs at a time; a concurrent call
// returns 0 at once.
func (l *Lake) PublishAbandoned(ctx context.Context) (int, error) {
	if !l.sweepMu.TryLock() {
		return 0, nil
	}
	defer l.sweepMu.Unlock()
	l.mu.Lock()
	l.lastSweep = time.Now()
	l.mu.Unlock()
	mans, err := l.b.List(ctx, manifestDir+"/")
	if err != nil {
		return 0, fmt.Errorf("publishing abandoned commits: %w", err)
	}
	host, _ := os.Hostname()
	var due []listed
	for _, m := range mans {
		base := strings.TrimSuffix(path.Base(m.Key), ".json")
		_, w, ok := parseManifestName(base)
		if !ok || l.pubKnown[base] {
			continue
		}
		if time.Since(m.ModTime) < l.opt.RecoverGrace && !deadLocal(w, host) {
			continue // its writer may be publishing it now
		}
		due = append(due, m)
	}
	if len(due) == 0 {
		return 0, nil
	}
	pubs, err := l.b.List(ctx, publishedDir+"/")
	if err != nil {
		return 0, fmt.Errorf("publishing abandoned commits: %w", err)
	}
	for _, p := range pubs {
		l.pubKnown[path.Base(p.Key)] = true
	}
	n := 0
	for _, m := range due {
		base := strings.TrimSuffix(path.Base(m.Key), ".json")
		if l.pubKnown[base] {
			continue
		}
		man, err := readManifest(ctx, l.b, m.Key)
		if err != nil {
			return n, fmt.Errorf("publishing abandoned commit %s: %w", base, err)
		}
		if err := l.publish(ctx, man); err != nil {
			return n, fmt.Errorf("publishing abandoned commit: %w", err)
		}
		l.pubKnown[base] = true
		n++
	}
	return n, nil
}

// KillAfterManifestEnv names an environment variable for tests of several
// processes (cmd/trawl's TestManyWorkersLake): when it holds N > 0, the
// process kills itself with SIGKILL right after writing its Nth commit
// manifest, before publishing any file of it — the window in which a
// dead writer's committed rows are invisible until another writer
// publishes them. Never set it in production.
const KillAfterManifestEnv = "TRAWL_LAKE_TEST_KILL_AFTER_MANIFEST"

var (
	killAfter = sync.OnceValue(func() int64 {
		n, _ := strconv.ParseInt(os.Getenv(KillAfterManifestEnv), 10, 64)
		return n
	})
	manifestsWritten atomic.Int64
)

// killPoint kills the process if KillAfterManifestEnv says this manifest
// is the one.
func killPoint() {
	if n := killAfter(); n > 0 && manifestsWritten.Add(1) == n {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is delivered; nothing more runs
	}
}
