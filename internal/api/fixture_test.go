package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/api"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/rules"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// fixture is a real store filled by the generator and the real decoders,
// with the built-in rules raising alerts, served by the API.
type fixture struct {
	st    *app.Store
	rules []*rules.Rule
	srv   *httptest.Server
	dir   string
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fix != nil {
		fix.srv.Close()
		fix.st.Close()
		os.RemoveAll(fix.dir)
	}
	os.Exit(code)
}

// getFixture builds the fixture once for the package's tests.
func getFixture(t *testing.T) *fixture {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = buildFixture() })
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

func buildFixture() (*fixture, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "trawl-api-test-")
	if err != nil {
		return nil, err
	}
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents, cfg.FlowRecords = 3000, 4000
	if _, err := gen.Generate(ctx, filepath.Join(dir, "data"), cfg); err != nil {
		return nil, fmt.Errorf("generating: %w", err)
	}
	st, err := app.Open(ctx, app.Options{DB: filepath.Join(dir, "t.duckdb"), Mode: app.Serve, MemoryLimit: "512MB"})
	if err != nil {
		return nil, err
	}
	// As trawl serve and trawl run --serve do: external access off before
	// ingest, which must still work.
	if err := st.DisableExternalAccess(ctx); err != nil {
		return nil, err
	}
	set, eng, err := app.Rules(config.Rules{Enabled: true}, func(string, string) {})
	if err != nil {
		return nil, err
	}
	objs, err := file.Objects([]string{filepath.Join(dir, "data")}, nil)
	if err != nil {
		return nil, err
	}
	if _, err := st.Ingest(ctx, pipeline.Objects(objs...), pipeline.Config{Processors: []pipeline.Processor{eng}}); err != nil {
		return nil, fmt.Errorf("ingesting: %w", err)
	}
	a := api.New(api.Options{Store: st.Querier(), SQL: st.Store, Alerts: st.Store, Rules: set.Rules, Debug: true})
	mux := http.NewServeMux()
	a.Register(mux)
	return &fixture{st: st, rules: set.Rules, srv: httptest.NewServer(mux), dir: dir}, nil
}

// get calls a GET endpoint and decodes the JSON answer into a map.
func (f *fixture) get(t *testing.T, path string, params url.Values) (int, map[string]any) {
	t.Helper()
	u := f.srv.URL + path
	if params != nil {
		u += "?" + params.Encode()
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

func (f *fixture) post(t *testing.T, path, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(f.srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

func decode(t *testing.T, resp *http.Response) (int, map[string]any) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %v\n%s", resp.Request.Method, resp.Request.URL, resp.StatusCode, err, b)
	}
	return resp.StatusCode, m
}

// scalar runs SQL on the store and returns its one integer.
func (f *fixture) scalar(t *testing.T, sql string, args ...any) int64 {
	t.Helper()
	return duckdbtest.Scalar(t, f.st.Querier(), sql, args...)
}

// counts is the row count of every data table, to prove nothing changed.
func (f *fixture) counts(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, tb := range []string{"cloudtrail", "vpcflow", "guardduty_finding", "alert", "ingest_ledger"} {
		fmt.Fprintf(&b, "%s=%d ", tb, f.scalar(t, "SELECT count(*) FROM "+tb))
	}
	return b.String()
}

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

var _ = time.Now
