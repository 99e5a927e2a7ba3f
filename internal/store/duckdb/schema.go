package duckdb

import (
	"fmt"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/schema"
)

// SchemaVersion is the version of the schema this code writes. Stores
// created by older versions are migrated on open; newer ones are refused.
// Version 2 added ingest_warning, version 3 trawl_spill, version 4 the
// ledger's cursor, version 5 cloudtrail's session_name and principal,
// version 6 the enrichment columns (GeoIP and user agent class), version 7
// alerts and their outbox (schemaAlerts), version 8 the cloudtrail view
// that parses raw once per row for its text columns (schemaV8), version 11
// the flow-log top-talker rollup (schemaRollup, rollup.go).
const SchemaVersion = 11

// fromSchema converts store-neutral columns into columns a batch fills.
func fromSchema[T any](cols []schema.Column[T]) []column[T] {
	out := make([]column[T], 0, len(cols))
	for _, sc := range cols {
		var c column[T]
		switch sc.Type {
		case schema.String:
			c = strCol(sc.Name, sc.Str)
		case schema.Timestamp:
			c = timeCol(sc.Name, sc.Time)
		case schema.Bool:
			c = boolCol(sc.Name, sc.Bool)
		case schema.Int32:
			c = intCol(sc.Name, duckdb.TYPE_INTEGER, sc.Int)
		case schema.Int64:
			c = intCol(sc.Name, duckdb.TYPE_BIGINT, sc.Int)
		case schema.Float64:
			c = floatCol(sc.Name, sc.Float)
		default:
			panic(fmt.Sprintf("column %s: unknown type %d", sc.Name, sc.Type))
		}
		c.notNull, c.big = sc.NotNull, sc.Big
		out = append(out, c)
	}
	return out
}

// Big text columns are compressed with zstd across rows: DuckDB's default
// string compression (FSST) costs far more CPU per byte here and compresses
// JSON about half as well. Requires storage version v1.2.0 or later.
const zstd = " USING COMPRESSION zstd"

func strCol[T any](name string, f func(*T) string) column[T] {
	return column[T]{name: name, typ: duckdb.TYPE_VARCHAR, str: f,
		get: func(r *T) any {
			if v := f(r); v != "" {
				return v
			}
			return nil
		},
		has: func(r *T) bool { return f(r) != "" }}
}

func timeCol[T any](name string, f func(*T) time.Time) column[T] {
	return column[T]{name: name, typ: duckdb.TYPE_TIMESTAMP_TZ,
		get: func(r *T) any {
			if v := f(r); !v.IsZero() {
				return v
			}
			return nil
		},
		has: func(r *T) bool { return !f(r).IsZero() }}
}

func boolCol[T any](name string, f func(*T) event.Bool) column[T] {
	return column[T]{name: name, typ: duckdb.TYPE_BOOLEAN,
		get: func(r *T) any { return f(r).Value() },
		has: func(r *T) bool { return f(r) != event.BoolNull }}
}

// intCol is a nullable integer column: f returns the value and whether it
// is set. typ is TYPE_INTEGER (values stored as int32) or TYPE_BIGINT.
func intCol[T any](name string, typ duckdb.Type, f func(*T) (int64, bool)) column[T] {
	c := column[T]{name: name, typ: typ, has: func(r *T) bool { _, ok := f(r); return ok }}
	if typ == duckdb.TYPE_INTEGER {
		c.get = func(r *T) any {
			if v, ok := f(r); ok {
				return int32(v)
			}
			return nil
		}
	} else {
		c.get = func(r *T) any {
			if v, ok := f(r); ok {
				return v
			}
			return nil
		}
	}
	return c
}

// int64Col is a BIGINT column that is never NULL.
func int64Col[T any](name string, f func(*T) int64) column[T] {
	return column[T]{name: name, typ: duckdb.TYPE_BIGINT, has: func(*T) bool { return true }, get: func(r *T) any { return f(r) }}
}

// floatCol is a DOUBLE column that is never NULL.
func floatCol[T any](name string, f func(*T) float64) column[T] {
	return column[T]{name: name, typ: duckdb.TYPE_DOUBLE, has: func(*T) bool { return true }, get: func(r *T) any { return f(r) }}
}

// ctColumns are the stored columns of cloudtrail_base: what people filter
// and group on (schema.CloudTrail). The cloudtrail view adds columns
// computed from raw when a query asks for them (ctComputed). Every stored
// column costs DuckDB time on every row ingested; a computed one costs only
// when it is read. (DuckDB evaluates generated columns on INSERT, so they
// would not save anything.)
var ctColumns = fromSchema(schema.CloudTrail)

