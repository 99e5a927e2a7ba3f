package layout

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
)

// keySet is a sorted set of keys, stored or computed.
type keySet interface {
	Len() int
	At(i int) string
}

type sortedKeys []string

func (s sortedKeys) Len() int        { return len(s) }
func (s sortedKeys) At(i int) string { return s[i] }

// call is one LIST request (one page).
type call struct {
	Prefix, Delimiter, StartAfter string
	Page                          int // 0 for the first page
}

// memLister is an in-memory ListObjectsV2 (1,000 entries a page, prefixes
// and objects counted together, as S3 does) that records every request.
type memLister struct {
	keys     keySet
	size     func(key string) int64
	pageSize int

	mu    sync.Mutex
	calls []call
}

func newMem(keys []string) *memLister {
	k := slices.Clone(keys)
	slices.Sort(k)
	return &memLister{keys: sortedKeys(slices.Compact(k))}
}

func (m *memLister) reset() []call {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.calls
	m.calls = nil
	return c
}

// after is the least string greater than every string that starts with p.
func after(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\xff\xff\xff\xff"
}

func (m *memLister) List(ctx context.Context, bucket, prefix, delimiter, startAfter string, page func([]string, []Object) error) error {
	size := m.pageSize
	if size == 0 {
		size = 1000
	}
	n := m.keys.Len()
	from := prefix
	i := sort.Search(n, func(i int) bool { return m.keys.At(i) >= from })
	if startAfter != "" {
		j := sort.Search(n, func(i int) bool { return m.keys.At(i) > startAfter })
		i = max(i, j)
	}
	for pageNo := 0; ; pageNo++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		m.mu.Lock()
		m.calls = append(m.calls, call{prefix, delimiter, startAfter, pageNo})
		m.mu.Unlock()
		var prefixes []string
		var objects []Object
		for ; i < n && len(prefixes)+len(objects) < size; i++ {
			k := m.keys.At(i)
			if !strings.HasPrefix(k, prefix) {
				i = n
				break
			}
			if delimiter != "" {
				if d := strings.Index(k[len(prefix):], delimiter); d >= 0 {
					cp := k[:len(prefix)+d+len(delimiter)]
					prefixes = append(prefixes, cp)
					stop := after(cp)
					i = sort.Search(n, func(i int) bool { return m.keys.At(i) >= stop }) - 1
					continue
				}
			}
			o := Object{Key: k, ETag: `"e"`}
			if m.size != nil {
				o.Size = m.size(k)
			}
			objects = append(objects, o)
		}
		if err := page(prefixes, objects); err != nil {
			return err
		}
		if i >= n || !strings.HasPrefix(m.keys.At(i), prefix) {
			return nil
		}
	}
}
