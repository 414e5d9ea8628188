#!/usr/bin/env bash
# Build or reuse the stack's real binaries: otelcol (collector builder + collector/builder-config.yaml, one
# distribution for the local, secure and scale profiles), Jaeger (through a tools module carrying Jaeger's replace
# directive) and Prometheus 3 + promtool.
# Idempotent: binaries live in ~/.cache/llmtrace/bin/<name>-<version>; Go caches in ~/.cache/llmtrace/go.
# Everything comes from the Go module proxy. `--print-env` prints NAME=path lines for the test harness.
# `--scale` also builds what only the scale profile needs (collector/scale/, docs/scale.md): VictoriaMetrics
# single-node (go install, cold ~2 CPU-min), cached the same way; only the scale tests and the scale profile ask for it.
# `--kafka` also fetches Apache Kafka (KRaft; jars from Maven Central with `mvn dependency:copy-dependencies`, run on
# the machine's Java 17) into ~/.cache/llmtrace/kafka-<version>/lib: only the Kafka buffer test asks for it.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${LLMTRACE_CACHE:-$HOME/.cache/llmtrace}"
BIN="$CACHE/bin"
export GOPATH="$CACHE/go/path" GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOFLAGS="-buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
# Pure Go and no symbol tables, as the upstream release binaries are built (and ocb builds otelcol): no C compiler
# runs, and the linker skips DWARF, a good part of a cold build's link time for binaries of 80-150 MB.
export CGO_ENABLED=0
LDFLAGS="-s -w"

OCB_VERSION=v0.161.0   # bearertokenauth is served from v0.160.0; every module at one release
JAEGER_VERSION=v1.76.0
PROMETHEUS_VERSION=v0.316.0   # Go module version of Prometheus 3.16.0
VICTORIA_METRICS_VERSION=v1.151.0
KAFKA_VERSION=4.4.0

MANIFEST_HASH=$(sha256sum "$ROOT/collector/builder-config.yaml" | cut -c1-12)
OTELCOL="$BIN/otelcol-llmtrace-$OCB_VERSION-$MANIFEST_HASH"
JAEGER="$BIN/jaeger-$JAEGER_VERSION"
# Built with -tags remove_all_sd: every service-discovery plugin (Kubernetes, AWS, Azure, ...) left out, since the
# stack's Prometheus configs use static_configs only (~20% fewer packages to compile cold). The compose images are
# the full upstream ones.
PROMETHEUS="$BIN/prometheus-$PROMETHEUS_VERSION-static-sd"
PROMTOOL="$BIN/promtool-$PROMETHEUS_VERSION-static-sd"
VICTORIA_METRICS="$BIN/victoria-metrics-$VICTORIA_METRICS_VERSION"
KAFKA="$CACHE/kafka-$KAFKA_VERSION"

PRINT_ENV=false SCALE=false KAFKA_TOO=false
for arg in "$@"; do
  case "$arg" in
    --print-env) PRINT_ENV=true ;;
    --scale) SCALE=true ;;
    --kafka) KAFKA_TOO=true ;;
    *) echo "usage: $0 [--print-env] [--scale] [--kafka]" >&2; exit 2 ;;
  esac
done

log() { echo "[stack-binaries] $*" >&2; }

# build_otelcol OUT MANIFEST OCB_VERSION DIST_NAME
build_otelcol() {
  local out=$1 manifest=$2 version=$3 name=$4 ocb="$BIN/ocb-$3" work
  [ -x "$out" ] && return
  if [ ! -x "$ocb" ]; then
    log "installing collector builder $version"
    GOBIN="$CACHE/tmp-gobin" go install "go.opentelemetry.io/collector/cmd/builder@$version"
    mv "$CACHE/tmp-gobin/builder" "$ocb"
  fi
  work=$(mktemp -d "$CACHE/ocb.XXXXXX")
  sed "s#output_path: .*#output_path: $work/dist#" "$manifest" > "$work/manifest.yaml"
  log "building $name (cold: ~11 CPU-min of Go)"
  "$ocb" --config "$work/manifest.yaml" >&2
  mv "$work/dist/$name" "$out"
  rm -rf "$work"
}

JAEGER_MOD="$CACHE/jaeger-build-$JAEGER_VERSION"

# A module that requires Jaeger (with its replace directive), tidied: every module the build needs is downloaded.
jaeger_module() {
  mkdir -p "$JAEGER_MOD"
  cat > "$JAEGER_MOD/go.mod" <<GOMOD
module llmtrace.local/jaegerbuild

go 1.24

require github.com/jaegertracing/jaeger $JAEGER_VERSION

replace github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0
GOMOD
  cat > "$JAEGER_MOD/tools.go" <<'GOSRC'
//go:build tools

package tools

import _ "github.com/jaegertracing/jaeger/cmd/jaeger"
GOSRC
  (cd "$JAEGER_MOD" && go mod tidy)
}

