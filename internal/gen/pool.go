package gen

import (
	"context"
	"runtime"
)

// maxWorkers bounds the workers of one generator: each holds a compressor
// and buffers (about 1.5 MB), and file creation, not CPU, limits beyond.
const maxWorkers = 8

// workers returns how many file workers a generator uses.
func workers() int { return max(1, min(runtime.GOMAXPROCS(0), maxWorkers)) }

// slot is one job in flight.
type slot[J, R any] struct {
	job  J
	res  R
	err  error
	done chan struct{}
}

// ordered runs work on n goroutines over the jobs produce submits, and
// hands each result to consume in submission order, on the caller's
// goroutine. At most 2n jobs are in flight, which bounds memory. work(i, j)
// runs on worker i, so per-worker state can be indexed by i. The first
// error (from produce, work or consume) stops everything and is returned.
func ordered[J, R any](ctx context.Context, n int, produce func(submit func(J) error) error,
	work func(worker int, j J) (R, error), consume func(R) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *slot[J, R], n)
	exited := make(chan struct{})
	for i := 0; i < n; i++ {
		go func(i int) {
			defer func() { exited <- struct{}{} }()
			for s := range jobs {
				if ctx.Err() != nil {
					s.err = ctx.Err()
				} else {
					s.res, s.err = work(i, s.job)
				}
				close(s.done)
			}
		}(i)
	}
	var fifo []*slot[J, R]
	finish := func(s *slot[J, R]) error {
		<-s.done
		if s.err != nil {
			return s.err
		}
		return consume(s.res)
	}
	submit := func(j J) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(fifo) >= 2*n {
			head := fifo[0]
			fifo = fifo[1:]
			if err := finish(head); err != nil {
				return err
			}
		}
		s := &slot[J, R]{job: j, done: make(chan struct{})}
		fifo = append(fifo, s)
		jobs <- s
		return nil
	}
	err := produce(submit)
	for _, s := range fifo {
		if err != nil {
			cancel()
			<-s.done
			continue
		}
		err = finish(s)
	}
	close(jobs)
	for i := 0; i < n; i++ {
		<-exited
	}
	return err
}
