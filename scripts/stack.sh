#!/usr/bin/env bash
# The native stack: otelcol, Jaeger v2 and Prometheus 3 (built by scripts/stack-binaries.sh) as local processes, from
# the config files docker-compose mounts.  scripts/stack.sh up [--free-ports] | status | down
# The work is in scripts/native_stack.py, which the stack tests use too. It needs PyYAML: the project's .venv is
# used when there is one (PYTHON=... to choose another interpreter).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
exec "$PYTHON" "$ROOT/scripts/native_stack.py" "$@"
