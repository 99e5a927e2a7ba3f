package lake

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/trawl-project/trawl/internal/schema"
)

// testDB is an in-memory DuckDB for writing test files and reading them
// back independently of the Reader.
func testDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// writeFile writes a data file of table for key at root with n rows
// numbered from first: every data column filled with a value derived from
// the row number i (the time column and the partition sources from key),
// as the lake writer lays it out (Parquet, zstd).
func writeFile(t *testing.T, db *sql.DB, root string, k Key, writer string, seq uint64, first, n int) string {
	t.Helper()
	tb, _ := TableNamed(k.Table)
	var cols []string
	for _, c := range tb.Columns {
		var e string
		switch c.Name {
		case timeColumn(tb):
			e = fmt.Sprintf("TIMESTAMPTZ '%s' + to_microseconds(i)", k.Time.UTC().Format(time.RFC3339))
		case "recipient_account_id", "account_id":
			e = quoteLit(k.Account)
		case "aws_region":
			e = quoteLit(k.Region)
		case "event_id", "id":
			e = fmt.Sprintf("'%s-' || i", k.Table)
		case "raw":
			e = `'{"eventVersion":"1.0' || (i % 10) || '","requestParameters":' || CASE WHEN i % 2 = 0 THEN '{"bucketName":"b"}' ELSE 'null' END || '}'`
		default:
			switch c.Type {
			case schema.String:
				e = "CASE WHEN i % 3 = 0 THEN NULL ELSE 'v' || i END"
			case schema.Timestamp:
				e = "TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i)"
			case schema.Bool:
				e = "i % 2 = 0"
			case schema.Int32:
				e = "CAST(i AS INTEGER)"
			case schema.Int64:
				e = "CAST(i * 1000000000 AS BIGINT)"
			case schema.Float64:
				e = "i / 4"
			}
		}
		cols = append(cols, fmt.Sprintf("CAST(%s AS %s) AS %s", e, duckType(c.Type), quoteIdent(c.Name)))
	}
	p := filepath.Join(root, filepath.FromSlash(FilePath(k, writer, seq)))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	q := fmt.Sprintf("COPY (SELECT %s FROM range(%d, %d) r(i) ORDER BY i) TO %s (FORMAT parquet, COMPRESSION zstd)",
		strings.Join(cols, ", "), first, first+n, quoteLit(p))
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
	return p
}

func fmtAny(v any) string { return fmt.Sprint(v) }
