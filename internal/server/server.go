// Package server is trawl's HTTP server (trawl serve, trawl run --serve,
// trawl demo): it mounts the API (internal/api), the dashboards, the
// embedded web UI, /healthz, /metrics and /openapi.json on one handler,
// and guards every request: a bearer token or cookie when one is set
// (required off loopback), CSRF checks on POST, a strict
// Content-Security-Policy and other headers on every response, and a
// Host check against DNS rebinding when no token is set.
package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/api"
)

// ContentSecurityPolicy is sent with every response.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// CookieName is the cookie that carries the token in a browser.
const CookieName = "trawl_token"

// DefaultAddr is where trawl serve listens unless told otherwise.
const DefaultAddr = "127.0.0.1:8080"

// Routes are what the server answers besides the API's own routes
// (api.Routes): /openapi.json documents both. The dashboards' routes are
// answered by Options.Dashboards.
var Routes = []string{
	"GET /healthz", "GET /metrics", "GET /openapi.json",
	"GET /api/dashboards", "GET /api/dashboards/{id}/filters", "GET /api/dashboards/{id}/panels/{panel}",
}

// Options configure a server.
type Options struct {
	// Addr is host:port to listen on (DefaultAddr if empty).
	Addr string
	// Token, if set, is required on every request but /healthz. Without
	// it, Addr must be loopback.
	Token string
	// API answers /api/. Required.
	API *api.API
	// Dashboards, if set, answers /api/dashboards and below.
	Dashboards http.Handler
	// Web, if set, answers every other path (the UI); else a placeholder
	// page.
	Web http.Handler
	// Metrics, if set, answers /metrics.
	Metrics http.Handler
	// Log receives the server's errors; nil discards them.
	Log *slog.Logger
}

// Handler returns the server's handler: every route behind the security
// middleware.
func Handler(opt Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(api.OpenAPI())
	})
	if opt.Metrics != nil {
		mux.Handle("GET /metrics", opt.Metrics)
	}
	opt.API.Register(mux)
	if opt.Dashboards != nil {
		mux.Handle("/api/dashboards", opt.Dashboards)
		mux.Handle("/api/dashboards/", opt.Dashboards)
	}
	web := opt.Web
	if web == nil {
		web = http.HandlerFunc(placeholder)
	}
	mux.Handle("/", web)
	return guard(opt.Token, mux)
}

// guard wraps h with the security checks.
func guard(token string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", ContentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		if token == "" && !loopbackHost(r.Host) {
			// No token means loopback only: a page on another site that
			// rebinds its name to 127.0.0.1 arrives with its own Host.
			deny(w, http.StatusForbidden, fmt.Sprintf("host %q is not a loopback name: without a token this server answers only http://127.0.0.1 and http://localhost", r.Host))
			return
		}
		if token != "" && r.URL.Path != "/healthz" {
			if t := r.URL.Query().Get("token"); t != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
				if !equal(t, token) {
					deny(w, http.StatusUnauthorized, "the token in the address is wrong")
					return
				}
				// Trade the token in the address for a cookie, and take it
				// out of the address (and so of history and logs).
				http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/", HttpOnly: true,
					SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
				u := *r.URL
				q := u.Query()
				q.Del("token")
				u.RawQuery = q.Encode()
				http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
				return
			}
			if !authorized(r, token) {
				hd.Set("WWW-Authenticate", `Bearer realm="trawl"`)
				deny(w, http.StatusUnauthorized, "a token is required: send Authorization: Bearer TOKEN, or open /?token=TOKEN once in the browser")
				return
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
			if err := checkCSRF(r); err != nil {
				deny(w, http.StatusForbidden, err.Error())
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// authorized reports whether r carries the token, as a bearer token or
// the cookie.
func authorized(r *http.Request, token string) bool {
	if h := r.Header.Get("Authorization"); h != "" {
		t, ok := strings.CutPrefix(h, "Bearer ")
		return ok && equal(strings.TrimSpace(t), token)
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return equal(c.Value, token)
	}
	return false
}

// checkCSRF refuses a state-changing request that a page of another site
// could have sent: it must carry X-Trawl-Request: 1 (a header a form
// cannot set and a cross-site fetch cannot send without a preflight this
// server never approves), and its Origin, if any, must be this server.
func checkCSRF(r *http.Request) error {
	if r.Header.Get("X-Trawl-Request") != "1" {
		return errors.New("a state-changing request must carry the header X-Trawl-Request: 1")
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return errors.New("cross-site requests are refused")
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || o == "null" || !strings.EqualFold(u.Host, r.Host) {
			return fmt.Errorf("origin %q is not this server (%s): cross-site requests are refused", o, r.Host)
		}
	}
	return nil
}

func deny(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"error\":%q}\n", msg)
}

// loopbackHost reports whether a Host header names this machine's
// loopback interface.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsLoopback reports whether addr (host:port) listens on loopback only.
// An empty host (":8080") listens everywhere.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	return loopbackHost(host)
}

// CheckBind refuses to listen beyond loopback without a token, saying
// why and how to set one.
func CheckBind(addr, token string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("address %q: %w (use HOST:PORT, such as 127.0.0.1:8080)", addr, err)
	}
	if token == "" && !IsLoopback(addr) {
		return fmt.Errorf("refusing to listen on %s without a token: anyone who can reach it could read every stored log and run SQL. "+
			"Set a token (--token-file FILE, serve.token or serve.token_file in trawl.yaml, or the TRAWL_TOKEN variable), "+
			"or listen on loopback (--addr 127.0.0.1:8080) behind a reverse proxy", addr)
	}
	return nil
}

// Server is a listening server.
type Server struct {
	ln  net.Listener
	srv *http.Server
}

// Listen checks the address and token and starts listening (the port is
// bound when it returns; Addr says which, for port 0).
func Listen(opt Options) (*Server, error) {
	if opt.Addr == "" {
		opt.Addr = DefaultAddr
	}
	if err := CheckBind(opt.Addr, opt.Token); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opt.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", opt.Addr, err)
	}
	var elog *slog.Logger
	if opt.Log != nil {
		elog = opt.Log
	}
	srv := &http.Server{Handler: Handler(opt), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	if elog != nil {
		srv.ErrorLog = slog.NewLogLogger(elog.Handler(), slog.LevelWarn)
	}
	return &Server{ln: ln, srv: srv}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the server's base address (http://127.0.0.1:8080).
func (s *Server) URL() string {
	a := s.ln.Addr().(*net.TCPAddr)
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(a.Port))
}

// Serve answers requests until ctx ends, then shuts down, giving requests
// in flight five seconds.
func (s *Server) Serve(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.srv.Serve(s.ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		_ = s.srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving HTTP: %w", err)
	}
	return nil
}

// placeholder is the page served where no web UI is built in.
func placeholder(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>trawl</title></head>
<body><h1>trawl</h1><p>The API is at <a href="/api/stats">/api/stats</a>; it is described in <a href="/openapi.json">/openapi.json</a>.</p></body></html>
`))
}
