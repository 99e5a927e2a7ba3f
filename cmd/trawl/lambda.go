package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/spf13/cobra"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/awsconf"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/lambda"
	"github.com/trawl-project/trawl/internal/notify"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/sigma"
	s3src "github.com/trawl-project/trawl/internal/source/s3"
)

// lambdaConfigEnv names the configuration file of trawl lambda.
const lambdaConfigEnv = "TRAWL_CONFIG"

func newLambdaCmd(e *env) *cobra.Command {
	var event, file, sigmaDir string
	cmd := &cobra.Command{
		Use:   "lambda [--event FILE] [--config trawl.yaml]",
		Short: "Run as an AWS Lambda function, or run its handler once on an event file",
		Long: `Lambda is trawl as an AWS Lambda function (custom runtime provided.al2023; the
binary is named bootstrap, and started by Lambda with no arguments it runs
this command). It takes:

  CloudWatch Logs subscription events   records are decoded, the rules evaluated
                                        and their hits notified; no database
  S3 event notifications, S3 → SNS,     the objects are ingested into the
  EventBridge "Object Created" events   configured store, rules evaluated
  SQS batches of those notifications    the same, answering with the messages
                                        whose objects failed (partial batch response)

When AWS_LAMBDA_RUNTIME_API is set (Lambda sets it) it serves invocations
until the process ends. With --event FILE it runs the handler once on FILE
(- for stdin), a payload exactly as Lambda delivers it, prints the response
JSON and exits 0 — or prints Lambda's error JSON and exits 1 when the
handler fails. docs/lambda.md describes the deployment.

The configuration is --config, else $TRAWL_CONFIG, else trawl.yaml next to
the binary (/var/task/trawl.yaml in Lambda), else the defaults. The store is
--db when given, else the configuration's store.path, else $TRAWL_DB, else
trawl.duckdb in the temporary directory (/tmp: the only writable place in
Lambda, and lost when the execution environment ends).

Rules: the configuration's rules section (the built-in pack, your rule
directories, overrides and the watch list; docs/rules.md), and the Sigma
rules of --sigma DIR (or $TRAWL_SIGMA_DIR). Hits of a CloudWatch Logs event
are sent at once to the notifiers of alerts.notifiers that alerts.routes
name (docs/alerts.md), or written to the log when none is configured.`,
		Example: `  trawl lambda --event cwl-event.json --sigma rules/
  trawl lambda --event s3-event.json --config trawl.yaml --db /tmp/t.duckdb
  GOOS=linux GOARCH=amd64 go build -tags lambda.norpc -o bootstrap ./cmd/trawl   # see docs/lambda.md`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			runtimeAPI := os.Getenv(lambda.RuntimeAPIEnv)
			if event == "" && runtimeAPI == "" {
				return cmd.Help()
			}
			dbFlag := ""
			if f := cmd.Flags().Lookup("db"); f != nil && f.Changed {
				dbFlag = f.Value.String()
			}
			if sigmaDir == "" {
				sigmaDir = os.Getenv("TRAWL_SIGMA_DIR")
			}
			fn, err := newLambdaFunction(cmd.Context(), e, file, dbFlag, sigmaDir)
			if err != nil {
				return err
			}
			defer fn.close()
			if event == "" {
				fn.log.Info("serving Lambda invocations", "runtime_api", runtimeAPI, "config", fn.cfgFile, "db", fn.db)
				lambda.Start(cmd.Context(), fn.h)
				return nil // not reached: Start exits the process
			}
			return fn.invokeFile(cmd.Context(), e, event)
		},
	}
	f := cmd.Flags()
	f.StringVar(&event, "event", "", "run the handler once on this Lambda event payload file (- for stdin) and print the response")
	f.StringVarP(&file, "config", "c", "", "configuration file (default $TRAWL_CONFIG, else trawl.yaml next to the binary)")
	f.StringVar(&sigmaDir, "sigma", "", "directory of Sigma rules to evaluate (default $TRAWL_SIGMA_DIR)")
	return cmd
}

