package dashboard

import (
	"strings"

	"github.com/trawl-project/trawl/internal/search"
)

// topN is how many rows a "top" panel shows.
const topN = 10

// accessDenied are the error codes the errors panel counts as access
// denied (IAM's, and EC2's spelling).
var accessDenied = []string{"AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation", "UnauthorizedOperation"}

// iamChanges are the IAM calls that change users, access keys, groups,
// roles and policies.
var iamChanges = []string{
	"CreateUser", "DeleteUser", "UpdateUser", "CreateLoginProfile", "UpdateLoginProfile", "DeleteLoginProfile",
	"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey",
	"CreateGroup", "DeleteGroup", "AddUserToGroup", "RemoveUserFromGroup",
	"CreateRole", "DeleteRole", "UpdateAssumeRolePolicy",
	"AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy", "AttachRolePolicy", "DetachRolePolicy",
	"PutUserPolicy", "DeleteUserPolicy", "PutGroupPolicy", "DeleteGroupPolicy", "PutRolePolicy", "DeleteRolePolicy",
	"CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion", "SetDefaultPolicyVersion",
	"EnableMFADevice", "DeactivateMFADevice", "DeleteVirtualMFADevice",
}

// sqlList is names as SQL string literals, for fixed lists in this file
// only (never user input).
func sqlList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	return strings.Join(q, ", ")
}

// searchList is names as a search-language group: (a OR b OR c).
func searchList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return "(" + strings.Join(q, " OR ") + ")"
}

var (
	ctSource = &source{table: search.CloudTrail, account: "recipient_account_id", region: "aws_region",
		accountField: "recipientAccountId", regionField: "awsRegion"}
	flowSource = &source{table: search.VPCFlow, account: "account_id", region: "region",
		accountField: "account_id", regionField: "region"}
	gdSource = &source{table: search.GuardDuty, account: "account_id", region: "region",
		accountField: "accountId", regionField: "region"}
)

// top is a bar panel of the topN values of col (NULL left out) by a
// measure, with cond (SQL, fixed) and its search form narrowing the rows.
func top(id, title, desc, col, field, measure, measureName, unit, cond, condSearch string) *Panel {
	where := "{where} AND " + col + " IS NOT NULL"
	if cond != "" {
		where += " AND " + cond
	}
	return &Panel{
		ID: id, Title: title, Description: desc, Kind: Bar, Width: 1, Unit: unit,
		Columns: []string{col, measureName},
		SQL: "SELECT " + col + ", " + measure + " AS " + measureName + " FROM {table} WHERE " + where +
			" GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT " + itoa(topN),
		chSQL: "SELECT " + col + ", " + chMeasure(measure) + " AS " + measureName + " FROM {table} WHERE " + where +
			" GROUP BY " + col + " ORDER BY " + measureName + " DESC, " + col + " LIMIT " + itoa(topN),
		Measure: measure, MeasureColumn: measureName,
		Search: func(row []any) string { return and(condSearch, eq(field, row[0])) },
	}
}

// series is a timeseries panel counting rows per bucket and value of
// the expression expr.
func series(id, title, desc, expr, measure, unit, cond string, search func(row []any) string) *Panel {
	where := "{where}"
	if cond != "" {
		where += " AND " + cond
	}
	return &Panel{
		ID: id, Title: title, Description: desc, Kind: Timeseries, Width: 2, Unit: unit,
		Columns: []string{"t_ms", "series", "value"},
		SQL: "SELECT {bucket} AS t_ms, " + expr + " AS series, " + measure + " AS value FROM {table} WHERE " + where +
			" GROUP BY 1, 2 ORDER BY 1, 2",
		chSQL: "SELECT {bucket} AS t_ms, " + expr + " AS series, " + chMeasure(measure) + " AS value FROM {table} WHERE " + where +
			" GROUP BY t_ms, series ORDER BY t_ms, series",
		Measure: measure, MeasureColumn: "value",
		Search: search,
	}
}

const (
	sumBytes   = "sum(bytes)::BIGINT"
	sumPackets = "sum(packets)::BIGINT"
)

// chMeasure is a measure in ClickHouse's SQL.
func chMeasure(m string) string {
	switch m {
	case sumBytes:
		return "toInt64(sum(bytes))"
	case sumPackets:
		return "toInt64(sum(packets))"
	}
	return m
}

// chRaw is ClickHouse's json_extract_string(raw, '$.requestParameters.'+key)
// for a key of requestParameters: 18.16 has no JSON functions, and
// visitParam functions find the first member of that name at any depth.
func chRaw(key string) string {
	return "nullIf(visitParamExtractString(visitParamExtractRaw(raw, 'requestParameters'), '" + key + "'), '')"
}

