// Package schema is trawl's store-neutral table schema: which columns each
// log type's table has, their types, and how each is read from a record.
// Every store (DuckDB today; ClickHouse, a Parquet lake and a search
// cluster later) builds its tables and row writers from these lists, so the
// columns, derived values (protocol names, severity labels) and the rules
// for values a store cannot hold (Validate) are the same everywhere.
// docs/schema.md documents every column.
package schema

import (
	"time"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/iana"
)

// Type is a column's value type.
type Type uint8

// Column types.
const (
	String    Type = iota // text; "" is NULL
	Timestamp             // UTC instant with microsecond precision; the zero time is NULL
	Bool                  // event.Bool; BoolNull is NULL
	Int32                 // nullable 32-bit integer
	Int64                 // nullable 64-bit integer
	Float64               // never NULL
)

// Column is one column of a table, read from records of type T. Exactly
// one getter is set, the one of its Type (Int for both integer types).
type Column[T any] struct {
	Name    string
	Type    Type
	NotNull bool // a record without a value cannot be stored (see Validate)
	Big     bool // large text (JSON documents, raw records): worth compressing

	Str   func(*T) string
	Time  func(*T) time.Time
	Bool  func(*T) event.Bool
	Int   func(*T) (int64, bool)
	Float func(*T) float64
}

// Str is a text column.
func Str[T any](name string, f func(*T) string) Column[T] {
	return Column[T]{Name: name, Type: String, Str: f}
}

// Time is a timestamp column.
func Time[T any](name string, f func(*T) time.Time) Column[T] {
	return Column[T]{Name: name, Type: Timestamp, Time: f}
}

// BoolCol is a nullable boolean column.
func BoolCol[T any](name string, f func(*T) event.Bool) Column[T] {
	return Column[T]{Name: name, Type: Bool, Bool: f}
}

// Int is a nullable integer column of type Int32 or Int64.
func Int[T any](name string, typ Type, f func(*T) (int64, bool)) Column[T] {
	return Column[T]{Name: name, Type: typ, Int: f}
}

// Float is a floating-point column.
func Float[T any](name string, f func(*T) float64) Column[T] {
	return Column[T]{Name: name, Type: Float64, Float: f}
}

func notNull[T any](c Column[T]) Column[T] { c.NotNull = true; return c }
func big[T any](c Column[T]) Column[T]     { c.Big = true; return c }

type ct = event.CloudTrail

