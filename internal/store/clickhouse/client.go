package clickhouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"
)

// PasswordEnv names the environment variable that supplies the password
// when the DSN has none.
const PasswordEnv = "TRAWL_CLICKHOUSE_PASSWORD"

// Scheme is the DSN scheme that selects ClickHouse.
const Scheme = "clickhouse://"

// IsDSN reports whether s names a ClickHouse database (clickhouse://…)
// rather than a DuckDB file.
func IsDSN(s string) bool { return strings.HasPrefix(strings.ToLower(s), Scheme) }

// DSN is a parsed clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?secure=true]
// address.
type DSN struct {
	User     string
	Password string
	Host     string // host:port
	Database string
	Secure   bool // https
}

// ParseDSN reads a clickhouse:// address. The port defaults to 8123 (8443
// with secure=true), the user to "default", the database to "trawl" and the
// password to $TRAWL_CLICKHOUSE_PASSWORD.
func ParseDSN(s string) (DSN, error) {
	if !IsDSN(s) {
		return DSN{}, fmt.Errorf("clickhouse address %q: does not start with %s", redact(s), Scheme)
	}
	u, err := url.Parse(s)
	if err != nil {
		return DSN{}, fmt.Errorf("clickhouse address %q: %w", redact(s), err)
	}
	d := DSN{User: "default", Host: u.Host, Database: strings.Trim(u.Path, "/")}
	if u.User != nil {
		if n := u.User.Username(); n != "" {
			d.User = n
		}
		d.Password, _ = u.User.Password()
	}
	if d.Password == "" {
		d.Password = os.Getenv(PasswordEnv)
	}
	for k, v := range u.Query() {
		switch k {
		case "secure":
			d.Secure, err = strconv.ParseBool(v[0])
			if err != nil {
				return DSN{}, fmt.Errorf("clickhouse address %q: secure=%q: %w", redact(s), v[0], err)
			}
		default:
			return DSN{}, fmt.Errorf("clickhouse address %q: unknown parameter %q (only secure)", redact(s), k)
		}
	}
	if u.Hostname() == "" {
		return DSN{}, fmt.Errorf("clickhouse address %q: no host", redact(s))
	}
	if u.Port() == "" {
		port := "8123"
		if d.Secure {
			port = "8443"
		}
		d.Host = u.Hostname() + ":" + port
		if strings.Contains(u.Hostname(), ":") {
			d.Host = "[" + u.Hostname() + "]:" + port
		}
	}
	if d.Database == "" {
		d.Database = "trawl"
	}
	if !validIdent(d.Database) {
		return DSN{}, fmt.Errorf("clickhouse address %q: database name %q: use letters, digits and _", redact(s), d.Database)
	}
	return d, nil
}

// String returns the address without its password.
func (d DSN) String() string {
	s := Scheme + d.User + "@" + d.Host + "/" + d.Database
	if d.Secure {
		s += "?secure=true"
	}
	return s
}

// URL returns the address with its password (for passing on to Open).
func (d DSN) URL() string {
	u := url.URL{Scheme: "clickhouse", Host: d.Host, Path: "/" + d.Database, User: url.User(d.User)}
	if d.Password != "" {
		u.User = url.UserPassword(d.User, d.Password)
	}
	if d.Secure {
		u.RawQuery = "secure=true"
	}
	return u.String()
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return u.String()
}

func validIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Client talks to one ClickHouse database over the HTTP interface.
type Client struct {
	dsn      DSN
	base     string
	http     *http.Client
	settings url.Values // sent with every request
}

// NewClient returns a client for d. hc may be nil (http.DefaultClient).
func NewClient(d DSN, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	scheme := "http://"
	if d.Secure {
		scheme = "https://"
	}
	return &Client{dsn: d, base: scheme + d.Host + "/", http: hc, settings: url.Values{}}
}

// Set adds a setting sent with every request (e.g. readonly=1).
func (c *Client) Set(name, value string) { c.settings.Set(name, value) }

// Error is an error reported by the server.
type Error struct {
	Status int
	Code   int    // ClickHouse's error code, 0 if unknown
	Msg    string // the server's message
	Query  string // the start of the query
}

func (e *Error) Error() string {
	q := e.Query
	if len(q) > 300 {
		q = q[:300] + "…"
	}
	return fmt.Sprintf("clickhouse: %s (in %s)", e.Msg, strings.Join(strings.Fields(q), " "))
}

// Error codes tests and callers look at.
const (
	CodeUnknownTable    = 60
	CodeUnknownDatabase = 81
	CodeReadonly        = 164
	CodeSessionLocked   = 373
)

// IsCode reports whether err is a server error with that code.
func IsCode(err error, code int) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

func parseError(status int, body []byte, query string) error {
	msg := strings.TrimSpace(string(body))
	e := &Error{Status: status, Msg: msg, Query: query}
	if rest, ok := strings.CutPrefix(msg, "Code: "); ok {
		if i := strings.IndexAny(rest, ",. "); i > 0 {
			e.Code, _ = strconv.Atoi(rest[:i])
		}
	}
	return e
}

