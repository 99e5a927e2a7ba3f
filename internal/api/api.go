// Package api answers trawl's HTTP API (docs/api.md, /work/api-contract.md):
// search, count, histogram, field top values, event detail, export, the
// read-only SQL console, the schema, alerts and rules, as JSON. Every query
// it runs is built from the search language's compiled SQL with bound
// arguments: user text never becomes SQL. Security (tokens, CSRF, headers)
// and listening are internal/server's job.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/rules"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// Querier runs read-only SQL with bound arguments (store.Querier).
type Querier interface {
	Query(ctx context.Context, req store.Request) (store.Rows, error)
}

// SQLRunner runs one sandboxed, read-only statement from a user
// (duckdb.Store.QuerySandboxed); a refused statement is a
// *duckdb.RefusedError.
type SQLRunner interface {
	QuerySandboxed(ctx context.Context, sql string, maxRows int) (*duckdb.SandboxResult, error)
}

// AlertStore lists, reads and changes alerts (duckdb.Store).
type AlertStore interface {
	Alerts(ctx context.Context, f duckdb.AlertFilter) ([]alert.Alert, error)
	Alert(ctx context.Context, id int64) (alert.Alert, error)
	SetAlertStatus(ctx context.Context, id int64, st alert.Status, note string) error
}

// Defaults and bounds of the SQL console.
const (
	DefaultSQLTimeout = 30 * time.Second
	DefaultSQLRows    = 10000
	MaxSQLRows        = 100000
)

// Options configure an API.
type Options struct {
	// Store answers search queries. Required.
	Store Querier
	// SQL runs the SQL console; nil answers 404 there.
	SQL SQLRunner
	// Alerts serves /api/alerts; nil answers 404 there.
	Alerts AlertStore
	// Rules are the loaded rules (with their enabled state) /api/rules
	// lists; nil lists none.
	Rules []*rules.Rule
	// SQLTimeout bounds a console statement (default DefaultSQLTimeout).
	SQLTimeout time.Duration
	// QueryTimeout bounds every other query (default 60 s).
	QueryTimeout time.Duration
	// Debug adds an X-Trawl-SQL header (the SQL run, as JSON) to search
	// responses, for tools/querybench.
	Debug bool
	// Log receives failures that are not the client's (500s).
	Log *slog.Logger
	// Now is the clock for relative times (now-24h); default time.Now.
	Now func() time.Time
}

// API is the HTTP API. Its methods are safe for concurrent use.
type API struct {
	opt  Options
	base baseTables
}

// New returns an API.
func New(opt Options) *API {
	if opt.SQLTimeout <= 0 {
		opt.SQLTimeout = DefaultSQLTimeout
	}
	if opt.QueryTimeout <= 0 {
		opt.QueryTimeout = 60 * time.Second
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &API{opt: opt}
}

// Route is one endpoint: its method and path pattern (http.ServeMux
// syntax).
type Route struct {
	Method, Path string
	handler      func(*API, http.ResponseWriter, *http.Request) error
}

// routes are every endpoint of the API. /openapi.json documents each (a
// test keeps the two equal).
var routes = []Route{
	{"GET", "/api/stats", (*API).stats},
	{"GET", "/api/search", (*API).search},
	{"GET", "/api/count", (*API).count},
	{"GET", "/api/histogram", (*API).histogram},
	{"GET", "/api/fields", (*API).fields},
	{"GET", "/api/fieldlist", (*API).fieldList},
	{"GET", "/api/event", (*API).event},
	{"GET", "/api/export", (*API).export},
	{"POST", "/api/sql", (*API).sql},
	{"GET", "/api/schema", (*API).schema},
	{"GET", "/api/alerts", (*API).alerts},
	{"GET", "/api/alerts/{id}", (*API).alert},
	{"POST", "/api/alerts/{id}/ack", (*API).ack},
	{"POST", "/api/alerts/{id}/close", (*API).closeAlert},
	{"POST", "/api/alerts/{id}/reopen", (*API).reopen},
	{"GET", "/api/rules", (*API).rules},
}

// Routes returns the API's endpoints.
func Routes() []Route { return append([]Route(nil), routes...) }

// Register adds every endpoint to mux, and a JSON 404 for other /api/
// paths.
func (a *API) Register(mux *http.ServeMux) {
	for _, r := range routes {
		h := r.handler
		mux.HandleFunc(r.Method+" "+r.Path, func(w http.ResponseWriter, req *http.Request) {
			if err := h(a, w, req); err != nil {
				a.fail(w, req, err)
			}
		})
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, req *http.Request) {
		a.fail(w, req, notFound("no API endpoint %s %s (see /openapi.json)", req.Method, req.URL.Path))
	})
}

// httpError is an error with its status and, for a position in a query,
// the 1-based column.
type httpError struct {
	status   int
	msg      string
	position int
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &httpError{status: http.StatusNotFound, msg: fmt.Sprintf(format, args...)}
}

// errorBody is the JSON of every error.
type errorBody struct {
	Error    string `json:"error"`
	Position int    `json:"position,omitempty"`
}

// fail answers an error: its own status for an *httpError, 504 for a
// statement that ran out of time, 403 for refused SQL, else 500 (logged).
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	var re *duckdb.RefusedError
	switch {
	case errors.As(err, &he):
	case errors.As(err, &re):
		he = &httpError{status: http.StatusForbidden, msg: re.Reason}
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Interrupted") && r.Context().Err() == nil:
		he = &httpError{status: http.StatusGatewayTimeout, msg: "the query ran out of time: narrow the time range or the query"}
	case r.Context().Err() != nil:
		// The client went away: nobody reads the answer.
		return
	default:
		a.opt.Log.Error("api", "method", r.Method, "path", r.URL.Path, "error", err)
		he = &httpError{status: http.StatusInternalServerError, msg: err.Error()}
	}
	writeJSON(w, he.status, errorBody{Error: he.msg, Position: he.position})
}

// writeJSON writes v as the JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// tookMs is the milliseconds since start.
func tookMs(start time.Time) int64 { return time.Since(start).Milliseconds() }
