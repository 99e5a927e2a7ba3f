package pipeline_test

import (
	"context"
	"errors"
	"testing"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/pipeline"
)

// concreteTx is a store's own transaction type.
type concreteTx struct{}

func (*concreteTx) Write(context.Context, *event.Batch) error            { return nil }
func (*concreteTx) ForgetObject(context.Context, string) error           { return nil }
func (*concreteTx) Commit(context.Context, []pipeline.LedgerEntry) error { return nil }
func (*concreteTx) Rollback() error                                      { return nil }
func (*concreteTx) Flush(context.Context) (map[pipeline.DupKey]int64, error) {
	return nil, nil
}

type concreteStore struct{ err error }

func (s concreteStore) LedgerEntries(context.Context, []string) (map[string]pipeline.LedgerEntry, error) {
	return map[string]pipeline.LedgerEntry{"o": {Object: "o"}}, nil
}

func (s concreteStore) Begin(context.Context) (*concreteTx, error) {
	if s.err != nil {
		return nil, s.err
	}
	return &concreteTx{}, nil
}

// TestStoreOf: the adapter passes the ledger through, returns the store's
// transaction, and on an error a nil Tx interface (a typed nil would pass
// a "tx != nil" check and crash on use).
func TestStoreOf(t *testing.T) {
	ctx := context.Background()
	st := pipeline.StoreOf[*concreteTx](concreteStore{})
	if e, err := st.LedgerEntries(ctx, []string{"o"}); err != nil || e["o"].Object != "o" {
		t.Errorf("ledger %v %v", e, err)
	}
	if tx, err := st.Begin(ctx); err != nil || tx == nil {
		t.Errorf("Begin: %v %v", tx, err)
	}
	boom := errors.New("boom")
	tx, err := pipeline.StoreOf[*concreteTx](concreteStore{err: boom}).Begin(ctx)
	if !errors.Is(err, boom) || tx != nil {
		t.Errorf("failing Begin: tx %#v (want a nil interface), err %v", tx, err)
	}
}
