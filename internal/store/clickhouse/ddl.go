package clickhouse

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/schema"
)

// Variant is a flavour of the DDL: what the server supports.
type Variant int

// Variants.
const (
	// Legacy is for ClickHouse 18.16 to 19.x: no LowCardinality, CODEC,
	// TTL, skipping indexes, IPv4 or Map.
	Legacy Variant = iota + 1
	// Modern is for ClickHouse 20.3 and later: LowCardinality for
	// repetitive text, ZSTD codecs for raw records, TTL from the retention
	// and skipping indexes.
	Modern
)

// String returns "legacy" or "modern".
func (v Variant) String() string {
	switch v {
	case Legacy:
		return "legacy"
	case Modern:
		return "modern"
	}
	return "variant(" + strconv.Itoa(int(v)) + ")"
}

// ParseVariant reads "legacy" or "modern".
func ParseVariant(s string) (Variant, error) {
	switch strings.ToLower(s) {
	case "legacy":
		return Legacy, nil
	case "modern":
		return Modern, nil
	}
	return 0, fmt.Errorf("unknown ClickHouse DDL variant %q (legacy or modern)", s)
}

// VariantFor picks the variant for a server version ("18.16.1", "23.8.2.7").
func VariantFor(version string) Variant {
	major, _, _ := strings.Cut(version, ".")
	if n, err := strconv.Atoi(major); err == nil && n >= 20 {
		return Modern
	}
	return Legacy
}

// SchemaVersion is the version of the tables this code writes, kept in
// trawl_meta. Stores created by older versions are migrated on open; newer
// ones are refused.
const SchemaVersion = 1

// DDLOptions refine DDLWith.
type DDLOptions struct {
	// Cluster, if set, creates every table ON CLUSTER with Replicated
	// engines (Modern only; ZooKeeper paths use the {shard} and {replica}
	// macros).
	Cluster string
	// Retention, if positive, adds a TTL deleting rows older than this from
	// the event tables (Modern only).
	Retention time.Duration
}

// DDL returns the statements creating trawl's database, tables and views
// in ClickHouse: those Open runs (variant Legacy) or those for a modern
// server, printed by `trawl clickhouse ddl`.
func DDL(variant Variant, database string) []string {
	return DDLWith(variant, database, DDLOptions{})
}

// def is one column of a ClickHouse table.
type def struct {
	name    string
	typ     schema.Type
	notNull bool
	big     bool
	low     bool   // few distinct values: LowCardinality in Modern
	sqlType string // overrides typ
}

func defs[T any](cols []schema.Column[T]) []def {
	out := make([]def, len(cols))
	for i, c := range cols {
		out[i] = def{name: c.Name, typ: c.Type, notNull: c.NotNull, big: c.Big, low: lowCardinality[c.Name]}
	}
	return out
}

// lowCardinality are text columns with few distinct values, stored as
// LowCardinality in the Modern variant.
var lowCardinality = map[string]bool{
	"event_source": true, "event_name": true, "event_type": true, "event_category": true, "aws_region": true,
	"recipient_account_id": true, "user_type": true, "user_account_id": true, "invoked_by": true, "error_code": true,
	"src_country": true, "src_city": true, "src_as_org": true, "dst_country": true, "dst_city": true, "dst_as_org": true,
	"ua_class": true, "ua_family": true, "ua_version": true, "ua_os": true, "session_issuer_type": true, "console_login": true,
	"mfa_used": true, "account_id": true, "interface_id": true, "protocol_name": true, "action": true, "log_status": true,
	"vpc_id": true, "subnet_id": true, "region": true, "az_id": true, "flow_direction": true, "type": true,
	"severity_label": true, "resource_type": true, "action_type": true, "resource_role": true, "partition": true,
	"schema_version": true, "detector_id": true, "source": true, "kind": true, "status": true, "event_version": true,
	"api_version": true, "tls_version": true, "tls_cipher_suite": true,
}

// ctExtra are the cloudtrail columns DuckDB's view computes from raw at
// query time; ClickHouse 18.16 has no JSON path functions, so the writer
// extracts them at ingest (extract.go) and stores them. They sit before
// raw in the view, as in DuckDB.
var ctExtra = []def{
	{name: "event_version", typ: schema.String},
	{name: "user_principal_id", typ: schema.String},
	{name: "session_created_at", typ: schema.Timestamp},
	{name: "request_id", typ: schema.String},
	{name: "api_version", typ: schema.String},
	{name: "tls_version", typ: schema.String},
	{name: "tls_cipher_suite", typ: schema.String},
	{name: "tls_client_host", typ: schema.String},
	{name: "resources", typ: schema.String, big: true},
	{name: "request_parameters", typ: schema.String, big: true},
	{name: "response_elements", typ: schema.String, big: true},
	{name: "additional_event_data", typ: schema.String, big: true},
	{name: "service_event_details", typ: schema.String, big: true},
	{name: "insight_details", typ: schema.String, big: true},
}