// do sends one request with the query in the body (or, when body is not
// nil, in the URL) and returns the response for the caller to read and
// close. database "" means the DSN's database.
func (c *Client) do(ctx context.Context, query string, body io.Reader, gz bool, extra url.Values) (*http.Response, error) {
	v := url.Values{}
	for k, vs := range c.settings {
		v[k] = vs
	}
	for k, vs := range extra {
		v[k] = vs
	}
	if _, ok := v["database"]; !ok {
		v.Set("database", c.dsn.Database)
	}
	if body == nil {
		body = strings.NewReader(query)
	} else {
		v.Set("query", query)
	}
	// readonly must come after the settings it would forbid changing.
	ro := v.Get("readonly")
	v.Del("readonly")
	qs := v.Encode()
	if ro != "" {
		qs += "&readonly=" + url.QueryEscape(ro)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"?"+qs, body)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", c.dsn, err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if c.dsn.User != "default" || c.dsn.Password != "" {
		req.SetBasicAuth(c.dsn.User, c.dsn.Password)
	}
	resp, err := doRetrying(c.http, req)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", c.dsn, err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, parseError(resp.StatusCode, b, query)
	}
	return resp, nil
}

// doSession is do for a request in a session: the server releases a
// session a moment after the previous request's answer ends, so a
// "session is locked" answer is retried for up to two seconds.
func (c *Client) doSession(ctx context.Context, query string, body io.Reader, gz bool, extra url.Values) (*http.Response, error) {
	if extra.Get("session_id") == "" || body != nil {
		return c.do(ctx, query, body, gz, extra)
	}
	for wait := 5 * time.Millisecond; ; wait *= 2 {
		resp, err := c.do(ctx, query, body, gz, extra)
		if !IsCode(err, CodeSessionLocked) || wait > time.Second {
			return resp, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// Exec runs a statement that returns no rows. args fill its ? placeholders
// (see Bind).
func (c *Client) Exec(ctx context.Context, query string, args ...any) error {
	q, err := Bind(query, args)
	if err != nil {
		return err
	}
	return c.exec(ctx, q, nil)
}

func (c *Client) exec(ctx context.Context, q string, extra url.Values) error {
	resp, err := c.doSession(ctx, q, nil, false, extra)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("clickhouse %s: reading the answer: %w", c.dsn, err)
	}
	if bytes.Contains(b, []byte("DB::Exception")) {
		return parseError(resp.StatusCode, b, q)
	}
	return nil
}

// InsertJSON inserts rows given as JSONEachRow lines (one JSON object per
// line) into table's columns.
func (c *Client) InsertJSON(ctx context.Context, table string, cols []string, rows []byte) error {
	return c.Insert(ctx, table, cols, "JSONEachRow", rows)
}

// Insert inserts a body in the given input format (JSONEachRow,
// RowBinary, TabSeparated…) into table's columns, gzip-compressing it.
func (c *Client) Insert(ctx context.Context, table string, cols []string, format string, body []byte) error {
	var buf bytes.Buffer
	buf.Grow(len(body)/4 + 1024)
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write(body) //nolint:errcheck // writes to a bytes.Buffer do not fail
	zw.Close()     //nolint:errcheck // as above
	q := "INSERT INTO " + QuoteIdent(table) + " (" + identList(cols) + ") FORMAT " + format
	extra := url.Values{"date_time_input_format": {"best_effort"}, "input_format_skip_unknown_fields": {"1"}}
	resp, err := c.do(ctx, q, &buf, true, extra)
	if err != nil {
		return fmt.Errorf("inserting into %s.%s: %w", c.dsn.Database, table, err)
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func identList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = QuoteIdent(c)
	}
	return strings.Join(q, ", ")
}

// QuoteIdent quotes a table or column name for ClickHouse SQL.
func QuoteIdent(s string) string {
	if validIdent(s) {
		return s
	}
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(s) + "`"
}

// Ping checks that the server answers.
func (c *Client) Ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"ping", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("clickhouse %s: %w", c.dsn, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // only the status matters
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("clickhouse %s: /ping answered %s", c.dsn, resp.Status)
	}
	return nil
}

// doRetrying sends req and, when it failed on a kept-alive connection
// that the server had just closed (broken pipe, reset, or end of stream
// before any answer), sends it once more on a new connection. The server
// closes idle connections after its keep_alive_timeout (3 s on 18.16); a
// request that races that close never reached it. Every request body here
// can be rewound (GetBody), and a repeated insert would be harmless anyway:
// the tables de-duplicate by key.
func doRetrying(hc *http.Client, req *http.Request) (*http.Response, error) {
	var reused bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	resp, err := hc.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err == nil || !reused || !staleConnError(err) || req.Context().Err() != nil {
		return resp, err
	}
	again := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return resp, err
		}
		body, gerr := req.GetBody()
		if gerr != nil {
			return resp, err
		}
		again.Body = body
	}
	return hc.Do(again)
}

// staleConnError reports whether err is what a request on a connection
// the server has closed fails with.
func staleConnError(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
