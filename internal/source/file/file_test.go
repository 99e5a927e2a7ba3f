package file

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
}

// TestListBadPaths checks that each bad path is reported, naming the path
// and the reason, and that everything else is still listed.
func TestListBadPaths(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup builds the input under dir and returns the paths to list.
		setup    func(t *testing.T, dir string) []string
		objects  []string // object names, relative to dir
		problems []string // "path relative to dir: part of the reason"
		notices  []string // parts of the notices
	}{
		{
			name: "a missing path next to a good file",
			setup: func(t *testing.T, dir string) []string {
				write(t, filepath.Join(dir, "good.json"), "{}")
				return []string{filepath.Join(dir, "good.json"), filepath.Join(dir, "nope.json")}
			},
			objects:  []string{"good.json"},
			problems: []string{"nope.json: no such file or directory"},
		},
		{
			name: "a dangling symbolic link in a directory",
			setup: func(t *testing.T, dir string) []string {
				write(t, filepath.Join(dir, "in", "a.json"), "{}")
				symlink(t, filepath.Join(dir, "gone.json"), filepath.Join(dir, "in", "b.json"))
				write(t, filepath.Join(dir, "in", "c.json"), "{}")
				return []string{filepath.Join(dir, "in")}
			},
			objects:  []string{"in/a.json", "in/c.json"},
			problems: []string{"in/b.json: dangling symbolic link to " + "DIR/gone.json"},
		},
		{
			name: "a symbolic link to itself",
			setup: func(t *testing.T, dir string) []string {
				write(t, filepath.Join(dir, "in", "a.json"), "{}")
				symlink(t, "self", filepath.Join(dir, "in", "self"))
				return []string{filepath.Join(dir, "in")}
			},
			objects:  []string{"in/a.json"},
			problems: []string{"in/self: symbolic link loop"},
		},
		{
			name: "a symbolic link to an ancestor directory",
			setup: func(t *testing.T, dir string) []string {
				write(t, filepath.Join(dir, "in", "sub", "a.json"), "{}")
				symlink(t, "..", filepath.Join(dir, "in", "sub", "up"))
				return []string{filepath.Join(dir, "in")}
			},
			objects:  []string{"in/sub/a.json"},
			problems: []string{"in/sub/up: symbolic link loop"},
		},
		{
			name: "a symbolic link to a directory is walked",
			setup: func(t *testing.T, dir string) []string {
				write(t, filepath.Join(dir, "elsewhere", "x.json"), "{}")
				write(t, filepath.Join(dir, "in", "a.json"), "{}")
				symlink(t, filepath.Join(dir, "elsewhere"), filepath.Join(dir, "in", "linked"))
				symlink(t, filepath.Join(dir, "elsewhere"), filepath.Join(dir, "in", "linked2"))
				symlink(t, "a.json", filepath.Join(dir, "in", "z.json"))
				return []string{filepath.Join(dir, "in")}
			},
			objects: []string{"in/a.json", "in/linked/x.json", "in/z.json"},
			notices: []string{"in/linked2: skipped: a symbolic link to DIR/elsewhere, which is listed already"},
		},
		{
			name: "a FIFO inside a directory is skipped with a notice",
			setup: func(t *testing.T, dir string) []string {
				write(t, filepath.Join(dir, "in", "a.json"), "{}")
				mkfifo(t, filepath.Join(dir, "in", "pipe"))
				return []string{filepath.Join(dir, "in")}
			},
			objects: []string{"in/a.json"},
			notices: []string{"in/pipe: skipped: a FIFO (named pipe)"},
		},
		{
			// The tests may run as root, whom permissions do not stop, so
			// the unreadable directory is simulated through the readDir
			// hook rather than with chmod.
			name: "an unreadable subdirectory (simulated)",
			setup: func(t *testing.T, dir string) []string {
				write(t, filepath.Join(dir, "in", "a.json"), "{}")
				write(t, filepath.Join(dir, "in", "locked", "b.json"), "{}")
				write(t, filepath.Join(dir, "in", "z", "c.json"), "{}")
				locked := filepath.Join(dir, "in", "locked")
				readDir = func(name string) ([]os.DirEntry, error) {
					if name == locked {
						return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EACCES}
					}
					return os.ReadDir(name)
				}
				t.Cleanup(func() { readDir = os.ReadDir })
				return []string{filepath.Join(dir, "in")}
			},
			objects:  []string{"in/a.json", "in/z/c.json"},
			problems: []string{"in/locked: listing the directory: permission denied"},
		},
		{
			name: "a device is not a file",
			setup: func(t *testing.T, dir string) []string {
				write(t, filepath.Join(dir, "good.json"), "{}")
				return []string{os.DevNull, filepath.Join(dir, "good.json")}
			},
			objects:  []string{"good.json"},
			problems: []string{os.DevNull + ": not a regular file, directory or FIFO"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if d, err := filepath.EvalSymlinks(dir); err == nil {
				dir = d
			}
			rel := func(s string) string {
				return strings.ReplaceAll(strings.TrimPrefix(s, dir+"/"), dir, "DIR")
			}
			l := List(context.Background(), tc.setup(t, dir), nil)
			var names []string
			for _, o := range l.Objects {
				names = append(names, rel(o.Name))
			}
			if strings.Join(names, " ") != strings.Join(tc.objects, " ") {
				t.Errorf("objects %q, want %q", names, tc.objects)
			}
			if len(l.Problems) != len(tc.problems) {
				t.Errorf("problems %q, want %d", l.Problems, len(tc.problems))
			}
			for i, p := range l.Problems {
				var pe *PathError
				if !errors.As(p, &pe) {
					t.Errorf("problem %v is a %T, want a *PathError", p, p)
				}
				if i < len(tc.problems) && !strings.Contains(rel(p.Error()), tc.problems[i]) {
					t.Errorf("problem %q, want %q", rel(p.Error()), tc.problems[i])
				}
			}
			if len(l.Notices) != len(tc.notices) {
				t.Errorf("notices %q, want %d", l.Notices, len(tc.notices))
			}
			for i, n := range l.Notices {
				if i < len(tc.notices) && !strings.Contains(rel(n), tc.notices[i]) {
					t.Errorf("notice %q, want %q", rel(n), tc.notices[i])
				}
			}
			// Objects, the all-or-nothing form, fails on a problem.
			if _, err := Objects(tc.setup(t, t.TempDir()), nil); (err != nil) != (len(tc.problems) > 0) {
				t.Errorf("Objects: %v", err)
			}
		})
	}
}