// lambdaFunction is the handler and what it opened.
type lambdaFunction struct {
	h       *lambda.Handler
	log     *slog.Logger
	cfg     *config.Config
	cfgFile string // "" when no file was read
	db      string

	mu     sync.Mutex
	st     *app.Store
	client *s3src.Client
}

// lambdaConfig finds and reads the configuration: file, else
// $TRAWL_CONFIG, else trawl.yaml next to the executable, else defaults
// (cfgFile is then "").
func lambdaConfig(file string) (cfg *config.Config, cfgFile string, err error) {
	if file == "" {
		file = os.Getenv(lambdaConfigEnv)
	}
	if file == "" {
		if exe, err := os.Executable(); err == nil {
			next := filepath.Join(filepath.Dir(exe), config.DefaultFile)
			if _, err := os.Stat(next); err == nil {
				file = next
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, "", fmt.Errorf("configuration %s: %w", next, err)
			}
		}
	}
	if file == "" {
		cfg, err := config.Parse("(defaults)", nil)
		return cfg, "", err
	}
	cfg, err = config.Load(file)
	return cfg, file, err
}

func newLambdaFunction(ctx context.Context, e *env, file, dbFlag, sigmaDir string) (*lambdaFunction, error) {
	cfg, cfgFile, err := lambdaConfig(file)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return nil, &exitError{code: exitUsage, err: err}
		}
		return nil, &exitError{code: exitFailure, err: err}
	}
	fn := &lambdaFunction{cfg: cfg, cfgFile: cfgFile, log: newLogger(e.stderr, cfg.Log)}
	switch {
	case dbFlag != "":
		fn.db = dbFlag
	case cfgFile != "":
		fn.db = cfg.Store.Path
	case os.Getenv("TRAWL_DB") != "":
		fn.db = os.Getenv("TRAWL_DB")
	default:
		fn.db = filepath.Join(os.TempDir(), defaultDB)
	}
	ev, err := lambdaEvaluator(ctx, fn.log, cfg, sigmaDir)
	if err != nil {
		return nil, &exitError{code: exitFailure, err: err}
	}
	notifier, err := lambdaNotifier(ctx, fn.log, cfg)
	if err != nil {
		return nil, &exitError{code: exitFailure, err: err}
	}
	// The databases stay open for the life of the process (Lambda reuses
	// it across invocations).
	enrichProcs, _, err := app.OpenEnrichment(app.EnrichSettings(cfg.Enrich), func(msg string) { fn.log.Info(msg) })
	if err != nil {
		return nil, &exitError{code: exitFailure, err: err}
	}
	fn.h = &lambda.Handler{
		Evaluator: ev, Notifier: notifier, IngestNotifier: notifier,
		Enrich:  enrichProcs,
		Store:   fn.open,
		Object:  fn.object,
		Decode:  decode.Options{MaxRecordSize: int(cfg.Ingest.MaxRecordSize)},
		Workers: cfg.Ingest.Workers,
		Log:     fn.log,
	}
	return fn, nil
}

