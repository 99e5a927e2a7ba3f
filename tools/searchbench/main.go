// Command searchbench measures the queries of the "What layouts bought"
// table of the query-performance notes on a trawl database: each query run
// once to warm the cache, then -n times, printed with its p50 and p95 in
// milliseconds. -schema 8 runs the queries as a schema-8 store needs them
// (request parameters read from the JSON), -schema 9 on the typed columns.
// The database is opened read-only: build and migrate it with trawl first.
//
//	go run ./tools/searchbench -db /tmp/ct.duckdb -schema 9
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

// query is one measured query: its SQL on a schema-8 store and on a
// schema-9 one (the same when it reads no typed request column).
type query struct {
	name, v8, v9 string
}

// The queries take the time range from the data: its newest event_time is
// "now". ($NOW is replaced by that instant.)
var queries = []query{
	{"IAM changes with policyArn, latest 100",
		`SELECT event_time, event_name, principal, request_parameters->>'$.userName' AS target_user, request_parameters->>'$.roleName' AS role, request_parameters->>'$.policyArn' AS policy FROM cloudtrail WHERE event_source = 'iam.amazonaws.com' AND read_only = false ORDER BY event_time DESC LIMIT 100`,
		`SELECT event_time, event_name, principal, req_user_name, req_role_name, req_policy_arn FROM cloudtrail WHERE event_source = 'iam.amazonaws.com' AND read_only = false ORDER BY event_time DESC LIMIT 100`},
	{"AdministratorAccess attached",
		`SELECT count(*) FROM cloudtrail WHERE (request_parameters->>'$.policyArn') LIKE '%AdministratorAccess'`,
		`SELECT count(*) FROM cloudtrail WHERE req_policy_arn LIKE '%AdministratorAccess'`},
	{"bucketName = value, latest 100",
		`SELECT event_time, event_name, user_name, source_ip FROM cloudtrail WHERE (request_parameters->>'$.bucketName') = $BUCKET ORDER BY event_time DESC LIMIT 100`,
		`SELECT event_time, event_name, user_name, source_ip FROM cloudtrail WHERE req_bucket_name = $BUCKET ORDER BY event_time DESC LIMIT 100`},
	{"top buckets, 7 days",
		`SELECT request_parameters->>'$.bucketName' AS b, count(*) FROM cloudtrail WHERE event_time >= $NOW - INTERVAL 7 DAY AND b IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 10`,
		`SELECT req_bucket_name, count(*) FROM cloudtrail WHERE event_time >= $NOW - INTERVAL 7 DAY AND req_bucket_name IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 10`},
	{"top session issuer, 7 days",
		`SELECT session_issuer_arn, count(*) FROM cloudtrail WHERE event_time >= $NOW - INTERVAL 7 DAY AND session_issuer_arn IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 10`, ""},
	{"latest 100 for a user (SELECT *)",
		`SELECT * FROM cloudtrail WHERE user_name = $USER ORDER BY event_time DESC LIMIT 100`, ""},
	{"latest 100 in 24 h (SELECT *)",
		`SELECT * FROM cloudtrail WHERE event_time >= $NOW - INTERVAL 1 DAY ORDER BY event_time DESC LIMIT 100`, ""},
	{"latest 100 (SELECT *, no filter)",
		`SELECT * FROM cloudtrail ORDER BY event_time DESC LIMIT 100`, ""},
	{"console logins by MFAUsed",
		`SELECT additional_event_data->>'$.MFAUsed' AS mfa, count(*) FROM cloudtrail WHERE event_name = 'ConsoleLogin' GROUP BY 1`,
		`SELECT mfa_used, count(*) FROM cloudtrail WHERE event_name = 'ConsoleLogin' GROUP BY 1`},
	{"count by hour, 14 days",
		`SELECT date_trunc('hour', event_time) AS h, count(*) FROM cloudtrail WHERE event_time >= $NOW - INTERVAL 14 DAY GROUP BY 1`, ""},
}

var (
	timeout     time.Duration
	setup, only string
)

