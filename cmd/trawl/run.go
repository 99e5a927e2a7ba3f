package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/metrics"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/rules"
	"github.com/trawl-project/trawl/internal/server"
)

func newRunCmd(e *env) *cobra.Command {
	var file, logFormat, addr, tokenFile string
	var once, serve bool
	cmd := &cobra.Command{
		Use:   "run [--config trawl.yaml]",
		Short: "Collect continuously from every source in trawl.yaml",
		Long: `Run collects from every enabled source of the configuration file into one
database, through one pipeline: sources are listed or polled, each object is
read, decoded and committed with its ledger entry, so a restart resumes
where the last run stopped and nothing is stored twice.

It logs structured lines on stderr (text, or JSON with --log-format json or
log.format), serves Prometheus metrics on metrics.listen (loopback unless a
token is set), applies the retention: section every hour, and on SIGTERM or
Ctrl-C commits what is complete and exits 0. --once collects what is there
now and exits (a backfill).

--serve also serves the web UI and HTTP API (serve.listen, or --addr) from the
same process: DuckDB lets one process write a file, so collection, rules,
alert delivery and the UI share it. trawl query and trawl search keep working
meanwhile: they send their work to this server. With --once it keeps serving
after the collection until Ctrl-C.

See docs/config.md and 'trawl config example'.`,
		Example: `  trawl config example > trawl.yaml   # then edit it
  trawl config check
  trawl run
  trawl run --config /etc/trawl/trawl.yaml --log-format json
  trawl run --once
  trawl run --serve
  trawl run --serve --addr 0.0.0.0:8080 --token-file /etc/trawl/token`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var srv *serveSettings
			if serve {
				srv = &serveSettings{addr: addr, token: tokenFile}
				if !cmd.Flags().Changed("addr") {
					srv.addr = ""
				}
			}
			return runRun(cmd.Context(), e, file, logFormat, once, srv)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "config", "c", config.DefaultFile, "configuration file")
	f.StringVar(&logFormat, "log-format", "", "log format: text or json (default: log.format of the configuration)")
	f.BoolVar(&once, "once", false, "collect what is there now and exit, instead of polling")
	f.BoolVar(&serve, "serve", false, "also serve the web UI and HTTP API (serve: section of the configuration)")
	f.StringVar(&addr, "addr", server.DefaultAddr, "with --serve: address to listen on (default serve.listen)")
	f.StringVar(&tokenFile, "token-file", "", "with --serve: file holding the access token (default serve.token / serve.token_file / TRAWL_TOKEN)")
	return cmd
}

// runRun collects continuously; with serveFlags (the --addr and, in its
// token field, the --token-file flag) it also serves the UI and API.
func runRun(ctx context.Context, e *env, file, logFormat string, once bool, serveFlags *serveSettings) error {
	cfg, err := config.Load(file)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return &exitError{code: exitUsage, err: err}
		}
		return &exitError{code: exitFailure, err: err}
	}
	if logFormat != "" {
		if logFormat != "text" && logFormat != "json" {
			return usageError("--log-format %q: use text or json", logFormat)
		}
		cfg.Log.Format = logFormat
	}
	log := newLogger(e.stderr, cfg.Log)
	var ss serveSettings
	if serveFlags != nil {
		if ss, err = resolveServe(cfg, firstNonEmpty(serveFlags.addr, cfg.Serve.Listen), serveFlags.token, true); err != nil {
			return err
		}
	}
	if !cfg.HasStore() && serveFlags != nil {
		return usageError("--serve needs a store to query: %s has no store: section, and a Parquet lake is queried with trawl query --lake", file)
	}
	sinks, err := app.OpenSinks(ctx, cfg)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer func() {
		if err := sinks.Close(context.WithoutCancel(ctx)); err != nil {
			log.Error("closing sinks", "error", err)
		}
	}()
	var st *app.Store
	if sinks.Ledger != nil {
		st = app.LakeStore(sinks.Ledger, app.Ingest)
	} else {
		opt := app.Options{DB: cfg.Store.Path, Mode: app.Serve}
		if serveFlags != nil {
			// Queries from the UI need room for sorts and joins: the query
			// limit, not the ingest's (docs/serve.md has the measurements).
			opt.MemoryLimit = app.QueryMemoryLimit()
		}
		if cfg.Store.MemoryLimit > 0 {
			opt.MemoryLimit = fmt.Sprintf("%dB", cfg.Store.MemoryLimit)
		}
		if st, err = app.Open(ctx, opt); err != nil {
			return openFailure(err)
		}
	}
	defer st.Close()
	defer startRollups(ctx, st, log)()
	m := metrics.New()
	addr, served, err := m.Serve(ctx, cfg.Metrics.Listen, cfg.Metrics.Token)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	log.Info("metrics", "url", fmt.Sprintf("http://%s/metrics", addr))
	var serving <-chan error
	if serveFlags != nil {
		// The server's own guard checks the serve token.
		ss.log, ss.metrics = log, m.Handler("")
		srv, cleanup, err := startServer(ctx, e, st, cfg.Store.Path, ss)
		if err != nil {
			return err
		}
		defer cleanup()
		log.Info("serving", "url", srv.URL()+"/")
		ch := make(chan error, 1)
		go func() { ch <- srv.Serve(ctx) }()
		serving = ch
	}
	c := &app.Collector{Store: st, Config: cfg, Log: log, Metrics: m, Once: once, Sinks: sinks.Sinks}
	if len(sinks.Names) > 0 || sinks.Ledger != nil {
		log.Info("sinks", "names", sinks.Names, "lake_holds_ledger", sinks.Ledger != nil)
	}
	if cfg.Rules.Enabled {
		set, eng, err := app.Rules(cfg.Rules, func(file, reason string) {
			log.Warn("rule not loaded", "file", file, "reason", reason)
		})
		if err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("%s: rules: %w", file, err)}
		}
		c.Processors = []pipeline.Processor{eng}
		log.Info("rules", "streaming", eng.String())
		if cfg.Rules.Schedule.Enabled && cfg.HasStore() { // scheduled rules query the store
			sch := &rules.Scheduler{Rules: set.Enabled(), Store: st.Querier(), Recorder: app.Recorder(st),
				Settle: cfg.Rules.Schedule.Settle, Log: log}
			sctx, stop := context.WithCancel(ctx)
			defer stop()
			go sch.Run(sctx)
		}
	}
	if e.stderrIsTerminal() && cfg.Log.Format != "json" {
		// Between the log lines, a progress line every ten seconds.
		c.Progress = newProgressLine(e.stderr, false, true).update
	}
	res, err := c.Run(ctx)
	if err != nil {
		log.Error("collection failed", "error", err)
		return &exitError{code: exitFailure, err: err}
	}
	log.Info("done", "objects", res.ObjectsDone, "skipped", res.ObjectsSkipped, "records", res.Stored(),
		"quarantined", res.Quarantined, "failed", len(res.Failed), "elapsed", res.Elapsed.String())
	select {
	case err := <-served:
		if err != nil {
			log.Error("metrics server", "error", err)
		}
	default:
	}
	if serving != nil {
		if ctx.Err() == nil {
			log.Info("collection done; still serving until Ctrl-C")
		}
		if err := <-serving; err != nil {
			log.Error("serving", "error", err)
			return &exitError{code: exitFailure, err: err}
		}
	}
	return nil
}

// newLogger returns the process's structured logger.
func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opt := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opt))
	}
	return slog.New(slog.NewTextHandler(w, opt))
}
