# syntax=docker/dockerfile:1
#
# trawl's container image (docs/production.md): a multi-stage build.
# DuckDB's Go bindings are cgo (a static libduckdb linked into the
# binary), so the build stage needs a C/C++ toolchain and the runtime
# needs glibc ≥ 2.34 and libstdc++ (GLIBCXX_3.4.30): Debian bookworm has
# both. The image runs as an unprivileged user with /var/lib/trawl as its
# only writable place (the DuckDB file, the lake's staging, GeoIP data).
#
#   docker build -t trawl:dev --build-arg VERSION=$(git describe --tags --always) .
#   docker run --rm -v $PWD/trawl.yaml:/etc/trawl/trawl.yaml:ro \
#       -e TRAWL_CLICKHOUSE_PASSWORD trawl:dev run -c /etc/trawl/trawl.yaml

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so that code edits reuse the (large: DuckDB's static
# libraries) module download layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/trawl ./cmd/trawl

FROM debian:bookworm-slim AS runtime
# ca-certificates: TLS to AWS, ClickHouse (secure=true) and OpenSearch.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 trawl \
 && useradd --system --uid 10001 --gid trawl --home-dir /var/lib/trawl --create-home --shell /usr/sbin/nologin trawl
COPY --from=build /out/trawl /usr/local/bin/trawl
USER 10001:10001
WORKDIR /var/lib/trawl
ENV TRAWL_DB=/var/lib/trawl/trawl.duckdb
VOLUME ["/var/lib/trawl"]
# 8080: the web UI and API (trawl serve, trawl run --serve); 9464: metrics.
# Both listen on 127.0.0.1 unless serve.listen / metrics.listen say
# otherwise (which then requires a token).
EXPOSE 8080 9464
ENTRYPOINT ["/usr/local/bin/trawl"]
CMD ["run", "--config", "/etc/trawl/trawl.yaml"]
