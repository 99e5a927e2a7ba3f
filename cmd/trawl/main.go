// Command trawl collects AWS security logs (CloudTrail, VPC Flow Logs,
// GuardDuty), normalises them into one schema and stores them for search.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
