// Package clickhouse is trawl's scale-out store: the tables of the schema
// (docs/schema.md) in a ClickHouse database, written and queried over
// ClickHouse's HTTP interface with plain net/http (release 18.16 on). It
// has the same methods as the DuckDB store where they apply, and its
// tables users query have DuckDB's names and columns; docs/clickhouse.md
// describes the tables, sort keys and de-duplication.
package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/store"
)

// Options configure a store.
type Options struct {
	// ReadOnly opens an existing database without creating or changing
	// anything, and runs every query with readonly=2 (no writes).
	ReadOnly bool
	// HTTPClient sends the requests; nil uses a client with keep-alive
	// connections and no overall timeout (queries take Request.Timeout).
	HTTPClient *http.Client
	// Variant forces the DDL variant; zero picks it from the server version.
	Variant Variant
	// BatchRows is the number of rows per insert; 0 uses DefaultBatchRows.
	BatchRows int
}

// Store is a ClickHouse database holding trawl's tables. Its methods are
// safe for concurrent use, and any number of processes may write to one
// database at once (de-duplication makes the result the same).
type Store struct {
	c        *Client
	dsn      DSN
	variant  Variant
	version  string
	readOnly bool
	batch    int
	writer   string // this process's id in the ledger and inserts
	// final: the database has trawl's cloudtrail_data and vpcflow_data
	// tables, so queries may read them with FINAL (readFinal).
	final bool
}

var defaultHTTP = &http.Client{Transport: &http.Transport{
	Proxy:               http.ProxyFromEnvironment,
	MaxIdleConns:        32,
	MaxIdleConnsPerHost: 32,
	// Below the server's keep_alive_timeout (3 s on 18.16, 10 s on
	// current releases), so that the client, not the server, drops an idle
	// connection: otherwise a request can race the server's close.
	IdleConnTimeout: 2 * time.Second,
}}

// Open connects to the database named by dsn (clickhouse://…), creating the
// database and its tables if missing and migrating them to this release's
// schema (unless opt.ReadOnly).
func Open(ctx context.Context, dsn string, opt Options) (*Store, error) {
	d, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	hc := opt.HTTPClient
	if hc == nil {
		hc = defaultHTTP
	}
	s := &Store{c: NewClient(d, hc), dsn: d, readOnly: opt.ReadOnly, batch: opt.BatchRows, writer: writerID()}
	if s.batch <= 0 {
		s.batch = DefaultBatchRows
	}
	if err := s.c.Ping(ctx); err != nil {
		return nil, fmt.Errorf("opening %s: %w", d, err)
	}
	s.version, err = s.serverVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", d, err)
	}
	// Filters on a view reach the table under it (its partitions and sort
	// key) only with this; it is on by default from release 19.x.
	s.c.Set("enable_optimize_predicate_expression", "1")
	s.c.Set("max_read_buffer_size", "65536")
	s.variant = opt.Variant
	if s.variant == 0 {
		s.variant = VariantFor(s.version)
	}
	if opt.ReadOnly {
		s.c.Set("readonly", "2")
		if s.final, err = s.hasDataTables(ctx); err != nil {
			return nil, fmt.Errorf("opening %s: %w", d, err)
		}
		return s, nil
	}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("preparing the schema of %s: %w", d, err)
	}
	s.final = true
	return s, nil
}

// hasDataTables reports whether the database holds trawl's cloudtrail_data
// and vpcflow_data tables (a read-only store may open any database).
func (s *Store) hasDataTables(ctx context.Context) (bool, error) {
	rows, err := s.queryWith(ctx, store.Request{SQL: "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name IN ('cloudtrail_data', 'vpcflow_data')"}, "", nil)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		n, _ = rows.Values()[0].(int64)
	}
	return n == 2, rows.Err()
}

