package duckdb

import (
	"regexp"
	"strings"
)

// ipv4Re matches a dotted-quad IPv4 address without leading zeros (as Go's
// net/netip parses it).
const ipv4Re = `((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])`

// macros are SQL helpers created as temporary macros on every connection
// (so they work on a database opened read-only, are never stored in the
// file, and do not show in SHOW TABLES). docs/query.md documents them.
var macros = []string{
	// param(json, key) is a value of a JSON column as text: key is a
	// member name ('userName') or a JSON path ('$.policy.arn'). Unlike
	// json->>'$.key' it needs no parentheses before = (->> binds more
	// loosely than = in DuckDB).
	`CREATE OR REPLACE TEMP MACRO param(j, key) AS
  json_extract_string(j, CASE WHEN starts_with(key, '$') THEN key ELSE '$."' || replace(key, '"', '\"') || '"' END)`,
	// trawl_ipv4(ip) is an IPv4 address as a BIGINT, NULL if ip is not one.
	`CREATE OR REPLACE TEMP MACRO trawl_ipv4(ip) AS
  CASE WHEN regexp_full_match(CAST(ip AS VARCHAR), '` + ipv4Re + `') THEN
    TRY_CAST(split_part(CAST(ip AS VARCHAR), '.', 1) AS BIGINT) * 16777216
    + TRY_CAST(split_part(CAST(ip AS VARCHAR), '.', 2) AS BIGINT) * 65536
    + TRY_CAST(split_part(CAST(ip AS VARCHAR), '.', 3) AS BIGINT) * 256
    + TRY_CAST(split_part(CAST(ip AS VARCHAR), '.', 4) AS BIGINT) END`,
	// cidr_contains(cidr, ip): whether the IPv4 network cidr ('10.0.0.0/8';
	// an address alone is a /32) holds ip. NULL if either is NULL, false if
	// either is not an IPv4 address or network (IPv6 included).
	`CREATE OR REPLACE TEMP MACRO cidr_contains(cidr, ip) AS
  CASE WHEN cidr IS NULL OR ip IS NULL THEN NULL
  WHEN NOT regexp_full_match(CAST(cidr AS VARCHAR), '` + ipv4Re + `(/(3[0-2]|[12]?[0-9]))?') THEN false
  ELSE coalesce(
    trawl_ipv4(ip) // (1::BIGINT << (32 - coalesce(TRY_CAST(nullif(split_part(CAST(cidr AS VARCHAR), '/', 2), '') AS BIGINT), 32)))
    = trawl_ipv4(split_part(CAST(cidr AS VARCHAR), '/', 1)) // (1::BIGINT << (32 - coalesce(TRY_CAST(nullif(split_part(CAST(cidr AS VARCHAR), '/', 2), '') AS BIGINT), 32))),
    false) END`,
	// is_private(ip): whether ip is a private address as Go's
	// netip.Addr.IsPrivate defines it: 10.0.0.0/8, 172.16.0.0/12,
	// 192.168.0.0/16 (RFC 1918, also as ::ffff:10.1.2.3) and fc00::/7
	// (RFC 4193). NULL for NULL,
	// false for anything else.
	`CREATE OR REPLACE TEMP MACRO is_private(ip) AS
  CASE WHEN ip IS NULL THEN NULL ELSE
    list_bool_or([cidr_contains(c, regexp_replace(CAST(ip AS VARCHAR), '^::[fF]{4}:', ''))
      FOR c IN ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']])
    OR regexp_full_match(CAST(ip AS VARCHAR), '[fF][cCdD][0-9a-fA-F]{2}:[0-9a-fA-F:.]*') END`,
}

// castHint recognises DuckDB's error for `json->>'$.key' = 'text'` (which
// it reads as json->>('$.key' = 'text'), or with AND before it as
// (x AND json)->>…) and returns advice; "" when it does not apply.
func castHint(query string, err error) string {
	msg := err.Error()
	if !strings.Contains(query, "->>") && !strings.Contains(query, "->") {
		return ""
	}
	if !strings.Contains(msg, "Failed to cast value to numerical") && !strings.Contains(msg, "to BOOLEAN") &&
		!strings.Contains(msg, "Could not convert string") && !strings.Contains(msg, "Binder Error: No function matches") {
		return ""
	}
	paren, fn := "(request_parameters->>'$.userName') = 'alice'", "param(request_parameters, 'userName') = 'alice'"
	if m := arrowCmp.FindStringSubmatch(query); m != nil {
		rest := m[4] + " " + m[5]
		paren = "(" + m[1] + "->>'" + m[2] + "') " + rest
		fn = "param(" + m[1] + ", '" + strings.TrimPrefix(m[2], "$.") + "') " + rest
	}
	return "hint: in DuckDB ->> binds more loosely than = and AND, so put the JSON lookup in parentheses: " +
		paren + ", or use param(): " + fn
}

// arrowCmp finds the first `col->>'path' op value` in a query, for the hint.
var arrowCmp = regexp.MustCompile(`(?i)([a-z_][a-z0-9_.]*)\s*->>?\s*'([^']*)'(\s*)(=|<>|!=|<=|>=|<|>|NOT LIKE|LIKE|ILIKE)\s*('[^']*'|[0-9.]+)`)
