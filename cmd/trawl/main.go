// Command trawl collects AWS security logs (CloudTrail, VPC Flow Logs,
// GuardDuty), normalises them into one schema and stores them for search.
package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

func main() {
	// TRAWL_CPUPROFILE=file writes a CPU profile of the whole run (see
	// docs/performance.md).
	if path := os.Getenv("TRAWL_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "trawl: TRAWL_CPUPROFILE:", err)
			os.Exit(exitFailure)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "trawl: TRAWL_CPUPROFILE:", err)
			os.Exit(exitFailure)
		}
		code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		pprof.StopCPUProfile()
		f.Close()
		os.Exit(code)
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