// ctComputed are cloudtrail view columns computed from raw at query time:
// the value at path, converted by expr from its text (%s). JSON columns
// are the member at path as JSON, NULL for JSON null.
var ctComputed = []struct{ name, typ, path, expr string }{
	{"event_version", "VARCHAR", "$.eventVersion", "%s"},
	{"user_principal_id", "VARCHAR", "$.userIdentity.principalId", "%s"},
	{"session_issuer_type", "VARCHAR", "$.userIdentity.sessionContext.sessionIssuer.type", "%s"},
	{"session_issuer_arn", "VARCHAR", "$.userIdentity.sessionContext.sessionIssuer.arn", "%s"},
	{"session_created_at", "TIMESTAMPTZ", "$.userIdentity.sessionContext.attributes.creationDate", `coalesce(try_strptime(%[1]s, '%%Y%%m%%dT%%H%%M%%SZ')::TIMESTAMPTZ, TRY_CAST(%[1]s AS TIMESTAMPTZ))`},
	{"source_identity", "VARCHAR", "$.userIdentity.sessionContext.sourceIdentity", "%s"},
	{"identity_store_user_id", "VARCHAR", "$.userIdentity.onBehalfOf.userId", "%s"},
	{"session_credential_from_console", "BOOLEAN", "$.sessionCredentialFromConsole", "TRY_CAST(%s AS BOOLEAN)"},
	{"request_id", "VARCHAR", "$.requestID", "%s"},
	{"shared_event_id", "VARCHAR", "$.sharedEventID", "%s"},
	{"vpc_endpoint_id", "VARCHAR", "$.vpcEndpointId", "%s"},
	{"api_version", "VARCHAR", "$.apiVersion", "%s"},
	{"tls_version", "VARCHAR", "$.tlsDetails.tlsVersion", "%s"},
	{"tls_cipher_suite", "VARCHAR", "$.tlsDetails.cipherSuite", "%s"},
	{"tls_client_host", "VARCHAR", "$.tlsDetails.clientProvidedHostHeader", "%s"},
	{"resources", "JSON", "$.resources", ""},
	{"request_parameters", "JSON", "$.requestParameters", ""},
	{"response_elements", "JSON", "$.responseElements", ""},
	{"additional_event_data", "JSON", "$.additionalEventData", ""},
	{"service_event_details", "JSON", "$.serviceEventDetails", ""},
	{"insight_details", "JSON", "$.insightDetails", ""},
}

// cloudtrailDDL returns the cloudtrail_base table and the cloudtrail view.
// The view's text columns come from one parse of raw per row
// (json_extract_string with a list of paths, trawl_s), not one parse per
// column: SELECT * … ORDER BY … LIMIT computes every column for every row
// before the top-N, and 21 parses per row made it run out of memory
// (docs/query.md has the measurements). The JSON columns, which queries
// filter on one at a time, keep an extraction each: in the list, every
// member would be serialised whichever one a query reads.
func cloudtrailDDL() []string {
	table := tableDDL("cloudtrail_base", ctColumns, "source VARCHAR NOT NULL", "ingested_at TIMESTAMPTZ NOT NULL")
	var b strings.Builder
	var paths []string
	b.WriteString("CREATE OR REPLACE VIEW cloudtrail AS SELECT\n")
	for _, c := range ctColumns {
		if c.name == "raw" {
			for _, v := range ctComputed {
				expr := fmt.Sprintf("nullif(json_extract(raw, '%s'), 'null'::JSON)", v.path)
				if v.typ != "JSON" {
					paths = append(paths, "'"+v.path+"'")
					expr = fmt.Sprintf(v.expr, fmt.Sprintf("trawl_s[%d]", len(paths)))
				}
				fmt.Fprintf(&b, "  CAST(%s AS %s) AS %s,\n", expr, v.typ, v.name)
			}
		}
		fmt.Fprintf(&b, "  %s,\n", quoteIdent(c.name))
	}
	// raw is read in full: the text of a record stored in parts is put
	// together again from trawl_spill (spill.go).
	fmt.Fprintf(&b, `  spill_id,
  source,
  ingested_at
FROM (SELECT *, json_extract_string(raw, [%s]) AS trawl_s
  FROM (SELECT * REPLACE (CASE WHEN b.spill_id IS NULL THEN b.raw
    ELSE (SELECT string_agg(text, '' ORDER BY part) FROM trawl_spill WHERE id = b.spill_id) END AS raw)
  FROM cloudtrail_base b))`, strings.Join(paths, ", "))
	return []string{table, b.String()}
}

