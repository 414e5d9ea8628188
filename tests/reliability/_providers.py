"""The per-provider table behind the reliability and content-safety tests: one small entry per provider.

Adding a provider to fuzzing, transparency, load and content safety is adding one ``ProviderCase`` to
``PROVIDERS``. An entry says how to build the SDK client against the fake server, how to make one chat call
(streamed or not, sync or async), what a valid response and a valid stream look like on the wire (the fuzzer
mutates these), and which llmtrace provider module reads them.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from llmtrace.demo.fake_server import ndjson_line, sse_event

__all__ = ["PROVIDERS", "Prompt", "ProviderCase", "available"]


@dataclass(frozen=True)
class Prompt:
    """Provider-neutral request content; each entry renders it in its SDK's shape."""

    system: str
    user: str
    tool_name: str = "lookup"
    tool_description: str = "Look something up"


@dataclass(frozen=True)
class ProviderCase:
    """One provider's adapter for the table-driven tests.

    ``make_client(server, headers, retries=0)`` / ``make_async_client(...)``: an SDK client pointed at the fake
    server, sending ``headers`` on every request (fault plans, tuning headers), with ``retries`` SDK-internal
    retries (``sdk_retries=False`` for SDKs without a retry loop, which ignore it).
    ``chat(client, prompt, stream)`` / ``achat(...)``: one chat call with system prompt, user message and one tool;
    returns exactly what the SDK returns (the unconsumed stream object when ``stream``).
    ``response`` / ``stream_events``: a valid non-streamed body and a valid stream as ``(event name, payload)``
    pairs (payload a dict or a raw string such as ``[DONE]``), rendered by ``encode`` with ``stream_content_type``.
    ``name``: the ``llmtrace.instrument(providers=[...])`` name (key of ``PROVIDER_MODULES``, which also gives the
    provider module with ``HOOKS``); ``sdk``: the SDK's import name (entries whose SDK is missing are skipped);
    ``operation``: the operation ``chat`` maps to.
    """

    name: str
    sdk: str
    make_client: Callable[..., Any]
    make_async_client: Callable[..., Any]
    chat: Callable[[Any, Prompt, bool], Any]
    achat: Callable[[Any, Prompt, bool], Any]
    response: dict[str, Any]
    stream_events: list[tuple[str | None, Any]]
    encode: Callable[[str | None, Any], bytes] = sse_event
    stream_content_type: str = "text/event-stream"
    operation: str = "chat"
    sdk_retries: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def provider_module(self) -> ModuleType:
        from llmtrace.providers import PROVIDER_MODULES

        return importlib.import_module(PROVIDER_MODULES[self.name][0])


def available(case: ProviderCase) -> bool:
    return importlib.util.find_spec(case.sdk) is not None


# -- OpenAI -------------------------------------------------------------------------------------------------------


def _openai_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    import openai

    return openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=retries, default_headers=headers)


def _openai_async_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    import openai

    return openai.AsyncOpenAI(
        api_key="k", base_url=server.openai_base_url, max_retries=retries, default_headers=headers
    )


def _openai_kwargs(prompt: Prompt, stream: bool) -> dict[str, Any]:
    tool = {
        "type": "function",
        "function": {
            "name": prompt.tool_name,
            "description": prompt.tool_description,
            "parameters": {"type": "object"},
        },
    }
    messages = [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}]
    return {"model": "gpt-4o-mini", "messages": messages, "tools": [tool], "stream": stream}


def _openai_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return client.chat.completions.create(**_openai_kwargs(prompt, stream))


async def _openai_achat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return await client.chat.completions.create(**_openai_kwargs(prompt, stream))


_OPENAI_USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 5,
    "total_tokens": 17,
    "prompt_tokens_details": {"cached_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0},
}
_OPENAI_CHUNK = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
OPENAI = ProviderCase(
    name="openai",
    sdk="openai",
    make_client=_openai_client,
    make_async_client=_openai_async_client,
    chat=_openai_chat,
    achat=_openai_achat,
    response={
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello there",
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": 1}'}}
                    ],
                },
                "finish_reason": "stop",
            }
        ],
        "usage": _OPENAI_USAGE,
    },
    stream_events=[
        (None, {**_OPENAI_CHUNK, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]}),
        (None, {**_OPENAI_CHUNK, "choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": None}]}),
        (None, {**_OPENAI_CHUNK, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        (None, {**_OPENAI_CHUNK, "choices": [], "usage": _OPENAI_USAGE}),
        (None, "[DONE]"),
    ],
)

