package clickhouse

// DefaultBatchRows is the number of rows per INSERT.
const DefaultBatchRows = 50000
