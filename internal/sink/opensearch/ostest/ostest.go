// Package ostest is an in-memory stand-in for an OpenSearch cluster, for
// tests of the OpenSearch sink: an httptest server on 127.0.0.1 speaking
// the part of the REST API the sink uses and tests read back with.
//
//   - GET / : cluster info (version 2.11.0, distribution opensearch; with
//     Elasticsearch set, Elasticsearch 8.11.0 and the X-Elastic-Product
//     header its clients require).
//   - POST /_bulk and /{index}/_bulk: NDJSON index and create actions with
//     _index, _id, version and version_type=external; per-item status and
//     errors as a cluster returns them (409 version_conflict_engine_exception,
//     400 mapper_parsing_exception when a value does not fit the mapping of
//     the index's template), plus injected failures (FailItem, RejectBulk).
//   - PUT, GET /_index_template/{name}: composable templates; a document's
//     fields are checked against the mapping of the template of the highest
//     priority whose index_patterns match its index (types date, long,
//     integer, double, boolean, keyword, text, ip, flat_object, flattened,
//     object with enabled false; dynamic false ignores unmapped fields).
//   - GET/POST /{indices}/_search and /_search: query match_all, term,
//     terms, range (gt, gte, lt, lte on numbers and dates) and bool
//     (must, filter), size and from; hits in index then insertion order.
//     GET /{indices}/_count with the same queries. Writes are visible at
//     once (no refresh interval); POST /{indices}/_refresh is accepted.
//   - With Discard set, _bulk acknowledges every action without looking
//     at it (for benchmarks of the client side).
//
// {indices} is a comma-separated list of names or patterns with *.
// Basic auth is required when Username is set. Every request's method,
// path, headers and body are recorded (Requests; not the body with Discard).
//
// It is not a search engine: no analysis (text fields match exactly), no
// aggregations, no scoring, no shards.
package ostest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is a request the server received.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// Item is one document of a _bulk request, as FailItem sees it.
type Item struct {
	Action  string // index or create
	Index   string
	ID      string
	Attempt int // how many times this (index, id) has been offered, from 1
}

// Failure is an injected per-item error.
type Failure struct {
	Status int    // e.g. 429, 400
	Type   string // e.g. es_rejected_execution_exception
	Reason string
}

// Server is the stand-in cluster. Set the hooks and credentials before the
// first request.
type Server struct {
	*httptest.Server

	// Username and Password, when Username is set, are required as basic
	// auth on every request (401 otherwise).
	Username, Password string
	// Elasticsearch makes / answer as Elasticsearch 8.11.0 and every
	// response carry X-Elastic-Product: Elasticsearch.
	Elasticsearch bool
	// FailItem, if set, is asked about every document of a _bulk request
	// before it is applied; a non-nil Failure is returned for that item
	// instead.
	FailItem func(Item) *Failure
	// RejectBulk, if set, is asked about every _bulk request (n counts
	// them from 1); a non-zero status answers the whole request with it
	// (and a Retry-After header when retryAfter is not empty).
	RejectBulk func(n int) (status int, retryAfter string)
	// Discard answers every _bulk action with success without parsing or
	// storing the document, for benchmarks of the client side.
	Discard bool

	mu        sync.Mutex
	indices   map[string]*index
	templates map[string]json.RawMessage
	attempts  map[[2]string]int
	bulks     int
	seq       int
	requests  []Request
}

type index struct {
	docs map[string]*doc
}

type doc struct {
	source  json.RawMessage
	version int64
	seq     int
}

// New starts a server; it stops when the test ends.
func New(tb testing.TB) *Server {
	s := Start()
	tb.Cleanup(s.Close)
	return s
}