var vpcCols = fromSchema(schema.VPCFlow)

func vpcflowDDL() string {
	return tableDDL("vpcflow", vpcCols, "source VARCHAR NOT NULL", "ingested_at TIMESTAMPTZ NOT NULL")
}

// sqlType is the SQL type of a column's DuckDB type.
func sqlType(t duckdb.Type) string {
	switch t {
	case duckdb.TYPE_INTEGER:
		return "INTEGER"
	case duckdb.TYPE_BIGINT:
		return "BIGINT"
	case duckdb.TYPE_DOUBLE:
		return "DOUBLE"
	case duckdb.TYPE_BOOLEAN:
		return "BOOLEAN"
	case duckdb.TYPE_TIMESTAMP_TZ:
		return "TIMESTAMPTZ"
	}
	return "VARCHAR"
}

// tableDDL creates a table from its columns; extra adds columns and keys.
func tableDDL[T any](name string, cols []column[T], extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (\n", name)
	for i, c := range cols {
		typ := sqlType(c.typ)
		if c.notNull {
			typ += " NOT NULL"
		}
		if c.big {
			typ += zstd
		}
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "  %s %s", quoteIdent(c.name), typ)
	}
	for _, e := range extra {
		b.WriteString(",\n  " + e)
	}
	b.WriteString("\n)")
	return b.String()
}

// migrations[v-1] brings a database of schema version v-1 to version v.
var migrations = []func() []string{schemaV1, schemaV2, schemaV3, schemaV4, schemaV5, schemaV6, schemaAlerts, schemaV8, reservedV9, reservedV10, schemaRollup}

// reservedV9 and reservedV10 hold the places of schema versions 9 and 10,
// which other branches add (typed CloudTrail columns; the time-ordered
// layout and text index). The rollup (version 11) creates new tables only
// and does not depend on them: on merging, replace these with the real
// migrations (or renumber schemaRollup).
func reservedV9() []string  { return nil }
func reservedV10() []string { return nil }

// schemaV8 recreates the cloudtrail view so that it parses raw once per
// row for its computed text columns (cloudtrailDDL); the tables do not
// change.
func schemaV8() []string { return []string{cloudtrailDDL()[1]} }

// enrichCT and enrichFlow are the columns of schema version 6: what the
// enrichment stage (internal/enrich) adds to CloudTrail events and flow
// records.
var (
	enrichCT   = []string{"src_country", "src_city", "src_asn", "src_as_org", "ua_class", "ua_family", "ua_version", "ua_os"}
	enrichFlow = []string{"src_country", "src_city", "src_asn", "src_as_org", "dst_country", "dst_city", "dst_asn", "dst_as_org"}
)

// schemaV6 adds the enrichment columns to cloudtrail_base and vpcflow
// (NULL in rows stored before) and recreates the cloudtrail view with
// them. The columns' types come from the tables' column lists.
func schemaV6() []string {
	var stmts []string
	stmts = append(stmts, addColumns("cloudtrail_base", ctColumns, enrichCT)...)
	stmts = append(stmts, addColumns("vpcflow", vpcCols, enrichFlow)...)
	return append(stmts, cloudtrailDDL()[1])
}

// addColumns returns ALTER TABLE statements adding the named columns.
func addColumns[T any](table string, cols []column[T], names []string) []string {
	var stmts []string
	for _, n := range names {
		for _, c := range cols {
			if c.name == n {
				stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s", table, quoteIdent(n), sqlType(c.typ)))
			}
		}
	}
	if len(stmts) != len(names) {
		panic(fmt.Sprintf("%s: the enrichment columns %v are not all in its column list", table, names))
	}
	return stmts
}

// schemaV5 adds the cloudtrail columns session_name and principal, derived
// at ingest (NULL in rows stored before), and recreates the cloudtrail view
// with them. (ADD COLUMN appends them after spill_id in cloudtrail_base;
// the view lists columns by name, so it is the same as in a new store.)
func schemaV5() []string {
	return []string{
		`ALTER TABLE cloudtrail_base ADD COLUMN IF NOT EXISTS session_name VARCHAR`,
		`ALTER TABLE cloudtrail_base ADD COLUMN IF NOT EXISTS principal VARCHAR`,
		cloudtrailDDL()[1],
	}
}

// schemaV4 adds the ledger's cursor column: the position of a stream
// source, committed with the rows read up to it.
func schemaV4() []string {
	return []string{`ALTER TABLE ingest_ledger ADD COLUMN IF NOT EXISTS cursor VARCHAR`}
}

