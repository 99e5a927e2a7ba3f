package lake

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"
)

// Paths of compaction under <root>/_trawl. They are apart from the
// writers' staging and manifests, so that a writer's recovery neither
// publishes a compaction half-way nor deletes its staged output.
const (
	compactDir         = metaDir + "/compact"
	compactStagingDir  = compactDir + "/staging"
	compactManifestDir = compactDir + "/manifests"
)

// CompactOptions tune Compact. Every field is optional.
type CompactOptions struct {
	// TargetSize is the size compacted files aim at (default the lake's
	// FileSize, DefaultFileSize unless set): files of a partition are
	// merged in file-name order until their sizes add up to it.
	TargetSize int64
	// MinSize: only files smaller than this are merged (default
	// TargetSize/2).
	MinSize int64
	// MinAge: only files at least this old (by modification time) are
	// merged, leaving files a writer has only just published alone.
	MinAge time.Duration
	// Tables limits compaction to these tables (default all).
	Tables []string
	// DryRun plans without writing or deleting anything.
	DryRun bool
	// Workers is how many merges run at once (default GOMAXPROCS).
	Workers int

	// crash, in tests, is called at the stages of one merge ("staged",
	// "manifest", "deleting", "publishing"); an error simulates a crash
	// there: the merge stops and nothing cleans up after it.
	crash func(stage string) error
}

// CompactStats say what Compact did (or would do, with DryRun).
type CompactStats struct {
	Partitions int   // partitions with files merged
	FilesIn    int   // files merged
	FilesOut   int   // files written
	BytesIn    int64 // their sizes
	BytesOut   int64
	Rows       int64 // rows moved
	Recovered  int   // interrupted merges completed first
}

// compactManifest is one merge: the file it publishes and the files it
// replaces. Written atomically after the new file is staged and before any
// old file is deleted, it is the merge's commit point: recovery (Compact,
// RecoverCompactions) deletes the old files, publishes the new one and
// deletes the manifest.
type compactManifest struct {
	Version  int       `json:"version"`
	Writer   string    `json:"writer"`
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Table    string    `json:"table"`
	Output   File      `json:"output"`
	Replaces []string  `json:"replaces"` // final names, relative to the root
}

