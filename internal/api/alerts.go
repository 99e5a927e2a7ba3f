package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/rules"
	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// alertJSON is an alert as the API shows it.
type alertJSON struct {
	ID        int64             `json:"id"`
	RuleID    string            `json:"rule_id"`
	Title     string            `json:"title"`
	Severity  string            `json:"severity"`
	Status    string            `json:"status"`
	FirstSeen string            `json:"first_seen"`
	LastSeen  string            `json:"last_seen"`
	Count     int64             `json:"count"`
	Type      string            `json:"type"`
	Search    string            `json:"search"`
	DedupKey  string            `json:"dedup_key"`
	Tags      []string          `json:"tags"`
	Fields    map[string]string `json:"fields"`
	Note      string            `json:"note"`
	EventIDs  []string          `json:"event_ids"`
	CreatedAt string            `json:"created_at"`
	UpdatedAt string            `json:"updated_at"`
	ClosedAt  *string           `json:"closed_at"`
	Hits      []hitJSON         `json:"hits,omitempty"`
}

type hitJSON struct {
	EventID string  `json:"event_id"`
	Time    *string `json:"time"`
}

// alertSearch is the search-language query listing an alert's events:
// its event ids (at most 50) for CloudTrail and GuardDuty; "" for flow
// alerts, whose keys are no stored id (the UI shows their time range).
func alertSearch(a alert.Alert) string {
	field := ""
	switch a.LogType {
	case "cloudtrail":
		field = "eventID"
	case "guardduty":
		field = "id"
	default:
		return ""
	}
	var parts []string
	for _, id := range a.EventIDs[:min(len(a.EventIDs), 50)] {
		parts = append(parts, field+":"+search.Quote(id))
	}
	return strings.Join(parts, " OR ")
}

func toJSON(a alert.Alert) alertJSON {
	j := alertJSON{ID: a.ID, RuleID: a.RuleID, Title: a.Title, Severity: a.Severity, Status: string(a.Status),
		FirstSeen: formatTime(a.FirstSeen), LastSeen: formatTime(a.LastSeen), Count: a.Count, Type: a.LogType,
		Search: alertSearch(a), DedupKey: a.DedupKey, Tags: a.Tags, Fields: a.Fields, Note: a.Note,
		EventIDs: a.EventIDs, CreatedAt: formatTime(a.CreatedAt), UpdatedAt: formatTime(a.UpdatedAt)}
	if j.Tags == nil {
		j.Tags = []string{}
	}
	if j.EventIDs == nil {
		j.EventIDs = []string{}
	}
	if j.Fields == nil {
		j.Fields = map[string]string{}
	}
	if !a.ClosedAt.IsZero() {
		s := formatTime(a.ClosedAt)
		j.ClosedAt = &s
	}
	return j
}

func (a *API) alerts(w http.ResponseWriter, r *http.Request) error {
	if a.opt.Alerts == nil {
		return notFound("alerts are not available on this server")
	}
	v := r.URL.Query()
	for _, k := range []string{"q", "rule", "status", "severity"} {
		if s := v.Get(k); !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 || len(s) > 4096 {
			return badRequest("%s: not valid text (UTF-8, no NUL, at most 4096 bytes)", k)
		}
	}
	limit, err := intParam(r, "limit", 200, 1, 10000)
	if err != nil {
		return err
	}
	f := duckdb.AlertFilter{}
	if f.Statuses, err = alert.ParseStatuses(v.Get("status")); err != nil {
		return badRequest("status: %v", err)
	}
	if sev := v.Get("severity"); sev != "" {
		if alert.SeverityRank(sev) < 0 {
			return badRequest("severity: %q is not one of %s", sev, strings.Join(alert.Severities, ", "))
		}
		f.MinSeverity = sev
	}
	if rule := v.Get("rule"); rule != "" {
		f.Rules = strings.Split(rule, ",")
	}
	text := strings.ToLower(strings.TrimSpace(v.Get("q")))
	if text == "" {
		f.Limit = limit
	}
	as, err := a.opt.Alerts.Alerts(r.Context(), f)
	if err != nil {
		return fmt.Errorf("listing alerts: %w", err)
	}
	out := []alertJSON{}
	for _, al := range as {
		if text != "" && !strings.Contains(strings.ToLower(al.Title+" "+al.RuleID+" "+al.DedupKey), text) {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, toJSON(al))
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": out})
	return nil
}

func alertID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("%q is not an alert id (a positive number)", s)
	}
	return id, nil
}

func (a *API) getAlert(r *http.Request) (alert.Alert, error) {
	if a.opt.Alerts == nil {
		return alert.Alert{}, notFound("alerts are not available on this server")
	}
	id, err := alertID(r)
	if err != nil {
		return alert.Alert{}, err
	}
	al, err := a.opt.Alerts.Alert(r.Context(), id)
	if errors.Is(err, duckdb.ErrNoAlert) {
		return al, notFound("no alert #%d", id)
	}
	if err != nil {
		return al, fmt.Errorf("reading alert #%d: %w", id, err)
	}
	return al, nil
}