// schemaV3 adds trawl_spill, which holds the text of large records in
// parts (spill.go), and makes the cloudtrail view read it.
func schemaV3() []string {
	return []string{
		`CREATE SEQUENCE IF NOT EXISTS trawl_spill_id`,
		`CREATE TABLE IF NOT EXISTS trawl_spill (
  id BIGINT NOT NULL,
  part INTEGER NOT NULL,
  text VARCHAR NOT NULL` + zstd + `
)`,
		`ALTER TABLE cloudtrail_base ADD COLUMN IF NOT EXISTS spill_id BIGINT`,
		cloudtrailDDL()[1],
	}
}

// schemaV2 adds ingest_warning: values that could not be stored as they
// were (replaced by NULL or a readable form) while the record was kept.
func schemaV2() []string {
	return []string{tableDDL("ingest_warning", warningColumns, "warned_at TIMESTAMPTZ NOT NULL")}
}

// schemaV1 creates every table of schema version 1.
func schemaV1() []string {
	stmts := []string{`CREATE TABLE IF NOT EXISTS trawl_meta (key VARCHAR PRIMARY KEY, value VARCHAR)`}
	stmts = append(stmts, cloudtrailDDL()[0]) // the view is created by schemaV3
	return append(stmts,
		vpcflowDDL(),
		tableDDL("guardduty_finding", findingColumns, "source VARCHAR NOT NULL", "ingested_at TIMESTAMPTZ NOT NULL", "PRIMARY KEY (id)"),
		tableDDL("guardduty_finding_history", findingColumns, "source VARCHAR NOT NULL", "ingested_at TIMESTAMPTZ NOT NULL", "PRIMARY KEY (id, updated_at)"),
		`CREATE TABLE IF NOT EXISTS cloudtrail_digest (
  digest_object VARCHAR PRIMARY KEY,
  digest_bucket VARCHAR,
  account_id VARCHAR,
  digest_start TIMESTAMPTZ,
  digest_end TIMESTAMPTZ,
  oldest_event_time TIMESTAMPTZ,
  newest_event_time TIMESTAMPTZ,
  previous_digest_bucket VARCHAR,
  previous_digest_object VARCHAR,
  previous_digest_hash VARCHAR,
  previous_digest_hash_algorithm VARCHAR,
  public_key_fingerprint VARCHAR,
  signature_algorithm VARCHAR,
  log_file_count INTEGER,
  raw VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  ingested_at TIMESTAMPTZ NOT NULL
)`,
		`CREATE TABLE IF NOT EXISTS cloudtrail_digest_file (
  digest_object VARCHAR NOT NULL,
  s3_bucket VARCHAR,
  s3_object VARCHAR NOT NULL,
  hash_value VARCHAR,
  hash_algorithm VARCHAR,
  oldest_event_time TIMESTAMPTZ,
  newest_event_time TIMESTAMPTZ,
  PRIMARY KEY (digest_object, s3_object)
)`,
		`CREATE TABLE IF NOT EXISTS ingest_ledger (
  object VARCHAR PRIMARY KEY,
  size BIGINT,
  modified_at TIMESTAMPTZ,
  etag VARCHAR,
  sha256 VARCHAR,
  status VARCHAR NOT NULL,
  units BIGINT NOT NULL,
  records BIGINT NOT NULL,
  duplicates BIGINT NOT NULL,
  quarantined BIGINT NOT NULL,
  kinds VARCHAR,
  first_ingested_at TIMESTAMPTZ NOT NULL,
  last_ingested_at TIMESTAMPTZ NOT NULL,
  error VARCHAR
)`,
		`CREATE TABLE IF NOT EXISTS quarantine (
  object VARCHAR NOT NULL,
  kind VARCHAR,
  line BIGINT,
  byte_offset BIGINT,
  record BIGINT,
  reason VARCHAR NOT NULL,
  snippet VARCHAR,
  quarantined_at TIMESTAMPTZ NOT NULL
)`,
	)
}

// quoteIdent quotes a column name (some, like "type", "count", "source",
// "end" or "bytes", are SQL keywords).
func quoteIdent(s string) string { return `"` + s + `"` }

// InternalTables are the tables (and the view-backing tables) trawl keeps
// for itself: `trawl schema` and `trawl query 'SHOW TABLES'` leave them out
// (they can still be queried). cloudtrail_base is read through the
// cloudtrail view, alert_base and alert_hit through alert.
var InternalTables = []string{"trawl_meta", "trawl_spill", "cloudtrail_base", "alert_base", "alert_hit", "alert_outbox", "flow_rollup_state", "flow_rollup_top"}