# -- Anthropic ----------------------------------------------------------------------------------------------------


def _anthropic_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    import anthropic

    return anthropic.Anthropic(
        api_key="k", base_url=server.anthropic_base_url, max_retries=retries, default_headers=headers
    )


def _anthropic_async_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    import anthropic

    return anthropic.AsyncAnthropic(
        api_key="k", base_url=server.anthropic_base_url, max_retries=retries, default_headers=headers
    )


def _anthropic_kwargs(prompt: Prompt, stream: bool) -> dict[str, Any]:
    tool = {"name": prompt.tool_name, "description": prompt.tool_description, "input_schema": {"type": "object"}}
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "system": prompt.system,
        "messages": [{"role": "user", "content": prompt.user}],
        "tools": [tool],
        "stream": stream,
    }


def _anthropic_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return client.messages.create(**_anthropic_kwargs(prompt, stream))


async def _anthropic_achat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return await client.messages.create(**_anthropic_kwargs(prompt, stream))


_ANTHROPIC_USAGE = {"input_tokens": 12, "output_tokens": 5, "cache_read_input_tokens": 0}
_ANTHROPIC_MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "text", "text": "Hello there"},
        {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": 1}},
    ],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": _ANTHROPIC_USAGE,
}
ANTHROPIC = ProviderCase(
    name="anthropic",
    sdk="anthropic",
    make_client=_anthropic_client,
    make_async_client=_anthropic_async_client,
    chat=_anthropic_chat,
    achat=_anthropic_achat,
    response=_ANTHROPIC_MESSAGE,
    stream_events=[
        ("message_start", {"type": "message_start", "message": {**_ANTHROPIC_MESSAGE, "content": []}}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        ("ping", {"type": "ping"}),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}},
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}},
        ),
        ("message_stop", {"type": "message_stop"}),
    ],
)

# -- Ollama -------------------------------------------------------------------------------------------------------


def _ollama_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    import ollama

    return ollama.Client(host=server.url, headers=headers)


def _ollama_async_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    import ollama

    return ollama.AsyncClient(host=server.url, headers=headers)


def _ollama_kwargs(prompt: Prompt, stream: bool) -> dict[str, Any]:
    tool = {
        "type": "function",
        "function": {
            "name": prompt.tool_name,
            "description": prompt.tool_description,
            "parameters": {"type": "object"},
        },
    }
    messages = [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}]
    return {"model": "llama3.2", "messages": messages, "tools": [tool], "stream": stream}


def _ollama_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return client.chat(**_ollama_kwargs(prompt, stream))


async def _ollama_achat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return await client.chat(**_ollama_kwargs(prompt, stream))


_OLLAMA_FINAL = {
    "model": "llama3.2",
    "created_at": "2026-11-24T00:00:00Z",
    "done": True,
    "done_reason": "stop",
    "prompt_eval_count": 12,
    "eval_count": 5,
}
OLLAMA = ProviderCase(
    name="ollama",
    sdk="ollama",
    make_client=_ollama_client,
    make_async_client=_ollama_async_client,
    chat=_ollama_chat,
    achat=_ollama_achat,
    response={
        **_OLLAMA_FINAL,
        "message": {
            "role": "assistant",
            "content": "Hello there",
            "tool_calls": [{"function": {"name": "lookup", "arguments": {"q": 1}}}],
        },
    },
    stream_events=[
        (None, {"model": "llama3.2", "done": False, "message": {"role": "assistant", "content": "Hel"}}),
        (None, {"model": "llama3.2", "done": False, "message": {"role": "assistant", "content": "lo"}}),
        (None, {**_OLLAMA_FINAL, "message": {"role": "assistant", "content": ""}}),
    ],
    encode=ndjson_line,
    stream_content_type="application/x-ndjson",
    sdk_retries=False,
)

PROVIDERS: tuple[ProviderCase, ...] = (OPENAI, ANTHROPIC, OLLAMA)
