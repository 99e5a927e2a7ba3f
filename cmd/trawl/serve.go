package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
	"github.com/trawl-project/trawl/internal/api"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/dashboard"
	"github.com/trawl-project/trawl/internal/metrics"
	"github.com/trawl-project/trawl/internal/rules"
	"github.com/trawl-project/trawl/internal/server"
	"github.com/trawl-project/trawl/internal/web"
)

// serveSettings are where and how the UI and API are served.
type serveSettings struct {
	addr  string
	token string
	debug bool
	open  bool
	rules config.Rules
	// log, if set, receives the server's errors.
	log *slog.Logger
	// metrics, if set, answers /metrics.
	metrics http.Handler
}

func newServeCmd(e *env) *cobra.Command {
	var addr, tokenFile, cfgFile string
	var open, debug bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the web UI and HTTP API on the database",
		Long: `Serve opens the database and serves the web UI and the HTTP API (docs/api.md)
on --addr, 127.0.0.1:8080 by default: search, dashboards, alerts, rules and a
read-only SQL console.

Off loopback a token is required (trawl refuses to start without one): put it
in a file (--token-file, or serve.token_file in trawl.yaml), in serve.token,
or in the TRAWL_TOKEN variable. Browsers open /?token=TOKEN once (the server
trades it for an HttpOnly cookie); API clients send Authorization: Bearer TOKEN.

While the server holds the database, trawl query and trawl search send their
work to it (it writes DB.server.json with its address). To collect and serve
in one process, use trawl run --serve. docs/serve.md has the details.`,
		Example: `  trawl serve
  trawl serve --db /data/trawl.duckdb --addr 127.0.0.1:9000 --open
  trawl serve --addr 0.0.0.0:8080 --token-file /etc/trawl/token
  trawl serve --config trawl.yaml`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, _ := cmd.Flags().GetString("db")
			var cfg *config.Config
			if cfgFile != "" {
				var err error
				if cfg, err = loadConfig(cfgFile); err != nil {
					return err
				}
				if !cmd.Flags().Changed("db") {
					db = cfg.Store.Path
				}
			}
			s, err := resolveServe(cfg, addr, tokenFile, cmd.Flags().Changed("addr"))
			if err != nil {
				return err
			}
			s.open, s.debug = open, debug
			return runServe(cmd.Context(), e, db, s)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", server.DefaultAddr, "address to listen on (HOST:PORT); off loopback a token is required")
	f.StringVar(&tokenFile, "token-file", "", "file holding the access token (first line); or TRAWL_TOKEN, or serve.token in --config")
	f.StringVarP(&cfgFile, "config", "c", "", "trawl.yaml to read the serve:, store: and rules: sections from")
	f.BoolVar(&open, "open", false, "open the UI in a browser")
	f.BoolVar(&debug, "debug", false, "add the SQL each search ran to its answer (X-Trawl-SQL header; for tools/querybench)")
	return cmd
}

// loadConfig reads a configuration file, mapping its errors to exit codes.
func loadConfig(file string) (*config.Config, error) {
	cfg, err := config.Load(file)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return nil, &exitError{code: exitUsage, err: err}
		}
		return nil, &exitError{code: exitFailure, err: err}
	}
	return cfg, nil
}

// resolveServe decides the address and token: --token-file wins over
// TRAWL_TOKEN, which wins over the configuration's serve.token_file and
// serve.token.
func resolveServe(cfg *config.Config, addr, tokenFile string, addrSet bool) (serveSettings, error) {
	s := serveSettings{addr: addr, rules: config.Rules{Enabled: true}}
	if cfg != nil {
		if !addrSet {
			s.addr = cfg.Serve.Listen
		}
		s.token = cfg.Serve.Token
		if cfg.Serve.TokenFile != "" {
			t, err := readToken("serve.token_file", cfg.Serve.TokenFile)
			if err != nil {
				return s, err
			}
			s.token = t
		}
		s.rules = cfg.Rules
	}
	if v := strings.TrimSpace(os.Getenv("TRAWL_TOKEN")); v != "" {
		s.token = v
	}
	if tokenFile != "" {
		t, err := readToken("--token-file", tokenFile)
		if err != nil {
			return s, err
		}
		s.token = t
	}
	if s.token != "" && len(s.token) < 16 {
		return s, usageError("the token is %d characters; use at least 16 (e.g. openssl rand -hex 24 > token)", len(s.token))
	}
	if err := server.CheckBind(s.addr, s.token); err != nil {
		return s, usageError("%v", err)
	}
	return s, nil
}