// Start starts a server outside a test (benchmark tools); Close stops it.
func Start() *Server {
	s := &Server{indices: map[string]*index{}, templates: map[string]json.RawMessage{}, attempts: map[[2]string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// BulkRequests returns the number of _bulk requests received.
func (s *Server) BulkRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bulks
}

// Indices returns the names of the indices holding documents, sorted.
func (s *Server) Indices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n, ix := range s.indices {
		if len(ix.docs) > 0 {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parse_exception", err.Error())
		return
	}
	s.mu.Lock()
	rec := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	if s.Discard {
		rec.Body = nil
	}
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	if s.Elasticsearch {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
	}
	if s.Username != "" {
		u, p, ok := r.BasicAuth()
		if !ok || u != s.Username || p != s.Password {
			w.Header().Set("WWW-Authenticate", `Basic realm="ostest"`)
			writeError(w, http.StatusUnauthorized, "security_exception", "missing or wrong credentials")
			return
		}
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/" && r.Method == http.MethodGet:
		s.info(w)
	case parts[0] == "_bulk" && len(parts) == 1 && r.Method == http.MethodPost:
		s.bulk(w, "", body)
	case len(parts) == 2 && parts[1] == "_bulk" && r.Method == http.MethodPost:
		s.bulk(w, parts[0], body)
	case parts[0] == "_index_template" && len(parts) == 2 && r.Method == http.MethodPut:
		s.putTemplate(w, parts[1], body)
	case parts[0] == "_index_template" && len(parts) == 2 && r.Method == http.MethodGet:
		s.getTemplate(w, parts[1])
	case parts[0] == "_search" && len(parts) == 1:
		s.search(w, "*", body, false)
	case len(parts) == 2 && parts[1] == "_search":
		s.search(w, parts[0], body, false)
	case len(parts) == 2 && parts[1] == "_count":
		s.search(w, parts[0], body, true)
	case len(parts) == 2 && parts[1] == "_refresh":
		writeJSON(w, http.StatusOK, map[string]any{"_shards": map[string]int{"total": 1, "successful": 1, "failed": 0}})
	default:
		writeError(w, http.StatusBadRequest, "illegal_argument_exception", "ostest does not implement "+r.Method+" "+r.URL.Path)
	}
}

func (s *Server) info(w http.ResponseWriter) {
	v := map[string]any{"number": "2.11.0", "distribution": "opensearch"}
	tag := "The OpenSearch Project: https://opensearch.org/"
	if s.Elasticsearch {
		v = map[string]any{"number": "8.11.0", "build_flavor": "default"}
		tag = "You Know, for Search"
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": "ostest", "cluster_name": "ostest", "version": v, "tagline": tag})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func errorBody(status int, typ, reason string) map[string]any {
	e := map[string]any{"type": typ, "reason": reason}
	return map[string]any{"error": map[string]any{"root_cause": []any{e}, "type": typ, "reason": reason}, "status": status}
}

func writeError(w http.ResponseWriter, status int, typ, reason string) {
	writeJSON(w, status, errorBody(status, typ, reason))
}

func (s *Server) putTemplate(w http.ResponseWriter, name string, body []byte) {
	var t struct {
		IndexPatterns []string `json:"index_patterns"`
	}
	if err := json.Unmarshal(body, &t); err != nil || len(t.IndexPatterns) == 0 {
		writeError(w, http.StatusBadRequest, "parse_exception", fmt.Sprintf("index template %s: needs index_patterns (%v)", name, err))
		return
	}
	s.mu.Lock()
	s.templates[name] = slices.Clone(body)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]bool{"acknowledged": true})
}

func (s *Server) getTemplate(w http.ResponseWriter, name string) {
	s.mu.Lock()
	t, ok := s.templates[name]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "resource_not_found_exception", "index template matching ["+name+"] not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"index_templates": []any{map[string]any{"name": name, "index_template": t}}})
}

type action struct {
	Index       string `json:"_index"`
	ID          string `json:"_id"`
	Version     *int64 `json:"version"`
	VersionType string `json:"version_type"`
}

func (s *Server) bulk(w http.ResponseWriter, defIndex string, body []byte) {
	s.mu.Lock()
	s.bulks++
	n := s.bulks
	s.mu.Unlock()
	if s.RejectBulk != nil {
		if status, ra := s.RejectBulk(n); status != 0 {
			if ra != "" {
				w.Header().Set("Retry-After", ra)
			}
			writeError(w, status, "rejected_execution_exception", "ostest: rejected _bulk request "+strconv.Itoa(n))
			return
		}
	}
	if s.Discard {
		s.discard(w, body)
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 100<<20)
	var items []any
	errs := false
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var act map[string]action
		if err := json.Unmarshal(line, &act); err != nil || len(act) != 1 {
			writeError(w, http.StatusBadRequest, "illegal_argument_exception", fmt.Sprintf("malformed action/metadata line: %s", line))
			return
		}
		var name string
		var a action
		for name, a = range act {
		}
		if name != "index" && name != "create" {
			writeError(w, http.StatusBadRequest, "illegal_argument_exception", "ostest supports index and create actions, not "+name)
			return
		}
		if !sc.Scan() {
			writeError(w, http.StatusBadRequest, "illegal_argument_exception", "the bulk request must be terminated by a newline; action without source")
			return
		}
		src := slices.Clone(bytes.TrimSpace(sc.Bytes()))
		if a.Index == "" {
			a.Index = defIndex
		}
		res := s.apply(name, a, src)
		if _, ok := res["error"]; ok {
			errs = true
		}
		items = append(items, map[string]any{name: res})
	}
	if err := sc.Err(); err != nil {
		writeError(w, http.StatusBadRequest, "parse_exception", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"took": 1, "errors": errs, "items": items})
}

