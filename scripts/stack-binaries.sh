#!/usr/bin/env bash
# Build or reuse the stack's real binaries: otelcol (collector builder + collector/builder-config.yaml), the secure
# profile's otelcol (collector/secure/builder-config.yaml, its own release), Jaeger v2 (through a tools module carrying Jaeger's replace directive) and Prometheus 3 + promtool.
# Idempotent: binaries live in ~/.cache/llmtrace/bin/<name>-<version>; Go caches in ~/.cache/llmtrace/go.
# Everything comes from the Go module proxy. `--print-env` prints NAME=path lines for the test harness.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${LLMTRACE_CACHE:-$HOME/.cache/llmtrace}"
BIN="$CACHE/bin"
export GOPATH="$CACHE/go/path" GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOFLAGS="-buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

OCB_VERSION=v0.159.0
OCB_SECURE_VERSION=v0.161.0   # bearertokenauth is served from v0.160.0; all secure modules at one release
JAEGER_VERSION=v1.76.0
PROMETHEUS_VERSION=v0.316.0   # Go module version of Prometheus 3.16.0

MANIFEST_HASH=$(sha256sum "$ROOT/collector/builder-config.yaml" | cut -c1-12)
OTELCOL="$BIN/otelcol-llmtrace-$OCB_VERSION-$MANIFEST_HASH"
SECURE_HASH=$(sha256sum "$ROOT/collector/secure/builder-config.yaml" | cut -c1-12)
OTELCOL_SECURE="$BIN/otelcol-llmtrace-secure-$OCB_SECURE_VERSION-$SECURE_HASH"
JAEGER="$BIN/jaeger-$JAEGER_VERSION"
PROMETHEUS="$BIN/prometheus-$PROMETHEUS_VERSION"
PROMTOOL="$BIN/promtool-$PROMETHEUS_VERSION"

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
  log "building $name (cold ~3 min)"
  "$ocb" --config "$work/manifest.yaml" >&2
  mv "$work/dist/$name" "$out"
  rm -rf "$work"
}

build_jaeger() {
  [ -x "$JAEGER" ] && return
  local mod="$CACHE/jaeger-build-$JAEGER_VERSION"
  mkdir -p "$mod"
  cat > "$mod/go.mod" <<GOMOD
module llmtrace.local/jaegerbuild

go 1.24

require github.com/jaegertracing/jaeger $JAEGER_VERSION

replace github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0
GOMOD
  cat > "$mod/tools.go" <<'GOSRC'
//go:build tools

package tools

import _ "github.com/jaegertracing/jaeger/cmd/jaeger"
GOSRC
  log "building jaeger $JAEGER_VERSION (cold ~4 min)"
  (cd "$mod" && go mod tidy >&2 && go build -o "$JAEGER.tmp" github.com/jaegertracing/jaeger/cmd/jaeger >&2)
  mv "$JAEGER.tmp" "$JAEGER"
}

build_prometheus() {
  [ -x "$PROMETHEUS" ] && [ -x "$PROMTOOL" ] && return
  log "building prometheus + promtool $PROMETHEUS_VERSION (cold ~5 min)"
  GOBIN="$CACHE/tmp-gobin" go install "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION"
  mv "$CACHE/tmp-gobin/prometheus" "$PROMETHEUS"
  mv "$CACHE/tmp-gobin/promtool" "$PROMTOOL"
}

mkdir -p "$BIN" "$CACHE/tmp-gobin"
# One build per cache at a time (the tests, scripts/stack.sh and CI may all ask): later callers wait, then find the
# binaries built.
if command -v flock > /dev/null; then
  exec 9> "$CACHE/build.lock"
  flock -n 9 || { log "waiting for another build of the stack binaries ($CACHE/build.lock)"; flock 9; }
fi
build_otelcol "$OTELCOL" "$ROOT/collector/builder-config.yaml" "$OCB_VERSION" otelcol-llmtrace
build_otelcol "$OTELCOL_SECURE" "$ROOT/collector/secure/builder-config.yaml" "$OCB_SECURE_VERSION" otelcol-llmtrace-secure
build_jaeger
build_prometheus
if [ "${1:-}" = "--print-env" ]; then
  printf 'OTELCOL_BIN=%s\nOTELCOL_SECURE_BIN=%s\nJAEGER_BIN=%s\nPROMETHEUS_BIN=%s\nPROMTOOL_BIN=%s\n' \
    "$OTELCOL" "$OTELCOL_SECURE" "$JAEGER" "$PROMETHEUS" "$PROMTOOL"
else
  log "ready: $OTELCOL $OTELCOL_SECURE $JAEGER $PROMETHEUS $PROMTOOL"
fi
