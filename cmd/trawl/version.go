package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// version and commit are set at build time:
// go build -ldflags "-X main.version=v0.1.0 -X main.commit=abc123".
var (
	version = "dev"
	commit  = ""
)

func versionString() string {
	v := version
	if v == "dev" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	if commit != "" {
		v += " (" + commit + ")"
	}
	return v
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print trawl's version and the versions of its parts",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(e.stdout, "trawl %s\n", versionString())
			fmt.Fprintf(e.stdout, "  go        %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(e.stdout, "  duckdb    %s\n", duckdbVersion(cmd.Context()))
			fmt.Fprintf(e.stdout, "  schema    %d\n", duckdb.SchemaVersion)
			return nil
		},
	}
}

func duckdbVersion(ctx context.Context) string {
	st, err := duckdb.Open(ctx, "", duckdb.Options{MemoryLimit: "64MB"})
	if err != nil {
		return "unavailable: " + err.Error()
	}
	defer st.Close()
	v, err := st.Version(ctx)
	if err != nil {
		return "unavailable: " + err.Error()
	}
	return v
}
