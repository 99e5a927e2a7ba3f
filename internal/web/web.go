// Package web serves trawl's embedded single-page web UI: the HTML shell, its
// ES modules, one stylesheet and the vendored front-end libraries (Preact,
// htm, Chart.js, chartjs-chart-geo, world-atlas). Every asset is compiled into
// the binary, so the UI works offline and loads nothing from a CDN.
//
// Assets are served under a versioned prefix, /assets/<hash>/, where the hash
// covers every embedded file; they carry a one-year immutable cache header.
// Any other path returns index.html (the SPA fallback), so /search?q=… and
// /dashboards/cloudtrail load the app, which reads its state from the URL.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed static
var embedded embed.FS

// AssetPrefix is the URL path under which versioned assets are served; the
// version segment follows it (see Version).
const AssetPrefix = "/assets/"

// contentTypes names the Content-Type of every asset extension the UI ships;
// a file with another extension is not served.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json",
	".svg":  "image/svg+xml",
	".png":  "image/png",
}

// site is the prepared content: the index page with its asset prefix filled
// in, and the static tree.
type site struct {
	version string
	index   []byte
	files   fs.FS
	// gz holds the gzip form of the text assets that shrink by it, by
	// path, served to clients that accept it.
	gz map[string][]byte
}

var built = mustBuild()

func mustBuild() *site {
	s, err := build(embedded)
	if err != nil {
		panic(err) // the embedded tree is fixed at compile time; tests cover it
	}
	return s
}

// build hashes every file under static/ into a version and renders index.html
// with the versioned asset prefix.
func build(root fs.FS) (*site, error) {
	files, err := fs.Sub(root, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static assets: %w", err)
	}
	var names []string
	err = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: listing static assets: %w", err)
	}
	sort.Strings(names)
	h := sha256.New()
	gz := map[string][]byte{}
	for _, n := range names {
		b, err := fs.ReadFile(files, n)
		if err != nil {
			return nil, fmt.Errorf("web: reading asset %s: %w", n, err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
		if z := gzipped(b); path.Ext(n) != ".png" && len(z) < len(b)*9/10 {
			gz[n] = z
		}
	}
	version := hex.EncodeToString(h.Sum(nil))[:12]
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return nil, fmt.Errorf("web: reading index.html: %w", err)
	}
	index = bytes.ReplaceAll(index, []byte("{{ASSETS}}"), []byte(AssetPrefix+version+"/"))
	return &site{version: version, index: index, files: files, gz: gz}, nil
}

// gzipped compresses b at the best level (once, at start-up).
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// Version is the hash of the embedded assets: the path segment after
// AssetPrefix. It changes whenever any asset does.
func Version() string { return built.version }

// Handler serves the web UI: versioned assets under /assets/<version>/ with a
// long immutable cache, 404 for any other /assets/ path, and index.html (not
// cached) for every other path.
func Handler() http.Handler { return built }

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, AssetPrefix); ok {
		s.asset(w, r, rest)
		return
	}
	if p == "/favicon.ico" {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentTypes[".html"])
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(s.index)
	}
}

// asset serves one embedded file named by rest = "<version>/<path>".
func (s *site) asset(w http.ResponseWriter, r *http.Request, rest string) {
	version, name, ok := strings.Cut(rest, "/")
	if !ok || version != s.version || name == "" || name == "index.html" {
		http.NotFound(w, r)
		return
	}
	name = path.Clean(name)
	if !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	ct, known := contentTypes[path.Ext(name)]
	if !known {
		http.NotFound(w, r)
		return
	}
	b, err := fs.ReadFile(s.files, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+s.version+`"`)
	h.Set("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match == `"`+s.version+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if z, ok := s.gz[name]; ok && acceptsGzip(r) && r.Header.Get("Range") == "" {
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(len(z)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			w.Write(z)
		}
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
