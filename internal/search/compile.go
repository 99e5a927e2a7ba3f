package search

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/cwpattern"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/textindex"
)

// Options bound a search.
type Options struct {
	// Table is the table searched; nil chooses it from the fields the
	// query names (the first of Tables that knows them all; cloudtrail for
	// free text, vpcflow for a space-delimited filter pattern).
	Table *Table
	// Since and Until, when set, keep events with Since <= time < Until.
	Since, Until time.Time
	// Dialect is the SQL the compiled query is written in: the dialect of
	// the store it runs on (store.DialectOf). Zero means DuckDB.
	Dialect store.Dialect
}

// Compiled is a query compiled for one table: a WHERE clause with its
// bound arguments, and, for a CloudWatch Logs filter pattern, the pattern
// that rows' raw records must also match (evaluated in Go).
type Compiled struct {
	Table *Table
	// Where is an SQL boolean expression over Table; Args are its bound
	// parameters in order (? placeholders).
	Where string
	Args  []any
	// Pattern, if not nil, must match a row's raw record for the row to
	// match; SQL cannot evaluate it.
	Pattern *cwpattern.Pattern
	// Residual, if not nil, must also hold for a row for it to match: the
	// parts of the query the dialect cannot evaluate in SQL (JSON paths on
	// ClickHouse 18.16, which has no JSON functions), evaluated in Go on
	// the raw record and on terms SQL evaluates (Select lists them after
	// raw). Where is then a pre-filter: every match satisfies it.
	Residual *Residual
	// Dialect is the SQL dialect of Where.
	Dialect store.Dialect
}

// InGo reports whether some of the query is evaluated in Go (a filter
// pattern or a Residual): Select then lists candidates with raw (and the
// residual's terms) last, and Match decides which rows match; Search and
// Count do both.
func (c *Compiled) InGo() bool { return c.Pattern != nil || c.Residual != nil }

// extraCols is the number of columns Select adds after cols when InGo.
func (c *Compiled) extraCols() int {
	if c.Residual != nil {
		return 1 + len(c.Residual.sql)
	}
	return 1
}

// Match reports whether a candidate row of Select (when InGo) matches: vals
// are the row's values after the requested columns (raw, then the
// residual's terms).
func (c *Compiled) Match(extra []any) bool {
	if len(extra) == 0 {
		return false
	}
	raw, ok := extra[0].(string)
	if !ok {
		return false
	}
	if c.Pattern != nil && !c.Pattern.MatchString(raw) {
		return false
	}
	if c.Residual != nil {
		return c.Residual.eval(c.Residual.root, raw, extra[1:])
	}
	return true
}

// Select returns the SQL that lists matches newest first: the columns
// cols (Table.Show if nil; the first must be the time column when InGo).
// limit <= 0 means no limit. When InGo the SQL instead lists every
// candidate row, unsorted, with raw (and the residual's terms) after
// cols: the caller filters with Match, sorts and limits (Search does).
func (c *Compiled) Select(cols []string, limit int) (string, []any) {
	if cols == nil {
		cols = c.Table.Show
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(cols, ", "))
	var args []any
	if c.InGo() {
		b.WriteString(", raw")
		if c.Residual != nil {
			for _, t := range c.Residual.sql {
				b.WriteString(", coalesce(" + t + ", " + c.falseSQL() + ")")
			}
			args = append(args, c.Residual.args...)
		}
	}
	b.WriteString(" FROM ")
	b.WriteString(c.Table.Name)
	b.WriteString(" WHERE ")
	b.WriteString(c.Where)
	args = append(args, c.Args...)
	if c.InGo() {
		// Unsorted: sorting every raw record in the range would hold them
		// all in memory; Search sorts the few that match.
		return b.String(), args
	}
	b.WriteString(" ORDER BY ")
	b.WriteString(c.Table.Time)
	b.WriteString(" DESC")
	if limit > 0 {
		b.WriteString(" LIMIT ?")
		args = append(args, int64(limit))
	}
	return b.String(), args
}

