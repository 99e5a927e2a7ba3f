package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/config"
)

func newConfigCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "config",
		Short: "Print an example configuration file or check one",
		Long: `trawl run reads its configuration from trawl.yaml (docs/config.md documents
every key).

  trawl config example > trawl.yaml   start from the annotated example
  trawl config check [FILE]           check FILE (default ./trawl.yaml): print it
                                      normalised, or every problem with exit status 2`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	c.AddCommand(&cobra.Command{
		Use:   "example",
		Short: "Print the annotated example configuration",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			_, err := io.WriteString(e.stdout, config.Example)
			return err
		},
	}, &cobra.Command{
		Use:   "check [FILE]",
		Short: "Check a configuration file and print it normalised",
		Long: `Check reads FILE (default ./trawl.yaml; - for stdin, with relative paths
resolved against the current directory) and prints the configuration as trawl
understands it: defaults filled in, paths absolute, each source's effective
aws settings, secrets (metrics.token, external_id, notifier secrets) redacted.

If anything is wrong, it prints every problem, one a line, as
FILE:LINE:COL: key.path: what is wrong, and exits with status 2. A file
that cannot be read is exit status 1.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(_ *cobra.Command, args []string) error {
			file := config.DefaultFile
			if len(args) == 1 {
				file = args[0]
			}
			var cfg *config.Config
			var err error
			if file == "-" {
				var data []byte
				if data, err = io.ReadAll(e.stdin); err != nil {
					return &exitError{code: exitFailure, err: fmt.Errorf("reading stdin: %w", err)}
				}
				cfg, err = config.Parse("-", data)
			} else {
				cfg, err = config.Load(file)
			}
			var ce *config.Error
			switch {
			case errors.As(err, &ce):
				for _, p := range ce.Problems {
					fmt.Fprintln(e.stderr, p)
				}
				noun := "problems"
				if len(ce.Problems) == 1 {
					noun = "problem"
				}
				return &exitError{code: exitUsage, err: fmt.Errorf("%s: %d %s", file, len(ce.Problems), noun)}
			case err != nil:
				return &exitError{code: exitFailure, err: err}
			}
			if cfg.Rules.Enabled {
				// The rules: section names rules and patterns: check them.
				_, _, err := app.Rules(cfg.Rules, func(f, reason string) {
					fmt.Fprintf(e.stderr, "%s: rules: rule %s not loaded: %s\n", file, f, reason)
				})
				if err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("%s: rules: %w", file, err)}
				}
			}
			_, err = io.WriteString(e.stdout, cfg.String())
			return err
		},
	})
	return c
}
