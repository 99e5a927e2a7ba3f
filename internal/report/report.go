// Package report holds named queries over a store that say what it holds
// and what stands out: the demo's summary, and checks the detection rules
// build on. Each is an ordinary query run through a store.Querier, so the
// CLI, the HTTP API and scheduled rules can run the same ones.
package report

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/store"
)

// Check is a named query whose rows are findings: each row is something
// that stands out.
type Check struct {
	Name  string // short identifier
	Title string // what a row means
	SQL   string
	// Line renders a row (values as text, NULL as "").
	Line func(v []string) string
}

// Checks are the demo's "what stands out" queries: an IAM user given
// AdministratorAccess, a console login without MFA from an address not
// seen on the first day, logging or detection turned off, a port scan, and
// GuardDuty findings of medium severity or more.
var Checks = []Check{
	{
		Name:  "admin-policy-attached",
		Title: "AdministratorAccess attached to an IAM user",
		SQL: `SELECT strftime(event_time, '%Y-%m-%d %H:%M'), user_name, source_ip,
			(request_parameters->>'$.userName'), (request_parameters->>'$.policyArn'), recipient_account_id
			FROM cloudtrail WHERE event_name = 'AttachUserPolicy' AND (request_parameters->>'$.policyArn') LIKE '%AdministratorAccess'
			ORDER BY event_time LIMIT 5`,
		Line: func(v []string) string {
			return fmt.Sprintf("! %s  %s attached AdministratorAccess to IAM user %s from %s (account %s)", v[0], v[1], v[3], v[2], v[5])
		},
	},
	{
		Name:  "console-login-without-mfa-new-address",
		Title: "console login without MFA from an address not seen on the first day",
		SQL: `SELECT strftime(event_time, '%Y-%m-%d %H:%M'), user_name, source_ip, recipient_account_id
			FROM cloudtrail WHERE event_name = 'ConsoleLogin' AND (additional_event_data->>'$.MFAUsed') = 'No'
			AND (response_elements->>'$.ConsoleLogin') = 'Success'
			AND source_ip NOT IN (SELECT DISTINCT source_ip FROM cloudtrail_base WHERE event_name = 'ConsoleLogin'
				AND event_time < (SELECT min(event_time) + INTERVAL 1 DAY FROM cloudtrail_base) AND source_ip IS NOT NULL)
			ORDER BY event_time LIMIT 5`,
		Line: func(v []string) string {
			return fmt.Sprintf("! %s  console login without MFA by %s from %s, an address not seen on the first day (account %s)", v[0], v[1], v[2], v[3])
		},
	},
	{
		Name:  "logging-tampering",
		Title: "logging or detection stopped or deleted",
		SQL: `SELECT strftime(event_time, '%Y-%m-%d %H:%M'), user_name, source_ip, event_name,
			coalesce(' (' || (request_parameters->>'$.name') || ')', ''), coalesce(error_code, 'succeeded')
			FROM cloudtrail WHERE event_name IN ('StopLogging', 'DeleteTrail', 'DeleteFlowLogs', 'DeleteDetector', 'DisableSecurityHub')
			ORDER BY event_time LIMIT 5`,
		Line: func(v []string) string {
			return fmt.Sprintf("! %s  %s called %s%s from %s: %s", v[0], v[1], v[3], v[4], v[2], v[5])
		},
	},
	{
		Name:  "port-scan",
		Title: "one address probing 100 or more ports of another within 10 minutes",
		SQL: `SELECT srcaddr, dstaddr, count(DISTINCT dstport) AS ports, count(*) FILTER (action = 'REJECT') AS rejected,
			strftime(min(start_time), '%Y-%m-%d %H:%M')
			FROM vpcflow WHERE dstport IS NOT NULL
			GROUP BY srcaddr, dstaddr, time_bucket(INTERVAL 10 MINUTE, start_time)
			HAVING count(DISTINCT dstport) >= 100 ORDER BY ports DESC LIMIT 5`,
		Line: func(v []string) string {
			return fmt.Sprintf("! %s  port scan: %s probed %s ports on %s within 10 minutes (%s rejected)", v[4], v[0], v[2], v[1], v[3])
		},
	},
	{
		Name:  "guardduty-medium-or-higher",
		Title: "GuardDuty findings of severity 4 or more",
		SQL: `SELECT severity_label, type, account_id, strftime(updated_at, '%Y-%m-%d %H:%M'), "count"
			FROM guardduty_finding WHERE severity >= 4 ORDER BY severity DESC, updated_at LIMIT 8`,
		Line: func(v []string) string {
			return fmt.Sprintf("! %s  GuardDuty %s: %s in account %s (seen %s times)", v[3], v[0], v[1], v[2], v[4])
		},
	},
}

// Run runs a check and returns its rows as text.
func (c Check) Run(ctx context.Context, q store.Querier) ([][]string, error) {
	rows, err := store.Collect(ctx, q, store.Request{SQL: c.SQL}, output.Text)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", c.Name, err)
	}
	return rows, nil
}

