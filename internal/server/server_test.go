package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/api"
	"github.com/trawl-project/trawl/internal/metrics"
	"github.com/trawl-project/trawl/internal/server"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

const token = "0123456789abcdef0123"

// newServer serves a real API over an empty store.
func newServer(t *testing.T, tok string) *httptest.Server {
	t.Helper()
	st, _ := duckdbtest.Open(t)
	a := api.New(api.Options{Store: st, SQL: st, Alerts: st})
	dash := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"dashboards":[]}`) })
	srv := httptest.NewServer(server.Handler(server.Options{Token: tok, API: a, Dashboards: dash, Metrics: metrics.New().Handler("")}))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url string, hdr map[string]string, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestHeadersOnEveryResponse(t *testing.T) {
	for _, tok := range []string{"", token} {
		srv := newServer(t, tok)
		for _, p := range []string{"/", "/healthz", "/api/stats", "/api/nosuch", "/openapi.json", "/metrics", "/api/dashboards", "/search?q=x"} {
			resp := do(t, "GET", srv.URL+p, nil, "")
			h := resp.Header
			if h.Get("Content-Security-Policy") != server.ContentSecurityPolicy || h.Get("X-Content-Type-Options") != "nosniff" ||
				h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
				t.Errorf("token %q, %s (%d): headers %v", tok, p, resp.StatusCode, h)
			}
			if h.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("%s: a CORS header", p)
			}
		}
	}
}

func TestNoTokenLoopbackOnly(t *testing.T) {
	srv := newServer(t, "")
	if resp := do(t, "GET", srv.URL+"/api/stats", nil, ""); resp.StatusCode != 200 {
		t.Errorf("loopback without a token: %d, want 200", resp.StatusCode)
	}
	for _, host := range []string{"localhost:8080", "[::1]:8080", "127.0.0.1"} {
		if resp := do(t, "GET", srv.URL+"/api/stats", map[string]string{"Host": host}, ""); resp.StatusCode != 200 {
			t.Errorf("Host %s: %d, want 200", host, resp.StatusCode)
		}
	}
	// DNS rebinding: a page on evil.example whose name now points here.
	for _, host := range []string{"evil.example", "evil.example:8080", "10.0.0.5:8080"} {
		if resp := do(t, "GET", srv.URL+"/api/stats", map[string]string{"Host": host}, ""); resp.StatusCode != 403 {
			t.Errorf("Host %s without a token: %d, want 403", host, resp.StatusCode)
		}
	}
}

func TestToken(t *testing.T) {
	srv := newServer(t, token)
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"none", nil, 401},
		{"bearer", map[string]string{"Authorization": "Bearer " + token}, 200},
		{"wrong bearer", map[string]string{"Authorization": "Bearer nope"}, 401},
		{"basic", map[string]string{"Authorization": "Basic " + token}, 401},
		{"cookie", map[string]string{"Cookie": server.CookieName + "=" + token}, 200},
		{"wrong cookie", map[string]string{"Cookie": server.CookieName + "=x"}, 401},
		{"bearer beyond loopback", map[string]string{"Authorization": "Bearer " + token, "Host": "trawl.example.com"}, 200},
		{"none beyond loopback", map[string]string{"Host": "trawl.example.com"}, 401},
	} {
		if resp := do(t, "GET", srv.URL+"/api/stats", tc.hdr, ""); resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	if resp := do(t, "GET", srv.URL+"/healthz", nil, ""); resp.StatusCode != 200 {
		t.Errorf("/healthz without a token: %d, want 200", resp.StatusCode)
	}
	for _, p := range []string{"/", "/metrics", "/openapi.json", "/api/dashboards"} {
		if resp := do(t, "GET", srv.URL+p, nil, ""); resp.StatusCode != 401 {
			t.Errorf("%s without a token: %d, want 401", p, resp.StatusCode)
		}
	}
	// The token in the address becomes a cookie, and leaves the address.
	resp := do(t, "GET", srv.URL+"/search?q=x&token="+token, nil, "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/search?q=x" {
		t.Fatalf("/?token=: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := resp.Header.Get("Set-Cookie")
	if !strings.Contains(c, server.CookieName+"="+token) || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") {
		t.Errorf("Set-Cookie %q: want the token, HttpOnly, SameSite=Strict", c)
	}
	if resp := do(t, "GET", srv.URL+"/?token=wrong", nil, ""); resp.StatusCode != 401 || resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("a wrong token in the address: %d, cookie %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}
}

func TestCSRF(t *testing.T) {
	srv := newServer(t, "")
	host := strings.TrimPrefix(srv.URL, "http://")
	body := `{"sql":"SELECT 1"}`
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"no header", nil, 403},
		{"header", map[string]string{"X-Trawl-Request": "1"}, 200},
		{"same origin", map[string]string{"X-Trawl-Request": "1", "Origin": srv.URL, "Sec-Fetch-Site": "same-origin"}, 200},
		{"cross origin", map[string]string{"X-Trawl-Request": "1", "Origin": "http://evil.example"}, 403},
		{"null origin", map[string]string{"X-Trawl-Request": "1", "Origin": "null"}, 403},
		{"other port", map[string]string{"X-Trawl-Request": "1", "Origin": "http://127.0.0.1:1"}, 403},
		{"cross-site fetch", map[string]string{"X-Trawl-Request": "1", "Sec-Fetch-Site": "cross-site"}, 403},
		{"form post", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"}, 403},
	} {
		if resp := do(t, "POST", srv.URL+"/api/sql", tc.hdr, body); resp.StatusCode != tc.want {
			t.Errorf("%s (host %s): %d, want %d", tc.name, host, resp.StatusCode, tc.want)
		}
	}
	if resp := do(t, "POST", srv.URL+"/api/alerts/1/ack", map[string]string{"Origin": "http://evil.example", "X-Trawl-Request": "1"}, ""); resp.StatusCode != 403 {
		t.Errorf("cross-origin ack: %d, want 403", resp.StatusCode)
	}
	if resp := do(t, "GET", srv.URL+"/api/alerts/1/ack", nil, ""); resp.StatusCode == 200 {
		t.Error("GET changed an alert's state")
	}
}

func TestCheckBind(t *testing.T) {
	for _, tc := range []struct {
		addr, tok string
		ok        bool
	}{
		{"127.0.0.1:8080", "", true},
		{"localhost:8080", "", true},
		{"[::1]:8080", "", true},
		{"0.0.0.0:8080", "", false},
		{":8080", "", false},
		{"192.0.2.1:8080", "", false},
		{"0.0.0.0:8080", token, true},
		{"nonsense", "", false},
	} {
		err := server.CheckBind(tc.addr, tc.tok)
		if (err == nil) != tc.ok {
			t.Errorf("CheckBind(%q, %q) = %v", tc.addr, tc.tok, err)
		}
		if err != nil && tc.addr != "nonsense" && !strings.Contains(err.Error(), "--token-file") {
			t.Errorf("the refusal does not say how: %v", err)
		}
	}
	if _, err := server.Listen(server.Options{Addr: "0.0.0.0:0"}); err == nil {
		t.Error("Listen on 0.0.0.0 without a token started")
	}
}

func TestListenServeShutdown(t *testing.T) {
	st, _ := duckdbtest.Open(t)
	srv, err := server.Listen(server.Options{Addr: "127.0.0.1:0", API: api.New(api.Options{Store: st})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	resp, err := http.Get(srv.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "ok") {
		t.Errorf("/healthz: %d %s", resp.StatusCode, b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
}

func TestInfoFile(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.duckdb")
	remove, err := server.WriteInfo(db, server.Info{URL: "http://127.0.0.1:1", PID: os.Getpid(), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(server.InfoPath(db))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("info file: %v, mode %v, want 0600", err, fi.Mode())
	}
	info, err := server.ReadInfo(db)
	if err != nil || info.URL != "http://127.0.0.1:1" || info.Token != token {
		t.Errorf("ReadInfo: %+v %v", info, err)
	}
	remove()
	if _, err := os.Stat(server.InfoPath(db)); !os.IsNotExist(err) {
		t.Errorf("the info file is still there: %v", err)
	}
}

// TestOpenAPIMatchesRoutes keeps /openapi.json and the routes served
// equal: every route is documented, and every documented path is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	var documented []string
	for p, ops := range doc.Paths {
		for m := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	served := append([]string(nil), server.Routes...)
	for _, r := range api.Routes() {
		served = append(served, r.Method+" "+r.Path)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Errorf("documented:\n%s\n\nserved:\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
	// And each served route answers something other than the 404 of an
	// unknown route.
	srv := newServer(t, "")
	param := regexp.MustCompile(`\{[a-z]+\}`)
	for _, r := range served {
		method, path, _ := strings.Cut(r, " ")
		path = param.ReplaceAllString(path, "1")
		resp := do(t, method, srv.URL+path, map[string]string{"X-Trawl-Request": "1"}, "{}")
		if resp.StatusCode == 405 || resp.StatusCode == 404 && !strings.HasPrefix(path, "/api/alerts/") {
			t.Errorf("%s %s: %d", method, path, resp.StatusCode)
		}
	}
}