// Count returns the SQL that counts matches. When InGo it selects the
// raw records (and the residual's terms) instead, for the caller to count
// the ones that match.
func (c *Compiled) Count() (string, []any) {
	args := append([]any(nil), c.Args...)
	if c.InGo() {
		sql, args := c.Select([]string{}, 0)
		return strings.Replace(sql, "SELECT , ", "SELECT ", 1), args
	}
	return "SELECT count(*) FROM " + c.Table.Name + " WHERE " + c.Where, args
}

// HasColumn reports whether name is a column of t that Select may list.
func (t *Table) HasColumn(name string) bool {
	_, ok := t.cols[name]
	return ok || name == "raw"
}

// Compile turns a parsed query into SQL over one table.
func Compile(q *Query, opt Options) (*Compiled, error) {
	t := opt.Table
	if t == nil {
		var err error
		if t, err = chooseTable(q); err != nil {
			return nil, err
		}
	}
	c := &compiler{t: t, src: q.src, d: opt.Dialect}
	if c.d == "" {
		c.d = store.DuckDB
	}
	if c.ch() && q.root != nil && hasPath(t, q.root) {
		return compileResidual(q, opt, t, c)
	}
	parts := c.timeRange(t, opt)
	if q.root != nil {
		var b strings.Builder
		if err := c.node(&b, q.root); err != nil {
			return nil, err
		}
		parts = append(parts, "("+b.String()+")")
	}
	where := c.trueSQL()
	if len(parts) > 0 {
		where = strings.Join(parts, " AND ")
	}
	return &Compiled{Table: t, Where: where, Args: c.args, Pattern: q.cw, Dialect: c.d}, nil
}

// timeRange returns the conditions of opt's time range on t, their
// arguments appended to c's.
func (c *compiler) timeRange(t *Table, opt Options) []string {
	var parts []string
	if !opt.Since.IsZero() {
		parts = append(parts, t.Time+" >= ?")
		c.args = append(c.args, opt.Since.UTC())
	}
	if !opt.Until.IsZero() {
		parts = append(parts, t.Time+" < ?")
		c.args = append(c.args, opt.Until.UTC())
	}
	return parts
}

// ParseCompile parses and compiles a search box.
func ParseCompile(src string, opt Options) (*Compiled, error) {
	q, err := Parse(src)
	if err != nil {
		return nil, err
	}
	return Compile(q, opt)
}

func chooseTable(q *Query) (*Table, error) {
	if q.cw != nil {
		if strings.HasPrefix(strings.TrimSpace(q.src), "[") {
			return VPCFlow, nil
		}
		return CloudTrail, nil
	}
	fits := map[*Table]bool{}
	for _, t := range Tables {
		fits[t] = true
	}
	var err error
	walk(q.root, func(tm term) {
		if tm.field == "" || err != nil {
			return
		}
		any := false
		for _, t := range Tables {
			if _, ok := t.resolve(tm.field); ok {
				any = true
			} else {
				fits[t] = false
			}
		}
		if !any {
			err = &Error{Column: col(q.src, tm.fieldPos), Msg: fmt.Sprintf("unknown field %q", tm.field)}
		}
	})
	if err != nil {
		return nil, err
	}
	for _, t := range Tables {
		if fits[t] {
			return t, nil
		}
	}
	return nil, &Error{Column: 1, Msg: "no table has every field this query names (set the type: cloudtrail, vpcflow or guardduty)"}
}

func walk(n node, f func(term)) {
	switch x := n.(type) {
	case andNode:
		for _, k := range x.kids {
			walk(k, f)
		}
	case orNode:
		for _, k := range x.kids {
			walk(k, f)
		}
	case notNode:
		walk(x.x, f)
	case term:
		f(x)
	}
}

func col(src string, pos int) int { return (&parser{src: src}).col(pos) }

type compiler struct {
	t    *Table
	src  string
	args []any
	d    store.Dialect
	// res, when not nil, collects the residual of a ClickHouse query with
	// JSON paths (residual.go).
	res *resBuilder
}

