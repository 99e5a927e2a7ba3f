package clickhouse

import (
	"context"
	"strings"
)

// Variant is a flavour of the DDL: what the server supports.
type Variant int

// Variants.
const (
	// Legacy is for ClickHouse 18.16 to 19.x: no LowCardinality, CODEC,
	// TTL, skipping indexes, IPv4 or Map.
	Legacy Variant = iota + 1
	// Modern is for ClickHouse 20.3 and later.
	Modern
)

// VariantFor picks the variant for a server version ("18.16.1", "23.8.2.7").
func VariantFor(version string) Variant {
	major, _, _ := strings.Cut(version, ".")
	if n := atoiOr(major, 0); n >= 20 {
		return Modern
	}
	return Legacy
}

func atoiOr(s string, def int) int {
	n := 0
	if s == "" {
		return def
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return def
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// internalTables are tables SHOW TABLES leaves out.
var internalTables = []string{"trawl_meta"}

func (s *Store) migrate(ctx context.Context) error {
	return s.c.exec(ctx, "CREATE DATABASE IF NOT EXISTS "+QuoteIdent(s.dsn.Database), map[string][]string{"database": {"system"}})
}
