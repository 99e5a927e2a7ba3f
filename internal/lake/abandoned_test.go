package lake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/pipeline"
)

// unpublished lists the commit manifests of the lake behind b that have
// no published marker.
func unpublished(t *testing.T, b backend) []string {
	t.Helper()
	ctx := context.Background()
	mans, err := b.List(ctx, manifestDir+"/")
	if err != nil {
		t.Fatal(err)
	}
	pubs, err := b.List(ctx, publishedDir+"/")
	if err != nil {
		t.Fatal(err)
	}
	done := map[string]bool{}
	for _, p := range pubs {
		done[path.Base(p.Key)] = true
	}
	var out []string
	for _, m := range mans {
		if base := strings.TrimSuffix(path.Base(m.Key), ".json"); !done[base] {
			out = append(out, base)
		}
	}
	return out
}

// crashAfterManifest runs an ingest of the data set on a writer of
// target that dies (a simulated crash: nothing more runs) right after
// writing the manifest of its nth commit, before publishing any file.
func crashAfterManifest(t *testing.T, target string, opt Options, nth int, txRows int) {
	t.Helper()
	l := openLake(t, target, opt)
	n := 0
	l.hook = func(s string) error {
		if s == "manifest" {
			if n++; n == nth {
				return errCrash
			}
		}
		return nil
	}
	if _, err := ingest(t, l, data(t), pipeline.Config{TxRows: txRows, Workers: 1}); !errors.Is(err, errCrash) {
		t.Fatalf("ingest: %v, want the crash", err)
	}
	if got := unpublished(t, l.b); len(got) != 1 {
		t.Fatalf("after the crash: unpublished commits %v, want one", got)
	}
}

// lakeTarget is a local or S3 lake for a test, and how to read it as a
// local directory.
type lakeTarget struct {
	target string
	opt    Options // AWS etc.
	dir    func(t *testing.T) string
}

func targets() map[string]func(t *testing.T) lakeTarget {
	return map[string]func(t *testing.T) lakeTarget{
		"local": func(t *testing.T) lakeTarget {
			root := t.TempDir()
			return lakeTarget{target: root, dir: func(*testing.T) string { return root }}
		},
		"s3": func(t *testing.T) lakeTarget {
			cfg, cl := lakeS3(t)
			return lakeTarget{target: "s3://lake/trawl", opt: Options{AWS: &cfg, TempDir: t.TempDir()},
				dir: func(t *testing.T) string { return downloadLake(t, cl, "trawl/") }}
		},
	}
}

func with(o Options, writer string, every, grace time.Duration) Options {
	o.Writer, o.RecoverEvery, o.RecoverGrace = writer, every, grace
	return o
}

// TestSurvivorPublishesAbandoned: a writer dies between its commit
// manifest and publishing its files. A writer that was already running
// (it opened the lake before the crash, so Open's recovery never saw the
// commit) skips the dead writer's objects, as their ledger entries are
// committed, and publishes the abandoned commit while it runs: the lake
// then holds every row exactly once, with no writer re-opening it.
func TestSurvivorPublishesAbandoned(t *testing.T) {
	for name, mk := range targets() {
		t.Run(name, func(t *testing.T) {
			lt := mk(t)
			survivor := openLake(t, lt.target, with(lt.opt, "live", time.Nanosecond, time.Nanosecond))
			crashAfterManifest(t, lt.target, with(lt.opt, "dead", 0, 0), 2, 1500)
			if _, err := ingest(t, survivor, data(t), pipeline.Config{TxRows: 1500}); err != nil {
				t.Fatal(err)
			}
			if got := unpublished(t, survivor.b); len(got) != 0 {
				t.Errorf("unpublished commits after the survivor's run: %v", got)
			}
			checkLake(t, lt.dir(t))
		})
	}
}

