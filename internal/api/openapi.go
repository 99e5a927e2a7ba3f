package api

import _ "embed"

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 document of the API (openapi.json,
// written by hand; a test keeps it equal to the routes served).
func OpenAPI() []byte { return openAPI }
