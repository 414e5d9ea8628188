"""LiteLLM in the demo: the real ``litellm`` SDK routed to the fake server's OpenAI API (``openai/<model>``).

LiteLLM has no wire format of its own; it speaks each provider's. The demo sends it to the OpenAI route, so litellm
runs the real ``openai`` SDK underneath (its ``max_retries`` retries 429/5xx) and the demo exercises llmtrace's
nesting rule: one litellm call is one recorded call even when the OpenAI instrumentor is active too. ``WIRE``
claims no path (the OpenAI and Anthropic formats answer litellm's requests).
"""

from __future__ import annotations

import os
from typing import Any

from ..fake_server import Exchange, Handler, WireFormat
from . import DemoProvider
from .openai import send_error as openai_error

__all__ = ["DEMO", "WIRE"]

# litellm fetches its model cost map from the internet at import unless told to use its bundled copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def _error(handler: Handler, exchange: Exchange, fault: str) -> None:
    """Never routed here (no path is claimed); errors are the routed provider's."""
    openai_error(handler, exchange, fault)


WIRE = WireFormat("litellm", lambda path: None, _error)


def make_client(server: Any) -> dict[str, Any]:
    """litellm has no client object: the per-call routing arguments (base URL, key, retries, timeout)."""
    import litellm  # ImportError when the SDK is not installed: the demo skips litellm

    litellm.suppress_debug_info = True  # no "Give Feedback" banner on stdout for each scripted failure
    return {"api_base": server.openai_base_url, "api_key": "sk-demo", "max_retries": 2, "timeout": 5.0}


def call(client: dict[str, Any], plan: Any, headers: dict[str, str]) -> None:
    """One ``litellm.completion`` (streamed with usage when the plan says so) routed to OpenAI."""
    import litellm

    kwargs: dict[str, Any] = {
        **client,
        "model": f"openai/{plan.model}",
        "messages": [{"role": "system", "content": plan.system()}, *plan.messages()],
        "extra_headers": headers,
        "max_tokens": 200,
    }
    if not plan.streaming:
        litellm.completion(**kwargs)
        return
    for _ in litellm.completion(**kwargs, stream=True, stream_options={"include_usage": True}):
        pass


DEMO = DemoProvider(
    "litellm", ("gpt-4.1", "gpt-4o-mini"), make_client, call, price_provider="openai", routes_to="openai"
)
