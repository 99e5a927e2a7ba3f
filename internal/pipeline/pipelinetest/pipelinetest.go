// Package pipelinetest has helpers for tests of the pipeline and of
// sources run through it.
package pipelinetest

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/trawl-project/trawl/internal/ledger"
	"github.com/trawl-project/trawl/internal/pipeline"
)

// ErrCrash is what CrashingStore's failing commit returns.
var ErrCrash = errors.New("crash before commit")

// CrashingStore fails the Nth commit of its transactions, counted in
// Commits across every transaction: that transaction's rows, ledger
// entries and cursors are lost, as in a crash (and anything flushed to a
// sink before it is not).
type CrashingStore struct {
	pipeline.Store
	N       int32
	Commits *atomic.Int32
}

// Begin starts a transaction whose Commit may crash.
func (c CrashingStore) Begin(ctx context.Context) (pipeline.Tx, error) {
	tx, err := c.Store.Begin(ctx)
	return crashingTx{tx, c}, err
}

type crashingTx struct {
	pipeline.Tx
	c CrashingStore
}

func (t crashingTx) Commit(ctx context.Context, entries []ledger.Entry) error {
	if t.c.Commits.Add(1) == t.c.N {
		_ = t.Tx.Rollback()
		return ErrCrash
	}
	return t.Tx.Commit(ctx, entries)
}
