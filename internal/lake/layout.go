// Package lake writes trawl's tables as a Hive-partitioned Parquet lake in
// a local directory or under an s3:// prefix, and reads it back: Athena DDL
// with partition projection, queries through an in-memory DuckDB, and
// compaction of small files. docs/lake.md describes the layout.
package lake

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/schema"
)

// Partition key names, in the order they appear in a path.
const (
	PartAccount = "account"
	PartRegion  = "region"
	PartDate    = "dt"
	PartHour    = "hour"
)

// DefaultPartition is the value of a partition key whose source column is
// empty or NULL. Hive, Athena, Spark and DuckDB read it as NULL.
const DefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// Table names of the lake.
const (
	CloudTrail = "cloudtrail"
	VPCFlow    = "vpcflow"
	GuardDuty  = "guardduty"
)

// Column is one column of a lake table's data files.
type Column struct {
	Name string
	Type schema.Type
}

// Table is one table of the lake: its directory name, its partition keys
// in path order, the schema columns each key is derived from, and the
// columns of its data files.
type Table struct {
	Name string
	// Partitions are the partition key names in path order: account,
	// region, dt, and for vpcflow hour.
	Partitions []string
	// From names, for each partition key (same index), the column of the
	// schema the key's value comes from. dt and hour both come from the
	// table's time column (dt = its UTC date, hour = its UTC hour).
	From []string
	// Columns are the columns of the data files, in order: every column of
	// the DuckDB base table (internal/schema's list plus source and
	// ingested_at) except one whose name equals a partition key (the
	// path carries it: vpcflow's and guardduty's region).
	Columns []Column
}

// Column returns the table's data-file column named name.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Hourly reports whether the table is partitioned by hour too.
func (t Table) Hourly() bool {
	return len(t.Partitions) == 4
}

// extra are the columns the DuckDB base tables add to internal/schema's
// lists: the object a row was read from and when it was ingested.
var extra = []Column{{"source", schema.String}, {"ingested_at", schema.Timestamp}}

func columnsOf[T any](cols []schema.Column[T], partitions []string) []Column {
	out := make([]Column, 0, len(cols)+len(extra))
	for _, c := range cols {
		if isPartition(c.Name, partitions) {
			continue
		}
		out = append(out, Column{c.Name, c.Type})
	}
	return append(out, extra...)
}

func isPartition(name string, partitions []string) bool {
	for _, p := range partitions {
		if p == name {
			return true
		}
	}
	return false
}

var (
	daily  = []string{PartAccount, PartRegion, PartDate}
	hourly = []string{PartAccount, PartRegion, PartDate, PartHour}
)

// Tables returns the lake's tables: cloudtrail, vpcflow and guardduty (every
// version of a finding is a row). The result is a fresh copy.
func Tables() []Table {
	return []Table{
		{Name: CloudTrail, Partitions: clone(daily),
			From:    []string{"recipient_account_id", "aws_region", "event_time"},
			Columns: columnsOf(schema.CloudTrail, daily)},
		{Name: VPCFlow, Partitions: clone(hourly),
			From:    []string{"account_id", "region", "start_time", "start_time"},
			Columns: columnsOf(schema.VPCFlow, hourly)},
		{Name: GuardDuty, Partitions: clone(daily),
			From:    []string{"account_id", "region", "updated_at"},
			Columns: columnsOf(schema.Finding, daily)},
	}
}

func clone(s []string) []string { return append([]string(nil), s...) }