// jsonColumns are the cloudtrail columns holding JSON documents: DuckDB
// types them JSON and returns them parsed, so Query does too.
var jsonColumns = map[string]bool{
	"resources": true, "request_parameters": true, "response_elements": true,
	"additional_event_data": true, "service_event_details": true, "insight_details": true,
}

// ctDefs are cloudtrail_data's columns in the cloudtrail view's order.
var ctDefs = func() []def {
	var out []def
	for _, d := range defs(schema.CloudTrail) {
		if d.name == "raw" {
			out = append(out, ctExtra...)
		}
		out = append(out, d)
	}
	return out
}()

var (
	vpcDefs        = defs(schema.VPCFlow)
	findingDefs    = defs(schema.Finding)
	digestDefs     = defs(schema.Digest)
	digestFileDefs = defs(schema.DigestFiles)
	quarantineDefs = defs(schema.Quarantine)
	warningDefs    = defs(schema.Warning)
)

var (
	sourceDef     = def{name: "source", typ: schema.String, notNull: true, low: true}
	ingestedAtDef = def{name: "ingested_at", typ: schema.Timestamp, notNull: true}
)

// ledgerDefs are ingest_ledger's columns, as in DuckDB.
var ledgerDefs = []def{
	{name: "object", typ: schema.String, notNull: true},
	{name: "size", typ: schema.Int64},
	{name: "modified_at", typ: schema.Timestamp},
	{name: "etag", typ: schema.String},
	{name: "sha256", typ: schema.String},
	{name: "status", typ: schema.String, notNull: true, low: true},
	{name: "units", typ: schema.Int64, notNull: true},
	{name: "records", typ: schema.Int64, notNull: true},
	{name: "duplicates", typ: schema.Int64, notNull: true},
	{name: "quarantined", typ: schema.Int64, notNull: true},
	{name: "kinds", typ: schema.String, low: true},
	{name: "first_ingested_at", typ: schema.Timestamp, notNull: true},
	{name: "last_ingested_at", typ: schema.Timestamp, notNull: true},
	{name: "error", typ: schema.String},
	{name: "cursor", typ: schema.String},
}

// boolColumns names the columns stored as UInt8 that hold booleans:
// queries return them as bool, as DuckDB does.
var boolColumns = func() map[string]bool {
	m := map[string]bool{}
	for _, ds := range [][]def{ctDefs, vpcDefs, findingDefs, digestDefs, digestFileDefs, quarantineDefs, warningDefs} {
		for _, d := range ds {
			if d.typ == schema.Bool {
				m[d.name] = true
			}
		}
	}
	return m
}()

// internalTables are tables SHOW TABLES leaves out (the *_data tables
// behind the views are left out by their suffix).
var internalTables = []string{"trawl_meta"}

// table describes one stored table: the _data table and the view users
// query under the DuckDB name.
type table struct {
	name    string // the view's (DuckDB's) name; the table is name+"_data"
	cols    []def  // the view's columns, in order
	hidden  []def  // further columns of the table only
	version string // ReplacingMergeTree version column, if any
	// partition and order are expressions over the table's columns.
	partition string
	order     string
	ttl       string // the time column retention applies to, if any
	// bloom are columns worth a bloom_filter skipping index (Modern).
	bloom []string
}

// ifNull0 is the sort-key form of a nullable time (sort keys may not be
// Nullable): NULL sorts first, as 1970-01-01.
func ifNull0(col string) string { return "ifNull(" + col + ", toDateTime(0, 'UTC'))" }

