package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

func newAlertsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List, show, acknowledge and close alerts; see their deliveries",
		Long: `Alerts are what rules raise: hits of one rule with one dedup key, grouped while
they keep coming within the rule's suppression window. An alert is open,
acknowledged (it still absorbs new hits) or closed (the next hit opens a new
alert). docs/alerts.md describes them and their delivery to notifiers.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	cmd.AddCommand(newAlertsListCmd(e), newAlertsShowCmd(e), newAlertsStatusCmd(e, "ack", alert.Acknowledged),
		newAlertsStatusCmd(e, "close", alert.Closed), newAlertsStatusCmd(e, "reopen", alert.Open), newAlertsDeliveriesCmd(e))
	return cmd
}

// openAlerts opens the database named by --db, read-only unless write.
func openAlerts(cmd *cobra.Command, write bool) (*app.Store, error) {
	db, _ := cmd.Flags().GetString("db")
	if missingDB(db) {
		return nil, &exitError{code: exitFailure, err: fmt.Errorf("no database at %s: run `trawl ingest PATH` or `trawl run` first, or pass --db", db)}
	}
	mode := app.Query
	if write {
		mode = app.Ingest
	}
	st, err := app.Open(cmd.Context(), app.Options{DB: db, Mode: mode})
	if err != nil {
		return nil, openFailure(err)
	}
	return st, nil
}

func formatFlag(cmd *cobra.Command, format *string) {
	cmd.Flags().StringVarP(format, "format", "f", "", "output format: table, csv or json (default: table on a terminal, csv otherwise)")
}

func writerFor(e *env, format string) (output.Writer, error) {
	if format == "" {
		format = "csv"
		if e.stdoutIsTerminal() {
			format = "table"
		}
	}
	w, err := output.NewWriter(format, e.stdout, 60)
	if err != nil {
		return nil, usageError("--format: %v", err)
	}
	return w, nil
}

func newAlertsListCmd(e *env) *cobra.Command {
	var status, severity, since, format string
	var rules []string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List alerts, the latest activity first",
		Example: `  trawl alerts list
  trawl alerts list --status all --since 7d
  trawl alerts list --severity high --rule 'aws-iam-*' --format json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := duckdb.AlertFilter{Rules: rules, Limit: limit}
			var err error
			if f.Statuses, err = alert.ParseStatuses(status); err != nil {
				return usageError("--status: %v", err)
			}
			if severity != "" {
				if alert.SeverityRank(severity) < 0 {
					return usageError("--severity: %q is not one of %s", severity, strings.Join(alert.Severities, ", "))
				}
				f.MinSeverity = severity
			}
			if f.Since, err = parseMomentFlag("since", since, time.Now()); err != nil {
				return err
			}
			w, err := writerFor(e, format)
			if err != nil {
				return err
			}
			st, err := openAlerts(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			as, err := st.Alerts(cmd.Context(), f)
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			if err := w.Header([]string{"id", "status", "severity", "rule_id", "title", "count", "first_seen", "last_seen", "dedup_key"}); err != nil {
				return err
			}
			for _, a := range as {
				if err := w.Row([]any{a.ID, string(a.Status), a.Severity, a.RuleID, a.Title, a.Count, a.FirstSeen, a.LastSeen, a.DedupKey}); err != nil {
					return err
				}
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "open, acknowledged, closed (comma-separated) or all (default: open and acknowledged)")
	cmd.Flags().StringVar(&severity, "severity", "", "least severity: info, low, medium, high or critical")
	cmd.Flags().StringSliceVar(&rules, "rule", nil, "rule ids (a trailing * matches a prefix); repeatable")
	cmd.Flags().StringVar(&since, "since", "", "alerts active since: a date, an RFC 3339 time, or an age (7d)")
	cmd.Flags().IntVar(&limit, "limit", 0, "most alerts listed (0: all)")
	formatFlag(cmd, &format)
	return cmd
}

func parseAlertID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError("%q is not an alert id (a number, as `trawl alerts list` shows)", s)
	}
	return id, nil
}

