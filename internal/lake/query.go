package lake

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/trawl-project/trawl/internal/awsconf"
	"github.com/trawl-project/trawl/internal/schema"
	"github.com/trawl-project/trawl/internal/store"
	duckstore "github.com/trawl-project/trawl/internal/store/duckdb"
)

// QueryOptions configure OpenReader. Every field is optional.
type QueryOptions struct {
	// AWS is the SDK configuration for an s3:// target; nil loads
	// awsconf's defaults.
	AWS *aws.Config
	// S3Options modify the S3 client after awsconf.S3Options.
	S3Options []func(*s3.Options)
	// CacheDir holds local copies of an s3:// lake's data files, keyed by
	// object key and ETag; default <user cache dir>/trawl/lake.
	CacheDir string
	// Since and Until, when set, restrict every view to rows whose time
	// column (cloudtrail.event_time, vpcflow.start_time,
	// guardduty.updated_at) is in [Since, Until), and only the partitions
	// (dt, hour) that can hold such rows are read or downloaded.
	Since, Until time.Time
	// MemoryLimit is DuckDB's memory limit (default 512MB).
	MemoryLimit string
	// Downloads is how many objects an s3:// lake downloads at once
	// (default 4).
	Downloads int
}

// Reader queries a lake through an in-memory DuckDB with one view per
// table (cloudtrail, vpcflow, guardduty) over the table's Parquet files,
// read with hive_partitioning, and guardduty_finding, the latest version
// of each finding. It implements store.Querier.
type Reader struct {
	db *sql.DB
	// Files is how many data files each table's view reads.
	Files map[string]int
}

// timeColumn is each table's time column: the source of dt (and hour).
func timeColumn(t Table) string {
	return t.From[slices.Index(t.Partitions, PartDate)]
}

// baseColumns returns the table's columns in internal/schema's order,
// including those the partition path carries, followed by source and
// ingested_at.
func baseColumns(table string) []Column {
	var names []Column
	add := func(n string, ty schema.Type) { names = append(names, Column{n, ty}) }
	switch table {
	case CloudTrail:
		for _, c := range schema.CloudTrail {
			add(c.Name, c.Type)
		}
	case VPCFlow:
		for _, c := range schema.VPCFlow {
			add(c.Name, c.Type)
		}
	case GuardDuty:
		for _, c := range schema.Finding {
			add(c.Name, c.Type)
		}
	}
	return append(names, extra...)
}

// duckType is the DuckDB type of a schema type.
func duckType(t schema.Type) string {
	switch t {
	case schema.Timestamp:
		return "TIMESTAMPTZ"
	case schema.Bool:
		return "BOOLEAN"
	case schema.Int32:
		return "INTEGER"
	case schema.Int64:
		return "BIGINT"
	case schema.Float64:
		return "DOUBLE"
	}
	return "VARCHAR"
}

// ctText and ctJSON are the cloudtrail view's columns computed from raw
// at query time, as the DuckDB store's cloudtrail view computes them
// (internal/store/duckdb/schema.go, ctText and ctComputed; a test compares
// the two views' columns): text members, from one parse of raw per row,
// converted by expr from their text (%s), and JSON members.
var ctText = []struct{ name, typ, path, expr string }{
	{"event_version", "VARCHAR", "$.eventVersion", "%s"},
	{"user_principal_id", "VARCHAR", "$.userIdentity.principalId", "%s"},
	{"session_created_at", "TIMESTAMPTZ", "$.userIdentity.sessionContext.attributes.creationDate",
		`coalesce(try_strptime(%[1]s, '%%Y%%m%%dT%%H%%M%%SZ')::TIMESTAMPTZ, TRY_CAST(%[1]s AS TIMESTAMPTZ))`},
	{"request_id", "VARCHAR", "$.requestID", "%s"},
	{"api_version", "VARCHAR", "$.apiVersion", "%s"},
	{"tls_version", "VARCHAR", "$.tlsDetails.tlsVersion", "%s"},
	{"tls_cipher_suite", "VARCHAR", "$.tlsDetails.cipherSuite", "%s"},
	{"tls_client_host", "VARCHAR", "$.tlsDetails.clientProvidedHostHeader", "%s"},
}

