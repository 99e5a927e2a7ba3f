package web

import (
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return string(b)
}

// Every path that is not an asset returns index.html, so a shared URL loads
// the app; the index is never cached and points at the versioned assets.
func TestSPAFallback(t *testing.T) {
	for _, p := range []string{"/", "/search?q=eventName:CreateUser&from=now-24h", "/dashboards/cloudtrail", "/alerts?status=open", "/rules", "/sql?sql=SELECT%201", "/no/such/page"} {
		r := get(t, p, nil)
		b := body(t, r)
		if r.StatusCode != 200 {
			t.Fatalf("%s: status %d", p, r.StatusCode)
		}
		if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("%s: Cache-Control %q", p, cc)
		}
		if !strings.Contains(b, `src="/assets/`+Version()+`/js/app.js"`) {
			t.Errorf("%s: index does not load the versioned app.js:\n%s", p, b)
		}
		if strings.Contains(b, "{{ASSETS}}") {
			t.Errorf("%s: unreplaced placeholder", p)
		}
	}
}

// The index has no inline script or style (the CSP forbids both) and loads
// nothing from another origin.
func TestIndexCSPClean(t *testing.T) {
	b := body(t, get(t, "/", nil))
	for _, re := range []string{`<script(?:\s[^>]*)?>[^<]+</script>`, `<style`, `style=`, `\son[a-z]+=`, `https?://`} {
		if regexp.MustCompile(re).MatchString(b) {
			t.Errorf("index.html matches %s:\n%s", re, b)
		}
	}
}

func TestAssets(t *testing.T) {
	cases := map[string]string{
		"js/app.js":                           "text/javascript; charset=utf-8",
		"vendor/preact.mjs":                   "text/javascript; charset=utf-8",
		"vendor/chart.umd.min.js":             "text/javascript; charset=utf-8",
		"app.css":                             "text/css; charset=utf-8",
		"vendor/countries-110m.json":          "application/json",
		"favicon.svg":                         "image/svg+xml",
		"vendor/chartjs-chart-geo.umd.min.js": "text/javascript; charset=utf-8",
	}
	for name, ct := range cases {
		r := get(t, "/assets/"+Version()+"/"+name, nil)
		b := body(t, r)
		if r.StatusCode != 200 {
			t.Fatalf("%s: status %d", name, r.StatusCode)
		}
		if got := r.Header.Get("Content-Type"); got != ct {
			t.Errorf("%s: Content-Type %q, want %q", name, got, ct)
		}
		if got := r.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", name, got)
		}
		if len(b) == 0 {
			t.Errorf("%s: empty", name)
		}
		// A revalidation with the ETag is answered without a body.
		r2 := get(t, "/assets/"+Version()+"/"+name, map[string]string{"If-None-Match": r.Header.Get("ETag")})
		if r2.StatusCode != http.StatusNotModified {
			t.Errorf("%s: If-None-Match gave %d", name, r2.StatusCode)
		}
	}
}

// Unknown assets, stale versions and path tricks are 404s, not the index.
func TestAssetNotFound(t *testing.T) {
	for _, p := range []string{
		"/assets/" + Version() + "/nope.js",
		"/assets/000000000000/js/app.js",
		"/assets/" + Version() + "/../web.go",
		"/assets/" + Version() + "/index.html",
		"/assets/" + Version() + "/",
		"/assets/" + Version() + "/vendor/licenses/preact.LICENSE",
		"/assets/",
		"/favicon.ico",
	} {
		if r := get(t, p, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, r.StatusCode)
		}
	}
}

func TestMethods(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/search", strings.NewReader("x"))
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: status %d", rec.Code)
	}
	req = httptest.NewRequest(http.MethodHead, "/assets/"+Version()+"/app.css", nil)
	rec = httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "text/css; charset=utf-8" {
		t.Fatalf("HEAD: status %d, %d bytes, %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Type"))
	}
}

// The front end must not build HTML from strings: no innerHTML,
// dangerouslySetInnerHTML, eval or inline style attributes in our modules,
// and no URL to another origin. Every embedded file stays under 500 KB.
func TestSourcesSafe(t *testing.T) {
	bad := regexp.MustCompile(`innerHTML|outerHTML|dangerouslySetInnerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|style=\$?\{?["']|https?://`)
	err := fs.WalkDir(embedded, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > 500<<10 {
			t.Errorf("%s is %d bytes (> 500 KB)", p, info.Size())
		}
		if strings.HasPrefix(p, "static/js/") || p == "static/index.html" {
			b, err := fs.ReadFile(embedded, p)
			if err != nil {
				return err
			}
			if m := bad.FindString(string(b)); m != "" {
				t.Errorf("%s contains %q", p, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The version changes when any file changes, and the index is rendered with it.
func TestVersionCoversContent(t *testing.T) {
	mk := func(css string) *site {
		s, err := build(fstest.MapFS{
			"static/index.html": {Data: []byte(`<link href="{{ASSETS}}app.css">`)},
			"static/app.css":    {Data: []byte(css)},
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b, a2 := mk("a{}"), mk("b{}"), mk("a{}")
	if a.version == b.version {
		t.Fatalf("same version %q for different content", a.version)
	}
	if a.version != a2.version {
		t.Fatalf("versions differ for the same content: %q %q", a.version, a2.version)
	}
	if want := `<link href="/assets/` + a.version + `/app.css">`; string(a.index) != want {
		t.Fatalf("index %q, want %q", a.index, want)
	}
	if _, err := build(fstest.MapFS{"static/app.css": {Data: []byte("x")}}); err == nil {
		t.Fatal("a tree without index.html built")
	}
}

// Text assets go gzipped to a client that accepts it, and as they are to
// one that does not.
func TestGzip(t *testing.T) {
	name := "/assets/" + Version() + "/vendor/chart.umd.min.js"
	plain := body(t, get(t, name, nil))
	r := get(t, name, map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
	if r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("Content-Encoding %q, Vary %q", r.Header.Get("Content-Encoding"), r.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	unz, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if string(unz) != plain || len(plain) < 100000 {
		t.Fatalf("gunzipped %d bytes, plain %d", len(unz), len(plain))
	}
	if n, _ := strconv.Atoi(r.Header.Get("Content-Length")); n <= 0 || n >= len(plain)/2 {
		t.Errorf("gzip Content-Length %d for %d plain bytes", n, len(plain))
	}
	for _, ae := range []string{"", "br", "gzip;q=0", "identity"} {
		r := get(t, name, map[string]string{"Accept-Encoding": ae})
		if r.Header.Get("Content-Encoding") != "" || body(t, r) != plain {
			t.Errorf("Accept-Encoding %q: got Content-Encoding %q", ae, r.Header.Get("Content-Encoding"))
		}
	}
}