// TableNamed returns the lake table called name.
func TableNamed(name string) (Table, bool) {
	for _, t := range Tables() {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// Key is the partition a row belongs to.
type Key struct {
	Table   string
	Account string    // "" → DefaultPartition
	Region  string    // "" → DefaultPartition
	Time    time.Time // its UTC date is dt (and hour, for vpcflow); zero → DefaultPartition
}

// Values returns the key's partition values in path order, unescaped
// (DefaultPartition for an empty one).
func (k Key) Values() []string {
	v := []string{orDefault(k.Account), orDefault(k.Region), DefaultPartition}
	t := k.Time.UTC()
	if !k.Time.IsZero() {
		v[2] = t.Format(time.DateOnly)
	}
	if k.Table == VPCFlow {
		h := DefaultPartition
		if !k.Time.IsZero() {
			h = fmt.Sprintf("%02d", t.Hour())
		}
		v = append(v, h)
	}
	return v
}

func orDefault(s string) string {
	if s == "" {
		return DefaultPartition
	}
	return s
}

// Dir returns the partition's directory relative to the lake root,
// slash-separated: <table>/account=<id>/region=<r>/dt=YYYY-MM-DD[/hour=HH],
// values escaped as Hive escapes them (EscapeValue).
func (k Key) Dir() string {
	names := daily
	if k.Table == VPCFlow {
		names = hourly
	}
	return PartitionPath(k.Table, names, k.Values())
}

// PartitionPath joins a table name and its partition keys and values
// (unescaped; same length) into a directory relative to the lake root,
// slash-separated, escaping each value (EscapeValue).
func PartitionPath(table string, names, values []string) string {
	var b strings.Builder
	b.WriteString(table)
	for i, n := range names {
		b.WriteByte('/')
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(EscapeValue(values[i]))
	}
	return b.String()
}

// ParsePartitionPath splits a directory or file path relative to the lake
// root (slash-separated; a trailing file name is ignored) into its table,
// partition key names and unescaped values. It fails when the path does
// not start with a known table followed by that table's partition keys in
// order.
func ParsePartitionPath(rel string) (table string, names, values []string, err error) {
	parts := strings.Split(strings.Trim(rel, "/"), "/")
	t, ok := TableNamed(parts[0])
	if !ok {
		return "", nil, nil, fmt.Errorf("lake path %q: unknown table %q", rel, parts[0])
	}
	if len(parts)-1 < len(t.Partitions) {
		return "", nil, nil, fmt.Errorf("lake path %q: want partitions %s", rel, strings.Join(t.Partitions, "/"))
	}
	for i, want := range t.Partitions {
		n, v, ok := strings.Cut(parts[i+1], "=")
		if !ok || n != want {
			return "", nil, nil, fmt.Errorf("lake path %q: segment %q is not partition %s", rel, parts[i+1], want)
		}
		u, err := UnescapeValue(v)
		if err != nil {
			return "", nil, nil, fmt.Errorf("lake path %q: %w", rel, err)
		}
		names = append(names, n)
		values = append(values, u)
	}
	return t.Name, names, values, nil
}

// hiveEscaped reports whether Hive escapes byte c in a partition value
// (org.apache.hadoop.hive.common.FileUtils.charToEscape).
func hiveEscaped(c byte) bool {
	if c < 0x20 || c == 0x7f {
		return true
	}
	return strings.IndexByte("\"#%'*/:=?\\{[]^", c) >= 0
}

// EscapeValue escapes a partition value as Hive does: each of the bytes
// Hive escapes (control characters, " # % ' * / : = ? \ { [ ] ^ and DEL)
// becomes %XX with upper-case hex digits; everything else is kept.
func EscapeValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if hiveEscaped(c) {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// UnescapeValue undoes EscapeValue: %XX becomes the byte XX.
func UnescapeValue(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("partition value %q: truncated escape at %d", s, i)
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("partition value %q: bad escape at %d: %w", s, i, err)
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), nil
}

// FileName returns the name of a data file: part-<writer>-<seq>.parquet,
// writer made safe for a path (SafeWriter), seq zero-padded to 10 digits
// so names sort by sequence.
func FileName(writer string, seq uint64) string {
	return fmt.Sprintf("part-%s-%010d.parquet", SafeWriter(writer), seq)
}

// ParseFileName splits a data file's base name into its writer and
// sequence number; ok is false for a name FileName did not make.
func ParseFileName(name string) (writer string, seq uint64, ok bool) {
	name = path.Base(name)
	rest, found := strings.CutPrefix(name, "part-")
	if !found {
		return "", 0, false
	}
	rest, found = strings.CutSuffix(rest, ".parquet")
	if !found {
		return "", 0, false
	}
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(rest[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return rest[:i], n, true
}

// SafeWriter returns a writer name usable in a file name and an S3 key
// without escaping: every byte other than A-Z a-z 0-9 . _ - becomes _
// (an empty name becomes "_").
func SafeWriter(w string) string {
	if w == "" {
		return "_"
	}
	b := []byte(w)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			b[i] = '_'
		}
	}
	return string(b)
}

// FilePath returns a data file's path relative to the lake root:
// the partition's directory (Key.Dir) and FileName(writer, seq).
func FilePath(k Key, writer string, seq uint64) string {
	return k.Dir() + "/" + FileName(writer, seq)
}