// ch reports whether the compiler writes ClickHouse SQL.
func (c *compiler) ch() bool { return c.d == store.ClickHouse }

// trueSQL and falseSQL are the boolean constants (ClickHouse 18.16 has no
// TRUE and FALSE).
func (c *compiler) trueSQL() string {
	if c.ch() {
		return "1"
	}
	return "TRUE"
}

func (c *compiler) falseSQL() string {
	if c.ch() {
		return "0"
	}
	return "false"
}

func (c *Compiled) falseSQL() string {
	if c.Dialect == store.ClickHouse {
		return "0"
	}
	return "false"
}

func (c *compiler) errf(pos int, format string, args ...any) error {
	return &Error{Column: col(c.src, pos), Msg: fmt.Sprintf(format, args...)}
}

func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "?"
}

func (c *compiler) node(b *strings.Builder, n node) error {
	switch x := n.(type) {
	case andNode, orNode:
		kids, op := []node(nil), ""
		if a, ok := x.(andNode); ok {
			kids, op = a.kids, " AND "
		} else {
			kids, op = x.(orNode).kids, " OR "
		}
		b.WriteByte('(')
		for i, k := range kids {
			if i > 0 {
				b.WriteString(op)
			}
			if err := c.node(b, k); err != nil {
				return err
			}
		}
		b.WriteByte(')')
	case notNode:
		// A field that is missing (NULL) does not equal the value, so NOT
		// keeps the row, as Kibana does.
		b.WriteString("(NOT coalesce(")
		if err := c.node(b, x.x); err != nil {
			return err
		}
		b.WriteString(", " + c.falseSQL() + "))")
	case term:
		return c.term(b, x)
	}
	return nil
}

// expr writes the SQL expression of a target: a column name from the
// whitelist, or a JSON extraction from raw with the path bound.
func (c *compiler) expr(tg target) string {
	if tg.path != "" {
		return "json_extract_string(raw, " + c.arg(tg.path) + ")"
	}
	return tg.col.name
}

func (c *compiler) term(b *strings.Builder, tm term) error {
	if tm.field == "" {
		return c.freeText(b, tm.val)
	}
	tg, ok := c.t.resolve(tm.field)
	if !ok {
		if strings.Contains(strings.TrimPrefix(tm.field, "$."), ".") && c.t.roots != nil {
			return c.errf(tm.fieldPos, "unknown field %q for %s (free-form paths must start with a top-level key of the record, such as requestParameters, and hold only letters, digits, _ and [N])", tm.field, c.t.Type)
		}
		return c.errf(tm.fieldPos, "unknown field %q for %s", tm.field, c.t.Type)
	}
	v := tm.val
	typ := tg.col.typ
	if tg.path != "" {
		typ = tStr
	}
	switch v.kind {
	case vExists:
		fmt.Fprintf(b, "(%s IS NOT NULL)", c.expr(tg))
		return nil
	case vCmp:
		arg, err := c.operand(tg, typ, v.w, tm.field)
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "(%s %s %s)", c.numExpr(tg), v.op, c.arg(arg))
		return nil
	case vRange:
		return c.rangeTerm(b, tg, typ, v, tm.field)
	}
	w := v.w
	switch typ {
	case tInt, tFloat, tTime:
		if v.kind == vWord && w.wild {
			return c.errf(w.pos, "wildcards work on text fields only; %s is a %s field", tm.field, typeName(typ))
		}
		if typ == tTime {
			return c.timeTerm(b, tg, w, tm.field)
		}
		arg, err := c.operand(tg, typ, w, tm.field)
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "(%s = %s)", c.expr(tg), c.arg(arg))
		return nil
	case tBool:
		switch strings.ToLower(w.text) {
		case "true":
			t := "true"
			if c.ch() {
				t = "1"
			}
			fmt.Fprintf(b, "(%s = %s)", c.expr(tg), t)
		case "false":
			fmt.Fprintf(b, "(%s = %s)", c.expr(tg), c.falseSQL())
		default:
			return c.errf(w.pos, "%s is true or false, not %q", tm.field, w.text)
		}
		return nil
	}
	if v.kind == vWord && tg.col.addr && strings.Contains(w.text, "/") && !w.wild {
		pfx, err := netip.ParsePrefix(w.text)
		if err != nil {
			return c.errf(w.pos, "%q is not a CIDR block (like 10.0.0.0/8)", w.text)
		}
		return c.cidr(b, tg, pfx.Masked(), w)
	}
	if v.kind == vWord && w.wild {
		if fn, lit, ok := likeShape(w.like); ok {
			if c.ch() {
				switch fn {
				case "contains":
					fmt.Fprintf(b, "(position(%s, %s) > 0)", c.expr(tg), c.arg(lit))
				case "starts_with":
					fmt.Fprintf(b, "startsWith(%s, %s)", c.expr(tg), c.arg(lit))
				default:
					fmt.Fprintf(b, "endsWith(%s, %s)", c.expr(tg), c.arg(lit))
				}
			} else {
				fmt.Fprintf(b, "%s(%s, %s)", fn, c.expr(tg), c.arg(lit))
			}
		} else if c.ch() {
			// ClickHouse's LIKE escapes with \ and has no ESCAPE clause.
			fmt.Fprintf(b, "(%s LIKE %s)", c.expr(tg), c.arg(w.like))
		} else {
			fmt.Fprintf(b, "(%s LIKE %s ESCAPE '\\')", c.expr(tg), c.arg(w.like))
		}
		return nil
	}
	fmt.Fprintf(b, "(%s = %s)", c.expr(tg), c.arg(w.text))
	return nil
}

