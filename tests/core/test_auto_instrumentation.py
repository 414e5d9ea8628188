"""``opentelemetry-instrument python examples/openai_app.py`` finds our entry point and emits the llm span."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_opentelemetry_instrument_produces_llm_span():
    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_SERVICE_NAME": "example-app",
        "LLMTRACE_RAISE_INTERNAL_ERRORS": "1",
    }
    env.pop("OPENAI_BASE_URL", None)
    result = subprocess.run(
        [str(bindir / "opentelemetry-instrument"), sys.executable, str(ROOT / "examples" / "openai_app.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "reply:" in result.stdout
    start = result.stdout.index("{")
    decoder, spans, pos = json.JSONDecoder(), [], start
    while pos < len(result.stdout):
        try:
            obj, end = decoder.raw_decode(result.stdout, pos)
        except json.JSONDecodeError:
            pos += 1
            continue
        spans.append(obj)
        pos = end
    llm = [s for s in spans if s.get("attributes", {}).get("llm.provider") == "openai"]
    assert len(llm) == 1, result.stdout
    attrs = llm[0]["attributes"]
    assert llm[0]["name"] == "chat gpt-4o-mini" and attrs["llm.success"] is True
    assert attrs["llm.tokens.input"] > 0 and attrs["llm.cost_usd"] > 0
    assert llm[0]["resource"]["attributes"]["service.name"] == "example-app"
