// Package file lists local files, directories (recursively) and standard
// input as pipeline objects.
package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/s3/layout"
)

// Listing is what List found.
type Listing struct {
	Objects []pipeline.Object
	// Problems are the paths that could not be read or listed: missing
	// paths, dangling symbolic links, symbolic link loops, directories
	// that cannot be read. Each is a *PathError. The rest of the input is
	// listed all the same.
	Problems []error
	// Notices say what was skipped on purpose: FIFOs, sockets and devices
	// inside directories, and symbolic links to directories listed already.
	Notices []string
}

// PathError reports an input path that could not be read or listed.
type PathError struct {
	Path string
	Err  error
}

func (e *PathError) Error() string { return e.Path + ": " + e.Err.Error() }

func (e *PathError) Unwrap() error { return e.Err }

// readDir reads a directory; tests replace it to simulate failures.
var readDir = os.ReadDir

// List expands paths into objects: a file is one object; a directory is
// every regular file below it (in time order when their names or date
// folders carry a time, else in lexical order, see addAll; names starting
// with "." are skipped), following
// symbolic links to files and directories but never around a loop; "-" is
// standard input, read from stdin; a FIFO named as a path is read like
// standard input (once, without a ledger entry).
//
// Paths that cannot be read are reported in Problems and the others are
// listed. When ctx is done, standard input and FIFOs end as if at the end
// of their input, even while a read is blocked.
func List(ctx context.Context, paths []string, stdin io.Reader) Listing {
	l := &lister{ctx: ctx, stdin: stdin, seen: map[string]bool{}}
	for _, p := range paths {
		l.path(p)
	}
	return l.out
}

// Objects is List for callers that want all or nothing: it fails on the
// first path that cannot be read. Notices are dropped.
func Objects(paths []string, stdin io.Reader) ([]pipeline.Object, error) {
	l := List(context.Background(), paths, stdin)
	if len(l.Problems) > 0 {
		return nil, l.Problems[0]
	}
	return l.Objects, nil
}

type lister struct {
	ctx   context.Context
	stdin io.Reader
	out   Listing
	seen  map[string]bool // absolute paths of listed objects, and "-"
	roots []string        // real paths of the directories walked
}

func (l *lister) problem(path string, err error) {
	l.out.Problems = append(l.out.Problems, &PathError{Path: path, Err: err})
}

func (l *lister) notice(format string, args ...any) {
	l.out.Notices = append(l.out.Notices, fmt.Sprintf(format, args...))
}

// path lists one command-line path.
func (l *lister) path(p string) {
	if p == "-" {
		if !l.seen["-"] {
			l.seen["-"] = true
			l.out.Objects = append(l.out.Objects, l.stream("stdin", "", func() (io.ReadCloser, error) {
				return io.NopCloser(l.stdin), nil
			}))
		}
		return
	}
	info, err := os.Stat(p)
	if err != nil {
		l.problem(p, statError(p, err))
		return
	}
	switch mode := info.Mode(); {
	case mode.IsRegular():
		l.add(p, info)
	case mode.IsDir():
		if rp, err := filepath.EvalSymlinks(p); err == nil {
			l.roots = append(l.roots, rp)
		}
		l.addAll(l.walk(p, nil))
	case mode&fs.ModeNamedPipe != 0:
		abs := absPath(p)
		if l.seen[abs] {
			return
		}
		l.seen[abs] = true
		l.out.Objects = append(l.out.Objects, l.stream(abs, filepath.ToSlash(abs), func() (io.ReadCloser, error) {
			return os.Open(abs)
		}))
	default:
		l.problem(p, fmt.Errorf("not a regular file, directory or FIFO (%s)", mode.Type()))
	}
}

// found is a regular file found in a directory.
type found struct {
	path string
	info fs.FileInfo
}

// walk lists the regular files below dir into files.
func (l *lister) walk(dir string, files []found) []found {
	entries, err := readDir(dir)
	if err != nil {
		// os.ReadDir returns what it read before the error: keep it.
		l.problem(dir, fmt.Errorf("listing the directory: %w", cause(err)))
	}
	for _, d := range entries {
		if strings.HasPrefix(d.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, d.Name())
		switch t := d.Type(); {
		case t.IsDir():
			files = l.walk(path, files)
		case t.IsRegular():
			info, err := d.Info()
			if err != nil {
				l.problem(path, cause(err))
				continue
			}
			files = append(files, found{path, info})
		case t&fs.ModeSymlink != 0:
			files = l.link(path, files)
		default:
			l.special(path, t)
		}
	}
	return files
}