var ctJSON = []struct{ name, path string }{
	{"resources", "$.resources"},
	{"request_parameters", "$.requestParameters"},
	{"response_elements", "$.responseElements"},
	{"additional_event_data", "$.additionalEventData"},
	{"service_event_details", "$.serviceEventDetails"},
	{"insight_details", "$.insightDetails"},
}

// ctComputedCols returns the select expressions of the computed columns;
// they read trawl_s, the text members parsed once per row (ctParse).
func ctComputedCols(empty bool) []string {
	var out []string
	for i, v := range ctText {
		e := fmt.Sprintf("CAST(NULL AS %s) AS %s", v.typ, v.name)
		if !empty {
			e = fmt.Sprintf("CAST(%s AS %s) AS %s", fmt.Sprintf(v.expr, fmt.Sprintf("trawl_s[%d]", i+1)), v.typ, v.name)
		}
		out = append(out, e)
	}
	for _, v := range ctJSON {
		e := fmt.Sprintf("CAST(NULL AS JSON) AS %s", v.name)
		if !empty {
			e = fmt.Sprintf("CAST(nullif(json_extract(raw, '%s'), 'null'::JSON) AS JSON) AS %s", v.path, v.name)
		}
		out = append(out, e)
	}
	return out
}

// ctParse wraps a relation with trawl_s, raw's text members (ctText).
func ctParse(from string) string {
	paths := make([]string, len(ctText))
	for i, v := range ctText {
		paths[i] = quoteLit(v.path)
	}
	return fmt.Sprintf("(SELECT *, json_extract_string(CAST(raw AS VARCHAR), [%s]) AS trawl_s FROM %s)", strings.Join(paths, ", "), from)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func quoteLit(s string) string   { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// OpenReader opens the lake at target (a local directory or
// s3://bucket/prefix) for queries. For s3:// the data files (of the
// partitions in Since/Until) are downloaded to CacheDir first, unless a
// copy with the same ETag is there already.
func OpenReader(ctx context.Context, target string, opt QueryOptions) (*Reader, error) {
	if opt.MemoryLimit == "" {
		opt.MemoryLimit = "512MB"
	}
	var files map[string][]string
	var glob map[string]string
	var err error
	if strings.HasPrefix(target, "s3://") {
		files, err = fetchS3(ctx, target, opt)
	} else {
		files, glob, err = listLocal(target, opt)
	}
	if err != nil {
		return nil, err
	}
	c, err := duckdb.NewConnector("?memory_limit="+opt.MemoryLimit+"&autoinstall_known_extensions=false&autoload_known_extensions=false",
		func(ex driver.ExecerContext) error {
			_, err := ex.ExecContext(context.WithoutCancel(ctx), "SET TimeZone = 'UTC'", nil)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("opening DuckDB for the lake %s: %w", target, err)
	}
	r := &Reader{db: sql.OpenDB(c), Files: map[string]int{}}
	for _, t := range Tables() {
		src := ""
		switch {
		case glob[t.Name] != "":
			src = quoteLit(glob[t.Name])
		case len(files[t.Name]) > 0:
			q := make([]string, len(files[t.Name]))
			for i, f := range files[t.Name] {
				q[i] = quoteLit(f)
			}
			src = "[" + strings.Join(q, ", ") + "]"
		}
		r.Files[t.Name] = len(files[t.Name])
		view, err := viewSQL(ctx, r.db, t, src, opt)
		if err != nil {
			r.db.Close()
			return nil, fmt.Errorf("lake %s: %w", target, err)
		}
		if _, err := r.db.ExecContext(ctx, view); err != nil {
			r.db.Close()
			return nil, fmt.Errorf("lake %s: creating view %s: %w", target, t.Name, err)
		}
	}
	// The DuckDB store's current state of GuardDuty findings: the latest
	// version of each (guardduty holds every version).
	if _, err := r.db.ExecContext(ctx, `CREATE VIEW guardduty_finding AS
SELECT * FROM guardduty QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC, ingested_at DESC) = 1`); err != nil {
		r.db.Close()
		return nil, fmt.Errorf("lake %s: creating view guardduty_finding: %w", target, err)
	}
	return r, nil
}

// parquetSource returns the read_parquet call of a table's files (src: a
// quoted glob or list) with hive partitioning, the partition keys typed
// VARCHAR.
func parquetSource(t Table, src string) string {
	types := make([]string, len(t.Partitions))
	for i, p := range t.Partitions {
		types[i] = quoteLit(p) + ": VARCHAR"
	}
	return fmt.Sprintf("read_parquet(%s, hive_partitioning = true, union_by_name = true, hive_types = {%s})", src, strings.Join(types, ", "))
}

// viewSQL builds a table's view: its columns in the DuckDB table's order
// with their types (a column no file has is NULL), the partition keys
// after them, filtered by Since/Until. Without files (src "") the view is
// empty but typed.
func viewSQL(ctx context.Context, db *sql.DB, t Table, src string, opt QueryOptions) (string, error) {
	have := map[string]bool{}
	from := ""
	if src != "" {
		from = parquetSource(t, src)
		rows, err := db.QueryContext(ctx, "DESCRIBE SELECT * FROM "+from)
		if err != nil {
			return "", fmt.Errorf("reading the schema of %s's files: %w", t.Name, err)
		}
		for rows.Next() {
			var name string
			var rest [5]any
			if err := rows.Scan(&name, &rest[0], &rest[1], &rest[2], &rest[3], &rest[4]); err != nil {
				rows.Close()
				return "", fmt.Errorf("reading the schema of %s's files: %w", t.Name, err)
			}
			have[name] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return "", fmt.Errorf("reading the schema of %s's files: %w", t.Name, err)
		}
	}
	var cols []string
	used := map[string]bool{}
	for _, c := range baseColumns(t.Name) {
		typ := duckType(c.Type)
		if t.Name == CloudTrail && c.Name == "raw" {
			cols = append(cols, ctComputedCols(src == "" || !have["raw"])...)
		}
		switch {
		case slices.Contains(t.Partitions, c.Name) && src != "":
			cols = append(cols, quoteIdent(c.Name)) // the path carries it
			used[c.Name] = true
		case have[c.Name]:
			cols = append(cols, fmt.Sprintf("CAST(%s AS %s) AS %s", quoteIdent(c.Name), typ, quoteIdent(c.Name)))
		default:
			cols = append(cols, fmt.Sprintf("CAST(NULL AS %s) AS %s", typ, quoteIdent(c.Name)))
			used[c.Name] = slices.Contains(t.Partitions, c.Name)
		}
	}
	for _, p := range t.Partitions {
		if used[p] {
			continue
		}
		if src != "" {
			cols = append(cols, quoteIdent(p))
		} else {
			cols = append(cols, "CAST(NULL AS VARCHAR) AS "+quoteIdent(p))
		}
	}
	var where []string
	if src == "" {
		from = "(SELECT 1)"
		where = append(where, "false")
	} else {
		tc := quoteIdent(timeColumn(t))
		if !opt.Since.IsZero() {
			where = append(where, fmt.Sprintf("dt >= '%s'", opt.Since.UTC().Format(time.DateOnly)),
				fmt.Sprintf("%s >= '%s'", tc, opt.Since.UTC().Format(time.RFC3339Nano)))
		}
		if !opt.Until.IsZero() {
			where = append(where, fmt.Sprintf("dt <= '%s'", opt.Until.UTC().Format(time.DateOnly)),
				fmt.Sprintf("%s < '%s'", tc, opt.Until.UTC().Format(time.RFC3339Nano)))
		}
	}
	if t.Name == CloudTrail && src != "" && have["raw"] {
		from = ctParse(from)
	}
	v := fmt.Sprintf("CREATE VIEW %s AS SELECT\n  %s\nFROM %s", quoteIdent(t.Name), strings.Join(cols, ",\n  "), from)
	if len(where) > 0 {
		v += "\nWHERE " + strings.Join(where, " AND ")
	}
	return v, nil
}

// inRange reports whether a partition (dt, and hour when hourly) can hold
// rows in [since, until). A default (NULL) partition is never in a range.
func inRange(values []string, names []string, since, until time.Time) bool {
	if since.IsZero() && until.IsZero() {
		return true
	}
	dt, hour := "", ""
	for i, n := range names {
		switch n {
		case PartDate:
			dt = values[i]
		case PartHour:
			hour = values[i]
		}
	}
	day, err := time.Parse(time.DateOnly, dt)
	if err != nil {
		return false
	}
	start, span := day, 24*time.Hour
	if hour != "" {
		h, err := time.Parse("15", hour)
		if err != nil {
			return false
		}
		start, span = day.Add(time.Duration(h.Hour())*time.Hour), time.Hour
	}
	if !since.IsZero() && !start.Add(span).After(since) {
		return false
	}
	if !until.IsZero() && !start.Before(until) {
		return false
	}
	return true
}

// listLocal finds each table's data files under root. Without a time range
// a table with files is read by a glob (glob[table]); with one, by the list
// of files in the partitions of the range.
func listLocal(root string, opt QueryOptions) (files map[string][]string, glob map[string]string, err error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the lake %s: %w", root, err)
	}
	if !st.IsDir() {
		return nil, nil, fmt.Errorf("opening the lake %s: not a directory", root)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the lake %s: %w", root, err)
	}
	files, glob = map[string][]string{}, map[string]string{}
	ranged := !opt.Since.IsZero() || !opt.Until.IsZero()
	for _, t := range Tables() {
		dir := filepath.Join(abs, t.Name)
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == dir {
					return fs.SkipAll
				}
				return err
			}
			if d.IsDir() || !strings.HasSuffix(p, ".parquet") {
				return nil
			}
			rel, _ := filepath.Rel(abs, p)
			_, names, values, err := ParsePartitionPath(filepath.ToSlash(rel))
			if err != nil {
				return nil // not a data file of the layout
			}
			if inRange(values, names, opt.Since, opt.Until) {
				files[t.Name] = append(files[t.Name], p)
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("listing the lake's %s files in %s: %w", t.Name, dir, err)
		}
		if !ranged && len(files[t.Name]) > 0 {
			glob[t.Name] = filepath.Join(dir, "**", "*.parquet")
		}
	}
	return files, glob, nil
}

// s3Client returns an S3 client for the options.
func s3Client(ctx context.Context, cfg *aws.Config, extra []func(*s3.Options)) (*s3.Client, error) {
	if cfg == nil {
		c, err := awsconf.Load(ctx, awsconf.Options{})
		if err != nil {
			return nil, err
		}
		cfg = &c
	}
	return awsconf.NewS3(*cfg, extra...), nil
}

// fetchS3 lists each table's data files under the s3:// target, keeps
// those in the time range, and downloads each to the cache unless it is
// there with the same ETag. It returns the local paths per table.
func fetchS3(ctx context.Context, target string, opt QueryOptions) (map[string][]string, error) {
	bucket, prefix, err := parseS3(target)
	if err != nil {
		return nil, err
	}
	client, err := s3Client(ctx, opt.AWS, opt.S3Options)
	if err != nil {
		return nil, fmt.Errorf("lake %s: %w", target, err)
	}
	cache := opt.CacheDir
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("lake %s: no cache directory (set one): %w", target, err)
		}
		cache = filepath.Join(d, "trawl", "lake")
	}
	sum := sha256.Sum256([]byte(bucket + "/" + prefix))
	cache = filepath.Join(cache, hex.EncodeToString(sum[:8]))
	type job struct{ table, key, etag, local string }
	var jobs []job
	for _, t := range Tables() {
		p := prefix + t.Name + "/"
		pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &p})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("listing s3://%s/%s: %w", bucket, p, err)
			}
			for _, o := range page.Contents {
				key := aws.ToString(o.Key)
				rel := strings.TrimPrefix(key, prefix)
				if !strings.HasSuffix(rel, ".parquet") {
					continue
				}
				_, names, values, err := ParsePartitionPath(rel)
				if err != nil || !inRange(values, names, opt.Since, opt.Until) {
					continue
				}
				etag := strings.Trim(aws.ToString(o.ETag), `"`)
				local := filepath.Join(cache, filepath.FromSlash(strings.TrimSuffix(rel, ".parquet")+"@"+SafeWriter(etag)+".parquet"))
				jobs = append(jobs, job{t.Name, key, etag, local})
			}
		}
	}
	n := opt.Downloads
	if n <= 0 {
		n = 4
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan job)
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				if err := download(ctx, client, bucket, j.key, j.etag, j.local); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	out := map[string][]string{}
	for _, j := range jobs {
		out[j.table] = append(out[j.table], j.local)
	}
	return out, nil
}

