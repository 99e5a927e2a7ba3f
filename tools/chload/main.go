// Command chload is a BENCH-ONLY loader: it copies the rows of a trawl
// DuckDB store into a trawl ClickHouse database, so that the dashboard
// and search queries can be compared on the same data
// (docs/performance.md, "ClickHouse vs DuckDB at 10M events"). It is
// not an ingest path: it skips the pipeline (no rules, no ledger
// semantics beyond copying the table) and exists because the real
// pipeline needs hours for 10M events on a 2-core machine.
//
// For each ClickHouse table (<name>_data behind the view <name>) it reads
// the columns from system.columns, selects the same columns from the
// DuckDB view or table of that name (times as Unix seconds, booleans as
// 0/1, the hidden columns computed as the store's writer computes them),
// has DuckDB write them as CSV in chunks (by hour of the table's time
// column) under -dir, and posts each chunk as
// `INSERT INTO <name>_data (…) FORMAT CSV`, one chunk being written while
// the previous one is inserted.
//
//	go run ./tools/chload -duckdb bench10m.duckdb -db clickhouse://127.0.0.1:8123/trawl -dir /big/scratch
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the DuckDB driver

	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

func main() {
	var o options
	flag.StringVar(&o.duck, "duckdb", "", "DuckDB store to copy (opened read-only)")
	flag.StringVar(&o.db, "db", "", "clickhouse:// address of the target database (created if missing)")
	flag.StringVar(&o.dir, "dir", os.TempDir(), "scratch directory for the CSV chunks")
	flag.StringVar(&o.tables, "tables", strings.Join(defaultTables, ","), "tables to copy")
	flag.StringVar(&o.memory, "memory", "2GB", "DuckDB memory_limit")
	flag.BoolVar(&o.desc, "desc", false, "copy the newest hours first (the UI's default range is the last 24 hours)")
	flag.BoolVar(&o.verify, "verify", false, "copy nothing: run spot queries on both and compare their answers")
	since := flag.String("since", "1970-01-01T00:00:00Z", "with -verify: compare the CloudTrail events from this time on (RFC 3339)")
	flag.Parse()
	var err error
	if o.since, err = time.Parse(time.RFC3339, *since); err != nil {
		fmt.Fprintln(os.Stderr, "chload: -since:", err)
		os.Exit(2)
	}
	if o.duck == "" || o.db == "" {
		fmt.Fprintln(os.Stderr, "chload: -duckdb and -db are required")
		os.Exit(2)
	}
	if err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chload:", err)
		os.Exit(1)
	}
}

type options struct {
	duck, db, dir, tables, memory string
	verify, desc                  bool
	since                         time.Time
}

var defaultTables = []string{"cloudtrail", "vpcflow", "guardduty_finding", "guardduty_finding_history",
	"cloudtrail_digest", "cloudtrail_digest_file", "ingest_ledger", "quarantine", "ingest_warning"}

// timeColumn is the column a table is chunked by (one chunk per hour).
var timeColumn = map[string]string{"cloudtrail": "event_time", "vpcflow": "start_time"}

// hidden are the ClickHouse-only columns, as DuckDB expressions computing
// what the store's writer stores.
var hidden = map[string]map[string]string{
	// Any number unique per (start_time, source) record will do.
	"vpcflow":                   {"unit": "rowid"},
	"guardduty_finding":         {"updated_us": "coalesce(epoch_us(updated_at), 0)"},
	"guardduty_finding_history": {"updated_us": "coalesce(epoch_us(updated_at), 0)"},
	"ingest_ledger":             {"ver": "epoch_ns(last_ingested_at)"},
}

type column struct{ name, typ string }