// Summary writes what the store holds, the busiest API calls and every
// check's findings.
func Summary(ctx context.Context, q store.Querier, w io.Writer) error {
	one := func(sql string) (string, error) {
		rows, err := store.Collect(ctx, q, store.Request{SQL: sql}, output.Text)
		if err != nil || len(rows) == 0 || len(rows[0]) == 0 {
			return "", err
		}
		return rows[0][0], nil
	}
	counts, err := one(`SELECT
		format('{:,} CloudTrail events, {:,} digest files, {:,} flow-log records, {:,} GuardDuty findings ({:,} versions)',
			(SELECT count(*) FROM cloudtrail_base), (SELECT count(*) FROM cloudtrail_digest), (SELECT count(*) FROM vpcflow),
			(SELECT count(*) FROM guardduty_finding), (SELECT count(*) FROM guardduty_finding_history))`)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "The database holds %s.\n", counts)
	span, err := one(`SELECT strftime(min(event_time), '%Y-%m-%d %H:%M') || ' to ' || strftime(max(event_time), '%Y-%m-%d %H:%M') || ' UTC, ' ||
		count(DISTINCT recipient_account_id)::VARCHAR || ' accounts, ' || count(DISTINCT aws_region)::VARCHAR || ' regions'
		FROM cloudtrail_base`)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "CloudTrail covers %s.\n", span)

	fmt.Fprintf(w, "\nBusiest API calls:\n")
	busiest, err := store.Collect(ctx, q, store.Request{SQL: `SELECT event_source, event_name, count(*) AS n FROM cloudtrail_base
		GROUP BY ALL ORDER BY n DESC, 2 LIMIT 5`}, output.Text)
	if err != nil {
		return err
	}
	for _, v := range busiest {
		fmt.Fprintf(w, "  %8s  %s %s\n", v[2], strings.TrimSuffix(v[0], ".amazonaws.com"), v[1])
	}

	fmt.Fprintf(w, "\nWhat stands out:\n")
	lines, err := Standouts(ctx, q)
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
	if len(lines) == 0 {
		fmt.Fprintln(w, "  nothing: no admin grants, MFA-less logins from new addresses, logging tampering, port scans or high-severity findings")
	}
	return Alerts(ctx, q, w, 10)
}

// Standouts runs every check and returns their lines in time order
// (each line starts with "! " and the time of what it reports; lines
// without a time come last, checks' order kept for equal times).
func Standouts(ctx context.Context, q store.Querier) ([]string, error) {
	var lines []string
	for _, c := range Checks {
		rows, err := c.Run(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, v := range rows {
			lines = append(lines, c.Line(v))
		}
	}
	slices.SortStableFunc(lines, func(a, b string) int {
		ta, tb := lineTime(a), lineTime(b)
		switch {
		case ta == tb:
			return 0
		case ta == "":
			return 1
		case tb == "":
			return -1
		}
		return strings.Compare(ta, tb)
	})
	return lines, nil
}

// lineTime is the "YYYY-MM-DD HH:MM" a check's line starts with after
// "! ", or "".
func lineTime(l string) string {
	l = strings.TrimPrefix(l, "! ")
	if len(l) < 16 || l[4] != '-' || l[10] != ' ' {
		return ""
	}
	return l[:16]
}

// Alerts writes how many alerts are open by severity and the n most
// severe, newest first (the alert table: docs/alerts.md).
func Alerts(ctx context.Context, q store.Querier, w io.Writer, n int) error {
	bySev, err := store.Collect(ctx, q, store.Request{SQL: alertsBySeverity, Args: []any{alert.Severities}}, output.Text)
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	if len(bySev) == 0 {
		fmt.Fprintf(w, "\nAlerts: none open.\n")
		return nil
	}
	var parts []string
	for _, v := range bySev {
		parts = append(parts, v[1]+" "+v[0])
	}
	fmt.Fprintf(w, "\nAlerts raised by the built-in rules (trawl alerts list): %s\n", strings.Join(parts, ", "))
	top, err := store.Collect(ctx, q, store.Request{SQL: topAlerts, Args: []any{alert.Severities, n}}, output.Text)
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	for _, v := range top {
		count := ""
		if v[4] != "1" {
			count = " (" + v[4] + " times)"
		}
		fmt.Fprintf(w, "  #%-4s %-8s %s  %s%s\n", v[0], v[1], v[2], v[3], count)
	}
	return nil
}

// severityRank orders severities most severe first, by their place in
// the list bound to its parameter (alert.Severities, least severe first).
const severityRank = `list_position(?::VARCHAR[], severity) DESC NULLS LAST`

const alertsBySeverity = `SELECT severity, count(*)::VARCHAR FROM alert WHERE status <> 'closed'
	GROUP BY severity ORDER BY ` + severityRank

const topAlerts = `SELECT id::VARCHAR, severity, strftime(first_seen, '%Y-%m-%d %H:%M'), title, count::VARCHAR
	FROM alert WHERE status <> 'closed'
	ORDER BY ` + severityRank + `, first_seen DESC, id LIMIT ?`