// discard answers each action line (every other line) with 201.
func (s *Server) discard(w http.ResponseWriter, body []byte) {
	n := bytes.Count(body, []byte{'\n'}) / 2
	var b bytes.Buffer
	b.WriteString(`{"took":1,"errors":false,"items":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"index":{"status":201}}`)
	}
	b.WriteString("]}")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b.Bytes())
}

func itemError(res map[string]any, status int, typ, reason string) map[string]any {
	res["status"] = status
	res["error"] = map[string]any{"type": typ, "reason": reason}
	return res
}

func (s *Server) apply(op string, a action, src []byte) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := map[string]any{"_index": a.Index, "_id": a.ID}
	if a.Index == "" {
		return itemError(res, http.StatusBadRequest, "action_request_validation_exception", "index is missing")
	}
	if a.ID == "" {
		s.seq++
		a.ID = "auto-" + strconv.Itoa(s.seq)
		res["_id"] = a.ID
	}
	key := [2]string{a.Index, a.ID}
	s.attempts[key]++
	if s.FailItem != nil {
		if f := s.FailItem(Item{Action: op, Index: a.Index, ID: a.ID, Attempt: s.attempts[key]}); f != nil {
			return itemError(res, f.Status, f.Type, f.Reason)
		}
	}
	var fields map[string]any
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		return itemError(res, http.StatusBadRequest, "mapper_parsing_exception", "failed to parse: "+err.Error())
	}
	if err := s.checkMapping(a.Index, fields); err != nil {
		return itemError(res, http.StatusBadRequest, "mapper_parsing_exception", err.Error())
	}
	ix := s.indices[a.Index]
	if ix == nil {
		ix = &index{docs: map[string]*doc{}}
		s.indices[a.Index] = ix
	}
	old := ix.docs[a.ID]
	var version int64 = 1
	switch {
	case a.VersionType == "external":
		if a.Version == nil || *a.Version < 0 {
			return itemError(res, http.StatusBadRequest, "action_request_validation_exception", "version is required for external versioning")
		}
		version = *a.Version
		if old != nil && old.version >= version {
			return itemError(res, http.StatusConflict, "version_conflict_engine_exception",
				fmt.Sprintf("[%s]: version conflict, current version [%d] is higher or equal to the one provided [%d]", a.ID, old.version, version))
		}
	case a.VersionType != "" && a.VersionType != "internal":
		return itemError(res, http.StatusBadRequest, "illegal_argument_exception", "ostest: version_type "+a.VersionType)
	case old != nil:
		version = old.version + 1
	}
	if op == "create" && old != nil {
		return itemError(res, http.StatusConflict, "version_conflict_engine_exception", fmt.Sprintf("[%s]: version conflict, document already exists", a.ID))
	}
	s.seq++
	seq := s.seq
	result, status := "created", http.StatusCreated
	if old != nil {
		result, status, seq = "updated", http.StatusOK, old.seq
	}
	ix.docs[a.ID] = &doc{source: src, version: version, seq: seq}
	res["_version"] = version
	res["result"] = result
	res["status"] = status
	return res
}

// checkMapping checks a document against the mapping of the template for
// its index, if there is one.
func (s *Server) checkMapping(index string, fields map[string]any) error {
	var best template
	found := false
	for _, raw := range s.templates {
		var t template
		if json.Unmarshal(raw, &t) != nil {
			continue
		}
		if matchAny(t.IndexPatterns, index) && (!found || t.Priority > best.Priority) {
			best, found = t, true
		}
	}
	if !found {
		return nil
	}
	return checkObject(best.Template.Mappings.Properties, fields, "")
}