// tables are every stored table. Sort keys (docs/clickhouse.md): event
// tables start with their time, because almost every query the dashboards,
// the search page and the scheduled rules run is bounded by a time window
// (the last hour, day or week), often much shorter than the daily
// partition; the key then ends with what makes a record unique, which is
// also what ReplacingMergeTree de-duplicates on.
var tables = []table{
	{
		name: "cloudtrail", cols: append(append([]def(nil), ctDefs...), sourceDef, ingestedAtDef),
		partition: "toYYYYMMDD(" + ifNull0("event_time") + ")",
		order:     ifNull0("event_time") + ", event_id",
		ttl:       "event_time",
		bloom:     []string{"event_name", "source_ip", "user_arn", "user_access_key_id"},
	},
	{
		name: "vpcflow", cols: append(append([]def(nil), vpcDefs...), sourceDef, ingestedAtDef),
		hidden:    []def{{name: "unit", typ: schema.Int64, notNull: true}},
		partition: "toYYYYMMDD(" + ifNull0("start_time") + ")",
		order:     ifNull0("start_time") + ", source, unit",
		ttl:       "start_time",
		bloom:     []string{"srcaddr", "dstaddr", "interface_id"},
	},
	{
		// The current state of each finding: the version with the newest
		// updated_at (updated_us, microseconds) replaces the others.
		name: "guardduty_finding", cols: append(append([]def(nil), findingDefs...), sourceDef, ingestedAtDef),
		hidden:    []def{{name: "updated_us", typ: schema.Int64, notNull: true, sqlType: "UInt64"}},
		version:   "updated_us",
		partition: "tuple()",
		order:     "id",
	},
	{
		name: "guardduty_finding_history", cols: append(append([]def(nil), findingDefs...), sourceDef, ingestedAtDef),
		hidden:    []def{{name: "updated_us", typ: schema.Int64, notNull: true, sqlType: "UInt64"}},
		partition: "toYYYYMM(updated_at)",
		order:     "id, updated_us",
		ttl:       "updated_at",
	},
	{
		name: "cloudtrail_digest", cols: append(append([]def(nil), digestDefs...), sourceDef, ingestedAtDef),
		partition: "tuple()",
		order:     "digest_object",
	},
	{
		name: "cloudtrail_digest_file", cols: digestFileDefs,
		partition: "tuple()",
		order:     "digest_object, s3_object",
	},
	{
		// Newest entry per object wins (version: the commit time in ns).
		name: "ingest_ledger", cols: ledgerDefs,
		hidden:    []def{{name: "ver", typ: schema.Int64, notNull: true, sqlType: "UInt64"}},
		version:   "ver",
		partition: "tuple()",
		order:     "object",
	},
	{
		// Re-reading an object writes the same entries again: they
		// collapse by position (and ForgetObject deletes the old ones).
		name: "quarantine", cols: append(append([]def(nil), quarantineDefs...), def{name: "quarantined_at", typ: schema.Timestamp, notNull: true}),
		partition: "toYYYYMM(quarantined_at)",
		order:     "object, ifNull(line, -1), ifNull(byte_offset, -1), ifNull(record, -1), reason",
	},
	{
		name: "ingest_warning", cols: append(append([]def(nil), warningDefs...), def{name: "warned_at", typ: schema.Timestamp, notNull: true}),
		partition: "toYYYYMM(warned_at)",
		order:     "object, ifNull(record, -1), ifNull(field, ''), reason",
	},
}

func tableByName(name string) *table {
	for i := range tables {
		if tables[i].name == name {
			return &tables[i]
		}
	}
	panic("clickhouse: no table " + name)
}

// colType is a column's ClickHouse type in a variant.
func colType(d def, v Variant) string {
	t := d.sqlType
	if t == "" {
		switch d.typ {
		case schema.String:
			t = "String"
		case schema.Timestamp:
			t = "DateTime('UTC')"
		case schema.Bool:
			t = "UInt8"
		case schema.Int32:
			t = "Int32"
		case schema.Int64:
			t = "Int64"
		case schema.Float64:
			t = "Float64"
		default:
			panic(fmt.Sprintf("column %s: unknown type %d", d.name, d.typ))
		}
		if !d.notNull && d.typ != schema.Float64 {
			t = "Nullable(" + t + ")"
		}
	}
	if v == Modern {
		if d.low && d.typ == schema.String {
			t = "LowCardinality(" + t + ")"
		}
		switch {
		case d.big:
			t += " CODEC(ZSTD(3))"
		case d.typ == schema.Timestamp:
			t += " CODEC(Delta, LZ4)"
		}
	}
	return t
}

