package main

import (
	"github.com/spf13/cobra"
)

func newDemoCmd(e *env) *cobra.Command {
	return &cobra.Command{Use: "demo", Short: "Generate a realistic data set, ingest it and summarise it"}
}