// CloudTrail are the stored columns of CloudTrail events: what people
// filter and group on, and raw. (The DuckDB store computes the rest from
// raw when a query reads them.)
var CloudTrail = []Column[ct]{
	Time("event_time", func(e *ct) time.Time { return e.EventTime }),
	notNull(Str("event_id", func(e *ct) string { return e.EventID })),
	Str("event_source", func(e *ct) string { return e.EventSource }),
	Str("event_name", func(e *ct) string { return e.EventName }),
	Str("event_type", func(e *ct) string { return e.EventType }),
	Str("event_category", func(e *ct) string { return e.EventCategory }),
	Str("aws_region", func(e *ct) string { return e.AWSRegion }),
	Str("recipient_account_id", func(e *ct) string { return e.RecipientAccountID }),
	Str("source_ip", func(e *ct) string { return e.SourceIP }),
	Str("user_agent", func(e *ct) string { return e.UserAgent }),
	Str("user_type", func(e *ct) string { return e.UserType }),
	Str("user_arn", func(e *ct) string { return e.UserARN }),
	Str("user_account_id", func(e *ct) string { return e.UserAccountID }),
	Str("user_access_key_id", func(e *ct) string { return e.UserAccessKeyID }),
	Str("user_name", func(e *ct) string { return e.UserName }),
	Str("session_name", func(e *ct) string { return e.SessionName }),
	Str("principal", func(e *ct) string { return e.Principal }),
	Str("session_issuer_name", func(e *ct) string { return e.SessionIssuerName }),
	BoolCol("mfa_authenticated", func(e *ct) event.Bool { return e.MFAAuthenticated }),
	Str("invoked_by", func(e *ct) string { return e.InvokedBy }),
	Str("error_code", func(e *ct) string { return e.ErrorCode }),
	Str("error_message", func(e *ct) string { return e.ErrorMessage }),
	BoolCol("read_only", func(e *ct) event.Bool { return e.ReadOnly }),
	BoolCol("management_event", func(e *ct) event.Bool { return e.ManagementEvent }),
	// Enrichment (internal/enrich): GeoIP data of source_ip and the class
	// of user_agent.
	Str("src_country", func(e *ct) string { return e.SrcGeo.GeoCountry() }),
	Str("src_city", func(e *ct) string { return e.SrcGeo.GeoCity() }),
	Int("src_asn", Int64, func(e *ct) (int64, bool) { return e.SrcGeo.GeoASN() }),
	Str("src_as_org", func(e *ct) string { return e.SrcGeo.GeoASOrg() }),
	Str("ua_class", func(e *ct) string { return e.UA.UAClass() }),
	Str("ua_family", func(e *ct) string { return e.UA.UAFamily() }),
	Str("ua_version", func(e *ct) string { return e.UA.UAVersion() }),
	Str("ua_os", func(e *ct) string { return e.UA.UAOS() }),
	// Stored since schema version 9 (computed from raw by the DuckDB view
	// before): identity and request details people filter and group on.
	// (The DuckDB view still computes event_version, user_principal_id,
	// session_created_at, request_id, api_version and the tls_* columns: stored,
	// those high-cardinality or rarely searched columns cost more ingest
	// time than they save; docs/performance.md, "Search storage".)
	Str("session_issuer_type", func(e *ct) string { return e.SessionIssuerType }),
	Str("session_issuer_arn", func(e *ct) string { return e.SessionIssuerARN }),
	Str("source_identity", func(e *ct) string { return e.SourceIdentity }),
	Str("identity_store_user_id", func(e *ct) string { return e.IdentityStoreUser }),
	BoolCol("session_credential_from_console", func(e *ct) event.Bool { return e.CredentialFromCons }),
	Str("shared_event_id", func(e *ct) string { return e.SharedEventID }),
	Str("vpc_endpoint_id", func(e *ct) string { return e.VPCEndpointID }),
	// Typed members of requestParameters, responseElements and
	// additionalEventData (schema version 9): see CloudTrailMembers.
	Str("req_bucket_name", func(e *ct) string { return e.ReqBucketName }),
	Str("req_key", func(e *ct) string { return e.ReqKey }),
	Str("req_policy_arn", func(e *ct) string { return e.ReqPolicyARN }),
	Str("req_user_name", func(e *ct) string { return e.ReqUserName }),
	Str("req_role_name", func(e *ct) string { return e.ReqRoleName }),
	Str("req_role_arn", func(e *ct) string { return e.ReqRoleARN }),
	Str("req_group_name", func(e *ct) string { return e.ReqGroupName }),
	Str("console_login", func(e *ct) string { return e.ConsoleLogin }),
	Str("mfa_used", func(e *ct) string { return e.MFAUsed }),
	big(notNull(Str("raw", func(e *ct) string { return e.Raw }))),
}

// CloudTrailMembers maps the typed CloudTrail columns that hold one member
// of a free-form part of the record to that member's path (as in the
// JSON: AWS's spelling, case-sensitive). Each column holds what
// json_extract_string(raw, '$.'||path) returns for the record: a string
// unescaped, a number or literal as its text, an object or array as its
// JSON text, NULL when absent or null.
var CloudTrailMembers = map[string]string{
	"req_bucket_name": "requestParameters.bucketName",
	"req_key":         "requestParameters.key",
	"req_policy_arn":  "requestParameters.policyArn",
	"req_user_name":   "requestParameters.userName",
	"req_role_name":   "requestParameters.roleName",
	"req_role_arn":    "requestParameters.roleArn",
	"req_group_name":  "requestParameters.groupName",
	"console_login":   "responseElements.ConsoleLogin",
	"mfa_used":        "additionalEventData.MFAUsed",
}

type flow = event.VPCFlow