var cloudTrail = &Dashboard{ID: "cloudtrail", Title: "CloudTrail", Type: "cloudtrail", src: ctSource, Panels: []*Panel{
	series("events_by_account", "Events over time by account", "CloudTrail events per time bucket, one series per account (recipientAccountId).",
		"recipient_account_id", "count(*)", UnitEvents, "",
		func(row []any) string { return eq("recipientAccountId", row[1]) }),
	top("top_event_names", "Top event names", "The most frequent API calls (eventName).",
		"event_name", "eventName", "count(*)", "count", UnitEvents, "", ""),
	top("top_principals", "Top principals", "Who acted most: the person or actor behind each event (principal).",
		"principal", "principal", "count(*)", "count", UnitEvents, "", ""),
	top("top_source_ips", "Top source IP addresses", "The busiest sourceIPAddress values (addresses, or AWS service names).",
		"source_ip", "sourceIPAddress", "count(*)", "count", UnitEvents, "", ""),
	top("top_user_agents", "Top user agents", "The most frequent userAgent strings.",
		"user_agent", "userAgent", "count(*)", "count", UnitEvents, "", ""),
	series("errors_over_time", "Errors and AccessDenied over time",
		"Events with an errorCode per time bucket: access denied ("+strings.Join(accessDenied, ", ")+") and every other error.",
		"CASE WHEN error_code IN ("+sqlList(accessDenied)+") THEN 'AccessDenied' ELSE 'other errors' END",
		"count(*)", UnitEvents, "error_code IS NOT NULL",
		func(row []any) string {
			if row[1] == "AccessDenied" {
				return "errorCode:" + searchList(accessDenied)
			}
			return "errorCode:* AND NOT errorCode:" + searchList(accessDenied)
		}),
	{
		ID: "console_logins", Title: "Console logins with and without MFA", Kind: Bar, Width: 1, Unit: UnitEvents,
		Description: "ConsoleLogin events by result (responseElements.ConsoleLogin) and whether MFA was used (additionalEventData.MFAUsed).",
		Columns:     []string{"login", "count"},
		SQL: "SELECT coalesce(result, 'unknown result') || ', ' || CASE mfa WHEN 'Yes' THEN 'MFA' WHEN 'No' THEN 'no MFA' ELSE 'MFA unknown' END AS login, " +
			"count(*) AS count, result, mfa FROM (SELECT " + colConsoleLogin + " AS result, " + colMFAUsed + " AS mfa " +
			"FROM {table} WHERE {where} AND event_name = 'ConsoleLogin') GROUP BY ALL ORDER BY count DESC, login",
		chSQL: "SELECT concat(coalesce(result, 'unknown result'), ', ', CASE WHEN mfa = 'Yes' THEN 'MFA' WHEN mfa = 'No' THEN 'no MFA' ELSE 'MFA unknown' END) AS login, " +
			"count(*) AS count, result, mfa FROM (SELECT " + colConsoleLogin + " AS result, " + colMFAUsed + " AS mfa " +
			"FROM {table} WHERE {where} AND event_name = 'ConsoleLogin') GROUP BY result, mfa ORDER BY count DESC, login",
		Measure: "count(*)", MeasureColumn: "count",
		Search: func(row []any) string {
			return and("eventName:ConsoleLogin", eq(fieldConsoleLogin, row[2]), eq(fieldMFAUsed, row[3]))
		},
	},
	{
		ID: "iam_changes", Title: "IAM changes (users, keys, groups, roles, policies)", Kind: Table, Width: 2, Unit: UnitEvents,
		Description: "The latest 100 IAM calls that change users, access keys, groups, roles or policies, with what they changed.",
		Columns:     []string{"event_time", "event_name", "principal", "target", "policy", "access_key_id", "recipient_account_id", "aws_region", "source_ip", "error_code", "event_id"},
		// The latest 100 are chosen on stored columns first; the request
		// parameters are read from raw for those 100 only.
		SQL: "WITH latest AS (SELECT event_time, event_id FROM {table} WHERE {where} AND event_source = 'iam.amazonaws.com' " +
			"AND event_name IN (" + sqlList(iamChanges) + ") ORDER BY event_time DESC, event_id LIMIT 100) " +
			"SELECT c.event_time, c.event_name, c.principal, coalesce(" + colReqUserName + ", " + colReqRoleName + ", " + colReqGroupName + ") AS target, " +
			"coalesce(" + colReqPolicyArn + ", " + colReqPolicyName + ") AS policy, " + colReqAccessKeyID + " AS access_key_id, " +
			"c.recipient_account_id, c.aws_region, c.source_ip, c.error_code, c.event_id " +
			"FROM {table} c JOIN latest l ON c.event_time = l.event_time AND c.event_id = l.event_id " +
			"WHERE c.event_time >= (SELECT min(event_time) FROM latest) AND c.event_time <= (SELECT max(event_time) FROM latest) " +
			"ORDER BY c.event_time DESC, c.event_id",
		// ClickHouse 18.16 has no WITH subqueries: one pass, the JSON
		// members read by visitParam functions.
		chSQL: "SELECT event_time, event_name, principal, coalesce(" + colReqUserName + ", " + colReqRoleName + ", " + colReqGroupName + ") AS target, " +
			"coalesce(" + colReqPolicyArn + ", " + chRaw("policyName") + ") AS policy, " + chRaw("accessKeyId") + " AS access_key_id, " +
			"recipient_account_id, aws_region, source_ip, error_code, event_id FROM {table} WHERE {where} AND event_source = 'iam.amazonaws.com' " +
			"AND event_name IN (" + sqlList(iamChanges) + ") ORDER BY event_time DESC, event_id LIMIT 100",
		Search: func(row []any) string { return eq("eventID", row[10]) },
	},
	top("activity_by_region", "Activity by region", "Events per AWS region (awsRegion).",
		"aws_region", "awsRegion", "count(*)", "count", UnitEvents, "", ""),
	{
		ID: "source_countries", Title: "Source IP addresses by country", Kind: Map, Width: 2, Unit: UnitEvents,
		Description: "Events per country of sourceIPAddress (src_country, from GeoIP enrichment; empty without a GeoIP database).",
		Columns:     []string{"country", "value"},
		SQL:         "SELECT src_country AS country, count(*) AS value FROM {table} WHERE {where} AND src_country IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1",
		chSQL:       "SELECT src_country AS country, count(*) AS value FROM {table} WHERE {where} AND src_country IS NOT NULL GROUP BY country ORDER BY value DESC, country",
		Measure:     "count(*)", MeasureColumn: "value",
		Search: func(row []any) string { return eq("src_country", row[0]) },
	},
}}