// download copies s3://bucket/key to local unless it exists (the ETag is
// in its name), through a temporary file renamed when complete. The GET
// is conditional on the listed ETag, so an object replaced since the
// listing fails instead of filling the cache with the wrong content.
func download(ctx context.Context, client *s3.Client, bucket, key, etag, local string) error {
	if _, err := os.Stat(local); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return fmt.Errorf("caching s3://%s/%s: %w", bucket, key, err)
	}
	in := &s3.GetObjectInput{Bucket: &bucket, Key: &key}
	if etag != "" {
		in.IfMatch = aws.String(`"` + etag + `"`)
	}
	obj, err := client.GetObject(ctx, in)
	if err != nil {
		return fmt.Errorf("downloading s3://%s/%s: %w", bucket, key, err)
	}
	defer obj.Body.Close()
	f, err := os.CreateTemp(filepath.Dir(local), ".download-*")
	if err != nil {
		return fmt.Errorf("caching s3://%s/%s: %w", bucket, key, err)
	}
	_, err = io.Copy(f, obj.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), local)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("downloading s3://%s/%s to %s: %w", bucket, key, local, err)
	}
	return nil
}

// Query runs one read-only statement (store.Querier).
func (r *Reader) Query(ctx context.Context, req store.Request) (store.Rows, error) {
	return runQuery(ctx, r.db, req)
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func runQuery(ctx context.Context, db queryer, req store.Request) (store.Rows, error) {
	cancel := context.CancelFunc(func() {})
	if req.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
	}
	rows, err := db.QueryContext(ctx, req.SQL, req.Args...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("query failed: %s", strings.TrimSpace(err.Error()))
	}
	return store.SQLRows(rows, cancel)
}

// QueryEach runs every statement of req.SQL in order on one connection and
// passes each result to fn, like the DuckDB store's QueryEach.
func (r *Reader) QueryEach(ctx context.Context, req store.Request, fn func(store.Rows) error) error {
	stmts := duckstore.SplitStatements(req.SQL)
	if len(stmts) == 0 {
		return errors.New("no SQL statement to run")
	}
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("query failed: %w", err)
	}
	defer conn.Close()
	return store.EachStatement(req, stmts, func(q store.Request) (store.Rows, error) { return runQuery(ctx, conn, q) }, fn)
}

// Close releases the in-memory database.
func (r *Reader) Close() error { return r.db.Close() }

var _ store.Querier = (*Reader)(nil)