// VPCFlow are the flow-log columns: every field of event.FlowFields, with
// the protocol's IANA name after the protocol number, and raw.
var VPCFlow = func() []Column[flow] {
	var cols []Column[flow]
	for _, f := range event.FlowFields {
		switch f.Kind {
		case event.FlowStr:
			idx := f.Index
			cols = append(cols, Str(f.Column, func(r *flow) string { return r.Str(idx) }))
		case event.FlowInt:
			idx, typ := f.Index, Int32
			if f.Wide {
				typ = Int64
			}
			cols = append(cols, Int(f.Column, typ, func(r *flow) (int64, bool) { return r.Int(idx) }))
			if idx == event.FlowProtocol {
				cols = append(cols, Str("protocol_name", ProtocolName))
			}
		case event.FlowStart:
			cols = append(cols, Time(f.Column, func(r *flow) time.Time { t, _ := r.Start(); return t }))
		case event.FlowEnd:
			cols = append(cols, Time(f.Column, func(r *flow) time.Time { t, _ := r.End(); return t }))
		}
	}
	// Enrichment (internal/enrich): GeoIP data of srcaddr and dstaddr.
	cols = append(cols,
		Str("src_country", func(r *flow) string { return r.SrcGeo.GeoCountry() }),
		Str("src_city", func(r *flow) string { return r.SrcGeo.GeoCity() }),
		Int("src_asn", Int64, func(r *flow) (int64, bool) { return r.SrcGeo.GeoASN() }),
		Str("src_as_org", func(r *flow) string { return r.SrcGeo.GeoASOrg() }),
		Str("dst_country", func(r *flow) string { return r.DstGeo.GeoCountry() }),
		Str("dst_city", func(r *flow) string { return r.DstGeo.GeoCity() }),
		Int("dst_asn", Int64, func(r *flow) (int64, bool) { return r.DstGeo.GeoASN() }),
		Str("dst_as_org", func(r *flow) string { return r.DstGeo.GeoASOrg() }),
	)
	return append(cols, big(notNull(Str("raw", func(r *flow) string { return r.Raw }))))
}()

// ProtocolName is a flow's protocol_name: the IANA keyword of its protocol
// number.
func ProtocolName(r *event.VPCFlow) string {
	if v, ok := r.Int(event.FlowProtocol); ok {
		return iana.ProtocolName(v)
	}
	return ""
}

// SeverityLabel names a GuardDuty severity as the console does.
func SeverityLabel(s float64) string {
	switch {
	case s >= 9:
		return "Critical"
	case s >= 7:
		return "High"
	case s >= 4:
		return "Medium"
	case s > 0:
		return "Low"
	}
	return ""
}

type finding = event.Finding

// Finding are the columns of GuardDuty finding versions.
var Finding = []Column[finding]{
	notNull(Str("id", func(f *finding) string { return f.ID })),
	notNull(Time("updated_at", func(f *finding) time.Time { return f.UpdatedAt })),
	Time("created_at", func(f *finding) time.Time { return f.CreatedAt }),
	Str("arn", func(f *finding) string { return f.ARN }),
	Str("type", func(f *finding) string { return f.Type }),
	Str("account_id", func(f *finding) string { return f.AccountID }),
	Str("region", func(f *finding) string { return f.Region }),
	Str("partition", func(f *finding) string { return f.Partition }),
	Str("schema_version", func(f *finding) string { return f.SchemaVersion }),
	Float("severity", func(f *finding) float64 { return f.Severity }),
	Str("severity_label", func(f *finding) string { return SeverityLabel(f.Severity) }),
	Str("title", func(f *finding) string { return f.Title }),
	Str("description", func(f *finding) string { return f.Description }),
	Str("resource_type", func(f *finding) string { return f.ResourceType }),
	Str("action_type", func(f *finding) string { return f.ActionType }),
	Str("resource_role", func(f *finding) string { return f.ResourceRole }),
	Time("first_seen", func(f *finding) time.Time { return f.FirstSeen }),
	Time("last_seen", func(f *finding) time.Time { return f.LastSeen }),
	Int("count", Int64, func(f *finding) (int64, bool) { return f.Count.V, f.Count.Valid }),
	BoolCol("archived", func(f *finding) event.Bool { return f.Archived }),
	Str("detector_id", func(f *finding) string { return f.DetectorID }),
	big(Str("resource", func(f *finding) string { return f.Resource })),
	big(Str("service", func(f *finding) string { return f.Service })),
	big(notNull(Str("raw", func(f *finding) string { return f.Raw }))),
}

