package pack

import "embed"

// FS holds the built-in rules: one YAML file per rule in cloudtrail/,
// vpcflow/, guardduty/ (streaming rules) and scheduled/ (threshold,
// first-seen and aggregation rules run against the store).
//
//go:embed */*.yml
var FS embed.FS
