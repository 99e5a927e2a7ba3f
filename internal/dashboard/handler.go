package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Handler serves the dashboards' HTTP API (docs/dashboards.md, the
// Dashboards section of the API contract) on its full paths:
//
//	GET /api/dashboards                             the dashboards and their panels
//	GET /api/dashboards/{id}/filters?from&to         accounts and regions to filter on
//	GET /api/dashboards/{id}/panels/{panel}?from&to&account=a,b&region=x,y
//
// Errors are JSON, {"error": "…"}: 400 for a bad parameter, 404 for an
// unknown dashboard, panel or path, 405 for a method other than GET.
func Handler(q Querier) http.Handler {
	h := &handler{q: q}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/dashboards", h.list)
	mux.HandleFunc("GET /api/dashboards/{id}/filters", h.filters)
	mux.HandleFunc("GET /api/dashboards/{id}/panels/{panel}", h.panel)
	mux.HandleFunc("/api/dashboards/", h.notFound)
	mux.HandleFunc("/api/dashboards", h.notFound)
	return mux
}

type handler struct{ q Querier }

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"dashboards": Dashboards()})
}

func (h *handler) filters(w http.ResponseWriter, r *http.Request) {
	d := Find(r.PathValue("id"))
	if d == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no dashboard %q", r.PathValue("id")))
		return
	}
	f, err := parseFilter(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out, err := d.Filters(r.Context(), h.q, f)
	if err != nil {
		writeQueryError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) panel(w http.ResponseWriter, r *http.Request) {
	d := Find(r.PathValue("id"))
	if d == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no dashboard %q", r.PathValue("id")))
		return
	}
	p := d.Panel(r.PathValue("panel"))
	if p == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("dashboard %s has no panel %q", d.ID, r.PathValue("panel")))
		return
	}
	f, err := parseFilter(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := d.Run(r.Context(), h.q, p, f)
	if err != nil {
		writeQueryError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed: the dashboards API is read-only (GET)", r.Method))
		return
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("no such dashboards endpoint: %s", r.URL.Path))
}

// parseFilter reads from, to, account and region.
func parseFilter(r *http.Request) (Filter, error) {
	var f Filter
	q := r.URL.Query()
	var err error
	if f.From, err = ParseTime(q.Get("from")); err != nil {
		return f, fmt.Errorf("from: %w", err)
	}
	if f.To, err = ParseTime(q.Get("to")); err != nil {
		return f, fmt.Errorf("to: %w", err)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, fmt.Errorf("from (%s) must be before to (%s)", f.From.Format(time.RFC3339Nano), f.To.Format(time.RFC3339Nano))
	}
	f.Accounts = list(q["account"])
	f.Regions = list(q["region"])
	return f, nil
}

// ParseTime reads a request time: RFC 3339, or integer epoch
// milliseconds; "" is the zero time (unbounded).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	var t time.Time
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		t = time.UnixMilli(ms)
	} else if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-11-30T12:00:00Z) nor epoch milliseconds", s)
	}
	if t.UTC().Year() < 1 || t.UTC().Year() > 9999 {
		return time.Time{}, fmt.Errorf("%q is outside the years 1-9999", s)
	}
	return t.UTC(), nil
}

// list splits comma-separated values (the parameter may also repeat),
// dropping empty ones.
func list(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// writeQueryError reports a failed query: 504 when it ran out of time,
// 500 otherwise (the panels' SQL is fixed, so a failure is not the
// request's fault).
func writeQueryError(w http.ResponseWriter, err error) {
	if errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusGatewayTimeout, err.Error())
		return
	}
	writeError(w, http.StatusInternalServerError, err.Error())
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}
