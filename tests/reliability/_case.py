"""``ProviderCase``: one provider's adapter for the reliability and content-safety tests, and the helpers entries share.

Each provider's test module (``tests/providers/test_<module>.py``) defines its entry as ``RELIABILITY_CASE``;
``_providers.PROVIDERS`` collects them in the registry's order. An entry says how to build the SDK client against
the fake server, how to make one chat call (streamed or not, sync or async), what a valid response and a valid
stream look like on the wire (the fuzzer mutates these), and which llmtrace provider module reads them.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from llmtrace.demo.fake_server import sse_event

__all__ = [
    "SDK_DATE",
    "TOOL_ARGUMENTS",
    "TOOL_CALL_ID",
    "UUID",
    "Bound",
    "Prompt",
    "ProviderCase",
    "available",
    "chat_chunks",
    "chat_completion",
    "function_chat",
    "openai_kwargs",
    "with_call_id",
]

# SDKs that keep the HTTP response headers (on results or errors) show its Date, which changes each second.
SDK_DATE = r"'date': '[^']*'"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@dataclass(frozen=True)
class Prompt:
    """Provider-neutral request content; each entry renders it in its SDK's shape."""

    system: str
    user: str
    tool_name: str = "lookup"
    tool_description: str = "Look something up"
    # When set, the conversation goes on after the user message: the model's earlier call of the tool (id
    # ``TOOL_CALL_ID``, arguments ``TOOL_ARGUMENTS``) and this result of it, each in its SDK's shape.
    tool_result: str | None = None


TOOL_CALL_ID = "call_7"
TOOL_ARGUMENTS = {"q": "tide tables"}


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
    provider module with its ``PROVIDER``); ``sdk``: the SDK's import name (entries whose SDK is missing are skipped);
    ``operation``: the operation ``chat`` maps to.

    Optional, for SDKs that differ from the common shape (defaults fit OpenAI, Anthropic and Ollama):
    ``make_async_client`` / ``achat`` None: the SDK has no async client (boto3); async tests skip it, and the
    load test runs its "async" calls in threads. ``sdk_response(body)`` / ``sdk_chunk(event, payload)``: what the
    SDK hands the extractor for a wire body / one wire event (Gemini: snake_case fields; Bedrock: ``{event:
    payload}``), for the direct fuzz properties. ``proxied_stream``: the object ``chat(stream=True)`` returns is
    llmtrace's stream proxy (False when the SDK's public stream is its own generator around the proxied request,
    as google-genai's is). ``stream_retries``: the SDK retries a stream's request too (cohere's chat_stream never
    does). ``error_body(message)``: a 400 body in the provider's error shape. ``volatile``: regexes for
    per-response values the SDK adds itself (Date headers, generated ids, timestamps), blanked before comparing
    instrumented and bare outcomes.
    """

    name: str
    sdk: str
    make_client: Callable[..., Any]
    make_async_client: Callable[..., Any] | None
    chat: Callable[[Any, Prompt, bool], Any]
    achat: Callable[[Any, Prompt, bool], Any] | None
    response: dict[str, Any]
    stream_events: list[tuple[str | None, Any]]
    encode: Callable[[str | None, Any], bytes] = sse_event
    stream_content_type: str = "text/event-stream"
    operation: str = "chat"
    sdk_retries: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    sdk_response: Callable[[Any], Any] = lambda body: body
    sdk_chunk: Callable[[str | None, Any], Any] = lambda event, payload: payload
    proxied_stream: bool = True
    stream_retries: bool = True
    error_body: Callable[[str], Any] = lambda message: {
        "error": {"message": message, "type": "invalid_request_error"},
        "type": "error",
    }
    volatile: tuple[str, ...] = (SDK_DATE,)

    @property
    def has_async(self) -> bool:
        return self.make_async_client is not None and self.achat is not None

    def scrub(self, text: str) -> str:
        """``text`` with the SDK's own per-response values blanked (see ``volatile``)."""
        for pattern in self.volatile:
            text = re.sub(pattern, "<volatile>", text)
        return text

    def provider_module(self) -> ModuleType:
        from llmtrace.providers import PROVIDER_MODULES

        return importlib.import_module(PROVIDER_MODULES[self.name][0])


def available(case: ProviderCase) -> bool:
    return importlib.util.find_spec(case.sdk) is not None


# -- helpers entries share ------------------------------------------------------------------------------------


def function_chat(model: str, prompt: Prompt, stream: bool, json_arguments: bool = True) -> dict[str, Any]:
    """Chat kwargs in the OpenAI shape (system + user message, one function tool), which Ollama's SDK takes too
    (its tool calls carry no id and take the arguments as an object: ``json_arguments=False``)."""
    tool = {
        "type": "function",
        "function": {
            "name": prompt.tool_name,
            "description": prompt.tool_description,
            "parameters": {"type": "object"},
        },
    }
    messages = [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}]
    if prompt.tool_result is not None:
        arguments = json.dumps(TOOL_ARGUMENTS) if json_arguments else TOOL_ARGUMENTS
        call = {"type": "function", "function": {"name": prompt.tool_name, "arguments": arguments}}
        messages.append({"role": "assistant", "content": "", "tool_calls": [{"id": TOOL_CALL_ID, **call}]})
        messages.append({"role": "tool", "tool_call_id": TOOL_CALL_ID, "content": prompt.tool_result})
        if not json_arguments:
            del messages[-2]["tool_calls"][0]["id"]
    return {"model": model, "messages": messages, "tools": [tool], "stream": stream}


def openai_kwargs(prompt: Prompt, stream: bool) -> dict[str, Any]:
    return function_chat("gpt-4o-mini", prompt, stream)


def chat_completion(response_id: str, model: str, tool_call_id: str, usage: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-shaped ``chat.completion`` body with text and one tool call (OpenAI's and Mistral's wire format)."""
    tool_call = {"id": tool_call_id, "type": "function", "function": {"name": "lookup", "arguments": '{"q": 1}'}}
    message = {"role": "assistant", "content": "Hello there", "tool_calls": [tool_call]}
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": usage,
    }


def chat_chunks(chunk: dict[str, Any], usage: dict[str, Any], usage_chunk: bool) -> list[tuple[str | None, Any]]:
    """An OpenAI-shaped chunk stream: two text deltas, the finish, then usage in a chunk of its own (OpenAI's
    ``include_usage``) or on the finishing chunk (Mistral), and ``[DONE]``."""
    finish = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    tail = [finish, {**chunk, "choices": [], "usage": usage}] if usage_chunk else [{**finish, "usage": usage}]
    return [
        (None, {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]}),
        (None, {**chunk, "choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": None}]}),
        *((None, payload) for payload in tail),
        (None, "[DONE]"),
    ]


_CALL_IDS = itertools.count()


def with_call_id(headers: dict[str, str]) -> dict[str, str]:
    """A fresh ``x-llmtrace-call`` id per client: SDKs without a retry-count header have their attempts counted by
    it, so a multi-step fault plan (``rate_limit,ok``) advances per HTTP attempt of this client's call."""
    return {"x-llmtrace-call": f"reliability-{next(_CALL_IDS)}", **headers}


@dataclass(frozen=True)
class Bound:
    """An SDK client plus the headers to send on each call, for SDKs that take headers per call only."""

    sdk: Any
    headers: dict[str, str]
