// Command querybench measures how fast the HTTP API answers what the web
// UI asks (run it with `make bench-query`): every dashboard panel (found
// through /api/dashboards), the search page's requests (histogram, first
// page, field top values) for typical queries, a field:value search on a
// free-form field, a rare and a common free-text term, and event detail.
//
// It opens a database (-db: a DuckDB file or a clickhouse:// address), or
// builds a DuckDB one from generated data first
// (-ct, -flows; kept under -dir and reused), starts trawl's server in this
// process on a loopback port, and runs each request -n times through HTTP.
// It prints p50 and p95 per request, and the floor: the same SQL (recorded
// as the request ran) run directly on the store, the same number of times.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/trawl-project/trawl/internal/api"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/dashboard"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/server"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store"
)

func main() {
	var o options
	flag.StringVar(&o.db, "db", "bench-query.duckdb", "database to measure: a DuckDB file (built from generated data when missing) or clickhouse://HOST:PORT/DATABASE")
	flag.StringVar(&o.dir, "dir", "bench-query-data", "where generated data is kept (when -db is built)")
	flag.IntVar(&o.ct, "ct", 1_000_000, "CloudTrail events to generate (when -db is built)")
	flag.IntVar(&o.flows, "flows", 2_000_000, "flow records to generate (when -db is built)")
	flag.IntVar(&o.n, "n", 20, "runs of each request")
	flag.StringVar(&o.only, "only", "", "run only the requests whose name contains this")
	flag.StringVar(&o.skip, "skip", "", "leave out the requests whose name contains this")
	flag.Parse()
	if err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "querybench:", err)
		os.Exit(1)
	}
}

type options struct {
	db, dir   string
	ct, flows int
	n         int
	only      string
	skip      string
}

// recorder is a Querier that remembers the requests it ran, so that the
// floor can run the same SQL directly.
type recorder struct {
	q    store.Querier
	mu   sync.Mutex
	reqs []store.Request
}

func (r *recorder) Query(ctx context.Context, req store.Request) (store.Rows, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	return r.q.Query(ctx, req)
}

// RollupFresh passes the dashboards' question on to the store, so that
// the talker panels read the flow rollup as they do in trawl serve.
func (r *recorder) RollupFresh(ctx context.Context, from, to time.Time) (bool, error) {
	if rq, ok := r.q.(dashboard.RollupQuerier); ok {
		return rq.RollupFresh(ctx, from, to)
	}
	return false, nil
}

// Dialect passes the store's SQL dialect on, so that the search and the
// dashboards write ClickHouse SQL for a ClickHouse store.
func (r *recorder) Dialect() store.Dialect { return store.DialectOf(r.q) }

func (r *recorder) take() []store.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// request is one measured API call.
type request struct {
	name, path string
}

func run(ctx context.Context, o options, w io.Writer) error {
	opt := app.Options{DB: o.db, Mode: app.Serve, MemoryLimit: app.QueryMemoryLimit()}
	if app.IsClickHouse(o.db) {
		// A ClickHouse database is measured as it is (load one with
		// tools/chload or trawl ingest); nothing is built there.
		opt = app.Options{DB: o.db, Mode: app.Query}
	} else if _, err := os.Stat(o.db); os.IsNotExist(err) {
		if err := build(ctx, o, w); err != nil {
			return err
		}
	}
	st, err := app.Open(ctx, opt)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.DisableExternalAccess(ctx); err != nil {
		return err
	}
	rec := &recorder{q: st.Querier()}
	aopt := api.Options{Store: rec, Alerts: st.Backend}
	if sql, ok := st.Backend.(api.SQLRunner); ok {
		aopt.SQL = sql
	} else if ch := st.ClickHouse(); ch != nil {
		aopt.SQL = api.ClickHouseSQL{Store: ch}
	}
	a := api.New(aopt)
	srv, err := server.Listen(server.Options{Addr: "127.0.0.1:0", API: a, Dashboards: dashboard.Handler(rec)})
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go srv.Serve(sctx) //nolint:errcheck // stopped with the context
	base := srv.URL()
	reqs, err := requests(ctx, base, st.Querier(), w)
	if err != nil {
		return err
	}
	counts, _ := store.Collect(ctx, st.Querier(), store.Request{SQL: "SELECT (SELECT count(*) FROM cloudtrail), (SELECT count(*) FROM vpcflow), (SELECT count(*) FROM guardduty_finding)"}, func(v any) string { return fmt.Sprint(v) })
	fmt.Fprintf(w, "database %s: %v CloudTrail events, %v flow records, %v findings; %d runs of each request\n\n", o.db, counts[0][0], counts[0][1], counts[0][2], o.n)
	const row = "%-50s %8s %8s %9s %9s %7s %9s\n"
	fmt.Fprintf(w, row, "request", "p50 ms", "p95 ms", "floor p50", "floor p95", "queries", "bytes")
	over := 0
	for _, rq := range reqs {
		if o.only != "" && !strings.Contains(rq.name, o.only) || o.skip != "" && strings.Contains(rq.name, o.skip) {
			continue
		}
		var lat []time.Duration
		var sqls []store.Request
		size := 0
		status := 0
		for i := 0; i < o.n; i++ {
			rec.take()
			start := time.Now()
			resp, err := http.Get(base + rq.path)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			lat = append(lat, time.Since(start))
			size, status = len(b), resp.StatusCode
			if resp.StatusCode != 200 {
				fmt.Fprintf(w, "%s: %d %s\n", rq.name, resp.StatusCode, b)
				break
			}
			sqls = rec.take()
		}
		if status != 200 {
			continue
		}
		var floor []time.Duration
		for i := 0; i < o.n; i++ {
			start := time.Now()
			for _, q := range sqls {
				if err := drain(ctx, st.Querier(), q); err != nil {
					return fmt.Errorf("%s: the floor: %w", rq.name, err)
				}
			}
			floor = append(floor, time.Since(start))
		}
		p95 := pct(lat, 95)
		if p95 > 300*time.Millisecond {
			over++
		}
		fmt.Fprintf(w, row, rq.name, ms(pct(lat, 50)), ms(p95), ms(pct(floor, 50)), ms(pct(floor, 95)), fmt.Sprint(len(sqls)), fmt.Sprint(size))
	}
	fmt.Fprintf(w, "\n%d requests with p95 over 300 ms\n", over)
	return nil
}

