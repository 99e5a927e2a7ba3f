package file

import (
	"context"
	"errors"
	"io"
)

// ErrInterrupted is returned when opening a FIFO is interrupted before a
// writer opened it.
var ErrInterrupted = errors.New("interrupted before any input arrived")

// openStream opens standard input or a FIFO for reading. Opening a FIFO
// blocks until a writer opens it, and reading standard input blocks for as
// long as the writer keeps it open without writing; neither may keep an
// interrupted ingest from ending. So opening and every read run in a
// goroutine: when stop is done the stream ends as if at the end of its
// input (io.EOF; what was read is kept), and when ctx is done Read returns
// ctx's error.
func openStream(stop, ctx context.Context, open func() (io.ReadCloser, error)) (io.ReadCloser, error) {
	type opened struct {
		rc  io.ReadCloser
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		rc, err := open()
		ch <- opened{rc, err}
	}()
	closeLater := func() {
		go func() {
			if o := <-ch; o.rc != nil {
				o.rc.Close()
			}
		}()
	}
	select {
	case o := <-ch:
		if o.err != nil {
			return nil, o.err
		}
		return &streamReader{stop: stop, ctx: ctx, src: o.rc, res: make(chan readResult, 1)}, nil
	case <-stop.Done():
		closeLater()
		return nil, ErrInterrupted
	case <-ctx.Done():
		closeLater()
		return nil, ctx.Err()
	}
}

type readResult struct {
	n   int
	err error
}

// streamReader reads src in a goroutine so that a blocked read can be
// abandoned. It is used from one goroutine, as io.Reader is.
type streamReader struct {
	stop, ctx context.Context
	src       io.ReadCloser
	res       chan readResult // the outcome of the read in flight
	buf       []byte          // what the read in flight reads into
	busy      bool            // a read is in flight
	err       error           // sticky: the stream has ended
}

func (s *streamReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !s.busy {
		if s.stop.Err() != nil {
			s.err = io.EOF
			return 0, s.err
		}
		// A read in flight is abandoned only with a sticky error, so buf
		// is never shared with a previous read still running.
		if cap(s.buf) < len(p) {
			s.buf = make([]byte, len(p))
		}
		buf := s.buf[:len(p)]
		s.busy = true
		go func() {
			n, err := s.src.Read(buf)
			s.res <- readResult{n, err}
		}()
	}
	select {
	case r := <-s.res:
		return s.result(p, r)
	case <-s.stop.Done():
		// Keep data that arrived together with the interrupt.
		select {
		case r := <-s.res:
			return s.result(p, r)
		default:
		}
		s.err = io.EOF
	case <-s.ctx.Done():
		s.err = s.ctx.Err()
	}
	return 0, s.err
}

func (s *streamReader) result(p []byte, r readResult) (int, error) {
	s.busy = false
	n := copy(p, s.buf[:r.n])
	if r.err != nil {
		s.err = r.err
	}
	return n, r.err
}

// Close closes the source, which for a FIFO also ends a read in flight.
func (s *streamReader) Close() error { return s.src.Close() }