type digest = event.Digest

// Digest are the columns of CloudTrail digest files.
var Digest = []Column[digest]{
	notNull(Str("digest_object", func(d *digest) string { return d.DigestS3Object })),
	Str("digest_bucket", func(d *digest) string { return d.DigestS3Bucket }),
	Str("account_id", func(d *digest) string { return d.AccountID }),
	Time("digest_start", func(d *digest) time.Time { return d.DigestStart }),
	Time("digest_end", func(d *digest) time.Time { return d.DigestEnd }),
	Time("oldest_event_time", func(d *digest) time.Time { return d.OldestEventTime }),
	Time("newest_event_time", func(d *digest) time.Time { return d.NewestEventTime }),
	Str("previous_digest_bucket", func(d *digest) string { return d.PreviousDigestBucket }),
	Str("previous_digest_object", func(d *digest) string { return d.PreviousDigestObject }),
	Str("previous_digest_hash", func(d *digest) string { return d.PreviousDigestHash }),
	Str("previous_digest_hash_algorithm", func(d *digest) string { return d.PreviousDigestHashAlg }),
	Str("public_key_fingerprint", func(d *digest) string { return d.PublicKeyFingerprint }),
	Str("signature_algorithm", func(d *digest) string { return d.SignatureAlgorithm }),
	Int("log_file_count", Int32, func(d *digest) (int64, bool) { return int64(len(d.LogFiles)), true }),
	notNull(Str("raw", func(d *digest) string { return d.Raw })),
}

// DigestFile is one log file a digest vouches for.
type DigestFile struct {
	Digest string // the digest's object
	event.DigestLogFile
}

// DigestFiles are the columns of the log files digests list.
var DigestFiles = []Column[DigestFile]{
	notNull(Str("digest_object", func(f *DigestFile) string { return f.Digest })),
	Str("s3_bucket", func(f *DigestFile) string { return f.S3Bucket }),
	notNull(Str("s3_object", func(f *DigestFile) string { return f.S3Object })),
	Str("hash_value", func(f *DigestFile) string { return f.HashValue }),
	Str("hash_algorithm", func(f *DigestFile) string { return f.HashAlgorithm }),
	Time("oldest_event_time", func(f *DigestFile) time.Time { return f.OldestEventTime }),
	Time("newest_event_time", func(f *DigestFile) time.Time { return f.NewestEventTime }),
}

type qrec = event.Quarantined

// Quarantine are the columns of quarantine entries.
var Quarantine = []Column[qrec]{
	notNull(Str("object", func(q *qrec) string { return q.Object })),
	Str("kind", func(q *qrec) string { return kindName(q.Kind) }),
	Int("line", Int64, func(q *qrec) (int64, bool) { return q.Line, q.Line > 0 }),
	Int("byte_offset", Int64, func(q *qrec) (int64, bool) { return q.Offset, q.Offset >= 0 }),
	Int("record", Int64, func(q *qrec) (int64, bool) { return q.Record, true }),
	notNull(Str("reason", func(q *qrec) string { return q.Reason })),
	Str("snippet", func(q *qrec) string { return q.Snippet }),
}

type warning = event.Warning

// Warning are the columns of ingest warnings: values replaced because a
// store could not hold them as they were.
var Warning = []Column[warning]{
	notNull(Str("object", func(w *warning) string { return w.Object })),
	Str("kind", func(w *warning) string { return kindName(w.Kind) }),
	Int("record", Int64, func(w *warning) (int64, bool) { return w.Record, true }),
	Str("field", func(w *warning) string { return w.Field }),
	notNull(Str("reason", func(w *warning) string { return w.Reason })),
}

func kindName(k event.Kind) string {
	if k == event.KindUnknown {
		return ""
	}
	return k.String()
}