// freeText searches the raw record, case-insensitively, for the word or
// phrase (a word's wildcards stay wildcards).
func (c *compiler) freeText(b *strings.Builder, v value) error {
	switch v.kind {
	case vExists:
		b.WriteString(c.trueSQL())
		return nil
	case vRange, vCmp:
		return c.errf(v.w.pos, "a range or comparison needs a field (field:[a TO b], field:>=n)")
	}
	// DuckDB runs a case-insensitive regular expression two to four times
	// faster than ILIKE on the raw records.
	term := textindex.LikeTerm(v.w.like)
	if c.ch() {
		// No free-text index on ClickHouse: a case-insensitive match on
		// every raw record of the range. 18.16 misses matches of a
		// leading (?i) flag (its literal-prefix shortcut is
		// case-sensitive); a (?i:…) group is matched right.
		b.WriteString("match(raw, " + c.arg("(?i:"+term.Regexp+")") + ")")
		return nil
	}
	var conds []string
	if c.t.textIndex && len(term.Tokens) > 0 {
		conds = append(conds, "text_block IN ("+TextBlocksSQL(term.Tokens)+")")
	}
	if term.Prefilter != "" {
		// CASE, not AND: DuckDB reorders the terms of an AND by their
		// measured cost, and the whole-word expression is the slow one.
		pre := c.arg(term.Prefilter)
		conds = append(conds, "CASE WHEN regexp_matches(raw, "+pre+", 'i') THEN regexp_matches(raw, "+c.arg(term.Regexp)+", 'i') ELSE false END")
	} else {
		conds = append(conds, "regexp_matches(raw, "+c.arg(term.Regexp)+", 'i')")
	}
	if len(conds) == 1 {
		b.WriteString(conds[0])
		return nil
	}
	b.WriteString("(" + strings.Join(conds, " AND ") + ")")
	return nil
}

// TextBlocksSQL returns the subquery that lists the free-text index
// blocks of cloudtrail that may hold every token of hashes
// (textindex.BlocksSQL), for `text_block IN (…)`.
func TextBlocksSQL(hashes []uint64) string { return textindex.BlocksSQL(hashes) }

func typeName(t colType) string {
	switch t {
	case tInt:
		return "integer"
	case tFloat:
		return "numeric"
	case tBool:
		return "true/false"
	case tTime:
		return "time"
	}
	return "text"
}

