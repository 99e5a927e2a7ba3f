package pipeline

import (
	"context"
	"io"
	"iter"
)

// Generator turns a function that yields objects into a Source: stream
// sources (CloudWatch Logs, CloudTrail's event history) write their reading
// loop as one function instead of a state machine. The function reads the
// context of the Next call in progress with Ctx. Embed it and set Run.
type Generator struct {
	// Run yields objects, or an error that ends the source; returning ends
	// it with io.EOF.
	Run func(yield func(Object, error) bool)

	ctx  context.Context
	next func() (Object, error, bool)
	stop func()
	err  error
}

// Ctx returns the context of the Next call in progress.
func (g *Generator) Ctx() context.Context { return g.ctx }

// Next returns the next object Run yields, io.EOF once it has returned, or
// the error that ended it.
func (g *Generator) Next(ctx context.Context) (Object, error) {
	if g.err != nil {
		return Object{}, g.err
	}
	if g.next == nil {
		g.next, g.stop = iter.Pull2(g.Run)
	}
	g.ctx = ctx
	o, err, ok := g.next()
	if !ok {
		g.err = io.EOF
		return Object{}, io.EOF
	}
	if err != nil {
		g.err = err
		g.stop()
	}
	return o, err
}

// Close ends the source early, releasing what Run holds.
func (g *Generator) Close() error {
	if g.stop != nil {
		g.stop()
	}
	if g.err == nil {
		g.err = io.EOF
	}
	return nil
}
