// Package docs embeds the documentation that trawl's commands print:
// schema.md is the one place where columns are described (`trawl schema`
// reads it; a test keeps it in step with the database).
package docs

import _ "embed"

// Schema is docs/schema.md.
//
//go:embed schema.md
var Schema string