func main() {
	db := flag.String("db", "", "the trawl database (read-only)")
	schemaV := flag.Int("schema", 9, "run the queries for this schema version (8: request parameters from JSON; 9: typed columns)")
	n := flag.Int("n", 5, "timed runs per query")
	mem := flag.String("memory-limit", "512MB", "DuckDB memory limit")
	flag.StringVar(&setup, "setup", "", "SQL to run first (SET …, CREATE TEMP VIEW … to try another layout)")
	flag.StringVar(&only, "only", "", "run only the queries whose name contains this")
	flag.DurationVar(&timeout, "timeout", time.Minute, "give up a query after this long")
	flag.Parse()
	if err := run(*db, *schemaV, *n, *mem); err != nil {
		fmt.Fprintln(os.Stderr, "searchbench:", err)
		os.Exit(1)
	}
}

func run(path string, schemaV, n int, mem string) error {
	ctx := context.Background()
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "SET memory_limit = '"+mem+"'"); err != nil {
		return fmt.Errorf("setting the memory limit: %w", err)
	}
	if setup != "" {
		if _, err := db.ExecContext(ctx, setup); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}
	var now time.Time
	var bucket, user string
	if err := db.QueryRowContext(ctx, `SELECT max(event_time) FROM cloudtrail_base`).Scan(&now); err != nil {
		return fmt.Errorf("reading the newest event: %w", err)
	}
	// The most common bucket and user name: values with many rows.
	if err := db.QueryRowContext(ctx, `SELECT user_name FROM cloudtrail_base WHERE user_name IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1 OFFSET 5`).Scan(&user); err != nil {
		return fmt.Errorf("choosing a user: %w", err)
	}
	bq := `SELECT b FROM (SELECT json_extract_string(raw, '$.requestParameters.bucketName') AS b FROM cloudtrail_base USING SAMPLE 20000 ROWS) WHERE b IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`
	if err := db.QueryRowContext(ctx, bq).Scan(&bucket); err != nil {
		return fmt.Errorf("choosing a bucket: %w", err)
	}
	fmt.Printf("database %s, schema-%d queries, memory limit %s, now = %s, user = %q, bucket = %q\n\n", path, schemaV, mem, now.UTC().Format(time.RFC3339), user, bucket)
	fmt.Println("| query | p50 ms | p95 ms | rows |")
	fmt.Println("|---|---|---|---|")
	for _, q := range queries {
		if !strings.Contains(q.name, only) {
			continue
		}
		text := q.v8
		if schemaV >= 9 && q.v9 != "" {
			text = q.v9
		}
		text = strings.NewReplacer(
			"$NOW", "TIMESTAMPTZ '"+now.UTC().Format("2006-01-02 15:04:05.999999")+"+00'",
			"$BUCKET", quote(bucket),
			"$USER", quote(user),
		).Replace(text)
		var times []time.Duration
		rows := 0
		var qerr error
		for i := 0; i <= n; i++ {
			start := time.Now()
			qctx, cancel := context.WithTimeout(ctx, timeout)
			rows, qerr = drain(qctx, db, text)
			cancel()
			if qerr != nil {
				break
			}
			if i > 0 {
				times = append(times, time.Since(start))
			}
		}
		if qerr != nil {
			if errors.Is(qerr, context.DeadlineExceeded) {
				qerr = fmt.Errorf("over %s", timeout)
			}
			fmt.Printf("| %s | error: %.100s | | |\n", q.name, strings.ReplaceAll(qerr.Error(), "\n", " "))
			continue
		}
		slices.Sort(times)
		fmt.Printf("| %s | %d | %d | %d |\n", q.name, pct(times, 50).Milliseconds(), pct(times, 95).Milliseconds(), rows)
	}
	return nil
}

// drain runs q and reads every value of every row.
func drain(ctx context.Context, db *sql.DB, q string) (int, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// pct returns the p-th percentile of sorted durations (nearest rank).
func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (p*len(d) + 99) / 100
	if i < 1 {
		i = 1
	}
	return d[i-1]
}

// quote writes s as an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