// readToken reads a token file: its first line.
func readToken(name, file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", usageError("%s: %v", name, err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	t := strings.TrimSpace(line)
	if t == "" {
		return "", usageError("%s: %s is empty; put the token on its first line", name, file)
	}
	return t, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func runServe(ctx context.Context, e *env, db string, s serveSettings) error {
	if missingDB(db) {
		return &exitError{code: exitFailure, err: fmt.Errorf("no database at %s: run `trawl ingest PATH` or `trawl demo` first, or pass --db", db)}
	}
	st, err := app.Open(ctx, app.Options{DB: db, Mode: app.Serve, MemoryLimit: app.QueryMemoryLimit()})
	if err != nil {
		return openFailure(err)
	}
	defer st.Close()
	// A database ingested by an older trawl, or by trawl ingest without
	// the rollup, gets its flow rollup here, in the background.
	defer startRollups(ctx, st, slog.New(slog.NewTextHandler(e.stderr, nil)))()
	return serveStore(ctx, e, st, db, s)
}

// serveStore serves the UI and API on an open store until ctx ends.
func serveStore(ctx context.Context, e *env, st *app.Store, db string, s serveSettings) error {
	srv, cleanup, err := startServer(ctx, e, st, db, s)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := srv.Serve(ctx); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	return nil
}

// startServer makes the store safe for user SQL, builds the API and starts
// listening; it prints the address and writes DB.server.json, which
// cleanup removes.
func startServer(ctx context.Context, e *env, st *app.Store, db string, s serveSettings) (*server.Server, func(), error) {
	if err := st.DisableExternalAccess(ctx); err != nil {
		return nil, nil, &exitError{code: exitFailure, err: err}
	}
	var loaded []*rules.Rule
	if s.rules.Enabled {
		set, _, err := app.Rules(s.rules, func(file, reason string) {
			fmt.Fprintf(e.stderr, "trawl: rule %s not loaded: %s\n", file, reason)
		})
		if err != nil {
			return nil, nil, &exitError{code: exitUsage, err: fmt.Errorf("rules: %w", err)}
		}
		loaded = set.Rules
	}
	if s.metrics == nil {
		s.metrics = metrics.New().Handler("")
	}
	aopt := api.Options{Store: st.Querier(), Alerts: st.Backend, Rules: loaded, Debug: s.debug, Log: s.log}
	if sql, ok := st.Backend.(api.SQLRunner); ok {
		aopt.SQL = sql // the SQL console, where the store has a sandbox for it
	} else if ch := st.ClickHouse(); ch != nil {
		aopt.SQL = api.ClickHouseSQL{Store: ch} // readonly=1, a time and a row limit
	} else {
		fmt.Fprintf(e.stderr, "trawl: the SQL console needs a DuckDB or ClickHouse store (this one is %s): /api/sql answers 404, the other pages work\n", st.Dialect())
	}
	a := api.New(aopt)
	srv, err := server.Listen(server.Options{Addr: s.addr, Token: s.token, API: a, Web: webHandler(), Dashboards: dashboardHandler(st),
		Metrics: s.metrics, Log: s.log})
	if err != nil {
		return nil, nil, &exitError{code: exitFailure, err: err}
	}
	// Other processes open a ClickHouse store themselves: only a DuckDB
	// file (locked by this process) gets a server file pointing here.
	remove := func() {}
	if !app.IsClickHouse(db) {
		abs, _ := filepath.Abs(db)
		remove, err = server.WriteInfo(db, server.Info{URL: srv.URL(), PID: os.Getpid(), DB: abs, Token: s.token})
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "trawl: %v (trawl query will not find this server)\n", err)
		remove = func() {}
	}
	u := srv.URL() + "/"
	fmt.Fprintf(e.stdout, "trawl UI and API on %s (Ctrl-C stops)\n", u)
	if s.token != "" {
		fmt.Fprintf(e.stdout, "  a token is required: open %s?token=TOKEN once in the browser; API clients send Authorization: Bearer TOKEN\n", u)
	}
	if s.open {
		openBrowser(e.stderr, u)
	}
	return srv, remove, nil
}

// openBrowser starts the desktop's browser on u, if it can.
func openBrowser(stderr io.Writer, u string) {
	name := "xdg-open"
	if runtime.GOOS == "darwin" {
		name = "open"
	}
	if err := exec.Command(name, u).Start(); err != nil {
		fmt.Fprintf(stderr, "trawl: could not open a browser (%v); open %s yourself\n", err, u)
	}
}

// webHandler is the embedded web UI.
func webHandler() http.Handler { return web.Handler() }

// dashboardHandler answers /api/dashboards.
func dashboardHandler(st *app.Store) http.Handler { return dashboard.Handler(st.Querier()) }
