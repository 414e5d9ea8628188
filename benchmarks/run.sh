#!/usr/bin/env bash
# Overhead benchmark in its own venvs: peer instrumentations must not land in the project's test venv (their
# entry points would load under opentelemetry-instrument), and OpenLIT pins older OpenTelemetry packages, so it
# gets a venv of its own. Usage: bash benchmarks/run.sh [--quick] [--json out.json]
set -euo pipefail
cd "$(dirname "$0")/.."
make_venv() { [ -x "$1/bin/python" ] || { python3 -m venv "$1" && "$1/bin/pip" install -q --upgrade pip; }; }

VENV=benchmarks/.venv
make_venv "$VENV"
# The OTel contrib instrumentation imports only with httpx present and a pre-1.0 opentelemetry-util-genai.
"$VENV/bin/pip" install -q -e '.[openai,anthropic,cli]' opentelemetry-sdk \
  opentelemetry-instrumentation-openai opentelemetry-instrumentation-anthropic \
  opentelemetry-instrumentation-openai-v2 httpx 'opentelemetry-util-genai==0.4b0'

OPENLIT_VENV=benchmarks/.venv-openlit
make_venv "$OPENLIT_VENV"
if "$OPENLIT_VENV/bin/pip" install -q -e '.[openai,anthropic,cli]' openlit 'openai>=3' >/dev/null 2>&1; then
  OPENLIT_PY="$OPENLIT_VENV/bin/python"
else
  OPENLIT_PY=""  # openlit's pins exclude openai 3: reported as not measured
fi
exec "$VENV/bin/python" -m benchmarks.overhead --openlit-python "$OPENLIT_PY" "$@"
