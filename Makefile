# trawl — developer targets. The README's commands work without make too.

GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build test bench bench-alerts bench-query lint demo clean lambda web-vendor

build: ## build ./trawl
	$(GO) build -ldflags "$(LDFLAGS)" -o trawl ./cmd/trawl

test: ## run every test (the same command as the README and CI)
	$(GO) test ./...

bench: ## generate a large data set and measure ingest speed (see docs/performance.md)
	$(GO) run ./tools/bench $(BENCHFLAGS)

bench-query: ## HTTP API speed: p50/p95 of every dashboard panel and search request, and the floor (docs/api.md)
	$(GO) run ./tools/querybench $(QUERYBENCHFLAGS)

bench-alerts: ## alert store and outbox speed: hits recorded/s, deliveries claimed and marked/s
	$(GO) test -run '^$$' -bench 'RecordHits|Outbox' ./internal/store/duckdb/

lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: the files above need formatting" && exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

lambda: ## build bootstrap and trawl-lambda.zip for AWS Lambda, provided.al2023 x86-64 (docs/lambda.md)
	CGO_ENABLED=1 GOOS=linux GOARCH=amd64 $(GO) build -tags lambda.norpc,netgo,osusergo \
		-ldflags "$(LDFLAGS) -s -w -linkmode external -extldflags=-static" -o bootstrap ./cmd/trawl
	rm -f trawl-lambda.zip && zip -j trawl-lambda.zip bootstrap

web-vendor: ## refresh the web UI's vendored libraries (internal/web/static/vendor) from npm, exact versions
	sh internal/web/vendor.sh

demo: build ## run the demo
	./trawl demo

clean:
	rm -rf trawl bootstrap trawl-lambda.zip trawl.duckdb trawl.duckdb.wal trawl-demo bench-data bench-query.duckdb bench-query-data
