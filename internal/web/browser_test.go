package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/enrich"
	"github.com/trawl-project/trawl/internal/enrich/geo/geobuild"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/rules"
	"github.com/trawl-project/trawl/internal/source/file"
)

// Payloads that would run script if any log value reached the DOM as HTML
// or a URL. The browser tests ingest them in user agents, request parameter
// keys and values, error messages and user names, and check that
// window.__xss stays undefined while the text shows.
var xssPayloads = []string{
	`<img src=x onerror=window.__xss=1>`,
	`"><script>window.__xss=1</script>`,
	`javascript:window.__xss=1`,
	`'><svg onload=window.__xss=1>`,
}

// xssUser is the IAM user name of the hostile events; the CreateUser rule
// puts it in an alert title.
const xssUser = `<img src=x onerror=window.__xss=1>`

// xssTime is when the hostile events happened: inside the generated data's
// span (gen's default start 2026-11-02, 72 h).
const xssTime = "2026-11-03T12:00:00Z"

// writeXSSEvents writes a CloudTrail log file whose user-controlled fields
// carry the payloads.
func writeXSSEvents(dir string) error {
	params := map[string]any{"userName": xssUser}
	for i, p := range xssPayloads {
		params[p] = fmt.Sprintf("key%d", i)   // payload as a key
		params[fmt.Sprintf("value%d", i)] = p // and as a value
	}
	rec := func(id, name string, errCode, errMsg string) map[string]any {
		r := map[string]any{
			"eventVersion":       "1.09",
			"eventTime":          xssTime,
			"eventSource":        "iam.amazonaws.com",
			"eventName":          name,
			"awsRegion":          "us-east-1",
			"sourceIPAddress":    "198.51.100.66",
			"userAgent":          xssPayloads[1] + " " + xssPayloads[2],
			"requestParameters":  params,
			"responseElements":   nil,
			"requestID":          "req-" + id,
			"eventID":            "0000xss0-0000-4000-8000-00000000000" + id,
			"readOnly":           false,
			"eventType":          "AwsApiCall",
			"managementEvent":    true,
			"recipientAccountId": "111122223333",
			"eventCategory":      "Management",
			"userIdentity": map[string]any{
				"type":        "IAMUser",
				"principalId": "AIDAXSSEXAMPLE",
				"arn":         "arn:aws:iam::111122223333:user/" + xssUser,
				"accountId":   "111122223333",
				"accessKeyId": "AKIAXSSEXAMPLE",
				"userName":    xssUser,
			},
		}
		if errCode != "" {
			r["errorCode"] = errCode
			r["errorMessage"] = errMsg
		}
		return r
	}
	doc := map[string]any{"Records": []any{
		rec("1", "CreateUser", "", ""),
		rec("2", "CreateUser", "AccessDenied", xssPayloads[0]+" is not authorized "+xssPayloads[3]),
	}}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	p := filepath.Join(dir, "AWSLogs", "111122223333", "CloudTrail", "us-east-1", "2026", "11", "03",
		"111122223333_CloudTrail_us-east-1_20261103T1200Z_xss.json")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, b, 0o644)
}

// demoStore generates a small demo data set (the generator's accounts,
// attack story and GuardDuty findings), adds the hostile events, and
// ingests it all with GeoIP enrichment and the rule pack on, so alerts
// exist.
func demoStore(t *testing.T) (*app.Store, *rules.Set) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents = 3000
	cfg.FlowRecords = 4000
	if _, err := gen.Generate(ctx, filepath.Join(dir, "data"), cfg); err != nil {
		t.Fatalf("generating demo data: %v", err)
	}
	if err := writeXSSEvents(filepath.Join(dir, "xss")); err != nil {
		t.Fatalf("writing hostile events: %v", err)
	}
	objs, err := file.Objects([]string{filepath.Join(dir, "data"), filepath.Join(dir, "xss")}, nil)
	if err != nil {
		t.Fatalf("listing demo data: %v", err)
	}
	st, err := app.Open(ctx, app.Options{DB: filepath.Join(dir, "ui.duckdb"), Mode: app.Serve})
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	geoDir := filepath.Join(dir, "geoip")
	if err := os.MkdirAll(geoDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := geobuild.Write(geoDir, geobuild.Synthetic()); err != nil {
		t.Fatalf("GeoIP databases: %v", err)
	}
	procs, closeEnrich, err := app.OpenEnrichment(enrich.Settings{GeoIPDir: geoDir, UserAgent: true}, nil)
	if err != nil {
		t.Fatalf("enrichment: %v", err)
	}
	defer closeEnrich()
	set, eng, err := app.Rules(config.Rules{Enabled: true}, func(file, reason string) { t.Logf("rule %s not loaded: %s", file, reason) })
	if err != nil {
		t.Fatalf("rules: %v", err)
	}
	res, err := st.Ingest(ctx, pipeline.Objects(objs...), pipeline.Config{Processors: append(procs, eng)})
	if err != nil {
		t.Fatalf("ingesting demo data: %v", err)
	}
	t.Logf("ingested %d objects", res.ObjectsDone)
	return st, set
}

