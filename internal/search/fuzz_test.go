package search_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/store"
)

// sqlWords are the only words compiled SQL may hold besides the searched
// table's column names.
var sqlWords = map[string]bool{
	"SELECT": true, "FROM": true, "WHERE": true, "ORDER": true, "BY": true, "DESC": true, "LIMIT": true,
	"AND": true, "OR": true, "NOT": true, "coalesce": true, "false": true, "true": true, "TRUE": true,
	"LIKE": true, "ILIKE": true, "ESCAPE": true, "IS": true, "NULL": true, "BETWEEN": true,
	"json_extract_string": true, "TRY_CAST": true, "CAST": true, "AS": true, "DOUBLE": true,
	"UTINYINT": true, "UBIGINT": true, "split_part": true, "count": true, "regexp_matches": true, "contains": true, "starts_with": true, "ends_with": true,
	"CASE": true, "WHEN": true, "THEN": true, "ELSE": true, "END": true,
}

// sqlLiterals and sqlNumbers are the only constants compiled SQL may hold.
var (
	sqlLiterals = map[string]bool{`'i'`: true, `'\'`: true, `'.'`: true, `'%.%.%.%.%'`: true}
	sqlNumbers  = map[string]bool{"1": true, "2": true, "3": true, "4": true, "256": true, "65536": true, "16777216": true}
)

// checkSQL tokenises compiled SQL and fails unless every token comes from
// the compiler's own vocabulary: the table's columns, the words above,
// placeholders and punctuation. User input therefore cannot appear in it.
// textBlocks is the shape of a free-text index look-up (TextBlocksSQL):
// numbers computed from hashes, no text from the query.
var textBlocks = regexp.MustCompile(`text_block IN \(SELECT blk FROM trawl_text_bloom WHERE \(part = \d+( AND get_bit\(bits::BIT, \d+\) = 1)+\)( OR \(part = \d+( AND get_bit\(bits::BIT, \d+\) = 1)+\))*( GROUP BY blk HAVING count\(\*\) = \d+)? UNION ALL SELECT -1\)`)

func checkSQL(t *testing.T, tab *search.Table, sql string) {
	t.Helper()
	if tab == search.CloudTrail {
		sql = textBlocks.ReplaceAllString(sql, "TRUE")
	}
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ':
			i++
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(sql) && (sql[j] == '_' || sql[j] >= 'a' && sql[j] <= 'z' || sql[j] >= 'A' && sql[j] <= 'Z' || sql[j] >= '0' && sql[j] <= '9') {
				j++
			}
			if w := sql[i:j]; !sqlWords[w] && !tab.HasColumn(w) && w != tab.Name {
				t.Fatalf("SQL holds the word %q, not from the whitelist: %s", w, sql)
			}
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
				j++
			}
			if !sqlNumbers[sql[i:j]] {
				t.Fatalf("SQL holds the number %s: %s", sql[i:j], sql)
			}
			i = j
		case c == '\'':
			j := strings.IndexByte(sql[i+1:], '\'')
			if j < 0 {
				t.Fatalf("SQL has an unclosed literal: %s", sql)
			}
			if lit := sql[i : i+j+2]; !sqlLiterals[lit] {
				t.Fatalf("SQL holds the literal %s: %s", lit, sql)
			}
			i += j + 2
		case strings.IndexByte("()?,*=<>+", c) >= 0:
			i++
		default:
			t.Fatalf("SQL holds %q at byte %d: %s", c, i, sql)
		}
	}
}

var fuzzSeeds = []string{
	`eventName:CreateUser`, `userIdentity.arn:*admin*`, `requestParameters.bucketName:prod-*`,
	`srcaddr:10.0.0.0/8`, `action:REJECT`, `dstport:[0 TO 1023]`, `severity:>=7`,
	`a AND (b OR NOT c) -d "phrase here"`, `eventName:(CreateUser OR DeleteUser)`,
	`'; DROP TABLE cloudtrail; --`, `eventName:"x' OR '1'='1"`, `eventName:x'--`,
	`requestParameters.a'b:1`, `requestParameters.x:/* comment */`, `"\"; SELECT 1; --"`,
	`userIdentity.arn:*\%\_\\*`, `eventTime:[2026-01-01 TO 2026-12-31T23:59:59Z}`,
	`sourceIPAddress:192.168.1.0/24 OR sourceIPAddress:::1`, `dstport:{* TO 80]`,
	`ümlaut:ü 日本語 "emoji 🚀" \u0000`, "tab\tnew\nline", `((((((((x))))))))`,
	`{ $.eventName = "CreateUser" }`, `[a, b="x'--", ...]`, `NOT NOT NOT x`, `a:b:c:d`,
	`requestParameters.items[0].name:x`, `severity:>1e308`, `dstport:99999999999999999999`,
	`service.count:[-1 TO 1e3]`, `readOnly:TRUE`, `eventTime:2026-11-01`, `*`, `x:*`, `-`, `!x`, `&& ||`,
}

// FuzzCompile feeds the parser and compiler any text: they never panic; a
// refused query is a *search.Error inside the query's columns; an accepted
// one compiles, for every table, to SQL made only of whitelisted words
// with every value bound, and DuckDB runs it without error.
func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := search.Parse(query)
		if err != nil {
			checkError(t, query, err)
			return
		}
		for _, tab := range search.Tables {
			c, err := search.Compile(q, search.Options{Table: tab})
			if err != nil {
				checkError(t, query, err)
				continue
			}
			sel, selArgs := c.Select(nil, 10)
			cnt, cntArgs := c.Count()
			checkSQL(t, tab, sel)
			checkSQL(t, tab, cnt)
			if !utf8.ValidString(query) {
				t.Fatalf("%q: invalid UTF-8 accepted", query)
			}
			db := demoStore(t)
			for _, stmt := range []struct {
				sql  string
				args []any
			}{{sel, selArgs}, {cnt, cntArgs}} {
				if err := drain(db, stmt.sql, stmt.args); err != nil {
					t.Fatalf("%q on %s: DuckDB refused the compiled SQL: %v\n%s\n%v", query, tab.Name, err, stmt.sql, stmt.args)
				}
			}
		}
	})
}

func checkError(t *testing.T, query string, err error) {
	t.Helper()
	var se *search.Error
	if !errors.As(err, &se) {
		t.Fatalf("%q: error %v is not a *search.Error", query, err)
	}
	if n := utf8.RuneCountInString(query); se.Column < 1 || se.Column > n+1 {
		t.Fatalf("%q: error at column %d, outside the query's %d characters: %v", query, se.Column, n, err)
	}
	if se.Msg == "" {
		t.Fatalf("%q: error without a message", query)
	}
}

func drain(q store.Querier, sql string, args []any) error {
	rows, err := q.Query(context.Background(), store.Request{SQL: sql, Args: args})
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	return nil
}