func drain(ctx context.Context, q store.Querier, req store.Request) error {
	rows, err := q.Query(ctx, req)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	return s[max(min(i, len(s))-1, 0)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

// requests lists what to measure, with values taken from the data (a
// bucket name, a rare user, an event id) so that every search finds
// something.
func requests(ctx context.Context, base string, q store.Querier, w io.Writer) ([]request, error) {
	var out []request
	get := func(path string, v any) error {
		resp, err := http.Get(base + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("%s: %d %s", path, resp.StatusCode, b)
		}
		return json.NewDecoder(resp.Body).Decode(v)
	}
	var stats struct {
		Tables []struct {
			Type  string `json:"type"`
			Count int64  `json:"count"`
			MinMs *int64 `json:"min_time_ms"`
			MaxMs *int64 `json:"max_time_ms"`
		} `json:"tables"`
	}
	if err := get("/api/stats", &stats); err != nil {
		return nil, err
	}
	// The UI's default range: the last 24 hours of the data.
	ranges := map[string]url.Values{}
	for _, t := range stats.Tables {
		v := url.Values{}
		if t.MaxMs != nil {
			v.Set("from", fmt.Sprint(*t.MaxMs-24*3600*1000))
			v.Set("to", fmt.Sprint(*t.MaxMs+1))
		}
		ranges[t.Type] = v
	}
	var dash struct {
		Dashboards []struct {
			ID     string `json:"id"`
			Type   string `json:"type"`
			Panels []struct {
				ID string `json:"id"`
			} `json:"panels"`
		} `json:"dashboards"`
	}
	if err := get("/api/dashboards", &dash); err != nil {
		return nil, err
	}
	for _, d := range dash.Dashboards {
		for _, p := range d.Panels {
			out = append(out, request{"panel " + d.ID + "/" + p.ID, "/api/dashboards/" + d.ID + "/panels/" + p.ID + "?" + ranges[d.Type].Encode()})
		}
	}
	one := func(sql string) string {
		rows, err := store.Collect(ctx, q, store.Request{SQL: sql}, func(v any) string {
			if v == nil {
				return ""
			}
			return fmt.Sprint(v)
		})
		if err != nil || len(rows) == 0 {
			return ""
		}
		return rows[0][0]
	}
	searches := []struct{ name, typ, q string }{
		{"all cloudtrail", "cloudtrail", ""},
		{"eventName", "cloudtrail", "eventName:ConsoleLogin"},
		{"arn wildcard", "cloudtrail", "userIdentity.arn:*admin*"},
		{"errors", "cloudtrail", "errorCode:AccessDenied OR errorCode:UnauthorizedOperation"},
		{"all vpcflow", "vpcflow", ""},
		{"rejects", "vpcflow", "action:REJECT AND dstport:[0 TO 1023]"},
		{"cidr", "vpcflow", "srcaddr:10.0.0.0/8"},
		{"findings", "guardduty", "severity:>=7"},
	}
	// The same values on either engine: the first bucket name and the
	// rarest user, in a fixed order.
	bucketSQL := "SELECT request_parameters->>'$.bucketName' AS b FROM cloudtrail WHERE event_source = 's3.amazonaws.com' AND b IS NOT NULL ORDER BY b LIMIT 1"
	userSQL := "SELECT user_name FROM cloudtrail WHERE user_name IS NOT NULL GROUP BY 1 ORDER BY count(*), 1 LIMIT 1"
	if store.DialectOf(q) == store.ClickHouse {
		bucketSQL = "SELECT visitParamExtractString(request_parameters, 'bucketName') AS b FROM cloudtrail WHERE event_source = 's3.amazonaws.com' AND b != '' ORDER BY b LIMIT 1"
		userSQL = "SELECT user_name FROM cloudtrail WHERE user_name IS NOT NULL GROUP BY user_name ORDER BY count(), user_name LIMIT 1"
	}
	if b := one(bucketSQL); b != "" {
		searches = append(searches, struct{ name, typ, q string }{"requestParameters field", "cloudtrail", "requestParameters.bucketName:" + b})
	}
	if u := one(userSQL); u != "" {
		searches = append(searches, struct{ name, typ, q string }{"free text rare", "cloudtrail", fmt.Sprintf("%q", u)})
	}
	searches = append(searches, struct{ name, typ, q string }{"free text common", "cloudtrail", "GetObject"})
	for _, s := range searches {
		v := ranges[s.typ]
		p := url.Values{"q": {s.q}, "type": {s.typ}, "from": {v.Get("from")}, "to": {v.Get("to")}}
		out = append(out,
			request{"histogram " + s.name, "/api/histogram?" + p.Encode()},
			request{"page " + s.name, "/api/search?limit=100&" + p.Encode()},
			request{"fields " + s.name, "/api/fields?" + p.Encode()})
	}
	for _, typ := range []string{"cloudtrail", "vpcflow", "guardduty"} {
		var page struct {
			Rows []map[string]any `json:"rows"`
		}
		// The newest record in the UI's range (as the search page finds
		// it); without a range ClickHouse reads every part to find it.
		v := url.Values{"limit": {"1"}, "type": {typ}, "from": {ranges[typ].Get("from")}, "to": {ranges[typ].Get("to")}}
		if err := get("/api/search?"+v.Encode(), &page); err != nil {
			// A slow store may run out of time here: measure the rest.
			fmt.Fprintf(w, "event %s: not measured: finding an event: %v\n", typ, err)
			continue
		}
		if len(page.Rows) == 0 {
			continue
		}
		id, tm := fmt.Sprint(page.Rows[0]["_id"]), fmt.Sprint(page.Rows[0]["_time"])
		out = append(out,
			request{"event " + typ, "/api/event?" + url.Values{"type": {typ}, "id": {id}, "time": {tm}}.Encode()},
			request{"event " + typ + " (no time)", "/api/event?" + url.Values{"type": {typ}, "id": {id}}.Encode()})
	}
	return out, nil
}

// build generates a data set (kept in o.dir) and ingests it into o.db.
func build(ctx context.Context, o options, w io.Writer) error {
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents, cfg.FlowRecords = o.ct, o.flows
	want, _ := json.Marshal(cfg)
	marker := filepath.Join(o.dir, ".querybench.json")
	if have, err := os.ReadFile(marker); err != nil || string(have) != string(want) {
		fmt.Fprintf(w, "generating %d CloudTrail events and %d flow records in %s…\n", o.ct, o.flows, o.dir)
		if err := os.RemoveAll(o.dir); err != nil {
			return err
		}
		if _, err := gen.Generate(ctx, o.dir, cfg); err != nil {
			return err
		}
		if err := os.WriteFile(marker, want, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "ingesting %s into %s…\n", o.dir, o.db)
	st, err := app.Open(ctx, app.Options{DB: o.db, Mode: app.Ingest})
	if err != nil {
		return err
	}
	defer st.Close()
	objs, err := file.Objects([]string{o.dir}, nil)
	if err != nil {
		return err
	}
	_, eng, err := app.Rules(config.Rules{Enabled: true}, func(string, string) {})
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := st.Ingest(ctx, pipeline.Objects(objs...), pipeline.Config{Processors: []pipeline.Processor{eng}})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "stored %d records in %s\n", res.Stored(), time.Since(start).Round(time.Second))
	return nil
}