// numExpr is the expression comparisons and ranges use: the column, or
// for a JSON path its text cast to a number.
func (c *compiler) numExpr(tg target) string {
	if tg.path != "" {
		return "TRY_CAST(" + c.expr(tg) + " AS DOUBLE)"
	}
	return c.expr(tg)
}

// operand parses a comparison or range operand for a target.
func (c *compiler) operand(tg target, typ colType, w word, field string) (any, error) {
	if tg.path != "" {
		typ = tFloat
	}
	switch typ {
	case tInt:
		n, err := strconv.ParseInt(w.text, 10, 64)
		if err != nil {
			if f, ferr := strconv.ParseFloat(w.text, 64); ferr == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				return f, nil
			}
			return nil, c.errf(w.pos, "%s is an integer field; %q is not a number", field, w.text)
		}
		return n, nil
	case tFloat:
		f, err := strconv.ParseFloat(w.text, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, c.errf(w.pos, "%s is a numeric field; %q is not a number", field, w.text)
		}
		return f, nil
	case tTime:
		t, _, err := parseTime(w.text)
		if err != nil {
			return nil, c.errf(w.pos, "%s is a time field; %q is not a time (use 2006-01-02 or 2006-01-02T15:04:05Z)", field, w.text)
		}
		return t, nil
	}
	return nil, c.errf(w.pos, "comparisons and ranges work on numeric and time fields; %s is a %s field", field, typeName(typ))
}

func (c *compiler) rangeTerm(b *strings.Builder, tg target, typ colType, v value, field string) error {
	var conds []string
	for _, end := range []struct {
		w    word
		incl bool
		op   string
	}{{v.lo, v.loIncl, ">"}, {v.hi, v.hiIncl, "<"}} {
		if end.w.text == "*" {
			continue
		}
		arg, err := c.operand(tg, typ, end.w, field)
		if err != nil {
			return err
		}
		op := end.op
		if end.incl {
			op += "="
		}
		conds = append(conds, fmt.Sprintf("%s %s %s", c.numExpr(tg), op, c.arg(arg)))
	}
	if len(conds) == 0 {
		fmt.Fprintf(b, "(%s IS NOT NULL)", c.expr(tg))
		return nil
	}
	b.WriteString("(" + strings.Join(conds, " AND ") + ")")
	return nil
}

// timeTerm matches a time field against an instant, or a whole day for a
// date.
func (c *compiler) timeTerm(b *strings.Builder, tg target, w word, field string) error {
	t, day, err := parseTime(w.text)
	if err != nil {
		return c.errf(w.pos, "%s is a time field; %q is not a time (use 2006-01-02 or 2006-01-02T15:04:05Z)", field, w.text)
	}
	if day {
		fmt.Fprintf(b, "(%s >= %s AND %s < %s)", c.expr(tg), c.arg(t), c.expr(tg), c.arg(t.AddDate(0, 0, 1)))
		return nil
	}
	fmt.Fprintf(b, "(%s = %s)", c.expr(tg), c.arg(t))
	return nil
}

// parseTime reads an RFC 3339 time or a date (a UTC day; day is true).
func parseTime(s string) (t time.Time, day bool, err error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), false, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("%q is not a time", s)
}

// ipv4Num is the SQL that reads a dotted IPv4 address as an integer (NULL
// for anything else). e is a whitelisted expression.
func ipv4Num(e string) string {
	oct := func(i int) string {
		return fmt.Sprintf("CAST(TRY_CAST(split_part(%s, '.', %d) AS UTINYINT) AS UBIGINT)", e, i)
	}
	return fmt.Sprintf("(%s * 16777216 + %s * 65536 + %s * 256 + %s)", oct(1), oct(2), oct(3), oct(4))
}

