package app

import (
	"context"
	"errors"
)

// openClickHouse opens a ClickHouse store (contract: clickhouse.Open).
func openClickHouse(ctx context.Context, opt Options) (*Store, error) {
	return nil, errors.New("clickhouse: not built yet")
}