func run(ctx context.Context, o options, w io.Writer) error {
	if o.verify {
		return verify(ctx, o, w)
	}
	st, err := clickhouse.Open(ctx, o.db, clickhouse.Options{})
	if err != nil {
		return err
	}
	st.Close()
	d, err := clickhouse.ParseDSN(o.db)
	if err != nil {
		return err
	}
	ch := &server{dsn: d}
	duck, err := sql.Open("duckdb", o.duck+"?access_mode=read_only&threads=2&memory_limit="+url.QueryEscape(o.memory))
	if err != nil {
		return fmt.Errorf("opening %s: %w", o.duck, err)
	}
	defer duck.Close()
	if _, err := duck.ExecContext(ctx, "SET TimeZone = 'UTC'"); err != nil {
		return fmt.Errorf("setting the time zone: %w", err)
	}
	for _, name := range strings.Split(o.tables, ",") {
		start := time.Now()
		n, err := copyTable(ctx, duck, ch, name, o.dir, o.desc, w)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(w, "%s: %d rows in %s\n", name, n, time.Since(start).Round(time.Second))
	}
	return nil
}

// copyTable copies one table and returns the number of rows sent.
func copyTable(ctx context.Context, duck *sql.DB, ch *server, name, dir string, desc bool, w io.Writer) (int64, error) {
	cols, err := ch.columns(ctx, name+"_data")
	if err != nil {
		return 0, err
	}
	have, err := duckColumns(ctx, duck, name)
	if err != nil {
		return 0, err
	}
	if len(have) == 0 {
		fmt.Fprintf(w, "%s: not in the DuckDB store, skipped\n", name)
		return 0, nil
	}
	exprs := make([]string, len(cols))
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = clickhouse.QuoteIdent(c.name)
		if e, ok := hidden[name][c.name]; ok {
			exprs[i] = e
			continue
		}
		if !have[c.name] {
			return 0, fmt.Errorf("column %s is not in DuckDB's %s", c.name, name)
		}
		col := `"` + c.name + `"`
		base := strings.TrimSuffix(strings.TrimPrefix(c.typ, "Nullable("), ")")
		switch {
		case strings.HasPrefix(base, "DateTime"):
			exprs[i] = "CAST(floor(epoch(" + col + ")) AS BIGINT)"
			if !strings.HasPrefix(c.typ, "Nullable") {
				exprs[i] = "coalesce(" + exprs[i] + ", 0)"
			}
		case base == "UInt8":
			exprs[i] = "CAST(" + col + " AS INTEGER)"
		case base == "Float64":
			exprs[i] = "coalesce(CAST(" + col + " AS DOUBLE), 0)"
		default:
			exprs[i] = "CAST(" + col + " AS " + duckType(base) + ")"
		}
	}
	chunks := []string{""}
	if tc := timeColumn[name]; tc != "" {
		if chunks, err = hours(ctx, duck, ch, name, tc, desc); err != nil {
			return 0, err
		}
	}
	insert := "INSERT INTO " + clickhouse.QuoteIdent(name+"_data") + " (" + strings.Join(names, ", ") + ") FORMAT CSV"
	type sent struct {
		n   int64
		err error
	}
	var total int64
	var pending chan sent
	waitPending := func() error {
		if pending == nil {
			return nil
		}
		r := <-pending
		pending = nil
		total += r.n
		return r.err
	}
	for i, where := range chunks {
		file := filepath.Join(dir, fmt.Sprintf("chload-%s-%d.csv", name, i%2))
		q := "SELECT " + strings.Join(exprs, ", ") + " FROM " + `"` + name + `"`
		if where != "" {
			q += " WHERE " + where
		}
		copySQL := "COPY (" + q + ") TO '" + strings.ReplaceAll(file, "'", "''") + "' (FORMAT csv, HEADER false, NULLSTR '\\N')"
		res, err := duck.ExecContext(ctx, copySQL)
		if err != nil {
			waitPending() //nolint:errcheck // the COPY's error is reported
			return total, fmt.Errorf("writing chunk %q: %w", where, err)
		}
		n, _ := res.RowsAffected()
		if err := waitPending(); err != nil {
			return total, err
		}
		pending = make(chan sent, 1)
		go func(file string, n int64, ch2 chan sent) {
			err := ch.insertFile(ctx, insert, file)
			os.Remove(file)
			ch2 <- sent{n, err}
		}(file, n, pending)
	}
	return total, waitPending()
}

