# trawl — developer targets. The README's commands work without make too.

GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build test bench lint demo clean lambda

build: ## build ./trawl
	$(GO) build -ldflags "$(LDFLAGS)" -o trawl ./cmd/trawl

test: ## run every test (the same command as the README and CI)
	$(GO) test ./...

bench: ## generate a large data set and measure ingest speed (see docs/performance.md)
	$(GO) run ./tools/bench $(BENCHFLAGS)

lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: the files above need formatting" && exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

lambda: ## build bootstrap and trawl-lambda.zip for AWS Lambda, provided.al2023 x86-64 (docs/lambda.md)
	CGO_ENABLED=1 GOOS=linux GOARCH=amd64 $(GO) build -tags lambda.norpc,netgo,osusergo \
		-ldflags "$(LDFLAGS) -s -w -linkmode external -extldflags=-static" -o bootstrap ./cmd/trawl
	rm -f trawl-lambda.zip && zip -j trawl-lambda.zip bootstrap

demo: build ## run the demo
	./trawl demo

clean:
	rm -rf trawl bootstrap trawl-lambda.zip trawl.duckdb trawl.duckdb.wal trawl-demo bench-data