// link follows a symbolic link found in a directory.
func (l *lister) link(path string, files []found) []found {
	info, err := os.Stat(path)
	if err != nil {
		l.problem(path, statError(path, err))
		return files
	}
	switch mode := info.Mode(); {
	case mode.IsRegular():
		return append(files, found{path, info})
	case mode.IsDir():
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			l.problem(path, statError(path, err))
			return files
		}
		here, err := filepath.EvalSymlinks(filepath.Dir(path))
		if err != nil {
			l.problem(path, statError(path, err))
			return files
		}
		if within(here, target) {
			l.problem(path, fmt.Errorf("symbolic link loop: it links to %s, which contains the link; not followed", target))
			return files
		}
		for _, r := range l.roots {
			if within(target, r) {
				l.notice("%s: skipped: a symbolic link to %s, which is listed already", path, target)
				return files
			}
		}
		l.roots = append(l.roots, target)
		return l.walk(path, files)
	default:
		l.special(path, mode.Type())
		return files
	}
}

// special reports a FIFO, socket or device found in a directory: reading
// one could block or never end, so it is skipped.
func (l *lister) special(path string, t fs.FileMode) {
	if t&fs.ModeNamedPipe != 0 {
		l.notice("%s: skipped: a FIFO (named pipe) inside a directory is not read; name it as an argument to read it", path)
		return
	}
	l.notice("%s: skipped: not a regular file (%s)", path, t)
}

// addAll adds the files of a directory in time order: by the time their
// names carry (AWS delivery files: CloudTrail, VPC flow logs and digests
// end in _YYYYMMDDTHHMMZ), else by the date of a YYYY/MM/DD folder in
// their path, then by path; files with neither come first, by path.
// AWS writes its files by account, region and then day, so lexical order
// would store a day of one account and region, then the same day of the
// next: time order lets the store's rows be clustered by time, which time
// ranges prune on (docs/performance.md). The ledger is keyed by file, not
// by position, so the order does not matter to a resumed ingest.
func (l *lister) addAll(files []found) {
	keys := make(map[string]time.Time, len(files))
	for _, f := range files {
		keys[f.path] = fileTime(filepath.ToSlash(f.path))
	}
	sort.Slice(files, func(i, j int) bool {
		a, b := keys[files[i].path], keys[files[j].path]
		if !a.Equal(b) {
			return a.Before(b)
		}
		return files[i].path < files[j].path
	})
	for _, f := range files {
		l.add(f.path, f.info)
	}
}

// dayFolder finds a /YYYY/MM/DD/ folder in a path.
var dayFolder = regexp.MustCompile(`/(\d{4})/(\d{2})/(\d{2})/`)

// fileTime is the time a file's path says its records are from: the time
// in its name, or the day of its date folder (the last one), or zero.
func fileTime(path string) time.Time {
	if t := layout.NameTime(path); !t.IsZero() {
		return t
	}
	m := dayFolder.FindAllStringSubmatch(path, -1)
	if m == nil {
		return time.Time{}
	}
	last := m[len(m)-1]
	t, err := time.Parse("2006/01/02", last[1]+"/"+last[2]+"/"+last[3])
	if err != nil {
		return time.Time{}
	}
	return t
}

func (l *lister) add(path string, info fs.FileInfo) {
	abs := absPath(path)
	if l.seen[abs] {
		return
	}
	l.seen[abs] = true
	l.out.Objects = append(l.out.Objects, pipeline.Object{
		Name:    abs,
		Key:     filepath.ToSlash(abs),
		Size:    info.Size(),
		ModTime: info.ModTime().UTC().Truncate(time.Microsecond),
		Open: func(context.Context) (io.ReadCloser, error) {
			return os.Open(abs)
		},
	})
}

// stream is an object that can be read once: standard input or a FIFO.
func (l *lister) stream(name, key string, open func() (io.ReadCloser, error)) pipeline.Object {
	return pipeline.Object{
		Name:     name,
		Key:      key,
		Size:     -1,
		NoLedger: true,
		Open: func(ctx context.Context) (io.ReadCloser, error) {
			return openStream(l.ctx, ctx, open)
		},
	}
}

func absPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return abs
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	if path == dir {
		return true
	}
	if !strings.HasSuffix(dir, string(filepath.Separator)) {
		dir += string(filepath.Separator)
	}
	return strings.HasPrefix(path, dir)
}

// cause strips the operation and path from an *fs.PathError, which the
// PathError that reports it names already.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// statError explains why a path cannot be opened, telling dangling
// symbolic links and loops from missing paths.
func statError(path string, err error) error {
	if errors.Is(err, syscall.ELOOP) {
		return errors.New("symbolic link loop (too many levels of symbolic links)")
	}
	if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 && errors.Is(err, fs.ErrNotExist) {
		target, _ := os.Readlink(path)
		return fmt.Errorf("dangling symbolic link to %s (%w)", target, cause(err))
	}
	return cause(err)
}
