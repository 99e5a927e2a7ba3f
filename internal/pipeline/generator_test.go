package pipeline_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/trawl-project/trawl/internal/pipeline"
)

type ctxKey struct{}

func TestGenerator(t *testing.T) {
	ctx := context.WithValue(context.Background(), ctxKey{}, "call")
	boom := errors.New("boom")
	var g pipeline.Generator
	g.Run = func(yield func(pipeline.Object, error) bool) {
		if g.Ctx() != ctx {
			t.Error("Run does not see the context of Next")
		}
		if !yield(pipeline.Object{Name: "a"}, nil) || !yield(pipeline.Object{Name: "b"}, nil) {
			return
		}
		yield(pipeline.Object{}, boom)
	}
	for _, want := range []string{"a", "b"} {
		if o, err := g.Next(ctx); err != nil || o.Name != want {
			t.Fatalf("Next: %q, %v; want %q", o.Name, err, want)
		}
	}
	for i := 0; i < 2; i++ { // the error ends the source, and stays
		if _, err := g.Next(ctx); !errors.Is(err, boom) {
			t.Fatalf("Next after the error: %v", err)
		}
	}
	var h pipeline.Generator
	h.Run = func(yield func(pipeline.Object, error) bool) { yield(pipeline.Object{Name: "x"}, nil) }
	if _, err := h.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Next(ctx); err != io.EOF {
		t.Errorf("after Run returned: %v, want io.EOF", err)
	}
	var c pipeline.Generator
	c.Run = func(yield func(pipeline.Object, error) bool) {
		for yield(pipeline.Object{Name: "forever"}, nil) {
		}
	}
	c.Next(ctx)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(ctx); err != io.EOF {
		t.Errorf("after Close: %v, want io.EOF", err)
	}
}
