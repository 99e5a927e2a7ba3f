package search

import (
	"sort"
	"strings"

	"github.com/trawl-project/trawl/internal/schema"
)

type colType uint8

const (
	tStr colType = iota
	tInt
	tFloat
	tBool
	tTime
)

// column is one searchable typed column. Its name is an identifier from
// this file only: it is written into SQL as is.
type column struct {
	name string
	typ  colType
	addr bool // holds IP addresses: CIDR blocks match on it
}

// Table is one searchable table: its name, its time column (the one time
// ranges filter and results sort on), the columns search results show,
// and the fields the language knows for it.
type Table struct {
	Name string
	Time string
	// Show lists the columns a search prints, time first.
	Show []string
	// Type is the name --type takes: cloudtrail, vpcflow or guardduty.
	Type string

	cols    map[string]column // by column name
	aliases map[string]string // AWS field name → column name
	// members are free-form JSON paths (without "$.") that a typed column
	// holds, spelled exactly as in the record: only that spelling uses the
	// column; another case is another JSON key.
	members map[string]string
	// roots are the top-level keys of the JSON record (raw) that free-form
	// paths may start with; none for vpcflow, whose raw is a text line.
	roots map[string]bool
	fold  map[string]string // lower-case field or column name → column name
	// textIndex is set when the table has the free-text index
	// (internal/textindex): a text_block column and trawl_text_bloom.
	textIndex bool
}

