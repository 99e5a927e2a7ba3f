package sigma

import (
	"context"

	"github.com/trawl-project/trawl/internal/event"
)

// Processor evaluates rules on every CloudTrail record of a batch and calls
// OnMatch for each (rule, event) that matches. It implements
// pipeline.Processor and changes nothing in the batch.
//
// The pipeline runs processors on several workers at once, so OnMatch may
// be called concurrently, and must not keep e after it returns (the batch
// is reused): copy what it needs.
type Processor struct {
	Rules   []*Rule
	OnMatch func(rule *Rule, e *event.CloudTrail)
}

// Process evaluates every rule on every CloudTrail record of b. It stops
// early, returning the context's error, when ctx is done.
func (p *Processor) Process(ctx context.Context, b *event.Batch) error {
	for i := range b.CloudTrail {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		e := &b.CloudTrail[i]
		for _, r := range p.Rules {
			if r.Match(e) {
				p.OnMatch(r, e)
			}
		}
	}
	return nil
}