// hours returns one WHERE clause per hour of tc in the table that the
// ClickHouse table does not hold in full yet (fewer rows in <name>_data
// than in DuckDB: a chunk sent again collapses by the table's key), plus
// one for NULL times; newest first with o.desc.
func hours(ctx context.Context, duck *sql.DB, ch *server, name, tc string, desc bool) ([]string, error) {
	rows, err := duck.QueryContext(ctx, fmt.Sprintf(`SELECT strftime(date_trunc('hour', "%s"), '%%Y-%%m-%%d %%H:00:00') AS h, count(*) FROM "%s" WHERE "%s" IS NOT NULL GROUP BY h ORDER BY h`, tc, name, tc))
	if err != nil {
		return nil, fmt.Errorf("listing hours: %w", err)
	}
	defer rows.Close()
	type hour struct {
		h string
		n int64
	}
	var hs []hour
	for rows.Next() {
		var h hour
		if err := rows.Scan(&h.h, &h.n); err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	b, err := ch.post(ctx, url.Values{}, strings.NewReader(fmt.Sprintf(
		"SELECT toString(toStartOfHour(%s)), toString(count()) FROM %s GROUP BY toStartOfHour(%s) FORMAT JSONCompact", tc, name+"_data", tc)))
	if err != nil {
		return nil, fmt.Errorf("counting loaded hours: %w", err)
	}
	var res struct {
		Data [][]string `json:"data"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("counting loaded hours: %w", err)
	}
	have := map[string]int64{}
	for _, r := range res.Data {
		have[r[0]], _ = strconv.ParseInt(r[1], 10, 64)
	}
	out := []string{fmt.Sprintf(`"%s" IS NULL`, tc)}
	if desc {
		for i, j := 0, len(hs)-1; i < j; i, j = i+1, j-1 {
			hs[i], hs[j] = hs[j], hs[i]
		}
	}
	for _, h := range hs {
		if have[h.h] >= h.n {
			continue
		}
		out = append(out, fmt.Sprintf(`"%s" >= TIMESTAMPTZ '%s+00' AND "%s" < TIMESTAMPTZ '%s+00' + INTERVAL 1 HOUR`, tc, h.h, tc, h.h))
	}
	return out, nil
}

func duckType(ch string) string {
	switch ch {
	case "Int32":
		return "INTEGER"
	case "Int64":
		return "BIGINT"
	case "UInt64":
		return "UBIGINT"
	}
	return "VARCHAR"
}

func duckColumns(ctx context.Context, duck *sql.DB, name string) (map[string]bool, error) {
	rows, err := duck.QueryContext(ctx, "SELECT column_name FROM information_schema.columns WHERE table_name = ?", name)
	if err != nil {
		return nil, fmt.Errorf("reading DuckDB's columns: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out[c] = true
	}
	return out, rows.Err()
}

// server is the ClickHouse HTTP interface, used directly so that chunks
// stream from disk.
type server struct{ dsn clickhouse.DSN }

func (s *server) url(q url.Values) string {
	scheme := "http"
	if s.dsn.Secure {
		scheme = "https"
	}
	q.Set("database", s.dsn.Database)
	return scheme + "://" + s.dsn.Host + "/?" + q.Encode()
}

func (s *server) post(ctx context.Context, q url.Values, body io.Reader) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url(q), body)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(s.dsn.User, s.dsn.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("clickhouse: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return b, nil
}

func (s *server) insertFile(ctx context.Context, insert, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = s.post(ctx, url.Values{"query": {insert}, "max_insert_block_size": {"65536"}}, f)
	if err != nil {
		return fmt.Errorf("inserting %s: %w", file, err)
	}
	return nil
}

func (s *server) columns(ctx context.Context, table string) ([]column, error) {
	b, err := s.post(ctx, url.Values{}, strings.NewReader(
		"SELECT name, type FROM system.columns WHERE database = '"+strings.ReplaceAll(s.dsn.Database, "'", "\\'")+
			"' AND table = '"+table+"' FORMAT JSONCompact"))
	if err != nil {
		return nil, fmt.Errorf("reading %s's columns: %w", table, err)
	}
	var res struct {
		Data [][]string `json:"data"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("reading %s's columns: %w", table, err)
	}
	out := make([]column, len(res.Data))
	for i, r := range res.Data {
		out[i] = column{r[0], r[1]}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no table %s", table)
	}
	return out, nil
}

// spot are the queries -verify runs on both stores (SQL both dialects
// read alike).
var spot = []string{
	"SELECT count(*) FROM cloudtrail WHERE event_time >= ?",
	"SELECT count(*) FROM vpcflow",
	"SELECT count(*) FROM guardduty_finding",
	"SELECT count(*) FROM guardduty_finding_history",
	"SELECT count(*) FROM cloudtrail_digest",
	"SELECT count(*) FROM cloudtrail_digest_file",
	"SELECT count(*) FROM ingest_ledger",
	"SELECT count(*) FROM quarantine",
	"SELECT count(*) FROM ingest_warning",
	"SELECT event_name, count(*) AS n FROM cloudtrail WHERE event_time >= ? GROUP BY event_name ORDER BY n DESC, event_name LIMIT 10",
	"SELECT count(*) FROM vpcflow WHERE action = 'REJECT'",
	"SELECT sum(bytes), sum(packets), count(DISTINCT srcaddr) FROM vpcflow",
	"SELECT min(event_time), max(event_time), count(DISTINCT event_id), count(DISTINCT user_arn) FROM cloudtrail WHERE event_time >= ?",
	"SELECT error_code, count(*) AS n FROM cloudtrail WHERE event_time >= ? AND error_code IS NOT NULL GROUP BY error_code ORDER BY n DESC, error_code LIMIT 5",
	"SELECT count(*) FROM cloudtrail WHERE event_time >= ? AND read_only AND mfa_used = 'true'",
	"SELECT count(*) FROM cloudtrail WHERE event_time >= ? AND session_created_at IS NOT NULL",
	"SELECT count(*) FROM cloudtrail WHERE event_time >= ? AND raw LIKE '%\"errorCode\"%'",
}

// verify runs the spot queries on both stores and fails if an answer
// differs.
func verify(ctx context.Context, o options, w io.Writer) error {
	duck, err := duckdb.Open(ctx, o.duck, duckdb.Options{ReadOnly: true, MemoryLimit: o.memory})
	if err != nil {
		return err
	}
	defer duck.Close()
	ch, err := clickhouse.Open(ctx, o.db, clickhouse.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer ch.Close()
	format := func(v any) string {
		if t, ok := v.(time.Time); ok {
			return t.UTC().Truncate(time.Second).Format(time.RFC3339)
		}
		return fmt.Sprint(v)
	}
	bad := 0
	for _, q := range spot {
		var ans [2]string
		var took [2]time.Duration
		for i, st := range []store.Querier{duck, ch} {
			start := time.Now()
			req := store.Request{SQL: q}
			if strings.Contains(q, "?") {
				req.Args = []any{o.since}
			}
			rows, err := store.Collect(ctx, st, req, format)
			if err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
			took[i] = time.Since(start)
			ans[i] = fmt.Sprint(rows)
		}
		mark := "same"
		if ans[0] != ans[1] {
			mark, bad = "DIFFERENT", bad+1
		}
		fmt.Fprintf(w, "%s (DuckDB %s, ClickHouse %s): %s\n  DuckDB:     %s\n", q, took[0].Round(time.Millisecond), took[1].Round(time.Millisecond), mark, ans[0])
		if ans[0] != ans[1] {
			fmt.Fprintf(w, "  ClickHouse: %s\n", ans[1])
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d answers differ", bad, len(spot))
	}
	return nil
}
