package pipeline

import (
	"context"
	"io"
	"sync"
	"time"
)

// Objects returns a source that yields objs in order.
func Objects(objs ...Object) Source { return &listSource{objs: append([]Object(nil), objs...)} }

type listSource struct {
	mu   sync.Mutex
	objs []Object
}

func (s *listSource) Next(ctx context.Context) (Object, error) {
	if err := ctx.Err(); err != nil {
		return Object{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.objs) == 0 {
		return Object{}, io.EOF
	}
	o := s.objs[0]
	s.objs[0] = Object{}
	s.objs = s.objs[1:]
	return o, nil
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context) (Object, error)

// Next calls f.
func (f SourceFunc) Next(ctx context.Context) (Object, error) { return f(ctx) }

// Merge returns a source that yields the objects of every src as they come,
// so that several sources (buckets, queues, log groups) feed one process's
// single writer. It ends when every source has ended; an error other than
// a *ListError from any source ends it with that error.
func Merge(srcs ...Source) Source {
	m := &merged{out: make(chan mergeItem)}
	m.start = func(ctx context.Context) {
		ctx, m.cancel = context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, src := range srcs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					o, err := src.Next(ctx)
					if err == io.EOF {
						return
					}
					select {
					case m.out <- mergeItem{o, err}:
					case <-ctx.Done():
						return
					}
					if err != nil {
						if _, ok := err.(*ListError); !ok {
							return
						}
					}
				}
			}()
		}
		go func() { wg.Wait(); close(m.out) }()
	}
	return m
}

type mergeItem struct {
	o   Object
	err error
}

type merged struct {
	once   sync.Once
	start  func(ctx context.Context)
	cancel context.CancelFunc
	out    chan mergeItem
}

func (m *merged) Next(ctx context.Context) (Object, error) {
	m.once.Do(func() { m.start(ctx) })
	select {
	case it, ok := <-m.out:
		if !ok {
			return Object{}, io.EOF
		}
		if it.err != nil {
			if _, isList := it.err.(*ListError); !isList {
				m.cancel()
			}
		}
		return it.o, it.err
	case <-ctx.Done():
		m.cancel()
		return Object{}, ctx.Err()
	}
}

// Repeat returns a source that lists again, with list, every interval
// after the previous listing ended, until ctx ends: polling a bucket or a
// directory. Objects listed again are skipped by the ledger while they are
// unchanged.
func Repeat(interval time.Duration, list func(ctx context.Context) (Source, error)) Source {
	var cur Source
	var lastEnd time.Time
	return SourceFunc(func(ctx context.Context) (Object, error) {
		for {
			if cur == nil {
				if !lastEnd.IsZero() {
					t := time.NewTimer(time.Until(lastEnd.Add(interval)))
					select {
					case <-t.C:
					case <-ctx.Done():
						t.Stop()
						return Object{}, ctx.Err()
					}
				}
				src, err := list(ctx)
				if err != nil {
					return Object{}, err
				}
				cur = src
			}
			o, err := cur.Next(ctx)
			if err == io.EOF {
				cur, lastEnd = nil, time.Now()
				continue
			}
			return o, err
		}
	})
}