# The modules of the builds after otelcol, fetched while it compiles: downloading is network time, compiling CPU time,
# so on a cold machine the later builds start compiling at once. Best effort: a build fetches what is still missing.
prefetch() {
  [ -x "$JAEGER" ] || jaeger_module
  if ! { [ -x "$PROMETHEUS" ] && [ -x "$PROMTOOL" ]; }; then
    go mod download "github.com/prometheus/prometheus@$PROMETHEUS_VERSION"
    (cd "$GOMODCACHE/github.com/prometheus/prometheus@$PROMETHEUS_VERSION" &&
      GOWORK=off GOFLAGS=-mod=mod go list -deps -tags remove_all_sd ./cmd/prometheus ./cmd/promtool > /dev/null)
  fi
}

build_jaeger() {
  [ -x "$JAEGER" ] && return
  log "building jaeger $JAEGER_VERSION (cold: ~19 CPU-min of Go)"
  jaeger_module >&2
  (cd "$JAEGER_MOD" && go build -ldflags="$LDFLAGS" -o "$JAEGER.tmp" github.com/jaegertracing/jaeger/cmd/jaeger >&2)
  mv "$JAEGER.tmp" "$JAEGER"
}

build_prometheus() {
  [ -x "$PROMETHEUS" ] && [ -x "$PROMTOOL" ] && return
  log "building prometheus + promtool $PROMETHEUS_VERSION (cold: ~8 CPU-min of Go)"
  GOBIN="$CACHE/tmp-gobin" go install -tags remove_all_sd -ldflags="$LDFLAGS" "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION"
  mv "$CACHE/tmp-gobin/prometheus" "$PROMETHEUS"
  mv "$CACHE/tmp-gobin/promtool" "$PROMTOOL"
}

build_victoria_metrics() {
  [ -x "$VICTORIA_METRICS" ] && return
  log "building victoria-metrics $VICTORIA_METRICS_VERSION (cold: ~2 CPU-min of Go)"
  GOBIN="$CACHE/tmp-gobin" go install -ldflags="$LDFLAGS" \
    "github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@$VICTORIA_METRICS_VERSION"
  mv "$CACHE/tmp-gobin/victoria-metrics" "$VICTORIA_METRICS"
}

fetch_kafka() {
  [ -f "$KAFKA/lib/.complete" ] && return
  log "fetching kafka $KAFKA_VERSION from Maven Central (~1 min)"
  mkdir -p "$KAFKA"
  cat > "$KAFKA/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>llmtrace.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>2.0.17</version></dependency>
  </dependencies>
</project>
POM
  rm -rf "$KAFKA/lib"
  (cd "$KAFKA" && mvn -q -B -Dmaven.repo.local="$CACHE/m2" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA/lib" -DincludeScope=runtime >&2)
  touch "$KAFKA/lib/.complete"
}

mkdir -p "$BIN" "$CACHE/tmp-gobin" "$CACHE/logs"
# One build per cache at a time (the tests, scripts/stack.sh and CI may all ask): later callers wait, then find the
# binaries built.
if command -v flock > /dev/null; then
  exec 9> "$CACHE/build.lock"
  flock -n 9 || { log "waiting for another build of the stack binaries ($CACHE/build.lock)"; flock 9; }
fi
prefetch > "$CACHE/logs/prefetch.log" 2>&1 &
prefetching=$!
build_otelcol "$OTELCOL" "$ROOT/collector/builder-config.yaml" "$OCB_VERSION" otelcol-llmtrace
wait "$prefetching" || log "prefetching modules failed (the builds fetch them): $CACHE/logs/prefetch.log"
build_jaeger
build_prometheus
if $SCALE; then build_victoria_metrics; fi
if $KAFKA_TOO; then fetch_kafka; fi
if $PRINT_ENV; then
  printf 'OTELCOL_BIN=%s\nJAEGER_BIN=%s\nPROMETHEUS_BIN=%s\nPROMTOOL_BIN=%s\n' \
    "$OTELCOL" "$JAEGER" "$PROMETHEUS" "$PROMTOOL"
  if $SCALE; then printf 'VICTORIA_METRICS_BIN=%s\n' "$VICTORIA_METRICS"; fi
  if $KAFKA_TOO; then printf 'KAFKA_HOME=%s\n' "$KAFKA"; fi
else
  log "ready: $OTELCOL $JAEGER $PROMETHEUS $PROMTOOL$($SCALE && echo " $VICTORIA_METRICS")"
fi
