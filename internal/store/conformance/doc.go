// Package conformance is the store conformance suite: its tests ingest the
// same generated data set (internal/gen: every record shape, the attack
// story, duplicates, GuardDuty updates) through the real pipeline into a
// DuckDB store and a ClickHouse store (a real clickhouse-server started by
// internal/store/clickhouse/chtest) and assert that searches, dashboard
// panels and the HTTP API's answers are identical on both. The package
// has no code of its own outside its tests; docs/conformance.md lists what
// it covers.
package conformance