var vpcFlow = &Dashboard{ID: "vpcflow", Title: "VPC Flow Logs", Type: "vpcflow", src: flowSource, Panels: []*Panel{
	series("accepted_rejected", "Accepted vs rejected over time", "Flow records per time bucket, by action (ACCEPT, REJECT).",
		"action", "count(*)", UnitEvents, "",
		func(row []any) string { return eq("action", row[1]) }),
	talkers("top_sources", "Top sources", "The source addresses that sent the most bytes, with packets and flow records.",
		[]string{"srcaddr"}, rollupSources),
	talkers("top_destinations", "Top destinations", "The destination addresses that received the most bytes, with packets and flow records.",
		[]string{"dstaddr"}, rollupDestinations),
	talkers("top_pairs", "Top talker pairs", "The source and destination pairs that moved the most bytes, with packets and flow records.",
		[]string{"srcaddr", "dstaddr"}, rollupPairs),
	top("top_dst_ports", "Top destination ports", "Flow records per destination port.",
		"dstport", "dstport", "count(*)", "count", UnitEvents, "", ""),
	top("rejected_by_port", "Rejected traffic by destination port", "Rejected flow records per destination port.",
		"dstport", "dstport", "count(*)", "count", UnitEvents, "action = 'REJECT'", "action:REJECT"),
	withRollup(top("rejected_by_source", "Rejected traffic by source", "Rejected flow records per source address.",
		"srcaddr", "srcaddr", "count(*)", "count", UnitEvents, "action = 'REJECT'", "action:REJECT"), rollupRejected),
	top("bytes_by_interface", "Traffic by network interface", "Bytes per network interface (interface-id).",
		"interface_id", "interface-id", sumBytes, "bytes", UnitBytes, "", ""),
	top("bytes_by_subnet", "Traffic by subnet", "Bytes per subnet (subnet-id; records in a format without it are left out).",
		"subnet_id", "subnet-id", sumBytes, "bytes", UnitBytes, "", ""),
	top("bytes_by_vpc", "Traffic by VPC", "Bytes per VPC (vpc-id; records in a format without it are left out).",
		"vpc_id", "vpc-id", sumBytes, "bytes", UnitBytes, "", ""),
}}

// withRollup sets the rollup kind a panel can read (rollup.go).
func withRollup(p *Panel, kind string) *Panel { p.rollup = kind; return p }