// cidr matches IPv4 addresses in a block: a LIKE on the block's whole
// octets first (cheap, and it keeps other text out), then the address as
// a number between the block's first and last address.
func (c *compiler) cidr(b *strings.Builder, tg target, pfx netip.Prefix, w word) error {
	if !pfx.Addr().Is4() {
		return c.errf(w.pos, "IPv6 CIDR blocks are not supported yet; search an address or use a wildcard (2001:db8:*)")
	}
	a := pfx.Addr().As4()
	lo := uint64(a[0])<<24 | uint64(a[1])<<16 | uint64(a[2])<<8 | uint64(a[3])
	hi := lo | (uint64(1)<<(32-pfx.Bits()) - 1)
	var like strings.Builder
	for i := 0; i < pfx.Bits()/8; i++ {
		if i > 0 {
			like.WriteByte('.')
		}
		fmt.Fprintf(&like, "%d", a[i])
	}
	switch pfx.Bits() / 8 {
	case 0:
		like.WriteString("%")
	case 4:
	default:
		like.WriteString(".%")
	}
	e := tg.col.name
	if tg.path != "" {
		return c.errf(w.pos, "CIDR blocks work on address fields only")
	}
	if c.ch() {
		// IPv4StringToNum reads anything but a dotted IPv4 address as 0.
		if pfx.Bits() > 0 && pfx.Bits()%8 == 0 {
			fmt.Fprintf(b, "(%s LIKE %s AND %s NOT LIKE '%%.%%.%%.%%.%%')", e, c.arg(like.String()), e)
			return nil
		}
		fmt.Fprintf(b, "(%s LIKE %s AND %s NOT LIKE '%%.%%.%%.%%.%%' AND (IPv4StringToNum(%s) != 0 OR %s = '0.0.0.0') AND IPv4StringToNum(%s) BETWEEN %s AND %s)",
			e, c.arg(like.String()), e, e, e, e, c.arg(lo), c.arg(hi))
		return nil
	}
	if pfx.Bits() > 0 && pfx.Bits()%8 == 0 {
		// The block is whole octets: the LIKE decides alone (measured at
		// 20M flow records: the numeric test on every 10.x address made a
		// 24-hour histogram of srcaddr:10.0.0.0/8 take 1.3 s).
		fmt.Fprintf(b, "(%s LIKE %s AND %s NOT LIKE '%%.%%.%%.%%.%%')", e, c.arg(like.String()), e)
		return nil
	}
	// DuckDB orders AND terms by its own cost estimate; the CASE makes the
	// cheap LIKE run first, and the numeric test only on what it keeps.
	fmt.Fprintf(b, "(CASE WHEN %s LIKE %s AND %s NOT LIKE '%%.%%.%%.%%.%%' THEN %s BETWEEN %s AND %s ELSE false END)",
		e, c.arg(like.String()), e, ipv4Num(e), c.arg(lo), c.arg(hi))
	return nil
}

// likeShape recognises the LIKE patterns (escape \) that are a literal
// with a wildcard at one or both ends only (*admin*, prod-*, *.json) and
// returns the DuckDB function that tests them without a pattern matcher
// (contains, starts_with or ends_with; case-sensitive, as LIKE is) and the
// literal. A bound LIKE … ESCAPE runs DuckDB's general matcher: on a day
// of 10M events, user_arn LIKE '%admin%' ESCAPE '\' took 2.5 s against
// 0.8 s for contains.
func likeShape(like string) (fn, lit string, ok bool) {
	lead := strings.HasPrefix(like, "%")
	body := strings.TrimPrefix(like, "%")
	trail := false
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		switch ch := body[i]; ch {
		case '\\':
			if i+1 >= len(body) {
				return "", "", false
			}
			i++
			b.WriteByte(body[i])
		case '%':
			if i != len(body)-1 {
				return "", "", false
			}
			trail = true
		case '_':
			return "", "", false
		default:
			b.WriteByte(ch)
		}
	}
	if b.Len() == 0 {
		return "", "", false
	}
	switch {
	case lead && trail:
		return "contains", b.String(), true
	case lead:
		return "ends_with", b.String(), true
	case trail:
		return "starts_with", b.String(), true
	}
	return "", "", false
}