// TestFIFOArgumentIsReadLikeStdin checks that a FIFO named as a path is one
// object, read once and without a ledger entry.
func TestFIFOArgumentIsReadLikeStdin(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe")
	mkfifo(t, fifo)
	l := List(context.Background(), []string{fifo}, nil)
	if len(l.Objects) != 1 || len(l.Problems) != 0 {
		t.Fatalf("objects %v, problems %v", l.Objects, l.Problems)
	}
	o := l.Objects[0]
	if !o.NoLedger || o.Size != -1 || o.Name != fifo {
		t.Errorf("FIFO object: %+v", o)
	}
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		w.WriteString("hello\n")
		w.Close()
	}()
	rc, err := o.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil || string(b) != "hello\n" {
		t.Errorf("read %q, %v", b, err)
	}
}

// TestStreamEndsWhenStopped checks that a read blocked on standard input
// (a writer that keeps the pipe open without writing) ends with io.EOF once
// the listing's context is done, keeping what was read before.
func TestStreamEndsWhenStopped(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	stop, cancel := context.WithCancel(context.Background())
	l := List(stop, []string{"-"}, pr)
	rc, err := l.Objects[0].Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	go pw.Write([]byte("rec\n"))
	got := make([]byte, 16)
	n, err := rc.Read(got)
	if err != nil || string(got[:n]) != "rec\n" {
		t.Fatalf("first read: %q, %v", got[:n], err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := rc.Read(got)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the read returned (%v) before any input or interrupt", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if err != io.EOF {
			t.Errorf("after the interrupt: %v, want io.EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read is still blocked after the interrupt")
	}
	if _, err := rc.Read(got); err != io.EOF {
		t.Errorf("later reads: %v, want io.EOF", err)
	}

	// The pipeline's own cancellation ends a read with its error.
	ctx, cancelRun := context.WithCancel(context.Background())
	l = List(context.Background(), []string{"-"}, pr)
	rc, err = l.Objects[0].Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancelRun()
	}()
	if _, err := rc.Read(got); !errors.Is(err, context.Canceled) {
		t.Errorf("after the run was cancelled: %v, want context.Canceled", err)
	}
}

// TestFIFOOpenInterrupted checks that opening a FIFO no writer opens does
// not block an interrupted ingest.
func TestFIFOOpenInterrupted(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe")
	mkfifo(t, fifo)
	stop, cancel := context.WithCancel(context.Background())
	l := List(stop, []string{fifo}, nil)
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	done := make(chan error, 1)
	go func() {
		_, err := l.Objects[0].Open(context.Background())
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrInterrupted) {
			t.Errorf("open: %v, want ErrInterrupted", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("opening the FIFO is still blocked after the interrupt")
	}
	// Let the abandoned open finish.
	if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		w.Close()
	}
}
