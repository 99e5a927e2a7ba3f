// Package file lists local files, directories (recursively) and standard
// input as pipeline objects.
package file

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/pipeline"
)

// Objects expands paths into objects: a file is one object, a directory is
// every regular file below it (in lexical order, which for AWS delivery
// layouts is time order; names starting with "." are skipped), and "-" is
// standard input. stdin is read from r.
func Objects(paths []string, stdin io.Reader) ([]pipeline.Object, error) {
	var objs []pipeline.Object
	seen := map[string]bool{}
	add := func(path string, info fs.FileInfo) {
		abs, err := filepath.Abs(path)
		if err != nil {
			abs = path
		}
		if seen[abs] {
			return
		}
		seen[abs] = true
		objs = append(objs, pipeline.Object{
			Name:    abs,
			Key:     filepath.ToSlash(abs),
			Size:    info.Size(),
			ModTime: info.ModTime().UTC().Truncate(time.Microsecond),
			Open: func(context.Context) (io.ReadCloser, error) {
				return os.Open(abs)
			},
		})
	}
	for _, p := range paths {
		if p == "-" {
			if seen["-"] {
				continue
			}
			seen["-"] = true
			objs = append(objs, pipeline.Object{
				Name:     "stdin",
				Size:     -1,
				NoLedger: true,
				Open: func(context.Context) (io.ReadCloser, error) {
					return io.NopCloser(stdin), nil
				},
			})
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		if !info.IsDir() {
			add(p, info)
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("listing %s: %w", path, err)
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			info, err := os.Stat(f) // follows symlinks
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", f, err)
			}
			if info.Mode().IsRegular() {
				add(f, info)
			}
		}
	}
	return objs, nil
}
