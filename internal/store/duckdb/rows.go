package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Rows reach DuckDB through a table function, trawl_rows(id), read by an
// INSERT … SELECT. Compared with the appender this skips one copy of every
// value (the appender buffers chunks before handing them to the table) and
// lets DuckDB's insert pipeline write row groups directly, which measured
// about 1.5× faster for CloudTrail rows (docs/performance.md).

// column is one column a batch can fill. get returns the value as any (nil
// for NULL); columns of common types also have a typed getter, which
// FillChunk prefers because it does not box values.
type column[T any] struct {
	name string          // table column
	typ  duckdb.Type     // DuckDB type of the produced values
	get  func(r *T) any  // the value, nil for NULL
	has  func(r *T) bool // whether the value is not NULL (cheap check)
	str  func(r *T) string

	notNull bool // NOT NULL in the table
	big     bool // compressed with zstd
}

// rowSource serves one batch to one INSERT. Only columns with at least one
// non-NULL value in the batch are produced; the INSERT's column list names
// them and the table's defaults (NULL) fill the rest, so a flow log with the
// 14 default fields does not pay for the 60 others.
type rowSource[T any] struct {
	recs    []T
	srcs    []string // when set, a "source" column with one value per record
	cols    []column[T]
	infos   []duckdb.ColumnInfo
	next    atomic.Int64 // the next record to hand out
	threads int
}

// constant is a column with the same value in every row of a batch (the
// source object, the ingest time). It is bound as a query parameter, so
// DuckDB stores it as a constant vector instead of a value per row.
type constant struct {
	name string
	val  any
}

func newRowSource[T any](recs []T, srcs []string, all []column[T]) (*rowSource[T], error) {
	s := &rowSource[T]{recs: recs, srcs: srcs}
	for _, c := range all {
		present := false
		for i := range recs {
			if c.has(&recs[i]) {
				present = true
				break
			}
		}
		if !present {
			continue
		}
		ti, err := duckdb.NewTypeInfo(c.typ)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.name, err)
		}
		s.cols = append(s.cols, c)
		s.infos = append(s.infos, duckdb.ColumnInfo{Name: c.name, T: ti})
	}
	if srcs != nil {
		ti, err := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
		if err != nil {
			return nil, err
		}
		s.infos = append(s.infos, duckdb.ColumnInfo{Name: "source", T: ti})
	}
	return s, nil
}

func (s *rowSource[T]) ColumnInfos() []duckdb.ColumnInfo { return s.infos }

func (s *rowSource[T]) Cardinality() *duckdb.CardinalityInfo {
	return &duckdb.CardinalityInfo{Cardinality: uint(len(s.recs)), Exact: true}
}

// Init allows DuckDB to fill chunks (and insert them) on several threads.
func (s *rowSource[T]) Init() duckdb.ParallelTableSourceInfo {
	return duckdb.ParallelTableSourceInfo{MaxThreads: s.threads}
}

// NewLocalState is required by the parallel interface; there is none.
func (s *rowSource[T]) NewLocalState() any { return new(int) }

// FillChunk fills ch with the next records; it is called concurrently.
func (s *rowSource[T]) FillChunk(_ any, ch duckdb.DataChunk) error {
	capacity := int64(duckdb.GetDataChunkCapacity())
	start := s.next.Add(capacity) - capacity
	if start >= int64(len(s.recs)) {
		return ch.SetSize(0)
	}
	pos := int(start)
	n := min(int(capacity), len(s.recs)-pos)
	recs := s.recs[pos : pos+n]
	for j, c := range s.cols {
		var err error
		if c.str != nil {
			for i := range recs {
				if v := c.str(&recs[i]); v != "" {
					err = duckdb.SetChunkValue(ch, j, i, v)
				} else {
					err = duckdb.SetChunkValue[any](ch, j, i, nil)
				}
				if err != nil {
					break
				}
			}
		} else {
			for i := range recs {
				if err = ch.SetValue(j, i, c.get(&recs[i])); err != nil {
					break
				}
			}
		}
		if err != nil {
			return fmt.Errorf("column %s: %w", c.name, err)
		}
	}
	if s.srcs != nil {
		j := len(s.cols)
		for i, src := range s.srcs[pos : pos+n] {
			if err := duckdb.SetChunkValue(ch, j, i, src); err != nil {
				return fmt.Errorf("column source: %w", err)
			}
		}
	}
	return ch.SetSize(n)
}