type template struct {
	Priority      int      `json:"priority"`
	IndexPatterns []string `json:"index_patterns"`
	Template      struct {
		Mappings mapping `json:"mappings"`
	} `json:"template"`
}

type mapping struct {
	Type            string             `json:"type"`
	Properties      map[string]mapping `json:"properties"`
	IgnoreMalformed bool               `json:"ignore_malformed"`
	Enabled         *bool              `json:"enabled"`
}

func checkObject(props map[string]mapping, fields map[string]any, prefix string) error {
	for name, v := range fields {
		m, ok := props[name]
		if !ok || v == nil {
			continue // dynamic: false
		}
		if err := checkValue(m, v, prefix+name); err != nil {
			return err
		}
	}
	return nil
}

func checkValue(m mapping, v any, field string) error {
	if arr, ok := v.([]any); ok && m.Type != "flat_object" && m.Type != "flattened" {
		for _, e := range arr {
			if err := checkValue(m, e, field); err != nil {
				return err
			}
		}
		return nil
	}
	bad := func(why string) error {
		return fmt.Errorf("failed to parse field [%s] of type [%s]: %s (value %v)", field, m.Type, why, v)
	}
	switch m.Type {
	case "", "object":
		if m.Enabled != nil && !*m.Enabled {
			return nil
		}
		o, ok := v.(map[string]any)
		if !ok {
			return bad("tried to parse field as object, but found a concrete value")
		}
		return checkObject(m.Properties, o, field+".")
	case "flat_object", "flattened":
		if _, ok := v.(map[string]any); !ok {
			return bad("value must be a JSON object")
		}
	case "keyword", "text":
		if _, ok := v.(map[string]any); ok {
			return bad("an object where a string is expected")
		}
	case "date":
		switch x := v.(type) {
		case json.Number:
		case string:
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				return bad("not a strict_date_optional_time")
			}
		default:
			return bad("not a date")
		}
	case "long", "integer":
		n, ok := v.(json.Number)
		if !ok {
			return bad("not a number")
		}
		i, err := n.Int64()
		if err != nil || (m.Type == "integer" && (i < -1<<31 || i >= 1<<31)) {
			return bad("out of range or not an integer")
		}
	case "double", "float":
		if _, ok := v.(json.Number); !ok {
			return bad("not a number")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad("not a boolean")
		}
	case "ip":
		x, ok := v.(string)
		if _, err := netip.ParseAddr(x); (!ok || err != nil) && !m.IgnoreMalformed {
			return bad("not an IP string literal")
		}
	default:
		return bad("ostest does not know this type")
	}
	return nil
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// Hit is a document found by a search.
type Hit struct {
	Index   string          `json:"_index"`
	ID      string          `json:"_id"`
	Version int64           `json:"_version"`
	Source  json.RawMessage `json:"_source"`
}

