package search_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/textindex"
)

// TestErrorPositions checks that a bad query is refused with a message
// and the column where it goes wrong.
func TestErrorPositions(t *testing.T) {
	for _, tc := range []struct {
		query string
		col   int
		msg   string
	}{
		{`eventName:`, 11, `expected a value after "eventName:"`},
		{`eventName:   `, 14, `expected a value after "eventName:"`},
		{`(eventName:CreateUser`, 1, `"(" is never closed`},
		{`eventName:CreateUser)`, 21, `unexpected ")"`},
		{`eventName:CreateUser AND`, 22, `expected a term after AND`},
		{`eventName:CreateUser OR )`, 22, `expected a term after OR`},
		{`NOT`, 1, `expected a term`},
		{`a AND NOT`, 7, `expected a term after NOT`},
		{`"unclosed phrase`, 1, `the quote is never closed`},
		{`userName:"alice`, 10, `the quote is never closed`},
		{`dstport:[1 TO 5`, 9, `the range is never closed`},
		{`dstport:[1 5]`, 12, `expected TO in the range`},
		{`dstport:abc`, 9, `dstport is an integer field; "abc" is not a number`},
		{`dstport:[1 TO x]`, 15, `"x" is not a number`},
		{`dstport:8*`, 9, `wildcards work on text fields only`},
		{`eventName:>5`, 11, `comparisons and ranges work on numeric and time fields`},
		{`severity:>=`, 10, `expected a value after ">="`},
		{`srcaddr:10.0.0.0/33`, 9, `not a CIDR block`},
		{`srcaddr:2001:db8::/32`, 9, `IPv6 CIDR blocks are not supported yet`},
		{`readOnly:maybe`, 10, `readOnly is true or false`},
		{`nosuchfield:x`, 1, `unknown field "nosuchfield"`},
		{`eventName:x AND nosuch.path:y`, 17, `unknown field "nosuch.path"`},
		{`éé nosuchfield:x`, 4, `unknown field "nosuchfield"`},
		{`:value`, 1, `expected a field name before ":"`},
		{`eventTime:yesterday`, 11, `eventTime is a time field`},
		{`{ $.eventName = }`, 17, `filter pattern:`},
		{`[a, b`, 6, `filter pattern:`},
		{`end\`, 4, `escapes nothing`},
		{`dstport:>=1 AND (`, 17, `"(" is never closed`},
		{`()`, 2, `expected a term inside "( )"`},
	} {
		_, err := search.ParseCompile(tc.query, search.Options{})
		var se *search.Error
		if !errors.As(err, &se) {
			t.Errorf("%q: error %v, want a *search.Error", tc.query, err)
			continue
		}
		if se.Column != tc.col || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("%q: %v; want column %d and %q", tc.query, err, tc.col, tc.msg)
		}
	}
	_, err := search.ParseCompile(`eventName:`, search.Options{})
	if err == nil || err.Error() != `expected a value after "eventName:" at column 11` {
		t.Errorf("message: %v", err)
	}
}

// TestCompiledSQL checks the SQL and the bound arguments of typical
// queries: values bound, LIKE patterns escaped, JSON paths bound and
// parenthesised, NOT keeping rows where the field is missing.
func TestCompiledSQL(t *testing.T) {
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		query string
		table *search.Table
		where string
		args  []any
	}{
		{`eventName:CreateUser`, nil, `((event_name = ?))`, []any{"CreateUser"}},
		{`userIdentity.arn:*admin*`, nil, `(contains(user_arn, ?))`, []any{"admin"}},
		{`userIdentity.arn:*100%_\*x\\*`, nil, `(contains(user_arn, ?))`, []any{`100%_*x\`}},
		{`userIdentity.arn:a*b*`, nil, `((user_arn LIKE ? ESCAPE '\'))`, []any{"a%b%"}},
		{`userIdentity.arn:*-admin`, nil, `(ends_with(user_arn, ?))`, []any{"-admin"}},
		{`requestParameters.bucketName:prod-*`, nil, `(starts_with(req_bucket_name, ?))`, []any{"prod-"}},
		{`$.responseElements.ConsoleLogin:Failure`, nil, `((console_login = ?))`, []any{"Failure"}},
		// JSON keys are case-sensitive: another spelling is another key.
		{`requestParameters.BucketName:prod-*`, nil, `(starts_with(json_extract_string(raw, ?), ?))`, []any{"$.requestParameters.BucketName", "prod-"}},
		{`requestParameters.instanceType:t3.*`, nil, `(starts_with(json_extract_string(raw, ?), ?))`, []any{"$.requestParameters.instanceType", "t3."}},
		{`requestParameters.items[0].name:x`, nil, `((json_extract_string(raw, ?) = ?))`, []any{"$.requestParameters.items[0].name", "x"}},
		{`a b OR c`, nil, `(((` + ft("a") + ` AND ` + ft("b") + `) OR ` + ft("c") + `))`, []any{pre("a"), wb("a"), pre("b"), wb("b"), pre("c"), wb("c")}},
		{`a b OR c`, search.VPCFlow, `start_time >= ? AND (((` + cw + ` AND ` + cw + `) OR ` + cw + `))`, []any{since, pre("a"), wb("a"), pre("b"), wb("b"), pre("c"), wb("c")}},
		{`*admin* "10.1.2.3"`, nil, `((regexp_matches(raw, ?, 'i') AND ` + ft("10.1.2.3") + `))`, []any{`.*admin.*`, pre(`10\.1\.2\.3`), wb(`10\.1\.2\.3`)}},
		{`NOT errorCode:AccessDenied`, nil, `((NOT coalesce((error_code = ?), false)))`, []any{"AccessDenied"}},
		{`dstport:[0 TO 1023]`, nil, `((dstport >= ? AND dstport <= ?))`, []any{int64(0), int64(1023)}},
		{`dstport:{0 TO *]`, nil, `((dstport > ?))`, []any{int64(0)}},
		{`severity:>=7`, nil, `((severity >= ?))`, []any{7.0}},
		{`requestParameters.maxResults:>10`, nil, `((TRY_CAST(json_extract_string(raw, ?) AS DOUBLE) > ?))`, []any{"$.requestParameters.maxResults", 10.0}},
		{`eventName:x`, search.CloudTrail, `event_time >= ? AND ((event_name = ?))`, []any{since, "x"}},
		{`'; DROP TABLE cloudtrail; --`, nil, `((regexp_matches(raw, ?, 'i') AND ` + ft("DROP") + ` AND ` + ft("TABLE") + ` AND ` + ft("cloudtrail;") + ` AND (NOT coalesce(regexp_matches(raw, ?, 'i'), false))))`, []any{"';", pre("DROP"), wb("DROP"), pre("TABLE"), wb("TABLE"), "cloudtrail;", "(?:^|[^0-9A-Za-z])cloudtrail;", "-"}},
	} {
		opt := search.Options{Table: tc.table}
		if tc.table != nil {
			opt.Since = since
		}
		c, err := search.ParseCompile(tc.query, opt)
		if err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		if c.Where != tc.where || !reflect.DeepEqual(c.Args, tc.args) {
			t.Errorf("%s:\n got %s %#v\nwant %s %#v", tc.query, c.Where, c.Args, tc.where, tc.args)
		}
	}
}

// TestChooseTable checks which table a query without --type searches.
func TestChooseTable(t *testing.T) {
	for query, want := range map[string]string{
		`eventName:CreateUser`:             "cloudtrail",
		`stoplogging`:                      "cloudtrail",
		``:                                 "cloudtrail",
		`srcaddr:10.0.0.0/8 action:REJECT`: "vpcflow",
		`dstport:[0 TO 1023]`:              "vpcflow",
		`severity:>=7`:                     "guardduty_finding",
		`service.action.actionType:DNS*`:   "guardduty_finding",
		`{ $.eventName = "x" }`:            "cloudtrail",
		`[version, account, ..., action="REJECT", status]`: "vpcflow",
	} {
		c, err := search.ParseCompile(query, search.Options{})
		if err != nil {
			t.Errorf("%q: %v", query, err)
			continue
		}
		if c.Table.Name != want {
			t.Errorf("%q searches %s, want %s", query, c.Table.Name, want)
		}
	}
}

// TestQuoteRoundTrip checks that a quoted value is searched as exactly
// itself, whatever it holds.
func TestQuoteRoundTrip(t *testing.T) {
	for _, v := range []string{"", "plain", `a"b`, `back\slash\`, `*not-wild?`, "%_", "x' OR 1=1; --", "日本 🚀", "(a OR b)", `\"`} {
		c, err := search.ParseCompile("eventName:"+search.Quote(v), search.Options{})
		if err != nil {
			t.Errorf("%q: %v", v, err)
			continue
		}
		if c.Where != "((event_name = ?))" || !reflect.DeepEqual(c.Args, []any{v}) {
			t.Errorf("%q: %s %#v", v, c.Where, c.Args)
		}
	}
}

// ft is the SQL of a free-text term on cloudtrail: the index look-up, then
// the prefilter and the regular expression.
func ft(like string) string {
	return "(text_block IN (" + search.TextBlocksSQL(textindex.LikeTerm(like).Tokens) + ") AND " + cw + ")"
}

// wb is a whole-word regular expression: text between word boundaries.
func wb(re string) string { return "(?:^|[^0-9A-Za-z])" + re + "(?:[^0-9A-Za-z]|$)" }

// cw is a whole-word match: the prefilter, then the regular expression.
const cw = "CASE WHEN regexp_matches(raw, ?, 'i') THEN regexp_matches(raw, ?, 'i') ELSE false END"

// pre is the prefilter of a whole-word regular expression: without its
// leading boundary.
func pre(re string) string { return re + "(?:[^0-9A-Za-z]|$)" }