// deadPid returns the pid of a process that has ended.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestPublishAbandonedWhen: a running writer publishes another's commit
// only once it is older than RecoverGrace, or at once when its writer is
// a dead process of this host; it looks at most every RecoverEvery; Close
// looks once more whatever RecoverEvery says.
func TestPublishAbandonedWhen(t *testing.T) {
	host, _ := os.Hostname()
	for _, c := range []struct {
		name         string
		dead         string // the crashed writer's name; "" = a dead pid of this host
		every, grace time.Duration
		afterRun     int // unpublished commits after the survivor's run
		afterClose   int // … and after its Close
	}{
		{"young commit", "dead", time.Nanosecond, time.Hour, 1, 1},
		{"dead local process", "", time.Nanosecond, time.Hour, 0, 0},
		{"throttled", "dead", time.Hour, time.Nanosecond, 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			survivor := openLake(t, root, Options{Writer: "live", RecoverEvery: c.every, RecoverGrace: c.grace})
			dead := c.dead
			if dead == "" {
				dead = fmt.Sprintf("%s-%d", host, deadPid(t))
			}
			crashAfterManifest(t, root, Options{Writer: dead}, 2, 1500)
			if _, err := ingest(t, survivor, data(t), pipeline.Config{TxRows: 1500}); err != nil {
				t.Fatal(err)
			}
			if got := unpublished(t, survivor.b); len(got) != c.afterRun {
				t.Errorf("after the survivor's run: unpublished %v, want %d", got, c.afterRun)
			}
			if err := survivor.Close(); err != nil {
				t.Fatal(err)
			}
			if got := unpublished(t, survivor.b); len(got) != c.afterClose {
				t.Errorf("after the survivor's Close: unpublished %v, want %d", got, c.afterClose)
			}
			if c.afterClose == 0 {
				checkLake(t, root)
			} else {
				visibleCommitted(t, root)
			}
		})
	}
}

// TestConcurrentPublish publishes one abandoned commit (many files) from
// four places at once: two running writers' PublishAbandoned, a direct
// publish, and the dead writer's restart (Open's recovery). All succeed,
// every file ends under its final name once, nothing is left in staging,
// and after the rest of the data set the lake holds every row once.
func TestConcurrentPublish(t *testing.T) {
	for name, mk := range targets() {
		t.Run(name, func(t *testing.T) {
			lt := mk(t)
			ctx := context.Background()
			a := openLake(t, lt.target, with(lt.opt, "a", -1, time.Nanosecond))
			b := openLake(t, lt.target, with(lt.opt, "b", -1, time.Nanosecond))
			crashAfterManifest(t, lt.target, with(lt.opt, "dead", 0, 0), 1, 1_000_000)
			pending := unpublished(t, a.b)
			man, err := readManifest(ctx, a.b, manifestDir+"/"+pending[0]+".json")
			if err != nil {
				t.Fatal(err)
			}
			if len(man.Files) < 10 {
				t.Fatalf("the abandoned commit has %d files; want many to interleave", len(man.Files))
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			errs := make([]error, 4)
			run := func(i int, f func() error) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = f()
				}()
			}
			run(0, func() error { _, err := a.PublishAbandoned(ctx); return err })
			run(1, func() error { _, err := b.PublishAbandoned(ctx); return err })
			run(2, func() error { return b.publish(ctx, man) })
			run(3, func() error {
				l, err := Open(ctx, lt.target, with(lt.opt, "dead", -1, 0))
				if err != nil {
					return err
				}
				return l.Close()
			})
			close(start)
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if got := unpublished(t, a.b); len(got) != 0 {
				t.Errorf("unpublished after publishing: %v", got)
			}
			for _, f := range man.Files {
				if _, err := a.b.Get(ctx, f.Final); err != nil {
					t.Errorf("file %s: %v", f.Final, err)
				}
			}
			staged, err := a.b.List(ctx, stagingDir+"/")
			if err != nil {
				t.Fatal(err)
			}
			if len(staged) != 0 {
				t.Errorf("%d staging files left, e.g. %s", len(staged), staged[0].Key)
			}
			if _, err := ingest(t, a, data(t), pipeline.Config{TxRows: 1500}); err != nil {
				t.Fatal(err)
			}
			checkLake(t, lt.dir(t))
		})
	}
}