// Compact merges each partition's small files into files near the target
// size. Each merge is atomic through a manifest: the merged file is
// staged, the manifest written, then the old files deleted and the new
// one published. Readers never see a row twice; between the deletes and
// the publish (milliseconds locally, one CopyObject on S3) a reader may
// miss the merged rows, and a crash there leaves them missing until the
// next Compact or RecoverCompactions completes the merge. Rows are
// copied unchanged (same columns, types, values and order).
//
// Run one Compact per lake at a time; writers may run alongside it.
func (l *Lake) Compact(ctx context.Context, opt CompactOptions) (CompactStats, error) {
	var st CompactStats
	if opt.TargetSize <= 0 {
		opt.TargetSize = l.opt.FileSize
	}
	if opt.MinSize <= 0 {
		opt.MinSize = opt.TargetSize / 2
	}
	if !opt.DryRun {
		n, err := l.RecoverCompactions(ctx)
		if err != nil {
			return st, err
		}
		st.Recovered = n
	}
	tmp, err := os.MkdirTemp(l.opt.TempDir, "trawl-compact-")
	if err != nil {
		return st, fmt.Errorf("compacting: %w", err)
	}
	defer os.RemoveAll(tmp)
	// List each table once: its small files by partition, and the
	// highest sequence number in this writer's merged files' names.
	type tableFiles struct {
		t     Table
		parts map[string][]sizedFile
	}
	var listedTables []tableFiles
	var maxSeq uint64
	for _, t := range Tables() {
		if len(opt.Tables) > 0 && !slices.Contains(opt.Tables, t.Name) {
			continue
		}
		parts, top, err := l.smallFiles(ctx, t, opt)
		if err != nil {
			return st, err
		}
		maxSeq = max(maxSeq, top)
		listedTables = append(listedTables, tableFiles{t, parts})
	}
	seq, err := l.nextCompactSeq(ctx)
	if err != nil {
		return st, err
	}
	seq = max(seq, maxSeq+1)
	// Plan every merge, then run them on Workers goroutines.
	type job struct {
		t   Table
		dir string
		bin []sizedFile
		seq uint64
	}
	var jobs []job
	for _, lt := range listedTables {
		t, parts := lt.t, lt.parts
		for _, dir := range sortedKeys(parts) {
			bins := binPack(parts[dir], opt.TargetSize)
			if len(bins) > 0 {
				st.Partitions++
			}
			for _, bin := range bins {
				for _, f := range bin {
					st.FilesIn++
					st.BytesIn += f.size
				}
				st.FilesOut++
				jobs = append(jobs, job{t, dir, bin, seq})
				seq++
			}
		}
	}
	if opt.DryRun || len(jobs) == 0 {
		return st, nil
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		next  = make(chan job)
	)
	for range min(workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				out, err := l.merge(ctx, tmp, j.t, j.dir, j.bin, j.seq, opt)
				mu.Lock()
				if err != nil && first == nil {
					first = err
					cancel()
				}
				if err == nil {
					st.BytesOut += out.Bytes
					st.Rows += out.Rows
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, j := range jobs {
		select {
		case next <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return st, first
}

type sizedFile struct {
	key  string // relative to the root
	size int64
}

// smallFiles lists a table's data files smaller than opt.MinSize and older
// than opt.MinAge, by partition directory, in name order. top is the
// highest sequence number of this process's merged files in the table (a
// restarted process with the same name, e.g. a recycled pid, must not
// overwrite them).
func (l *Lake) smallFiles(ctx context.Context, t Table, opt CompactOptions) (parts map[string][]sizedFile, top uint64, err error) {
	files, err := l.b.List(ctx, t.Name+"/")
	if err != nil {
		return nil, 0, fmt.Errorf("compacting %s: %w", t.Name, err)
	}
	now := time.Now()
	cw := l.compactWriter()
	out := map[string][]sizedFile{}
	for _, f := range files {
		if w, s, ok := ParseFileName(f.Key); ok && w == cw {
			top = max(top, s)
		}
		if !strings.HasSuffix(f.Key, ".parquet") || f.Size >= opt.MinSize || now.Sub(f.ModTime) < opt.MinAge {
			continue
		}
		if _, _, _, perr := ParsePartitionPath(f.Key); perr != nil {
			continue
		}
		dir := path.Dir(f.Key)
		out[dir] = append(out[dir], sizedFile{f.Key, f.Size})
	}
	for _, fs := range out {
		slices.SortFunc(fs, func(a, b sizedFile) int { return cmp.Compare(a.key, b.key) })
	}
	return out, top, nil
}

// binPack splits a partition's small files, in order, into groups whose
// sizes add up to about target: a group is closed once it reaches target.
// Groups of one file are dropped (nothing to merge).
func binPack(files []sizedFile, target int64) [][]sizedFile {
	var out [][]sizedFile
	var cur []sizedFile
	var sum int64
	flush := func() {
		if len(cur) > 1 {
			out = append(out, cur)
		}
		cur, sum = nil, 0
	}
	for _, f := range files {
		if len(cur) > 0 && sum+f.size > target {
			flush()
		}
		cur = append(cur, f)
		sum += f.size
	}
	flush()
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// merge merges one group of files of a partition into one new file and
// replaces them with it (see Compact).
func (l *Lake) merge(ctx context.Context, tmp string, t Table, dir string, bin []sizedFile, seq uint64, opt CompactOptions) (File, error) {
	crash := func(stage string) error {
		if opt.crash != nil {
			return opt.crash(stage)
		}
		return nil
	}
	cw := l.compactWriter()
	final := dir + "/" + FileName(cw, seq)
	name := manifestName(seq, cw)
	fail := func(err error) (File, error) {
		return File{}, fmt.Errorf("compacting %s: %w", dir, err)
	}
	// Local copies of the inputs (a local lake's files are read in place).
	inputs := make([]string, len(bin))
	replaces := make([]string, len(bin))
	for i, f := range bin {
		replaces[i] = f.key
		if b, ok := l.b.(*local); ok {
			inputs[i] = b.abs(f.key)
			continue
		}
		data, err := l.b.Get(ctx, f.key)
		if err != nil {
			return fail(err)
		}
		inputs[i] = filepath.Join(tmp, fmt.Sprintf("in-%d-%d.parquet", seq, i))
		if err := os.WriteFile(inputs[i], data, 0o600); err != nil {
			return fail(err)
		}
	}
	outPath := filepath.Join(tmp, fmt.Sprintf("out-%d.parquet", seq))
	rows, err := mergeFiles(t, inputs, outPath)
	if err != nil {
		return fail(err)
	}
	for _, in := range inputs {
		if strings.HasPrefix(in, tmp) {
			os.Remove(in)
		}
	}
	out := File{Staging: compactStagingDir + "/" + cw + "/" + strconv.FormatUint(seq, 10) + "/" + final, Final: final, Table: t.Name, Rows: rows}
	if out.Bytes, err = l.upload(ctx, outPath, out.Staging); err != nil {
		return fail(err)
	}
	os.Remove(outPath)
	if err := crash("staged"); err != nil {
		return fail(err)
	}
	m := compactManifest{Version: manifestVersion, Writer: cw, Seq: seq, Time: time.Now().UTC(), Table: t.Name, Output: out, Replaces: replaces}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fail(err)
	}
	if err := l.b.PutAtomic(ctx, compactManifestDir+"/"+name+".json", data); err != nil {
		return fail(err)
	}
	if err := crash("manifest"); err != nil {
		return fail(err)
	}
	if err := l.applyCompaction(ctx, &m, crash); err != nil {
		return fail(err)
	}
	return out, nil
}

// flushBytes is the compressed input size after which a merge flushes the
// row group it writes, bounding its memory.
const flushBytes = 32 << 20

// mergeFiles writes the rows of inputs, in order, to out with the lake
// writer's Parquet schema and settings (columns in the table's order, a
// column an input lacks is NULL), and returns the row count, checked
// against the inputs'.
func mergeFiles(t Table, inputs []string, out string) (int64, error) {
	s := parquetSchema(t)
	f, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := newParquetWriter(f, s)
	var want, got, pending int64
	for _, in := range inputs {
		n, size, err := copyFile(w, s, in)
		if err != nil {
			return 0, err
		}
		want += n
		pending += size
		if pending >= flushBytes {
			if err := w.Flush(); err != nil {
				return 0, fmt.Errorf("writing %s: %w", out, err)
			}
			pending = 0
		}
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("writing %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("writing %s: %w", out, err)
	}
	// Read the row count back from the file written.
	rf, err := os.Open(out)
	if err != nil {
		return 0, err
	}
	defer rf.Close()
	st, err := rf.Stat()
	if err != nil {
		return 0, err
	}
	pf, err := parquet.OpenFile(rf, st.Size())
	if err != nil {
		return 0, fmt.Errorf("checking %s: %w", out, err)
	}
	got = pf.NumRows()
	if got != want {
		return 0, fmt.Errorf("merged file has %d rows, its inputs %d", got, want)
	}
	return got, nil
}

// copyFile appends the rows of the Parquet file in to w, converted to
// schema s, and returns the file's row count and size.
func copyFile(w parquet.RowWriter, s *parquet.Schema, in string) (rows, size int64, err error) {
	f, err := os.Open(in)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return 0, 0, fmt.Errorf("reading %s: %w", in, err)
	}
	r := parquet.NewReader(pf, s)
	defer r.Close()
	n, err := parquet.CopyRows(w, r)
	if err != nil {
		return 0, 0, fmt.Errorf("copying the rows of %s: %w", in, err)
	}
	if n != pf.NumRows() {
		return 0, 0, fmt.Errorf("copied %d rows of %s, it has %d", n, in, pf.NumRows())
	}
	return n, st.Size(), nil
}

// upload copies a local file to key through the backend and returns its size.
func (l *Lake) upload(ctx context.Context, local, key string) (int64, error) {
	f, err := os.Open(local)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w, err := l.b.Create(ctx, key)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(w, f)
	if err != nil {
		w.Abort()
		return 0, fmt.Errorf("staging %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return n, nil
}

// applyCompaction completes a committed merge: deletes the files it
// replaces, publishes its output, deletes its manifest. Every step may be
// repeated (recovery after a crash repeats them).
func (l *Lake) applyCompaction(ctx context.Context, m *compactManifest, crash func(string) error) error {
	for i, old := range m.Replaces {
		if i == 1 {
			if err := crash("deleting"); err != nil {
				return err
			}
		}
		if err := l.b.Delete(ctx, old); err != nil {
			return err
		}
	}
	if err := crash("publishing"); err != nil {
		return err
	}
	if err := l.b.Rename(ctx, m.Output.Staging, m.Output.Final); err != nil {
		return err
	}
	return l.b.Delete(ctx, compactManifestDir+"/"+manifestName(m.Seq, m.Writer)+".json")
}

// RecoverCompactions completes the merges an interrupted Compact committed
// (their manifests) and deletes staged outputs no manifest names (this
// writer's, a dead process's of this host, or older than a day). It
// returns how many merges it completed. Compact calls it first.
func (l *Lake) RecoverCompactions(ctx context.Context) (int, error) {
	mans, err := l.b.List(ctx, compactManifestDir+"/")
	if err != nil {
		return 0, fmt.Errorf("recovering compactions: %w", err)
	}
	committed := map[string]bool{}
	n := 0
	for _, f := range mans {
		base := strings.TrimSuffix(path.Base(f.Key), ".json")
		if _, _, ok := parseManifestName(base); !ok {
			continue
		}
		data, err := l.b.Get(ctx, f.Key)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // completed by another process meanwhile
			}
			return n, fmt.Errorf("recovering compactions: %w", err)
		}
		var m compactManifest
		if err := json.Unmarshal(data, &m); err != nil {
			return n, fmt.Errorf("recovering compactions: manifest %s: %w", f.Key, err)
		}
		if m.Version != manifestVersion {
			return n, fmt.Errorf("recovering compactions: manifest %s: version %d, this trawl reads %d", f.Key, m.Version, manifestVersion)
		}
		committed[base] = true
		if err := l.applyCompaction(ctx, &m, func(string) error { return nil }); err != nil {
			return n, fmt.Errorf("recovering compaction %s: %w", base, err)
		}
		n++
	}
	staged, err := l.b.List(ctx, compactStagingDir+"/")
	if err != nil {
		return n, fmt.Errorf("recovering compactions: %w", err)
	}
	host, _ := os.Hostname()
	for _, s := range staged {
		parts := strings.SplitN(strings.TrimPrefix(s.Key, compactStagingDir+"/"), "/", 3)
		if len(parts) < 3 {
			continue
		}
		seq, err := strconv.ParseUint(parts[1], 10, 64)
		if err != nil || committed[manifestName(seq, parts[0])] {
			continue
		}
		if parts[0] == l.compactWriter() || deadLocal(strings.TrimPrefix(parts[0], "compact-"), host) || time.Since(s.ModTime) > orphanAge {
			if err := l.b.Delete(ctx, s.Key); err != nil {
				return n, fmt.Errorf("recovering compactions: %w", err)
			}
		}
	}
	return n, nil
}

// compactWriter is the writer name of this process's merged files and
// merge manifests: compact-<writer>, apart from the names the writer's own
// transactions use.
func (l *Lake) compactWriter() string { return SafeWriter("compact-" + l.opt.Writer) }

// nextCompactSeq is one more than the highest sequence number of this
// writer's merge manifests and staged merges, or 1 (Compact also looks at
// the merged files' names).
func (l *Lake) nextCompactSeq(ctx context.Context) (uint64, error) {
	var next uint64 = 1
	cw := l.compactWriter()
	for _, dir := range []string{compactManifestDir + "/", compactStagingDir + "/" + cw + "/"} {
		files, err := l.b.List(ctx, dir)
		if err != nil {
			return 0, fmt.Errorf("compacting: %w", err)
		}
		for _, f := range files {
			rest := strings.TrimPrefix(f.Key, dir)
			var seq uint64
			if strings.HasPrefix(dir, compactManifestDir) {
				s, w, ok := parseManifestName(rest)
				if !ok || w != cw {
					continue
				}
				seq = s
			} else {
				s, err := strconv.ParseUint(strings.SplitN(rest, "/", 2)[0], 10, 64)
				if err != nil {
					continue
				}
				seq = s
			}
			next = max(next, seq+1)
		}
	}
	return next, nil
}
