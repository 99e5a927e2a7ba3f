package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/trawl-project/trawl/internal/ledger"
)

// Paths under <root>/_trawl.
const (
	metaDir      = "_trawl"
	stagingDir   = metaDir + "/staging"
	manifestDir  = metaDir + "/manifests"
	publishedDir = metaDir + "/published"
	// QuarantineDir, WarningsDir and DigestsDir hold NDJSON files (one per
	// commit, <seq>-<writer>.ndjson) of quarantine entries, ingest
	// warnings and CloudTrail digests, relative to the lake root.
	QuarantineDir = metaDir + "/quarantine"
	WarningsDir   = metaDir + "/warnings"
	DigestsDir    = metaDir + "/digests"
)

// manifestVersion is the version of the manifest format this code writes
// and reads.
const manifestVersion = 1

// Manifest is one commit of one writer: the files it publishes and the
// ingest state it records. It is written atomically before any of its
// files is published, so it is the commit point: recovery publishes the
// files of every manifest (Open, and running writers' PublishAbandoned),
// and staging files no manifest names are never published.
type Manifest struct {
	Version int       `json:"version"`
	Writer  string    `json:"writer"`
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Files   []File    `json:"files"`
	// Ledger are the ingest ledger entries committed (pipeline.Store mode).
	Ledger []ledger.Entry `json:"ledger,omitempty"`
	// Units is, per object, the number of its units whose records are
	// held once this commit is published (a record of unit u is held when
	// u < Units[object]).
	Units map[string]int64 `json:"units,omitempty"`
}

// File is one file of a commit.
type File struct {
	Staging string `json:"staging"` // relative to the lake root
	Final   string `json:"final"`   // relative to the lake root
	Table   string `json:"table,omitempty"`
	Rows    int64  `json:"rows"`
	Bytes   int64  `json:"bytes"`
}

func manifestName(seq uint64, writer string) string {
	return fmt.Sprintf("%010d-%s", seq, SafeWriter(writer))
}

// parseManifestName splits <seq>-<writer>[.json].
func parseManifestName(base string) (seq uint64, writer string, ok bool) {
	base = strings.TrimSuffix(path.Base(base), ".json")
	s, w, found := strings.Cut(base, "-")
	if !found {
		return 0, "", false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return n, w, true
}

func readManifest(ctx context.Context, b backend, key string) (*Manifest, error) {
	data, err := b.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("lake manifest %s: %w", key, err)
	}
	if m.Version != manifestVersion {
		return nil, fmt.Errorf("lake manifest %s: version %d, this trawl reads %d", key, m.Version, manifestVersion)
	}
	return &m, nil
}

// publish moves a committed manifest's files to their final names and
// marks the manifest published.
func (l *Lake) publish(ctx context.Context, m *Manifest) error {
	name := manifestName(m.Seq, m.Writer)
	for i, f := range m.Files {
		if i == 1 {
			if err := l.at(ctx, "publishing"); err != nil {
				return err
			}
		}
		if err := l.b.Rename(ctx, f.Staging, f.Final); err != nil {
			return fmt.Errorf("publishing commit %s: %w", name, err)
		}
	}
	if err := l.b.PutAtomic(ctx, publishedDir+"/"+name, nil); err != nil {
		return fmt.Errorf("marking commit %s published: %w", name, err)
	}
	return nil
}

// orphanAge is the age after which another writer's staging files that no
// manifest names are deleted: its transaction is taken as abandoned.
const orphanAge = 24 * time.Hour