func (s *Server) search(w http.ResponseWriter, indices string, body []byte, count bool) {
	var req struct {
		Query map[string]json.RawMessage `json:"query"`
		Size  *int                       `json:"size"`
		From  int                        `json:"from"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(w, http.StatusBadRequest, "parse_exception", err.Error())
			return
		}
	}
	q, err := parseQuery(req.Query)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parsing_exception", err.Error())
		return
	}
	patterns := strings.Split(indices, ",")
	s.mu.Lock()
	var names []string
	for n := range s.indices {
		if matchAny(patterns, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var hits []Hit
	for _, n := range names {
		ix := s.indices[n]
		var ds []*doc
		ids := map[*doc]string{}
		for id, d := range ix.docs {
			ds = append(ds, d)
			ids[d] = id
		}
		slices.SortFunc(ds, func(a, b *doc) int { return a.seq - b.seq })
		for _, d := range ds {
			var src map[string]any
			dec := json.NewDecoder(bytes.NewReader(d.source))
			dec.UseNumber()
			if dec.Decode(&src) != nil {
				continue
			}
			if q(src) {
				hits = append(hits, Hit{Index: n, ID: ids[d], Version: d.version, Source: d.source})
			}
		}
	}
	s.mu.Unlock()
	if count {
		writeJSON(w, http.StatusOK, map[string]any{"count": len(hits)})
		return
	}
	total := len(hits)
	size := 10
	if req.Size != nil {
		size = *req.Size
	}
	from := min(req.From, len(hits))
	hits = hits[from:min(from+size, len(hits))]
	writeJSON(w, http.StatusOK, map[string]any{
		"took": 1, "timed_out": false,
		"hits": map[string]any{"total": map[string]any{"value": total, "relation": "eq"}, "hits": hits},
	})
}

type query func(src map[string]any) bool

func parseQuery(q map[string]json.RawMessage) (query, error) {
	if len(q) == 0 {
		return func(map[string]any) bool { return true }, nil
	}
	if len(q) != 1 {
		return nil, fmt.Errorf("query must have one clause, has %d", len(q))
	}
	for kind, raw := range q {
		switch kind {
		case "match_all":
			return func(map[string]any) bool { return true }, nil
		case "term", "terms":
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil || len(m) != 1 {
				return nil, fmt.Errorf("[%s] query: want one field", kind)
			}
			for field, v := range m {
				var want []any
				var err error
				if kind == "terms" {
					err = json.Unmarshal(v, &want)
				} else {
					var one any
					err = json.Unmarshal(v, &one)
					if o, ok := one.(map[string]any); ok {
						one = o["value"]
					}
					want = []any{one}
				}
				if err != nil {
					return nil, fmt.Errorf("[%s] query on %s: %w", kind, field, err)
				}
				return func(src map[string]any) bool {
					for _, got := range lookup(src, field) {
						for _, w := range want {
							if equal(got, w) {
								return true
							}
						}
					}
					return false
				}, nil
			}
		case "range":
			var m map[string]map[string]any
			if err := json.Unmarshal(raw, &m); err != nil || len(m) != 1 {
				return nil, fmt.Errorf("[range] query: want one field")
			}
			for field, bounds := range m {
				return func(src map[string]any) bool {
					for _, got := range lookup(src, field) {
						ok := true
						for op, b := range bounds {
							c, comparable := compare(got, b)
							if !comparable {
								ok = false
								break
							}
							switch op {
							case "gt":
								ok = ok && c > 0
							case "gte":
								ok = ok && c >= 0
							case "lt":
								ok = ok && c < 0
							case "lte":
								ok = ok && c <= 0
							}
						}
						if ok {
							return true
						}
					}
					return false
				}, nil
			}
		case "bool":
			var b map[string][]map[string]json.RawMessage
			if err := json.Unmarshal(raw, &b); err != nil {
				return nil, fmt.Errorf("[bool] query: %w", err)
			}
			var qs []query
			for occur, clauses := range b {
				if occur != "must" && occur != "filter" {
					return nil, fmt.Errorf("[bool] query: ostest supports must and filter, not %s", occur)
				}
				for _, c := range clauses {
					sub, err := parseQuery(c)
					if err != nil {
						return nil, err
					}
					qs = append(qs, sub)
				}
			}
			return func(src map[string]any) bool {
				for _, q := range qs {
					if !q(src) {
						return false
					}
				}
				return true
			}, nil
		}
		return nil, fmt.Errorf("ostest does not implement query [%s]", kind)
	}
	return nil, nil
}

// lookup returns the values at a dotted path (through objects and arrays).
func lookup(src map[string]any, field string) []any {
	if v, ok := src[field]; ok {
		return flatten(v)
	}
	head, rest, ok := strings.Cut(field, ".")
	if !ok {
		return nil
	}
	var out []any
	for _, v := range flatten(src[head]) {
		if o, ok := v.(map[string]any); ok {
			out = append(out, lookup(o, rest)...)
		}
	}
	return out
}

func flatten(v any) []any {
	if a, ok := v.([]any); ok {
		var out []any
		for _, e := range a {
			out = append(out, flatten(e)...)
		}
		return out
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func equal(got, want any) bool {
	c, ok := compare(got, want)
	return ok && c == 0
}

// compare orders a document value and a query value: numbers by value,
// RFC 3339 times by instant, other values by their text.
func compare(got, want any) (int, bool) {
	gs, ws := text(got), text(want)
	gf, gerr := strconv.ParseFloat(gs, 64)
	wf, werr := strconv.ParseFloat(ws, 64)
	if gerr == nil && werr == nil {
		switch {
		case gf < wf:
			return -1, true
		case gf > wf:
			return 1, true
		}
		return 0, true
	}
	gt, gterr := time.Parse(time.RFC3339Nano, gs)
	wt, wterr := time.Parse(time.RFC3339Nano, ws)
	if gterr == nil && wterr == nil {
		return gt.Compare(wt), true
	}
	return strings.Compare(gs, ws), true
}

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