// chromiumPath finds Debian's chromium, or fails (in CI or when
// TRAWL_REQUIRE_BROWSER is set) or skips saying how to install it.
// TRAWL_CHROMIUM names another browser binary.
func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{"/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}
	if p := os.Getenv("TRAWL_CHROMIUM"); p != "" {
		candidates = []string{p}
	} else if p, err := exec.LookPath("chromium"); err == nil {
		candidates = append(candidates, p)
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("no chromium at %s: the browser tests need it (apt-get install -y --no-install-recommends chromium, or set TRAWL_CHROMIUM)", strings.Join(candidates, ", "))
	if os.Getenv("CI") != "" || os.Getenv("TRAWL_REQUIRE_BROWSER") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// browser is one headless chromium tab with the page's JS exceptions,
// console errors and requests to other origins collected.
type browser struct {
	t       *testing.T
	ctx     context.Context
	base    string
	log     *errLog
	shots   string
	timeout time.Duration
}

// errLog collects the page's JS exceptions and console errors.
type errLog struct {
	mu   sync.Mutex
	errs []string
	// requests counts the requests the browser sent to the server.
	requests int
	// origins are the servers' base URLs, the only places requests may go.
	origins []string
}

// allow adds a server base URL requests may go to.
func (b *browser) allow(base string) {
	b.log.mu.Lock()
	defer b.log.mu.Unlock()
	b.log.origins = append(b.log.origins, base)
}

// at returns the browser reporting to t (a subtest).
func (b *browser) at(t *testing.T) *browser {
	c := *b
	c.t = t
	return &c
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelC()
		cancelA()
	})
	shots := os.Getenv("TRAWL_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatalf("screenshot dir: %v", err)
	}
	b := &browser{t: t, ctx: ctx, base: base, log: &errLog{origins: []string{base}}, shots: shots, timeout: 20 * time.Second}
	// Start the browser and subscribe to errors before any page loads.
	// The first action's context owns the browser: no time limit on it.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	exc := chromedp.Events(ctx, runtime.ExceptionThrown)
	cons := chromedp.Events(ctx, runtime.ConsoleAPICalled)
	// Every request must go to the server itself: the UI works offline.
	reqs := chromedp.Events(ctx, network.RequestWillBeSent)
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("enabling network events: %v", err)
	}
	go func() {
		for ev, err := range reqs {
			if err != nil {
				return
			}
			u := ev.Request.URL
			b.log.mu.Lock()
			ok := strings.HasPrefix(u, "data:") || u == "about:blank"
			for _, o := range b.log.origins {
				ok = ok || strings.HasPrefix(u, o+"/")
			}
			b.log.requests++
			b.log.mu.Unlock()
			if !ok {
				b.addErr("request to another origin: " + u)
			}
		}
	}()
	go func() {
		for ev, err := range exc {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += ": " + d.Exception.Description
			}
			b.addErr("exception: " + msg)
		}
	}()
	go func() {
		for ev, err := range cons {
			if err != nil {
				return
			}
			if ev.Type != runtime.ConsoleAPICalledTypeError {
				continue
			}
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			b.addErr("console.error: " + strings.Join(parts, " "))
		}
	}()
	return b
}

func (b *browser) addErr(s string) {
	b.log.mu.Lock()
	defer b.log.mu.Unlock()
	b.log.errs = append(b.log.errs, s)
}

// checkErrors fails the test if the page threw or logged an error since the
// last check.
func (b *browser) checkErrors(where string) {
	b.t.Helper()
	ctx, cancel := b.tctx()
	defer cancel()
	if v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__trawlCSP || []`)); err == nil {
		for _, c := range v {
			b.t.Errorf("%s: CSP violation %s", where, c)
		}
	}
	b.log.mu.Lock()
	errs := b.log.errs
	b.log.errs = nil
	b.log.mu.Unlock()
	for _, e := range errs {
		b.t.Errorf("%s: browser %s", where, e)
	}
}

// open loads a UI path and waits for the app to start.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do("navigating to "+path, chromedp.Navigate(b.base+path))
	b.wait(`window.__trawlReady === true`, "app start on "+path)
}

// wait polls a JS expression until it is truthy.
func (b *browser) wait(expr, what string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout+5*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void]("!!("+expr+")", chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(b.timeout))); err != nil {
		b.shot("failed-" + safeName(what))
		ctx2, cancel2 := b.tctx()
		defer cancel2()
		body, _ := chromedp.Run(ctx2, chromedp.Evaluate[string](`document.body.innerText.slice(0, 2000)`))
		b.t.Fatalf("waiting for %s (%s): %v\npage text:\n%s", what, expr, err, body)
	}
}

// tctx is the tab's context with the per-step time limit, so a step that
// waits for an element that never comes fails instead of hanging.
func (b *browser) tctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, b.timeout)
}

// do runs actions within the per-step time limit.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.tctx()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed-" + safeName(what))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JS expression into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := b.tctx()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

func (b *browser) click(css string) {
	b.t.Helper()
	b.do("clicking "+css, chromedp.Click(chromedp.CSS(css)))
}

// shot writes a full-page PNG screenshot to the artifact directory.
func (b *browser) shot(name string) { b.capture(name, chromedp.FullScreenshot(100)) }

// view writes a PNG of the visible part of the page (name-view.png): the
// size the docs use.
func (b *browser) view(name string) { b.capture(name+"-view", chromedp.CaptureScreenshot()) }

func (b *browser) capture(name string, a chromedp.Action[[]byte]) {
	b.t.Helper()
	ctx, cancel := b.tctx()
	defer cancel()
	buf, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.t.Logf("screenshot %s (%d KB)", p, len(buf)>>10)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(s))
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// getJSON fetches an API path the way the UI does.
func getJSON(t *testing.T, base, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("X-Trawl-Request", "1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: status %d", path, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: decoding: %v", path, err)
	}
}

// getStatusJSON fetches an API path and decodes the body whatever the
// status, which it returns.
func getStatusJSON(t *testing.T, base, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("X-Trawl-Request", "1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: decoding: %v", path, err)
	}
	return res.StatusCode
}

// alertReader reads an alert's status straight from the store.
type alertReader struct{ st *app.Store }

func (a alertReader) alertStatus(ctx context.Context, id string) (string, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return "", err
	}
	al, err := a.st.Alert(ctx, n)
	if err != nil {
		return "", err
	}
	return string(al.Status), nil
}