func alertFailure(err error) error {
	if errors.Is(err, duckdb.ErrNoAlert) {
		return &exitError{code: exitFailure, err: fmt.Errorf("%w (see `trawl alerts list --status all`)", err)}
	}
	return &exitError{code: exitFailure, err: err}
}

func newAlertsShowCmd(e *env) *cobra.Command {
	var events int
	var format string
	cmd := &cobra.Command{
		Use:     "show ID",
		Short:   "Show an alert and the first of its events",
		Example: "  trawl alerts show 12\n  trawl alerts show 12 --events 20 --format json",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseAlertID(args[0])
			if err != nil {
				return err
			}
			st, err := openAlerts(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			a, err := st.Alert(cmd.Context(), id)
			if err != nil {
				return alertFailure(err)
			}
			if format == "json" {
				return json.NewEncoder(e.stdout).Encode(a)
			}
			printAlert(e, a)
			if events <= 0 || len(a.EventIDs) == 0 {
				return nil
			}
			ids := a.EventIDs[:min(events, len(a.EventIDs))]
			return showEvents(cmd.Context(), e, st.Querier(), a.LogType, ids, format)
		},
	}
	cmd.Flags().IntVar(&events, "events", 5, "how many of the alert's events to show (0: none)")
	cmd.Flags().StringVarP(&format, "format", "f", "", "text (default) or json (the alert only)")
	return cmd
}

func printAlert(e *env, a alert.Alert) {
	p := func(k string, v any) { fmt.Fprintf(e.stdout, "%-11s %v\n", k+":", v) }
	p("alert", fmt.Sprintf("#%d", a.ID))
	p("title", a.Title)
	p("rule", a.RuleID)
	p("severity", a.Severity)
	p("status", a.Status)
	p("count", a.Count)
	p("first seen", a.FirstSeen.UTC().Format(time.RFC3339))
	p("last seen", a.LastSeen.UTC().Format(time.RFC3339))
	p("dedup key", a.DedupKey)
	if a.LogType != "" {
		p("log type", a.LogType)
	}
	if len(a.Tags) > 0 {
		p("tags", strings.Join(a.Tags, ", "))
	}
	if a.Note != "" {
		p("note", a.Note)
	}
	if !a.ClosedAt.IsZero() {
		p("closed", a.ClosedAt.UTC().Format(time.RFC3339))
	}
	p("event ids", strings.Join(a.EventIDs, ", "))
	if len(a.Fields) > 0 {
		fmt.Fprintln(e.stdout, "fields:")
		keys := make([]string, 0, len(a.Fields))
		for k := range a.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(e.stdout, "  %-18s %s\n", k+":", a.Fields[k])
		}
	}
}

// eventQueries find an alert's events by id in each table that has ids.
var eventQueries = []struct{ kind, sql string }{
	{"cloudtrail", `SELECT event_time, event_id, event_source, event_name, principal, source_ip, aws_region, recipient_account_id, error_code
		FROM cloudtrail WHERE event_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY event_time LIMIT 100`},
	{"guardduty", `SELECT updated_at, id, type, severity, title, account_id, region
		FROM guardduty_finding WHERE id IN (SELECT unnest(?::VARCHAR[])) ORDER BY updated_at LIMIT 100`},
}