func writerID() string {
	h, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand does not fail
	return h + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

func (s *Store) serverVersion(ctx context.Context) (string, error) {
	rows, err := s.c.query(ctx, "SELECT version()", url.Values{"database": {"system"}}, nil)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	if !rows.Next() {
		return "", fmt.Errorf("reading the server version: %w", errors.Join(rows.Err(), errors.New("no row")))
	}
	v, _ := rows.Values()[0].(string)
	return v, nil
}

// PipelineStore adapts the store to the pipeline's Store interface.
func PipelineStore(s *Store) pipeline.Store { return pipeline.StoreOf[*Tx](s) }

// Client returns the store's HTTP client, for statements the Store has no
// method for (tests, CLI tools).
func (s *Store) Client() *Client { return s.c }

// Database returns the database name.
func (s *Store) Database() string { return s.dsn.Database }

// Variant returns the DDL variant the store uses.
func (s *Store) Variant() Variant { return s.variant }

// Dialect returns store.ClickHouse: SQL builders write ClickHouse SQL for
// this store.
func (s *Store) Dialect() store.Dialect { return store.ClickHouse }

// Version returns the server's version, e.g. "ClickHouse 18.16.1".
func (s *Store) Version(ctx context.Context) (string, error) {
	return "ClickHouse " + s.version, nil
}

// Close releases idle connections. The database stays as it is.
func (s *Store) Close() error {
	if t, ok := s.c.http.Transport.(*http.Transport); ok && s.c.http != defaultHTTP {
		t.CloseIdleConnections()
	}
	return nil
}

var showTables = regexp.MustCompile(`(?is)^\s*show\s+tables\s*;?\s*$`)

// Query runs a read-only request. A plain SHOW TABLES lists the tables and
// views people query, without trawl's internal tables.
func (s *Store) Query(ctx context.Context, req store.Request) (store.Rows, error) {
	return s.query(ctx, req, "")
}

// QuerySettings is Query with ClickHouse settings for this request only,
// e.g. {"readonly": "1", "max_result_rows": "10000", "result_overflow_mode":
// "break"} for a SQL console. readonly is sent after the others, so it
// does not forbid them.
func (s *Store) QuerySettings(ctx context.Context, req store.Request, settings map[string]string) (store.Rows, error) {
	return s.queryWith(ctx, req, "", settings)
}

func (s *Store) query(ctx context.Context, req store.Request, session string) (*Rows, error) {
	return s.queryWith(ctx, req, session, nil)
}

func (s *Store) queryWith(ctx context.Context, req store.Request, session string, settings map[string]string) (*Rows, error) {
	cancel := context.CancelFunc(func() {})
	extra := url.Values{}
	for k, v := range settings {
		extra.Set(k, v)
	}
	if req.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		extra.Set("max_execution_time", strconv.Itoa(max(1, int(req.Timeout.Seconds()+0.999))))
	}
	if session != "" {
		extra.Set("session_id", session)
	}
	sql := req.SQL
	if s.final {
		sql = readFinal(sql)
	}
	if showTables.MatchString(sql) {
		sql = s.showUserTables()
	}
	q, err := Bind(sql, req.Args)
	if err != nil {
		cancel()
		return nil, err
	}
	if !returnsRows(q) {
		if err := s.c.exec(ctx, q, extra); err != nil {
			cancel()
			return nil, fmt.Errorf("query failed: %w", err)
		}
		cancel()
		return emptyRows(), nil
	}
	rows, err := s.c.query(ctx, q, extra, boolColumns)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("query failed: %w", err)
	}
	rows.cancel = cancel
	return rows, nil
}

func (s *Store) showUserTables() string {
	return "SELECT name FROM system.tables WHERE database = " + QuoteString(s.dsn.Database) +
		" AND name NOT IN (" + quoteList(internalTables) + ") AND name NOT LIKE '%\\_data' AND name NOT LIKE '.inner.%' ORDER BY name"
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = QuoteString(s)
	}
	return strings.Join(q, ", ")
}

// returnsRows reports whether a statement gives a result set (SELECT, WITH,
// SHOW, DESCRIBE, EXISTS, EXPLAIN) rather than only a status.
func returnsRows(q string) bool {
	w := strings.ToUpper(FirstWord(q))
	switch w {
	case "SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "(":
		return true
	}
	return false
}

// FirstWord is the first word of a statement after its leading comments
// ("(" for a parenthesised query), as written.
func FirstWord(q string) string {
	q = strings.TrimSpace(stripComments(q))
	if strings.HasPrefix(q, "(") {
		return "("
	}
	end := strings.IndexFunc(q, func(r rune) bool { return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') })
	if end < 0 {
		return q
	}
	return q[:end]
}

// stripComments removes leading -- and /* */ comments.
func stripComments(q string) string {
	for {
		q = strings.TrimSpace(q)
		switch {
		case strings.HasPrefix(q, "--"):
			i := strings.IndexByte(q, '\n')
			if i < 0 {
				return ""
			}
			q = q[i+1:]
		case strings.HasPrefix(q, "/*"):
			i := strings.Index(q, "*/")
			if i < 0 {
				return ""
			}
			q = q[i+2:]
		default:
			return q
		}
	}
}

func emptyRows() *Rows { return &Rows{done: true} }

// StatementError is a failure of one statement of several (QueryEach).
type StatementError = store.StatementError

// QueryEach runs every statement of req.SQL (split at semicolons outside
// quotes and comments) in order in one ClickHouse session, so that SET and
// temporary tables carry over, and passes each result to fn, which must
// not keep the rows. It stops at the first error, a *StatementError when
// there are several statements. req.Args are allowed with one statement
// only.
func (s *Store) QueryEach(ctx context.Context, req store.Request, fn func(rows store.Rows) error) error {
	stmts := SplitStatements(req.SQL)
	session := ""
	if len(stmts) > 1 {
		var b [8]byte
		rand.Read(b[:]) //nolint:errcheck // crypto/rand does not fail
		session = "trawl-" + hex.EncodeToString(b[:])
	}
	return store.EachStatement(req, stmts, func(r store.Request) (store.Rows, error) { return s.query(ctx, r, session) }, fn)
}

// SplitStatements splits SQL text at semicolons outside quotes and
// comments, dropping empty statements.
func SplitStatements(sql string) []string {
	var out []string
	start := 0
	for i := 0; i < len(sql); i++ {
		switch c := sql[i]; {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(sql, i) - 1
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				i = len(sql)
			} else {
				i += j
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				i = len(sql)
			} else {
				i += j + 3
			}
		case c == ';':
			if st := strings.TrimSpace(sql[start:i]); stripComments(st) != "" {
				out = append(out, st)
			}
			start = i + 1
		}
	}
	if start < len(sql) {
		if st := strings.TrimSpace(sql[start:]); stripComments(st) != "" {
			out = append(out, st)
		}
	}
	return out
}