// recover publishes every manifest not marked published, deletes staging
// files no manifest names (of this writer, of a dead process of this host,
// or older than orphanAge), and returns the next sequence number for this
// writer.
func (l *Lake) recover(ctx context.Context) (uint64, error) {
	mans, err := l.b.List(ctx, manifestDir+"/")
	if err != nil {
		return 0, err
	}
	pubs, err := l.b.List(ctx, publishedDir+"/")
	if err != nil {
		return 0, err
	}
	published := map[string]bool{}
	for _, p := range pubs {
		published[path.Base(p.Key)] = true
	}
	committed := map[string]bool{} // <seq>-<writer> of every manifest
	self := SafeWriter(l.opt.Writer)
	var next uint64 = 1
	for _, m := range mans {
		base := strings.TrimSuffix(path.Base(m.Key), ".json")
		seq, w, ok := parseManifestName(base)
		if !ok {
			continue
		}
		committed[base] = true
		if w == self && seq >= next {
			next = seq + 1
		}
		if published[base] {
			continue
		}
		man, err := readManifest(ctx, l.b, m.Key)
		if err != nil {
			return 0, fmt.Errorf("recovering: %w", err)
		}
		if err := l.publish(ctx, man); err != nil {
			return 0, fmt.Errorf("recovering: %w", err)
		}
	}
	staged, err := l.b.List(ctx, stagingDir+"/")
	if err != nil {
		return 0, err
	}
	host, _ := os.Hostname()
	for _, s := range staged {
		// _trawl/staging/<writer>/<seq>/…
		rest := strings.TrimPrefix(s.Key, stagingDir+"/")
		parts := strings.SplitN(rest, "/", 3)
		if len(parts) < 3 {
			continue
		}
		w := parts[0]
		seq, err := strconv.ParseUint(parts[1], 10, 64)
		if err != nil {
			continue
		}
		if w == self && seq >= next {
			next = seq + 1
		}
		if committed[manifestName(seq, w)] {
			continue // published above; a leftover copy on S3 is deleted below too
		}
		if w == self || deadLocal(w, host) || time.Since(s.ModTime) > orphanAge {
			if err := l.b.Delete(ctx, s.Key); err != nil {
				return 0, fmt.Errorf("recovering: %w", err)
			}
		}
	}
	return next, nil
}

// deadLocal reports whether writer names a process of this host (the
// default name, hostname-pid) that no longer runs.
func deadLocal(writer, host string) bool {
	pid, ok := strings.CutPrefix(writer, SafeWriter(host)+"-")
	if !ok {
		return false
	}
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 || n == os.Getpid() {
		return false
	}
	return errors.Is(syscall.Kill(n, 0), syscall.ESRCH)
}

// refresh reads the manifests not read yet into the ledger cache.
func (l *Lake) refresh(ctx context.Context) error {
	mans, err := l.b.List(ctx, manifestDir+"/")
	if err != nil {
		return err
	}
	for _, m := range mans {
		base := strings.TrimSuffix(path.Base(m.Key), ".json")
		l.mu.Lock()
		seen := l.seen[base]
		l.mu.Unlock()
		if seen {
			continue
		}
		man, err := readManifest(ctx, l.b, m.Key)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return err
		}
		l.mu.Lock()
		l.absorb(base, man)
		l.mu.Unlock()
	}
	return nil
}

// absorb merges a manifest into the ledger cache; l.mu is held.
func (l *Lake) absorb(base string, m *Manifest) {
	if l.seen[base] {
		return
	}
	l.seen[base] = true
	for _, e := range m.Ledger {
		old, ok := l.ledger[e.Object]
		if !ok || better(e, m.Time, old.Entry, old.at) {
			l.ledger[e.Object] = timedEntry{e, m.Time}
		}
	}
	for o, u := range m.Units {
		if u > l.held[o] {
			l.held[o] = u
		}
	}
}

// timedEntry is a ledger entry and the time of its commit.
type timedEntry struct {
	ledger.Entry
	at time.Time
}

// better reports whether ledger entry a, committed at ta, supersedes b,
// committed at tb (entries of one object from several commits, maybe of
// several writers): more units, then done over partial, then the later
// commit; for stream cursors the later commit.
func better(a ledger.Entry, ta time.Time, b ledger.Entry, tb time.Time) bool {
	if a.Status == ledger.StatusCursor || b.Status == ledger.StatusCursor {
		return !ta.Before(tb)
	}
	if a.Units != b.Units {
		return a.Units > b.Units
	}
	if (a.Status == ledger.StatusDone) != (b.Status == ledger.StatusDone) {
		return a.Status == ledger.StatusDone
	}
	return !ta.Before(tb)
}
