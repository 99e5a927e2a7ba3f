package duckdb

import (
	"fmt"
	"slices"
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
// that parses raw once per row for its text columns (schemaV8), version 9
// those text columns and typed request-parameter columns stored at ingest
// (schemaV9), version 10 the free-text index (schemaV10, textindex.go),
// version 11 the flow-log top-talker rollup (schemaRollup, rollup.go),
// version 12 the cloudtrail view without a correlated subquery (schemaV12).
const SchemaVersion = 12

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
// and group on (schema.CloudTrail). The cloudtrail view adds the JSON
// columns, computed from raw when a query asks for them (ctComputed).
// Every stored column costs DuckDB time on every row ingested; a computed
// one costs only when it is read. (DuckDB evaluates generated columns on
// INSERT, so they would not save anything.)
var ctColumns = fromSchema(schema.CloudTrail)

// ctText are the cloudtrail view's text columns computed from raw at
// query time, all from one parse of raw per row (json_extract_string with
// a list of paths): the value at path, converted by expr from its text
// (%s).
var ctText = []struct{ name, typ, path, expr string }{
	{"event_version", "VARCHAR", "$.eventVersion", "%s"},
	{"user_principal_id", "VARCHAR", "$.userIdentity.principalId", "%s"},
	{"session_created_at", "TIMESTAMPTZ", "$.userIdentity.sessionContext.attributes.creationDate", creationDate},
	{"request_id", "VARCHAR", "$.requestID", "%s"},
	{"api_version", "VARCHAR", "$.apiVersion", "%s"},
	{"tls_version", "VARCHAR", "$.tlsDetails.tlsVersion", "%s"},
	{"tls_cipher_suite", "VARCHAR", "$.tlsDetails.cipherSuite", "%s"},
	{"tls_client_host", "VARCHAR", "$.tlsDetails.clientProvidedHostHeader", "%s"},
}

// creationDate converts a session's creationDate text (%[1]s), basic or
// extended ISO 8601, to a time.
const creationDate = `coalesce(try_strptime(%[1]s, '%%Y%%m%%dT%%H%%M%%SZ')::TIMESTAMPTZ, TRY_CAST(%[1]s AS TIMESTAMPTZ))`

// ctComputed are the cloudtrail view's JSON columns, computed from raw at
// query time: the member at path as JSON, NULL for JSON null.
var ctComputed = []struct{ name, path string }{
	{"resources", "$.resources"},
	{"request_parameters", "$.requestParameters"},
	{"response_elements", "$.responseElements"},
	{"additional_event_data", "$.additionalEventData"},
	{"service_event_details", "$.serviceEventDetails"},
	{"insight_details", "$.insightDetails"},
}

// spillRaw is the text of a cloudtrail_base row b: raw, or for a record
// stored in parts (spill.go) its parts put together again. (For the
// migration, which reads cloudtrail_base alone.)
const spillRaw = `CASE WHEN b.spill_id IS NULL THEN b.raw
    ELSE (SELECT string_agg(text, '' ORDER BY part) FROM trawl_spill WHERE id = b.spill_id) END`

// unspilled is cloudtrail_base with the text of records stored in parts
// (spill.go) put together again: the rows without parts, and those with
// parts with their texts, read by a correlated subquery for those rows
// only. (Version 11's view had the subquery in a CASE over every row, which
// DuckDB planned as a join of every row even for queries that do not read
// raw: the newest 100 of a day of 10M events took 0.54 s through the view
// and 0.11 s on the table; 0.17 s with this. Joining the parts grouped by
// id instead put every large record together for any query that reads
// raw, and ran out of memory in TestLargeRecordsCommit.)
const unspilled = `SELECT * FROM cloudtrail_base WHERE spill_id IS NULL
  UNION ALL
  SELECT b.* REPLACE ((SELECT string_agg(text, '' ORDER BY part) FROM trawl_spill WHERE id = b.spill_id) AS raw)
  FROM cloudtrail_base b WHERE b.spill_id IS NOT NULL`

// cloudtrailDDL returns the cloudtrail_base table and the cloudtrail view.
// Since schema version 9 most text columns are stored; the view computes
// the others (ctText, one parse of raw per row for all of them) and the
// JSON columns (one extraction each), which a query pays for only when it
// reads them: DuckDB drops the unused ones. The text of records stored in
// parts (spill.go) is put together by a correlated subquery, planned only
// when a query reads raw or a computed column. (A LEFT JOIN with
// trawl_spill's texts grouped by id made SELECT * … LIMIT about 1.6×
// faster but puts every spilled record together for any query that reads
// raw: 600 records of 256 KB ran out of 128 MB.) Either keeps DuckDB from
// materialising raw and the computed columns late (after the top-N), so
// SELECT * … ORDER BY … LIMIT still computes them for every row it reads
// (docs/performance.md, "Search storage").
func cloudtrailDDL() []string {
	table := tableDDL("cloudtrail_base", ctColumns, "source VARCHAR NOT NULL", "ingested_at TIMESTAMPTZ NOT NULL", textBlockColumn)
	var b strings.Builder
	var paths []string
	b.WriteString("CREATE OR REPLACE VIEW cloudtrail AS SELECT\n")
	for _, c := range ctColumns {
		if c.name == "raw" {
			for _, v := range ctText {
				paths = append(paths, "'"+v.path+"'")
				fmt.Fprintf(&b, "  CAST(%s AS %s) AS %s,\n", fmt.Sprintf(v.expr, fmt.Sprintf("trawl_s[%d]", len(paths))), v.typ, v.name)
			}
			for _, v := range ctComputed {
				fmt.Fprintf(&b, "  CAST(nullif(json_extract(raw, '%s'), 'null'::JSON) AS JSON) AS %s,\n", v.path, v.name)
			}
		}
		fmt.Fprintf(&b, "  %s,\n", quoteIdent(c.name))
	}
	fmt.Fprintf(&b, `  spill_id,
  source,
  ingested_at,
  text_block
FROM (SELECT *, json_extract_string(raw, [%s]) AS trawl_s
  FROM (%s))`, strings.Join(paths, ", "), unspilled)
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
var migrations = []func() []string{schemaV1, schemaV2, schemaV3, schemaV4, schemaV5, schemaV6, schemaAlerts, schemaV8, schemaV9, schemaV10, schemaRollup, schemaV12}

// schemaV12 recreates the cloudtrail view, which now puts records stored
// in parts together with a join that queries not reading raw skip
// (unspilled); the tables do not change.
func schemaV12() []string { return []string{cloudtrailDDL()[1]} }

// v9Columns are the columns schema version 9 adds to cloudtrail_base, with
// the JSON path each is read from in raw and how the text at that path
// becomes the column's value (%s is the text): text columns the view of
// version 8 computed, and the typed members of schema.CloudTrailMembers.
var v9Columns = func() []struct{ name, path, expr string } {
	cols := []struct{ name, path, expr string }{
		{"session_issuer_type", "$.userIdentity.sessionContext.sessionIssuer.type", "%s"},
		{"session_issuer_arn", "$.userIdentity.sessionContext.sessionIssuer.arn", "%s"},
		{"source_identity", "$.userIdentity.sessionContext.sourceIdentity", "%s"},
		{"identity_store_user_id", "$.userIdentity.onBehalfOf.userId", "%s"},
		{"session_credential_from_console", "$.sessionCredentialFromConsole", "TRY_CAST(%s AS BOOLEAN)"},
		{"shared_event_id", "$.sharedEventID", "%s"},
		{"vpc_endpoint_id", "$.vpcEndpointId", "%s"},
	}
	names := make([]string, 0, len(schema.CloudTrailMembers))
	for n := range schema.CloudTrailMembers {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		cols = append(cols, struct{ name, path, expr string }{n, "$." + schema.CloudTrailMembers[n], "%s"})
	}
	return cols
}()

// schemaV9 adds the columns of v9Columns to cloudtrail_base, filled from
// raw for the rows stored before, and recreates the cloudtrail view, which
// now computes only the JSON columns. The table is copied into a new one
// with the values (one parse of each record for all of them:
// json_extract_string with a list of paths), in its order: an UPDATE of
// every row keeps all its new values in memory until the commit and ran
// out of memory at 1M events.
func schemaV9() []string {
	var cols, paths []string
	for i, c := range v9Columns {
		paths = append(paths, "'"+c.path+"'")
		cols = append(cols, fmt.Sprintf(c.expr, fmt.Sprintf("trawl_s[%d]", i+1))+" AS "+quoteIdent(c.name))
	}
	names, quoted := make([]string, len(v9Columns)), make([]string, len(v9Columns))
	for i, c := range v9Columns {
		names[i], quoted[i] = c.name, quoteIdent(c.name)
	}
	// Every column of v9Columns is then in b.* (NULL), whether the table
	// had it or not (a store created by this version has all of them).
	stmts := append([]string{`DROP VIEW IF EXISTS cloudtrail`}, addColumns("cloudtrail_base", ctColumns, names)...)
	return append(stmts,
		tableDDL("trawl_cloudtrail_v9", ctColumns, "source VARCHAR NOT NULL", "ingested_at TIMESTAMPTZ NOT NULL", "spill_id BIGINT", textBlockColumn),
		fmt.Sprintf(`INSERT INTO trawl_cloudtrail_v9 BY NAME
SELECT * EXCLUDE (trawl_s, %s), %s
FROM (SELECT b.*, json_extract_string(%s, [%s]) AS trawl_s FROM cloudtrail_base b)`, strings.Join(quoted, ", "), strings.Join(cols, ", "), spillRaw, strings.Join(paths, ", ")),
		`DROP TABLE cloudtrail_base`,
		`ALTER TABLE trawl_cloudtrail_v9 RENAME TO cloudtrail_base`,
		cloudtrailDDL()[1],
	)
}

// schemaV8 recreated the cloudtrail view so that it parsed raw once per
// row for its computed text columns; now the view is made by schemaV9.
func schemaV8() []string { return []string{viewLater} }

// viewLater stands for the cloudtrail view in migrations that used to
// recreate it: the view of today reads columns that stores of their
// versions do not have until schemaV9, which creates it. (Migrations run
// in one transaction up to SchemaVersion.)
const viewLater = `DROP VIEW IF EXISTS cloudtrail`

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
	return append(stmts, viewLater)
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
		panic(fmt.Sprintf("%s: the columns %v are not all in its column list", table, names))
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
		viewLater,
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
		viewLater,
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
var InternalTables = []string{"trawl_meta", "trawl_spill", "trawl_text_bloom", "cloudtrail_base", "alert_base", "alert_hit", "alert_outbox", "flow_rollup_state", "flow_rollup_top"}