func set(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func newTable(t Table, cols []column, aliases map[string]string) *Table {
	t.cols = make(map[string]column, len(cols))
	t.fold = make(map[string]string)
	for _, c := range cols {
		t.cols[c.name] = c
		t.fold[strings.ToLower(c.name)] = c.name
	}
	t.aliases = aliases
	for a, c := range aliases {
		if _, ok := t.cols[c]; !ok {
			panic("search: alias " + a + " names unknown column " + c)
		}
		t.fold[strings.ToLower(a)] = c
	}
	return &t
}

func strs(names ...string) []column {
	out := make([]column, len(names))
	for i, n := range names {
		out[i] = column{name: n, typ: tStr}
	}
	return out
}

func typed(typ colType, names ...string) []column {
	out := strs(names...)
	for i := range out {
		out[i].typ = typ
	}
	return out
}

func concat(parts ...[]column) []column {
	var out []column
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// CloudTrail is the cloudtrail table.
var CloudTrail = withMembers(newTable(Table{
	Name: "cloudtrail", Type: "cloudtrail", Time: "event_time", textIndex: true,
	Show: []string{"event_time", "event_name", "event_source", "user_name", "source_ip", "aws_region", "recipient_account_id", "error_code", "event_id"},
	roots: set("eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
		"userAgent", "errorCode", "errorMessage", "requestParameters", "responseElements", "additionalEventData",
		"requestID", "eventID", "readOnly", "resources", "eventType", "apiVersion", "managementEvent",
		"recipientAccountId", "serviceEventDetails", "sharedEventID", "vpcEndpointId", "vpcEndpointAccountId",
		"eventCategory", "addendum", "sessionCredentialFromConsole", "edgeDeviceDetails", "tlsDetails", "insightDetails"),
}, concat(
	typed(tTime, "event_time", "session_created_at", "ingested_at"),
	strs("event_id", "event_source", "event_name", "event_type", "event_category", "aws_region",
		"recipient_account_id", "user_agent", "user_type", "user_arn", "user_account_id",
		"user_access_key_id", "user_name", "session_name", "principal", "session_issuer_name", "invoked_by",
		"error_code", "error_message", "src_country", "src_city", "src_as_org", "ua_class", "ua_family",
		"ua_version", "ua_os", "event_version", "user_principal_id", "session_issuer_type",
		"session_issuer_arn", "source_identity", "identity_store_user_id", "request_id", "shared_event_id",
		"vpc_endpoint_id", "api_version", "tls_version", "tls_cipher_suite", "tls_client_host", "source",
		"req_bucket_name", "req_key", "req_policy_arn", "req_user_name", "req_role_name", "req_role_arn",
		"req_group_name", "console_login", "mfa_used"),
	[]column{{name: "source_ip", typ: tStr, addr: true}},
	typed(tBool, "mfa_authenticated", "read_only", "management_event", "session_credential_from_console"),
	typed(tInt, "src_asn"),
), map[string]string{
	"eventTime":          "event_time",
	"eventID":            "event_id",
	"eventSource":        "event_source",
	"eventName":          "event_name",
	"eventType":          "event_type",
	"eventCategory":      "event_category",
	"eventVersion":       "event_version",
	"awsRegion":          "aws_region",
	"recipientAccountId": "recipient_account_id",
	"sourceIPAddress":    "source_ip",
	"userAgent":          "user_agent",
	"errorCode":          "error_code",
	"errorMessage":       "error_message",
	"readOnly":           "read_only",
	"managementEvent":    "management_event",
	"requestID":          "request_id",
	"sharedEventID":      "shared_event_id",
	"vpcEndpointId":      "vpc_endpoint_id",
	"apiVersion":         "api_version",

	"sessionCredentialFromConsole":                            "session_credential_from_console",
	"userIdentity.type":                                       "user_type",
	"userIdentity.arn":                                        "user_arn",
	"userIdentity.accountId":                                  "user_account_id",
	"userIdentity.accessKeyId":                                "user_access_key_id",
	"userIdentity.principalId":                                "user_principal_id",
	"userIdentity.invokedBy":                                  "invoked_by",
	"userIdentity.sessionContext.sessionIssuer.userName":      "session_issuer_name",
	"userIdentity.sessionContext.sessionIssuer.type":          "session_issuer_type",
	"userIdentity.sessionContext.sessionIssuer.arn":           "session_issuer_arn",
	"userIdentity.sessionContext.attributes.mfaAuthenticated": "mfa_authenticated",
	"userIdentity.sessionContext.attributes.creationDate":     "session_created_at",
	"userIdentity.sessionContext.sourceIdentity":              "source_identity",
	"tlsDetails.tlsVersion":                                   "tls_version",
	"tlsDetails.cipherSuite":                                  "tls_cipher_suite",
	"tlsDetails.clientProvidedHostHeader":                     "tls_client_host",
}), schema.CloudTrailMembers)

// withMembers sets the JSON paths that t's typed columns hold (column →
// path, as in schema.CloudTrailMembers).
func withMembers(t *Table, byColumn map[string]string) *Table {
	t.members = make(map[string]string, len(byColumn))
	for c, p := range byColumn {
		if _, ok := t.cols[c]; !ok {
			panic("search: member " + p + " names unknown column " + c)
		}
		t.members[p] = c
	}
	return t
}

// VPCFlow is the vpcflow table. AWS's flow-log field names (srcaddr,
// dstport, account-id, log-status …) are its column names with - for _;
// start and end are start_time and end_time.
var VPCFlow = newTable(Table{
	Name: "vpcflow", Type: "vpcflow", Time: "start_time",
	Show: []string{"start_time", "srcaddr", "srcport", "dstaddr", "dstport", "protocol_name", "action", "packets", "bytes", "interface_id", "account_id"},
}, concat(
	typed(tTime, "start_time", "end_time", "ingested_at"),
	typed(tInt, "version", "srcport", "dstport", "protocol", "packets", "bytes", "tcp_flags", "traffic_path",
		"encryption_status", "packets_lost_no_route", "packets_lost_blackhole", "packets_lost_mtu_exceeded",
		"packets_lost_ttl_expired", "src_asn", "dst_asn"),
	[]column{
		{name: "srcaddr", addr: true}, {name: "dstaddr", addr: true},
		{name: "pkt_srcaddr", addr: true}, {name: "pkt_dstaddr", addr: true},
	},
	strs("account_id", "interface_id", "protocol_name", "action", "log_status", "vpc_id", "subnet_id",
		"instance_id", "type", "region", "az_id", "sublocation_type", "sublocation_id", "pkt_src_aws_service",
		"pkt_dst_aws_service", "flow_direction", "ecs_cluster_arn", "ecs_cluster_name",
		"ecs_container_instance_arn", "ecs_container_instance_id", "ecs_container_id",
		"ecs_second_container_id", "ecs_service_name", "ecs_task_definition_arn", "ecs_task_arn", "ecs_task_id",
		"reject_reason", "resource_id", "instance_tag", "instance_tag_2", "interface_tag", "interface_tag_2",
		"asg_tag", "asg_tag_2", "interface_type", "next_hop_interface_id", "next_hop_subnet_id",
		"next_hop_az_id", "next_hop_vpc_id", "next_hop_interface_type", "resource_type", "tgw_id",
		"tgw_attachment_id", "tgw_src_vpc_account_id", "tgw_dst_vpc_account_id", "tgw_src_vpc_id",
		"tgw_dst_vpc_id", "tgw_src_subnet_id", "tgw_dst_subnet_id", "tgw_src_eni", "tgw_dst_eni",
		"tgw_src_az_id", "tgw_dst_az_id", "tgw_pair_attachment_id", "src_country", "src_city", "src_as_org",
		"dst_country", "dst_city", "dst_as_org", "source"),
), map[string]string{"start": "start_time", "end": "end_time"})

// GuardDuty is the guardduty_finding table (current state of each finding).
var GuardDuty = newTable(Table{
	Name: "guardduty_finding", Type: "guardduty", Time: "updated_at",
	Show:  []string{"updated_at", "severity", "severity_label", "type", "title", "account_id", "region", "resource_type", "id"},
	roots: set("accountId", "arn", "createdAt", "description", "id", "partition", "region", "resource", "schemaVersion", "service", "severity", "title", "type", "updatedAt"),
}, concat(
	typed(tTime, "updated_at", "created_at", "first_seen", "last_seen", "ingested_at"),
	typed(tFloat, "severity"),
	typed(tInt, "count"),
	typed(tBool, "archived"),
	strs("id", "arn", "type", "account_id", "region", "partition", "schema_version", "severity_label", "title",
		"description", "resource_type", "action_type", "resource_role", "detector_id", "source"),
), map[string]string{
	"updatedAt":                 "updated_at",
	"createdAt":                 "created_at",
	"accountId":                 "account_id",
	"schemaVersion":             "schema_version",
	"resource.resourceType":     "resource_type",
	"service.action.actionType": "action_type",
	"service.resourceRole":      "resource_role",
	"service.eventFirstSeen":    "first_seen",
	"service.eventLastSeen":     "last_seen",
	"service.count":             "count",
	"service.archived":          "archived",
	"service.detectorId":        "detector_id",
})

// Tables lists the searchable tables, in the order a query that fits
// several is given to the first.
var Tables = []*Table{CloudTrail, VPCFlow, GuardDuty}

// TableByType returns the table for a --type name (cloudtrail, vpcflow,
// guardduty; the table names are accepted too), or nil.
func TableByType(name string) *Table {
	for _, t := range Tables {
		if name == t.Type || name == t.Name {
			return t
		}
	}
	return nil
}

// Fields returns the field names the language maps to a column of t (AWS's
// names and trawl's column names), sorted.
func (t *Table) Fields() []string {
	var out []string
	for a := range t.aliases {
		out = append(out, a)
	}
	for p := range t.members {
		out = append(out, p)
	}
	for c := range t.cols {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// target is what a field resolves to: a typed column, or a JSON path in the
// raw record (compared as text).
type target struct {
	col  column
	path string // "$.a.b" when the field is a free-form JSON path
}

// resolve maps a field name to a column or JSON path of t. ok is false if
// t has no such field.
func (t *Table) resolve(field string) (target, bool) {
	f := strings.TrimPrefix(field, "$.")
	if c, ok := t.aliases[f]; ok {
		return target{col: t.cols[c]}, true
	}
	if c, ok := t.cols[f]; ok {
		return target{col: c}, true
	}
	if c, ok := t.cols[strings.ReplaceAll(f, "-", "_")]; ok && t == VPCFlow {
		return target{col: c}, true
	}
	if c, ok := t.members[f]; ok {
		return target{col: t.cols[c]}, true
	}
	if c, ok := t.fold[strings.ToLower(f)]; ok {
		return target{col: t.cols[c]}, true
	}
	root := f
	if i := strings.IndexAny(f, ".["); i >= 0 {
		root = f[:i]
	}
	if t.roots[root] {
		if path, ok := jsonPath(f); ok {
			return target{path: path}, true
		}
	}
	return target{}, false
}

// jsonPath checks a dotted path (segments of letters, digits and _, each
// optionally followed by [N] array indexes) and returns it as a DuckDB JSON
// path. The path is bound as a parameter, never written into SQL; the
// check only keeps it to paths DuckDB reads the way the user means.
func jsonPath(f string) (string, bool) {
	for _, seg := range strings.Split(f, ".") {
		name := seg
		if i := strings.IndexByte(seg, '['); i >= 0 {
			name = seg[:i]
			rest := seg[i:]
			for rest != "" {
				j := strings.IndexByte(rest, ']')
				if rest[0] != '[' || j < 2 {
					return "", false
				}
				for _, c := range rest[1:j] {
					if c < '0' || c > '9' {
						return "", false
					}
				}
				rest = rest[j+1:]
			}
		}
		if name == "" {
			return "", false
		}
		for _, c := range name {
			if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return "", false
			}
		}
	}
	return "$." + f, true
}
