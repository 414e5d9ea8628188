"""A plain OpenAI app with no tracing code: run it under ``opentelemetry-instrument`` to get llm spans.

    OTEL_TRACES_EXPORTER=console OTEL_METRICS_EXPORTER=console opentelemetry-instrument python examples/openai_app.py

Without OPENAI_BASE_URL it talks to llmtrace's built-in fake provider, so it needs no API key.
"""

from __future__ import annotations

import os
from contextlib import ExitStack

import openai


def main() -> None:
    with ExitStack() as stack:
        if not os.environ.get("OPENAI_BASE_URL"):
            from llmtrace.demo.fake_server import FakeProviderServer

            server = stack.enter_context(FakeProviderServer())
            os.environ["OPENAI_BASE_URL"] = server.openai_base_url
            os.environ.setdefault("OPENAI_API_KEY", "sk-demo")
        client = openai.OpenAI()
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello in five words."}]
        )
        print("reply:", reply.choices[0].message.content)


if __name__ == "__main__":
    main()
