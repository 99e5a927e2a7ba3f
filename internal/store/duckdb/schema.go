package duckdb

import (
	"fmt"
	"strings"

	"github.com/trawl-project/trawl/internal/event"
)

// SchemaVersion is the version of the schema this code writes. Stores
// created by older versions are migrated on open; newer ones are refused.
const SchemaVersion = 1

// Big text columns are compressed with zstd across rows: DuckDB's default
// string compression (FSST) costs far more CPU per byte here and compresses
// JSON about half as well. Requires storage version v1.2.0 or later.
const zstd = " USING COMPRESSION zstd"

// ctColumns are the cloudtrail columns in append order.
var ctColumns = []struct{ name, typ string }{
	{"event_time", "TIMESTAMPTZ"},
	{"event_id", "VARCHAR NOT NULL"},
	{"event_version", "VARCHAR"},
	{"event_source", "VARCHAR"},
	{"event_name", "VARCHAR"},
	{"event_type", "VARCHAR"},
	{"event_category", "VARCHAR"},
	{"aws_region", "VARCHAR"},
	{"recipient_account_id", "VARCHAR"},
	{"source_ip", "VARCHAR"},
	{"user_agent", "VARCHAR"},
	{"user_type", "VARCHAR"},
	{"user_principal_id", "VARCHAR"},
	{"user_arn", "VARCHAR"},
	{"user_account_id", "VARCHAR"},
	{"user_access_key_id", "VARCHAR"},
	{"user_name", "VARCHAR"},
	{"session_issuer_type", "VARCHAR"},
	{"session_issuer_arn", "VARCHAR"},
	{"session_issuer_name", "VARCHAR"},
	{"mfa_authenticated", "BOOLEAN"},
	{"session_created_at", "TIMESTAMPTZ"},
	{"invoked_by", "VARCHAR"},
	{"source_identity", "VARCHAR"},
	{"identity_store_user_id", "VARCHAR"},
	{"session_credential_from_console", "BOOLEAN"},
	{"error_code", "VARCHAR"},
	{"error_message", "VARCHAR"},
	{"read_only", "BOOLEAN"},
	{"management_event", "BOOLEAN"},
	{"request_id", "VARCHAR"},
	{"shared_event_id", "VARCHAR"},
	{"vpc_endpoint_id", "VARCHAR"},
	{"api_version", "VARCHAR"},
	{"tls_version", "VARCHAR"},
	{"tls_cipher_suite", "VARCHAR"},
	{"tls_client_host", "VARCHAR"},
	{"resources", "VARCHAR" + zstd},
	{"request_parameters", "VARCHAR" + zstd},
	{"response_elements", "VARCHAR" + zstd},
	{"additional_event_data", "VARCHAR" + zstd},
	{"service_event_details", "VARCHAR" + zstd},
	{"insight_details", "VARCHAR" + zstd},
	{"raw", "VARCHAR NOT NULL" + zstd},
	{"source", "VARCHAR NOT NULL"},
	{"ingested_at", "TIMESTAMPTZ NOT NULL"},
}

// vpcColumns returns the vpcflow columns in append order: every field of
// event.FlowFields, the protocol name, then raw, source and ingested_at.
func vpcColumns() []struct{ name, typ string } {
	var cols []struct{ name, typ string }
	for _, f := range event.FlowFields {
		typ := "VARCHAR"
		switch f.Kind {
		case event.FlowInt:
			typ = "INTEGER"
			if f.Wide {
				typ = "BIGINT"
			}
		case event.FlowStart, event.FlowEnd:
			typ = "TIMESTAMPTZ"
		}
		cols = append(cols, struct{ name, typ string }{f.Column, typ})
		if f.Name == "protocol" {
			cols = append(cols, struct{ name, typ string }{"protocol_name", "VARCHAR"})
		}
	}
	return append(cols,
		struct{ name, typ string }{"raw", "VARCHAR NOT NULL" + zstd},
		struct{ name, typ string }{"source", "VARCHAR NOT NULL"},
		struct{ name, typ string }{"ingested_at", "TIMESTAMPTZ NOT NULL"},
	)
}

// gdColumns are the GuardDuty columns, shared by the current-state and the
// history table.
var gdColumns = []struct{ name, typ string }{
	{"id", "VARCHAR NOT NULL"},
	{"updated_at", "TIMESTAMPTZ NOT NULL"},
	{"created_at", "TIMESTAMPTZ"},
	{"arn", "VARCHAR"},
	{"type", "VARCHAR"},
	{"account_id", "VARCHAR"},
	{"region", "VARCHAR"},
	{"partition", "VARCHAR"},
	{"schema_version", "VARCHAR"},
	{"severity", "DOUBLE"},
	{"severity_label", "VARCHAR"},
	{"title", "VARCHAR"},
	{"description", "VARCHAR"},
	{"resource_type", "VARCHAR"},
	{"action_type", "VARCHAR"},
	{"resource_role", "VARCHAR"},
	{"first_seen", "TIMESTAMPTZ"},
	{"last_seen", "TIMESTAMPTZ"},
	{"count", "BIGINT"},
	{"archived", "BOOLEAN"},
	{"detector_id", "VARCHAR"},
	{"resource", "VARCHAR" + zstd},
	{"service", "VARCHAR" + zstd},
	{"raw", "VARCHAR NOT NULL" + zstd},
	{"source", "VARCHAR NOT NULL"},
	{"ingested_at", "TIMESTAMPTZ NOT NULL"},
}

func createTable(name string, cols []struct{ name, typ string }, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (\n", name)
	for i, c := range cols {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "  %s %s", quoteIdent(c.name), c.typ)
	}
	for _, e := range extra {
		b.WriteString(",\n  " + e)
	}
	b.WriteString("\n)")
	return b.String()
}

func columnNames(cols []struct{ name, typ string }) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	return names
}

// quoteIdent quotes identifiers that are SQL keywords.
func quoteIdent(s string) string {
	switch s {
	case "type", "count", "partition", "source", "end", "start", "action", "region", "version", "bytes":
		return `"` + s + `"`
	}
	return s
}

// schemaV1 creates every table of schema version 1.
func schemaV1() []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS trawl_meta (key VARCHAR PRIMARY KEY, value VARCHAR)`,
		createTable("cloudtrail", ctColumns),
		createTable("vpcflow", vpcColumns()),
		createTable("guardduty_finding", gdColumns, "PRIMARY KEY (id)"),
		createTable("guardduty_finding_history", gdColumns, "PRIMARY KEY (id, updated_at)"),
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
	}
}
