package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/lambda"
)

// Exit codes. Scripts can tell a clean ingest from one that quarantined
// input from one that failed.
const (
	exitOK          = 0   // everything done
	exitFailure     = 1   // the command failed (nothing or not all was done)
	exitUsage       = 2   // bad flags or arguments
	exitPartial     = 3   // done, but some input was quarantined or could not be read
	exitInterrupted = 130 // stopped by Ctrl-C / SIGTERM; committed work is kept
)

// exitError carries an exit code up to run.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// env carries the process's streams so commands are testable.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func (e *env) stdoutIsTerminal() bool {
	f, ok := e.stdout.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (e *env) stderrIsTerminal() bool {
	f, ok := e.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

const defaultDB = "trawl.duckdb"

func dbDefault() string {
	if v := os.Getenv("TRAWL_DB"); v != "" {
		return v
	}
	return defaultDB
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "trawl",
		Short: "Collect, normalise, search and alert on AWS security logs",
		Long: `trawl ingests CloudTrail, VPC Flow Logs and GuardDuty findings from files and
AWS delivery layouts into one typed schema in an embedded DuckDB database, and
answers SQL over it.

Start with:
  trawl demo                  generate a multi-account data set with an attack in it, ingest it, summarise
  trawl ingest ./AWSLogs/     ingest files and directories (recursively); - reads stdin
  trawl query "SELECT event_name, count(*) FROM cloudtrail GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
  trawl ingest s3://bucket/AWSLogs/ --since 7d   read a bucket in AWS's delivery layouts
  trawl config example > trawl.yaml; trawl run   collect continuously from S3, SQS and CloudWatch Logs

Every command takes --db (default ./trawl.duckdb, or $TRAWL_DB): a DuckDB file,
or a ClickHouse database clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE
(password also from $TRAWL_CLICKHOUSE_PASSWORD; docs/clickhouse.md).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("db", dbDefault(), "DuckDB database file, or clickhouse://HOST:8123/DATABASE (env TRAWL_DB)")
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: fmt.Errorf("%w\nRun '%s --help' for usage", err, c.CommandPath())}
	})
	// With Args set, cobra leaves unknown commands to the root command
	// instead of returning an untyped error; the root then needs a Run.
	root.SuggestionsMinimumDistance = 2
	root.Args = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
		}
		return &exitError{code: exitUsage, err: fmt.Errorf("%s\nRun '%s --help' for usage", msg, c.CommandPath())}
	}
	root.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	root.AddCommand(newIngestCmd(e), newQueryCmd(e), newDemoCmd(e), newVersionCmd(e))
	root.AddCommand(newSchemaCmd(e))
	root.AddCommand(newPruneCmd(e))
	root.AddCommand(newRunCmd(e))
	root.AddCommand(newConfigCmd(e))
	root.AddCommand(newVerifyCmd(e))
	root.AddCommand(newMatchCmd(e))
	root.AddCommand(newRulesCmd(e))
	root.AddCommand(newLambdaCmd(e))
	root.AddCommand(newAlertsCmd(e))
	root.AddCommand(newSearchCmd(e))
	root.AddCommand(newServeCmd(e))
	root.AddCommand(newOpenSearchCmd(e))
	root.AddCommand(newClickHouseCmd(e))
	root.AddCommand(newLakeCmd(e))
	return root
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	ctx, stop := interruptContext()
	defer stop()
	if len(args) == 0 && os.Getenv(lambda.RuntimeAPIEnv) != "" {
		// Lambda starts its bootstrap with no arguments.
		args = []string{"lambda"}
	}
	root := newRoot(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var xe *exitError
	if errors.As(err, &xe) {
		if xe.err != nil {
			fmt.Fprintln(stderr, "trawl:", xe.err)
		}
		return xe.code
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "trawl: interrupted:", err)
		return exitInterrupted
	}
	fmt.Fprintln(stderr, "trawl:", err)
	return exitFailure
}

// interruptContext returns a context that the first SIGINT or SIGTERM
// cancels. That first signal also restores the default handling of both, so
// that a second Ctrl-C kills the process if stopping takes too long.
func interruptContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sig:
		case <-ctx.Done():
		}
		// Restore the default handling before anyone sees ctx done, so
		// that no second signal can be caught after the first.
		signal.Stop(sig)
		cancel()
	}()
	return ctx, func() {
		signal.Stop(sig)
		cancel()
	}
}

// usageArgs wraps a cobra argument validator so that its errors are usage
// errors (exit 2) that point to the command's help.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := v(c, args); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("%w\nRun '%s --help' for usage", err, c.CommandPath())}
		}
		return nil
	}
}

// openFailure maps an error opening the store to an exit code: a bad
// setting is a usage error naming the flag or variable.
func openFailure(err error) error {
	var se *app.SettingsError
	if errors.As(err, &se) {
		return &exitError{code: exitUsage, err: err}
	}
	return &exitError{code: exitFailure, err: err}
}

// missingDB reports whether db is a DuckDB file that does not exist (a
// ClickHouse database is never missing: opening it says what is wrong).
func missingDB(db string) bool {
	if app.IsClickHouse(db) {
		return false
	}
	_, err := os.Stat(db)
	return errors.Is(err, os.ErrNotExist)
}