// showEvents prints the stored records behind ids: CloudTrail events and
// GuardDuty findings by id. (Flow records have no id of their own.)
func showEvents(ctx context.Context, e *env, q store.Querier, logType string, ids []string, format string) error {
	w, err := writerFor(e, format)
	if err != nil || format == "json" {
		w, err = writerFor(e, "")
	}
	if err != nil {
		return err
	}
	for _, eq := range eventQueries {
		if logType != "" && logType != eq.kind {
			continue
		}
		rows, err := q.Query(ctx, store.Request{SQL: eq.sql, Args: []any{ids}})
		if err != nil {
			return &exitError{code: exitFailure, err: fmt.Errorf("reading the alert's %s events: %w", eq.kind, err)}
		}
		var buf [][]any
		for rows.Next() {
			buf = append(buf, append([]any(nil), rows.Values()...))
		}
		cols := rows.Columns()
		err = rows.Err()
		rows.Close()
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		if len(buf) == 0 {
			continue
		}
		fmt.Fprintf(e.stdout, "\n%s events (%d of %d ids):\n", eq.kind, len(buf), len(ids))
		if err := w.Header(cols); err != nil {
			return err
		}
		for _, r := range buf {
			if err := w.Row(r); err != nil {
				return err
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if w, err = writerFor(e, ""); err != nil {
			return err
		}
	}
	return nil
}

func newAlertsStatusCmd(e *env, verb string, to alert.Status) *cobra.Command {
	var note string
	short := map[string]string{"ack": "Acknowledge an alert (it still absorbs new hits)",
		"close": "Close an alert (the next hit of its rule and key opens a new one)", "reopen": "Open a closed or acknowledged alert again"}[verb]
	cmd := &cobra.Command{
		Use:     verb + " ID...",
		Short:   short,
		Example: fmt.Sprintf("  trawl alerts %s 12 --note \"expected: break-glass test\"", verb),
		Args:    usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ids []int64
			for _, a := range args {
				id, err := parseAlertID(a)
				if err != nil {
					return err
				}
				ids = append(ids, id)
			}
			st, err := openAlerts(cmd, true)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, id := range ids {
				if err := st.SetAlertStatus(cmd.Context(), id, to, note); err != nil {
					return alertFailure(err)
				}
				fmt.Fprintf(e.stdout, "alert #%d is %s\n", id, to)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "a note kept with the alert")
	return cmd
}

func newAlertsDeliveriesCmd(e *env) *cobra.Command {
	var status, format string
	var limit int
	var retry bool
	cmd := &cobra.Command{
		Use:   "deliveries",
		Short: "Show the alert outbox: pending, delivered and failed messages",
		Long: `Deliveries lists the outbox: one row per alert and notifier. Pending rows wait
for the delivery worker of ` + "`trawl run`" + ` (with their attempts, next attempt and
last error); failed rows ran out of retries. --retry makes failed rows
pending again.`,
		Example: "  trawl alerts deliveries\n  trawl alerts deliveries --status failed\n  trawl alerts deliveries --retry",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var sts []alert.DeliveryStatus
			switch status {
			case "all":
			case "":
				sts = []alert.DeliveryStatus{alert.Pending, alert.Failed}
			default:
				for _, s := range strings.Split(status, ",") {
					d := alert.DeliveryStatus(strings.TrimSpace(s))
					if d != alert.Pending && d != alert.Delivered && d != alert.Failed {
						return usageError("--status: %q is not pending, delivered, failed or all", s)
					}
					sts = append(sts, d)
				}
			}
			if retry {
				st, err := openAlerts(cmd, true)
				if err != nil {
					return err
				}
				defer st.Close()
				n, err := st.RetryFailed(cmd.Context(), nil)
				if err != nil {
					return &exitError{code: exitFailure, err: err}
				}
				fmt.Fprintf(e.stdout, "%d failed deliveries are pending again\n", n)
				return nil
			}
			w, err := writerFor(e, format)
			if err != nil {
				return err
			}
			st, err := openAlerts(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			ds, err := st.Deliveries(cmd.Context(), sts, limit)
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			if err := w.Header([]string{"id", "alert_id", "notifier", "status", "attempts", "created_at", "next_attempt_at", "delivered_at", "last_error"}); err != nil {
				return err
			}
			for _, d := range ds {
				var next, done any
				if d.Status == alert.Pending {
					next = d.NextAttempt
				}
				if !d.DeliveredAt.IsZero() {
					done = d.DeliveredAt
				}
				if err := w.Row([]any{d.ID, d.AlertID, d.Notifier, string(d.Status), d.Attempts, d.CreatedAt, next, done, d.LastError}); err != nil {
					return err
				}
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "pending, delivered, failed (comma-separated) or all (default: pending and failed)")
	cmd.Flags().IntVar(&limit, "limit", 100, "most rows shown (0: all)")
	cmd.Flags().BoolVar(&retry, "retry", false, "make failed deliveries pending again")
	formatFlag(cmd, &format)
	return cmd
}