// columnList returns the quoted column names of the source and of consts.
func (s *rowSource[T]) columnList(consts []constant) string {
	names := make([]string, 0, len(s.cols)+len(consts)+1)
	for _, c := range s.cols {
		names = append(names, quoteIdent(c.name))
	}
	if s.srcs != nil {
		names = append(names, "source")
	}
	for _, c := range consts {
		names = append(names, quoteIdent(c.name))
	}
	return strings.Join(names, ", ")
}

// sources hands batches to trawl_rows by id.
type sources struct {
	mu   sync.Mutex
	m    map[uint64]duckdb.ParallelChunkTableSource
	next atomic.Uint64
}

func (r *sources) add(s duckdb.ParallelChunkTableSource) uint64 {
	id := r.next.Add(1)
	r.mu.Lock()
	r.m[id] = s
	r.mu.Unlock()
	return id
}

func (r *sources) remove(id uint64) {
	r.mu.Lock()
	delete(r.m, id)
	r.mu.Unlock()
}

func (r *sources) get(id uint64) (duckdb.ParallelChunkTableSource, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.m[id]
	return s, ok
}

// registerRows registers trawl_rows(id) on the database.
func (st *Store) registerRows(ctx context.Context) error {
	st.src = &sources{m: map[uint64]duckdb.ParallelChunkTableSource{}}
	conn, err := st.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	bigint, err := duckdb.NewTypeInfo(duckdb.TYPE_UBIGINT)
	if err != nil {
		return err
	}
	return duckdb.RegisterTableUDF(conn, "trawl_rows", duckdb.ParallelChunkTableFunction{
		Config: duckdb.TableFunctionConfig{Arguments: []duckdb.TypeInfo{bigint}},
		BindArguments: func(_ map[string]any, args ...any) (duckdb.ParallelChunkTableSource, error) {
			id, _ := args[0].(uint64)
			s, ok := st.src.get(id)
			if !ok {
				return nil, fmt.Errorf("trawl_rows(%d): no such batch (it is internal to trawl's writer)", id)
			}
			return s, nil
		},
	})
}

// insertRows inserts recs into table through trawl_rows. srcs, if not nil,
// gives each record's source; consts are columns with one value for all;
// suffix is appended to the statement (an ON CONFLICT clause).
func insertRows[T any](ctx context.Context, st *Store, conn *sql.Conn, table string, recs []T, srcs []string, cols []column[T], suffix string, consts ...constant) error {
	if len(recs) == 0 {
		return nil
	}
	src, err := newRowSource(recs, srcs, cols)
	if err != nil {
		return err
	}
	src.threads = st.threads
	id := st.src.add(src)
	defer st.src.remove(id)
	sel := "*"
	args := make([]any, len(consts))
	for i, c := range consts {
		sel += ", ?"
		args[i] = c.val
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM trawl_rows(%d::UBIGINT) %s", table, src.columnList(consts), sel, id, suffix)
	if _, err := conn.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("inserting %d rows into %s: %w", len(recs), table, err)
	}
	return nil
}

// querier is what eachRow queries: a *sql.DB or a *sql.Conn.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// eachRow runs query and calls scan for every row, stopping at the first
// error; what says in errors which look-up failed. An error that ends the
// iteration early (rows.Err) is reported too: a look-up that silently read
// only part of its rows would let duplicates through.
func eachRow(ctx context.Context, q querier, what, query string, scan func(*sql.Rows) error, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