// lambdaEvaluator builds the rules the function evaluates: the rules of
// the configuration (the built-in pack, its rule directories, overrides and
// watch list; rules.enabled: false turns them off) and the Sigma rules of
// sigmaDir, if given.
func lambdaEvaluator(_ context.Context, log *slog.Logger, cfg *config.Config, sigmaDir string) (lambda.Evaluator, error) {
	var evs []lambda.Evaluator
	if cfg.Rules.Enabled {
		_, eng, err := app.Rules(cfg.Rules, func(file, reason string) {
			log.Warn("rule not loaded", "file", file, "reason", reason)
		})
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		log.Info("rules loaded", "streaming", eng.Rules(), "watch", len(cfg.Rules.Watch))
		evs = append(evs, eng)
	}
	if sigmaDir != "" {
		rules, unsupported, err := sigma.LoadDir(sigmaDir)
		if err != nil {
			return nil, fmt.Errorf("loading Sigma rules from %s: %w", sigmaDir, err)
		}
		for _, u := range unsupported {
			log.Warn("Sigma rule not loaded", "file", u.File, "reason", u.Reason)
		}
		if len(rules) == 0 {
			return nil, fmt.Errorf("no Sigma rule could be loaded from %s", sigmaDir)
		}
		log.Info("Sigma rules loaded", "sigma", len(rules), "dir", sigmaDir)
		evs = append(evs, lambda.SigmaEvaluator(rules))
	}
	switch len(evs) {
	case 0:
		log.Info("no rules configured: records are decoded and counted, nothing is notified")
		return nil, nil
	case 1:
		return evs[0], nil
	}
	return pipeline.ProcessorFunc(func(ctx context.Context, b *event.Batch) error {
		for _, ev := range evs {
			if err := ev.Process(ctx, b); err != nil {
				return err
			}
		}
		return nil
	}), nil
}

// lambdaNotifier builds the notifiers of the configuration's alerts
// section, sending each hit at once to the notifiers its routes name (no
// outbox: a failed notification fails the invocation and Lambda retries
// it). With no notifier configured, hits are written to the log.
func lambdaNotifier(ctx context.Context, log *slog.Logger, cfg *config.Config) (lambda.Notifier, error) {
	if len(cfg.Alerts.Notifiers) == 0 {
		log.Info("no notifier configured (alerts.notifiers): hits are written to the log")
		return nil, nil
	}
	ns, err := notify.Build(ctx, cfg.Alerts)
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	return &notify.Direct{Notifiers: ns, Route: cfg.Alerts.Route}, nil
}

// open opens the store and the S3 client on the first S3 or SQS event and
// returns them again afterwards; the handler calls it before it asks for
// objects.
func (fn *lambdaFunction) open(ctx context.Context) (lambda.Ingester, error) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if fn.st != nil {
		return fn.st, nil
	}
	acfg, err := awsconf.Load(ctx, awsconf.Options(fn.cfg.AWS))
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	opt := app.Options{DB: fn.db, Mode: app.Ingest}
	if fn.cfg.Store.MemoryLimit > 0 {
		opt.MemoryLimit = fmt.Sprintf("%dB", fn.cfg.Store.MemoryLimit)
	}
	st, err := app.Open(ctx, opt)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", fn.db, err)
	}
	fn.client = s3src.New(awsconf.NewS3(acfg), s3src.Options{})
	fn.st = st
	fn.log.Info("store opened", "db", fn.db)
	return st, nil
}

func (fn *lambdaFunction) object(bucket, key string, size int64, etag string) pipeline.Object {
	fn.mu.Lock()
	c := fn.client
	fn.mu.Unlock()
	return c.Object(bucket, key, size, etag)
}

func (fn *lambdaFunction) close() {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if fn.st != nil {
		if err := fn.st.Close(); err != nil {
			fn.log.Error("closing the store", "error", err)
		}
		fn.st = nil
	}
}

// invokeFile runs the handler once on the payload in name, as Lambda
// would, and prints the response, or Lambda's error payload.
func (fn *lambdaFunction) invokeFile(ctx context.Context, e *env, name string) error {
	var payload []byte
	var err error
	if name == "-" {
		payload, err = io.ReadAll(e.stdin)
	} else {
		payload, err = os.ReadFile(name)
	}
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("--event: %w", err)}
	}
	resp, herr := fn.h.Invoke(ctx, payload)
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if herr != nil {
		t := reflect.TypeOf(herr)
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if err := enc.Encode(messages.InvokeResponse_Error{Message: herr.Error(), Type: t.Name()}); err != nil {
			return err
		}
		return &exitError{code: exitFailure, err: fmt.Errorf("the handler failed: %w", herr)}
	}
	return enc.Encode(resp)
}