// hitQueries find an alert's events and their times by id.
var hitQueries = map[string]string{
	"cloudtrail": `SELECT event_id, event_time FROM cloudtrail WHERE event_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY event_time`,
	"guardduty":  `SELECT id, updated_at FROM guardduty_finding WHERE id IN (SELECT unnest(?::VARCHAR[])) ORDER BY updated_at`,
}

// hitQueriesClickHouse are hitQueries in ClickHouse's SQL.
var hitQueriesClickHouse = map[string]string{
	"cloudtrail": `SELECT event_id, event_time FROM cloudtrail WHERE event_id IN (SELECT arrayJoin(?)) ORDER BY event_time`,
	"guardduty":  `SELECT id, updated_at FROM guardduty_finding WHERE id IN (SELECT arrayJoin(?)) ORDER BY updated_at`,
}

func (a *API) alert(w http.ResponseWriter, r *http.Request) error {
	al, err := a.getAlert(r)
	if err != nil {
		return err
	}
	j := toJSON(al)
	j.Hits = []hitJSON{}
	times := map[string]time.Time{}
	queries := hitQueries
	if a.dialect() == store.ClickHouse {
		queries = hitQueriesClickHouse
	}
	if sql, ok := queries[al.LogType]; ok && len(al.EventIDs) > 0 {
		rows, err := a.opt.Store.Query(r.Context(), store.Request{SQL: sql, Args: []any{al.EventIDs}})
		if err != nil {
			return fmt.Errorf("reading the events of alert #%d: %w", al.ID, err)
		}
		for rows.Next() {
			v := rows.Values()
			id, _ := v[0].(string)
			if tm, ok := v[1].(time.Time); ok {
				times[id] = tm
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("reading the events of alert #%d: %w", al.ID, err)
		}
	}
	for _, id := range al.EventIDs {
		h := hitJSON{EventID: id}
		if tm, ok := times[id]; ok {
			s := formatTime(tm)
			h.Time = &s
		}
		j.Hits = append(j.Hits, h)
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

func (a *API) ack(w http.ResponseWriter, r *http.Request) error {
	return a.setStatus(w, r, alert.Acknowledged)
}

func (a *API) closeAlert(w http.ResponseWriter, r *http.Request) error {
	return a.setStatus(w, r, alert.Closed)
}

func (a *API) reopen(w http.ResponseWriter, r *http.Request) error {
	return a.setStatus(w, r, alert.Open)
}

func (a *API) setStatus(w http.ResponseWriter, r *http.Request, to alert.Status) error {
	if a.opt.Alerts == nil {
		return notFound("alerts are not available on this server")
	}
	id, err := alertID(r)
	if err != nil {
		return err
	}
	var body struct {
		Note string `json:"note"`
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return badRequest("reading the request body: %v", err)
	}
	if len(strings.TrimSpace(string(b))) > 0 {
		if err := json.Unmarshal(b, &body); err != nil {
			return badRequest(`the body must be JSON: {"note": "…"} (%v)`, err)
		}
	}
	if err := a.opt.Alerts.SetAlertStatus(r.Context(), id, to, body.Note); err != nil {
		if errors.Is(err, duckdb.ErrNoAlert) {
			return notFound("no alert #%d", id)
		}
		return fmt.Errorf("setting alert #%d %s: %w", id, to, err)
	}
	al, err := a.opt.Alerts.Alert(r.Context(), id)
	if err != nil {
		return fmt.Errorf("reading alert #%d: %w", id, err)
	}
	writeJSON(w, http.StatusOK, toJSON(al))
	return nil
}

func (a *API) rules(w http.ResponseWriter, r *http.Request) error {
	type ruleJSON struct {
		ID          string   `json:"id"`
		Title       string   `json:"title"`
		Level       string   `json:"level"`
		Severity    string   `json:"severity"`
		Enabled     bool     `json:"enabled"`
		Kind        string   `json:"kind"`
		RuleKind    string   `json:"rule_kind"`
		Service     string   `json:"service"`
		Technique   string   `json:"technique"`
		Techniques  []string `json:"techniques"`
		Description string   `json:"description"`
		File        string   `json:"file"`
	}
	out := []ruleJSON{}
	for _, ru := range a.opt.Rules {
		j := ruleJSON{ID: ru.ID, Title: ru.Title, Level: ru.Level, Severity: ru.Severity(), Enabled: ru.Enabled, Kind: "scheduled", RuleKind: ru.Kind,
			Service: ru.LogType.String(), Techniques: ru.Techniques, Description: ru.Description, File: ru.File}
		if ru.Kind == rules.KindStreaming {
			j.Kind = "streaming"
		}
		if j.Techniques == nil {
			j.Techniques = []string{}
		}
		if len(ru.Techniques) > 0 {
			j.Technique = ru.Techniques[0]
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": out})
	return nil
}