// DDLWith is DDL with options.
func DDLWith(variant Variant, database string, opt DDLOptions) []string {
	db := QuoteIdent(database)
	onCluster := ""
	if opt.Cluster != "" && variant == Modern {
		onCluster = " ON CLUSTER " + QuoteIdent(opt.Cluster)
	}
	stmts := []string{"CREATE DATABASE IF NOT EXISTS " + db + onCluster}
	engine := func(t *table, name string, version string) string {
		e := "ReplacingMergeTree"
		args := version
		if onCluster != "" {
			e = "ReplicatedReplacingMergeTree"
			args = "'/clickhouse/tables/{shard}/" + database + "/" + name + "', '{replica}'"
			if version != "" {
				args += ", " + version
			}
		}
		return e + "(" + args + ")"
	}
	meta := "CREATE TABLE IF NOT EXISTS " + db + ".trawl_meta" + onCluster + " (\n  key String,\n  value String,\n  ver UInt64\n) ENGINE = " +
		engine(nil, "trawl_meta", "ver") + "\nORDER BY key"
	stmts = append(stmts, meta)
	for i := range tables {
		t := &tables[i]
		data := t.name + "_data"
		var b strings.Builder
		fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s.%s%s (\n", db, data, onCluster)
		all := append(append([]def(nil), t.cols...), t.hidden...)
		for j, d := range all {
			if j > 0 {
				b.WriteString(",\n")
			}
			fmt.Fprintf(&b, "  %s %s", QuoteIdent(d.name), colType(d, variant))
		}
		if variant == Modern {
			for _, c := range t.bloom {
				fmt.Fprintf(&b, ",\n  INDEX %s_bf %s TYPE bloom_filter(0.01) GRANULARITY 4", c, QuoteIdent(c))
			}
			if t.name == "cloudtrail" {
				b.WriteString(",\n  INDEX raw_tokens raw TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 4")
			}
		}
		fmt.Fprintf(&b, "\n) ENGINE = %s", engine(t, data, t.version))
		if t.partition != "tuple()" {
			fmt.Fprintf(&b, "\nPARTITION BY %s", t.partition)
		}
		fmt.Fprintf(&b, "\nORDER BY (%s)", t.order)
		if variant == Modern && opt.Retention > 0 && t.ttl != "" {
			days := int((opt.Retention + 24*time.Hour - 1) / (24 * time.Hour))
			fmt.Fprintf(&b, "\nTTL %s + INTERVAL %d DAY", ifNull0(t.ttl), days)
		}
		stmts = append(stmts, b.String())
		names := make([]string, len(t.cols))
		for j, d := range t.cols {
			names[j] = QuoteIdent(d.name)
		}
		stmts = append(stmts, fmt.Sprintf("CREATE VIEW IF NOT EXISTS %s.%s%s AS\nSELECT %s\nFROM %s.%s FINAL",
			db, t.name, onCluster, strings.Join(names, ", "), db, data))
	}
	if opt.Cluster != "" && variant == Modern {
		stmts = append(stmts, "-- On a sharded cluster, create a Distributed table over each _data table on every node, e.g.\n"+
			"-- CREATE TABLE "+database+".cloudtrail_all ON CLUSTER "+opt.Cluster+" AS "+database+".cloudtrail_data\n"+
			"--   ENGINE = Distributed("+opt.Cluster+", "+database+", cloudtrail_data, cityHash64(event_id));\n"+
			"-- and point the views at the Distributed tables. FINAL de-duplicates within a shard only, so shard by the\n"+
			"-- de-duplication key (event_id for cloudtrail, source for vpcflow, id for findings, object for the ledger).")
	}
	return stmts
}

// migrations[v-1] brings a database of schema version v-1 to version v.
// Every statement is idempotent (IF NOT EXISTS), so processes opening one
// database at once may all run them.
var migrations = []func(v Variant, db string) []string{
	func(v Variant, db string) []string { return DDL(v, db) },
}

func (s *Store) migrate(ctx context.Context) error {
	sys := url.Values{"database": {"system"}}
	if err := s.c.exec(ctx, "CREATE DATABASE IF NOT EXISTS "+QuoteIdent(s.dsn.Database), sys); err != nil {
		return fmt.Errorf("creating the database: %w", err)
	}
	have, err := s.schemaVersion(ctx)
	if err != nil {
		return err
	}
	if have > SchemaVersion {
		return fmt.Errorf("the database has schema version %d, newer than this trawl (%d); upgrade trawl", have, SchemaVersion)
	}
	for v := have + 1; v <= SchemaVersion; v++ {
		for _, stmt := range migrations[v-1](s.variant, s.dsn.Database) {
			if strings.HasPrefix(stmt, "--") {
				continue
			}
			if err := s.c.exec(ctx, stmt, nil); err != nil {
				return fmt.Errorf("migrating to schema version %d: %w", v, err)
			}
		}
		if err := s.c.Exec(ctx, "INSERT INTO trawl_meta (key, value, ver) VALUES ('schema_version', ?, ?)",
			strconv.Itoa(v), uint64(time.Now().UnixNano())); err != nil {
			return fmt.Errorf("recording schema version %d: %w", v, err)
		}
	}
	return nil
}

func (s *Store) schemaVersion(ctx context.Context) (int, error) {
	rows, err := s.c.query(ctx, "SELECT value FROM trawl_meta FINAL WHERE key = 'schema_version'", nil, nil)
	if IsCode(err, CodeUnknownTable) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	defer rows.Close()
	have := 0
	for rows.Next() {
		s, _ := rows.Values()[0].(string)
		have, _ = strconv.Atoi(s)
	}
	return have, rows.Err()
}