// talkers is a table of the topN values of cols by bytes, with packets
// and flow records; it reads the rollup's kind when it is fresh.
func talkers(id, title, desc string, cols []string, rollup string) *Panel {
	keys := strings.Join(cols, ", ")
	return &Panel{
		ID: id, Title: title, Description: desc, Kind: Table, Width: 1, Unit: UnitBytes,
		Columns: append(append([]string(nil), cols...), "bytes", "packets", "flows"),
		SQL: "SELECT " + keys + ", " + sumBytes + " AS bytes, " + sumPackets + " AS packets, count(*) AS flows FROM {table} WHERE {where} GROUP BY ALL " +
			"ORDER BY bytes DESC NULLS LAST, " + keys + " LIMIT " + itoa(topN),
		chSQL: "SELECT " + keys + ", " + chMeasure(sumBytes) + " AS bytes, " + chMeasure(sumPackets) + " AS packets, count(*) AS flows FROM {table} WHERE {where} GROUP BY " + keys +
			" ORDER BY bytes DESC NULLS LAST, " + keys + " LIMIT " + itoa(topN),
		Measure: sumBytes, MeasureColumn: "bytes",
		Search: func(row []any) string {
			parts := make([]string, len(cols))
			for i, c := range cols {
				parts[i] = eq(c, row[i])
			}
			return and(parts...)
		},
		rollup: rollup,
	}
}

var guardDuty = &Dashboard{ID: "guardduty", Title: "GuardDuty", Type: "guardduty", src: gdSource, Panels: []*Panel{
	series("findings_by_severity", "Findings by severity over time",
		"Findings (current state) per time bucket of their last update (updatedAt), by severity (Low, Medium, High, Critical).",
		"severity_label", "count(*)", UnitFindings, "",
		func(row []any) string { return eq("severity_label", row[1]) }),
	top("findings_by_type", "Findings by type", "Findings per finding type.",
		"type", "type", "count(*)", "count", UnitFindings, "", ""),
	top("findings_by_resource", "Findings by resource type", "Findings per affected resource type (resource.resourceType).",
		"resource_type", "resource.resourceType", "count(*)", "count", UnitFindings, "", ""),
	top("findings_by_account", "Findings by account", "Findings per member account (accountId).",
		"account_id", "accountId", "count(*)", "count", UnitFindings, "", ""),
	{
		ID: "current_vs_updates", Title: "Current state vs updates", Kind: Bar, Width: 1, Unit: UnitFindings,
		Description: "Findings last updated in the range (the current state, one row per finding), how many of them are archived, " +
			"and the versions stored in the range (guardduty_finding_history: every update GuardDuty published).",
		Columns: []string{"state", "count"},
		SQL: "SELECT 'findings (current state)' AS state, count(*) AS count, 0 AS ord FROM guardduty_finding WHERE {where} " +
			"UNION ALL SELECT 'archived findings', count(*), 1 FROM guardduty_finding WHERE {where} AND archived " +
			"UNION ALL SELECT 'versions (updates)', count(*), 2 FROM guardduty_finding_history WHERE {where} ORDER BY ord",
		// 18.16's ORDER BY after UNION ALL sorts the last SELECT only.
		chSQL: "SELECT state, count, ord FROM (SELECT 'findings (current state)' AS state, count(*) AS count, 0 AS ord FROM guardduty_finding WHERE {where} " +
			"UNION ALL SELECT 'archived findings', count(*), 1 FROM guardduty_finding WHERE {where} AND archived = 1 " +
			"UNION ALL SELECT 'versions (updates)', count(*), 2 FROM guardduty_finding_history WHERE {where}) ORDER BY ord",
		Measure: "count(*)", MeasureColumn: "count",
		Search: func(row []any) string {
			switch row[0] {
			case "findings (current state)":
				return "id:*"
			case "archived findings":
				return "service.archived:true"
			}
			return "" // the history is not searchable
		},
	},
	{
		ID: "newest_high", Title: "Newest high-severity findings", Kind: Table, Width: 2, Unit: UnitFindings,
		Description: "The 50 most recently updated findings of severity 7 or more (High and Critical).",
		Columns:     []string{"updated_at", "severity", "severity_label", "type", "title", "account_id", "region", "resource_type", "count", "id"},
		SQL: "SELECT updated_at, severity, severity_label, type, title, account_id, region, resource_type, count, id " +
			"FROM {table} WHERE {where} AND severity >= 7 ORDER BY updated_at DESC, id LIMIT 50",
		Search: func(row []any) string { return eq("id", row[9]) },
	},
}}

var dashboards = []*Dashboard{cloudTrail, vpcFlow, guardDuty}
