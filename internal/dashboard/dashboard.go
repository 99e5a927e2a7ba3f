// Package dashboard holds trawl's built-in dashboards — CloudTrail, VPC
// Flow Logs and GuardDuty — as panels of parameterised SQL over the store,
// runs a panel for a time range, accounts and regions, and serves them
// over HTTP (Handler) at /api/dashboards. Every row a panel returns comes
// with a query in the search language (internal/search) that lists the
// events behind it. docs/dashboards.md describes each panel and its SQL.
package dashboard

import (
	"context"

	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/store"
)

// Querier runs read-only SQL: internal/store's Querier.
type Querier interface {
	Query(ctx context.Context, req store.Request) (store.Rows, error)
}

// Kind is how a panel is drawn.
type Kind string

// The kinds of panel.
const (
	// Timeseries rows are (t_ms, series, value): one per bucket and series.
	Timeseries Kind = "timeseries"
	// Bar rows are (label, value).
	Bar Kind = "bar"
	// Table rows have any columns.
	Table Kind = "table"
	// Map rows are (country, value), the country an ISO 3166-1 alpha-2 code.
	Map Kind = "map"
	// Number is one row of one value.
	Number Kind = "number"
)

// Units of a panel's values.
const (
	UnitEvents   = "events"
	UnitBytes    = "bytes"
	UnitPackets  = "packets"
	UnitFindings = "findings"
)

// Dashboard is one built-in dashboard: the panels over one log type.
type Dashboard struct {
	ID     string   `json:"id"`
	Title  string   `json:"title"`
	Type   string   `json:"type"`
	Panels []*Panel `json:"panels"`

	src *source
}

// Panel is one chart or table of a dashboard.
type Panel struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Kind  Kind   `json:"kind"`
	// Width is 1 (half a row) or 2 (a whole row).
	Width int `json:"width"`
	// Unit is what the values count: events, bytes, packets or findings.
	Unit string `json:"-"`
	// Description says what the panel shows (docs and the UI's tooltip).
	Description string `json:"description,omitempty"`
	// Columns are the columns of the panel's result; the SQL may select
	// more after them (keys that Search reads and that are not returned).
	Columns []string `json:"-"`
	// SQL is the panel's query. {table} stands for the dashboard's table,
	// {where} for the filter on it (time range, accounts, regions, as
	// bound parameters) and {bucket} for the time bucket of a timeseries
	// (integer epoch milliseconds).
	SQL string `json:"-"`
	// Measure is the aggregate the panel's value column computes over the
	// rows of its search ("count(*)", "sum(bytes)"); "" when the rows are
	// events themselves (tables) or not from the searchable table. Tests
	// check the click-through queries with it.
	Measure string `json:"-"`
	// MeasureColumn is the column of Columns that Measure computes.
	MeasureColumn string `json:"-"`
	// Search returns the query (search language, without the dashboard's
	// filter) that lists the events behind a row of SQL's result, "" when
	// there is none.
	Search func(row []any) string `json:"-"`

	// chSQL is the panel's query in ClickHouse's SQL (18.16 on: no GROUP BY
	// ALL or positions, no WITH subqueries, no ::casts, no JSON
	// functions), when it differs from SQL.
	chSQL string

	// rollup is the kind of the flow-log rollup the panel can read
	// instead of its SQL (rollup.go), "" for none.
	rollup string
}

// source is a dashboard's table: its time column and the columns the
// account and region filters apply to, with their search field names.
type source struct {
	table                     *search.Table
	account, region           string // columns
	accountField, regionField string // search field names
}

// Dashboards are the built-in dashboards, in the order the UI lists them.
func Dashboards() []*Dashboard { return dashboards }

// Find returns the dashboard with the id, or nil.
func Find(id string) *Dashboard {
	for _, d := range dashboards {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// Panel returns the dashboard's panel with the id, or nil.
func (d *Dashboard) Panel(id string) *Panel {
	for _, p := range d.Panels {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// SQLFor returns the panel's query in the dialect d (SQL's placeholders).
func (p *Panel) SQLFor(d store.Dialect) string {
	if d == store.ClickHouse && p.chSQL != "" {
		return p.chSQL
	}
	return p.SQL
}

// SearchTable is the table the dashboard's click-through queries search.
func (d *Dashboard) SearchTable() *search.Table { return d.src.table }

// AccountColumn is the column the dashboard's account filter applies to.
func (d *Dashboard) AccountColumn() string { return d.src.account }

// RegionColumn is the column the dashboard's region filter applies to.
func (d *Dashboard) RegionColumn() string { return d.src.region }
