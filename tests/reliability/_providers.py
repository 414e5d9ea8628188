"""The per-provider table behind the reliability and content-safety tests: one small entry per provider.

Adding a provider to fuzzing, transparency, load and content safety is adding one ``ProviderCase`` to
``PROVIDERS``. An entry says how to build the SDK client against the fake server, how to make one chat call
(streamed or not, sync or async), what a valid response and a valid stream look like on the wire (the fuzzer
mutates these), and which llmtrace provider module reads them.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from llmtrace.demo.fake_server import ndjson_line, sse_event
from llmtrace.demo.providers.bedrock import event_message

__all__ = ["PROVIDERS", "TOOL_ARGUMENTS", "TOOL_CALL_ID", "Prompt", "ProviderCase", "available"]

# SDKs that keep the HTTP response headers (on results or errors) show its Date, which changes each second.
_SDK_DATE = r"'date': '[^']*'"
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


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
    provider module with ``HOOKS``); ``sdk``: the SDK's import name (entries whose SDK is missing are skipped);
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
    volatile: tuple[str, ...] = (_SDK_DATE,)

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


# -- OpenAI -------------------------------------------------------------------------------------------------------


def _openai_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    import openai

    return openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=retries, default_headers=headers)


def _openai_async_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    import openai

    return openai.AsyncOpenAI(
        api_key="k", base_url=server.openai_base_url, max_retries=retries, default_headers=headers
    )


def _function_chat(model: str, prompt: Prompt, stream: bool, json_arguments: bool = True) -> dict[str, Any]:
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


def _openai_kwargs(prompt: Prompt, stream: bool) -> dict[str, Any]:
    return _function_chat("gpt-4o-mini", prompt, stream)


def _openai_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return client.chat.completions.create(**_openai_kwargs(prompt, stream))


async def _openai_achat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return await client.chat.completions.create(**_openai_kwargs(prompt, stream))


def _chat_completion(response_id: str, model: str, tool_call_id: str, usage: dict[str, Any]) -> dict[str, Any]:
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


def _chat_chunks(chunk: dict[str, Any], usage: dict[str, Any], usage_chunk: bool) -> list[tuple[str | None, Any]]:
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
    response=_chat_completion("chatcmpl-1", "gpt-4o-mini-2024-07-18", "c1", _OPENAI_USAGE),
    stream_events=_chat_chunks(_OPENAI_CHUNK, _OPENAI_USAGE, usage_chunk=True),
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
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt.user}]
    if prompt.tool_result is not None:
        use = {"type": "tool_use", "id": TOOL_CALL_ID, "name": prompt.tool_name, "input": TOOL_ARGUMENTS}
        result = {"type": "tool_result", "tool_use_id": TOOL_CALL_ID, "content": prompt.tool_result}
        messages += [{"role": "assistant", "content": [use]}, {"role": "user", "content": [result]}]
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "system": prompt.system,
        "messages": messages,
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
    return _function_chat("llama3.2", prompt, stream, json_arguments=False)


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

# -- shared helpers for SDKs without per-client default headers ----------------------------------------------------

_CALL_IDS = itertools.count()


def _with_call_id(headers: dict[str, str]) -> dict[str, str]:
    """A fresh ``x-llmtrace-call`` id per client: SDKs without a retry-count header have their attempts counted by
    it, so a multi-step fault plan (``rate_limit,ok``) advances per HTTP attempt of this client's call."""
    return {"x-llmtrace-call": f"reliability-{next(_CALL_IDS)}", **headers}


@dataclass(frozen=True)
class _Bound:
    """An SDK client plus the headers to send on each call, for SDKs that take headers per call only."""

    sdk: Any
    headers: dict[str, str]


# -- Google (google-genai) ----------------------------------------------------------------------------------------


def _google_options(server: Any, headers: dict[str, str], retries: int) -> Any:
    from google.genai import types

    from llmtrace.demo.providers.google import base_url

    retry = types.HttpRetryOptions(attempts=retries + 1, initial_delay=0.001, max_delay=0.002, jitter=0)
    # 30 s: the load test's 100 async clients (aiohttp, auth via the loop's small default executor) queue for
    # several seconds on 2 cores, and the SDK's timeout covers that wait.
    return types.HttpOptions(
        base_url=base_url(server), timeout=30_000, retry_options=retry, headers=_with_call_id(headers)
    )


def _google_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    from google import genai

    return genai.Client(api_key="k", http_options=_google_options(server, headers, retries))


def _google_async_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    return _google_client(server, headers, retries).aio


def _google_kwargs(prompt: Prompt) -> dict[str, Any]:
    from google.genai import types

    declaration = {"name": prompt.tool_name, "description": prompt.tool_description, "parameters": {"type": "OBJECT"}}
    config = types.GenerateContentConfig(
        system_instruction=prompt.system,
        tools=[types.Tool(function_declarations=[declaration])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    contents = [{"role": "user", "parts": [{"text": prompt.user}]}]
    if prompt.tool_result is not None:
        call = {"id": TOOL_CALL_ID, "name": prompt.tool_name, "args": TOOL_ARGUMENTS}
        response = {"id": TOOL_CALL_ID, "name": prompt.tool_name, "response": {"result": prompt.tool_result}}
        contents += [
            {"role": "model", "parts": [{"function_call": call}]},
            {"role": "user", "parts": [{"function_response": response}]},
        ]
    return {"model": "gemini-2.5-flash", "contents": contents, "config": config}


def _google_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    call = client.models.generate_content_stream if stream else client.models.generate_content
    return call(**_google_kwargs(prompt))


async def _google_achat(client: Any, prompt: Prompt, stream: bool) -> Any:
    call = client.models.generate_content_stream if stream else client.models.generate_content
    return await call(**_google_kwargs(prompt))


def _snake(value: Any) -> Any:
    """Gemini's camelCase wire JSON -> the snake_case fields of the SDK's pydantic models."""
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", str(k)).lower(): _snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake(v) for v in value]
    return value


_GOOGLE_USAGE = {"promptTokenCount": 12, "candidatesTokenCount": 5, "totalTokenCount": 17, "thoughtsTokenCount": 0}
_GOOGLE_HEAD = {"modelVersion": "gemini-2.5-flash", "responseId": "resp-1"}
GOOGLE = ProviderCase(
    name="google",
    sdk="google.genai",
    make_client=_google_client,
    make_async_client=_google_async_client,
    chat=_google_chat,
    achat=_google_achat,
    response={
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"text": "Hello there"}, {"functionCall": {"name": "lookup", "args": {"q": 1}}}],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {**_GOOGLE_USAGE, "cachedContentTokenCount": 0},
        **_GOOGLE_HEAD,
    },
    stream_events=[
        (
            None,
            {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}, "index": 0}], **_GOOGLE_HEAD},
        ),
        (None, {"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]}, "index": 0}], **_GOOGLE_HEAD}),
        (
            None,
            {
                "candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP"}],
                "usageMetadata": _GOOGLE_USAGE,
                **_GOOGLE_HEAD,
            },
        ),
    ],
    sdk_response=_snake,
    sdk_chunk=lambda event, payload: _snake(payload),
    proxied_stream=False,
)

# -- Bedrock (boto3 bedrock-runtime) ------------------------------------------------------------------------------


_BOTO3_DEFAULT_SESSION = threading.Lock()


def _bedrock_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    from llmtrace.demo.providers.bedrock import make_client

    with _BOTO3_DEFAULT_SESSION:  # boto3.client() uses the default session, which is not thread-safe
        client = make_client(server, max_attempts=retries + 1)

    def add_headers(request: Any, **kwargs: Any) -> None:
        for key, value in headers.items():
            request.headers[key] = value

    client.meta.events.register("before-sign.bedrock-runtime", add_headers)
    return client


def _bedrock_kwargs(prompt: Prompt) -> dict[str, Any]:
    spec = {
        "name": prompt.tool_name,
        "description": prompt.tool_description,
        "inputSchema": {"json": {"type": "object"}},
    }
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"text": prompt.user}]}]
    if prompt.tool_result is not None:
        use = {"toolUseId": TOOL_CALL_ID, "name": prompt.tool_name, "input": TOOL_ARGUMENTS}
        result = {"toolUseId": TOOL_CALL_ID, "content": [{"text": prompt.tool_result}]}
        messages += [
            {"role": "assistant", "content": [{"toolUse": use}]},
            {"role": "user", "content": [{"toolResult": result}]},
        ]
    return {
        "modelId": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "system": [{"text": prompt.system}],
        "messages": messages,
        "toolConfig": {"tools": [{"toolSpec": spec}]},
        "inferenceConfig": {"maxTokens": 64},
    }


def _bedrock_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    if stream:  # ConverseStream returns a dict; the event stream the user iterates is under "stream"
        return client.converse_stream(**_bedrock_kwargs(prompt))["stream"]
    return client.converse(**_bedrock_kwargs(prompt))


def _bedrock_frame(name: str | None, payload: Any) -> bytes:
    """One event-stream frame; a raw string payload goes as is (the fuzzer's junk), anything else as JSON."""
    headers = {":event-type": str(name), ":content-type": "application/json", ":message-type": "event"}
    return event_message(headers, (payload if isinstance(payload, str) else json.dumps(payload)).encode())


_BEDROCK_USAGE = {"inputTokens": 12, "outputTokens": 5, "totalTokens": 17}
BEDROCK = ProviderCase(
    name="bedrock",
    sdk="boto3",
    make_client=_bedrock_client,
    make_async_client=None,
    chat=_bedrock_chat,
    achat=None,
    response={
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {"text": "Hello there"},
                    {"toolUse": {"toolUseId": "tooluse_1", "name": "lookup", "input": {"q": 1}}},
                ],
            }
        },
        "stopReason": "end_turn",
        "usage": _BEDROCK_USAGE,
        "metrics": {"latencyMs": 180},
    },
    stream_events=[
        ("messageStart", {"role": "assistant"}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hel"}}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "lo"}}),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("messageStop", {"stopReason": "end_turn"}),
        ("metadata", {"usage": _BEDROCK_USAGE, "metrics": {"latencyMs": 240}}),
    ],
    encode=_bedrock_frame,
    stream_content_type="application/vnd.amazon.eventstream",
    sdk_chunk=lambda event, payload: {str(event): payload},
    error_body=lambda message: {"__type": "ValidationException", "message": message},
    volatile=(_SDK_DATE, r"'RetryAttempts': \d+"),
)

# -- Mistral (mistralai) ------------------------------------------------------------------------------------------


def _mistral_sdk(server: Any, retries: int) -> Any:
    from mistralai.client import Mistral
    from mistralai.client.utils.retries import BackoffStrategy, RetryConfig

    from llmtrace.demo.providers.mistral import PREFIX

    if not retries:
        return Mistral(api_key="k", server_url=server.url + PREFIX, timeout_ms=5000)
    # The SDK's retry loop is bounded by time, not count: 10 ms apart with room for far more attempts than any
    # fault plan asks, so the plan (which ends in "ok") decides the number of retries. The bound counts from the
    # first attempt, which under the load test's 116 concurrent calls on 2 cores once took over 5 s by itself (the
    # SDK then raised the 429 without retrying): 60 s keeps the plan in charge.
    config = RetryConfig("backoff", BackoffStrategy(10, 20, 1.5, 60_000), True)
    return Mistral(api_key="k", server_url=server.url + PREFIX, retry_config=config, timeout_ms=5000)


def _mistral_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    return _Bound(_mistral_sdk(server, retries), _with_call_id(headers))


def _mistral_kwargs(client: _Bound, prompt: Prompt) -> dict[str, Any]:
    return {**_openai_kwargs(prompt, False), "model": "mistral-small-latest", "http_headers": client.headers}


def _mistral_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    kwargs = _mistral_kwargs(client, prompt)
    del kwargs["stream"]
    return client.sdk.chat.stream(**kwargs) if stream else client.sdk.chat.complete(**kwargs)


async def _mistral_achat(client: Any, prompt: Prompt, stream: bool) -> Any:
    kwargs = _mistral_kwargs(client, prompt)
    del kwargs["stream"]
    chat = client.sdk.chat
    return await (chat.stream_async(**kwargs) if stream else chat.complete_async(**kwargs))


_MISTRAL_USAGE = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
_MISTRAL_CHUNK = {"id": "cmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "mistral-small-latest"}
MISTRAL = ProviderCase(
    name="mistral",
    sdk="mistralai",
    make_client=_mistral_client,
    make_async_client=_mistral_client,
    chat=_mistral_chat,
    achat=_mistral_achat,
    response=_chat_completion("cmpl-1", "mistral-small-latest", "abcdefghi", _MISTRAL_USAGE),
    stream_events=_chat_chunks(_MISTRAL_CHUNK, _MISTRAL_USAGE, usage_chunk=False),
    # A mistral stream event is ``CompletionEvent(data=chunk)``.
    sdk_chunk=lambda event, payload: {"data": payload},
)

# -- Cohere (cohere v2) -------------------------------------------------------------------------------------------


def _cohere_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    """Made after ``instrument()`` (cohere binds chat/chat_stream onto each client when it is created)."""
    import cohere

    from llmtrace.demo.providers.cohere import PREFIX

    sdk = cohere.ClientV2(api_key="k", base_url=server.url + PREFIX, timeout=5.0, max_retries=retries)
    return _Bound(sdk, _with_call_id(headers))


def _cohere_async_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    import cohere

    from llmtrace.demo.providers.cohere import PREFIX

    sdk = cohere.AsyncClientV2(api_key="k", base_url=server.url + PREFIX, timeout=5.0, max_retries=retries)
    return _Bound(sdk, _with_call_id(headers))


def _cohere_kwargs(client: _Bound, prompt: Prompt) -> dict[str, Any]:
    kwargs = _openai_kwargs(prompt, False)
    del kwargs["stream"]
    options = {"additional_headers": client.headers}
    return {**kwargs, "model": "command-a-03-2025", "request_options": options}


def _cohere_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    kwargs = _cohere_kwargs(client, prompt)
    return client.sdk.chat_stream(**kwargs) if stream else client.sdk.chat(**kwargs)


async def _cohere_achat(client: Any, prompt: Prompt, stream: bool) -> Any:
    kwargs = _cohere_kwargs(client, prompt)
    return client.sdk.chat_stream(**kwargs) if stream else await client.sdk.chat(**kwargs)


_COHERE_USAGE = {
    "billed_units": {"input_tokens": 4, "output_tokens": 5},
    "tokens": {"input_tokens": 12, "output_tokens": 5},
    "cached_tokens": 0,
}


def _cohere_event(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return kind, {"type": kind, **fields}


COHERE = ProviderCase(
    name="cohere",
    sdk="cohere",
    make_client=_cohere_client,
    make_async_client=_cohere_async_client,
    chat=_cohere_chat,
    achat=_cohere_achat,
    response={
        "id": "c-1",
        "message": {
            "role": "assistant",
            "content": [{"type": "text", "text": "Hello there"}],
            "tool_calls": [
                {"id": "lookup_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": 1}'}}
            ],
        },
        "finish_reason": "COMPLETE",
        "usage": _COHERE_USAGE,
    },
    stream_events=[
        _cohere_event("message-start", id="c-1", delta={"message": {"role": "assistant", "content": []}}),
        _cohere_event("content-start", index=0, delta={"message": {"content": {"type": "text", "text": ""}}}),
        _cohere_event("content-delta", index=0, delta={"message": {"content": {"text": "Hel"}}}),
        _cohere_event("content-delta", index=0, delta={"message": {"content": {"text": "lo"}}}),
        _cohere_event("content-end", index=0),
        _cohere_event("message-end", delta={"finish_reason": "COMPLETE", "usage": _COHERE_USAGE}),
    ],
    stream_retries=False,
)

# -- LiteLLM (routed to the fake server's OpenAI API) -------------------------------------------------------------


def _litellm_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    """litellm has no client object: the per-call routing arguments (the openai SDK underneath retries)."""
    import litellm

    litellm.suppress_debug_info = True
    return {"api_base": server.openai_base_url, "api_key": "sk-k", "max_retries": retries, "extra_headers": headers}


def _litellm_kwargs(client: dict[str, Any], prompt: Prompt, stream: bool) -> dict[str, Any]:
    kwargs = {**_openai_kwargs(prompt, stream), **client, "model": "openai/gpt-4o-mini"}
    if stream:
        kwargs["stream_options"] = {"include_usage": True}
    return kwargs


def _litellm_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    import litellm

    return litellm.completion(**_litellm_kwargs(client, prompt, stream))


async def _litellm_achat(client: Any, prompt: Prompt, stream: bool) -> Any:
    import litellm

    return await litellm.acompletion(**_litellm_kwargs(client, prompt, stream))


LITELLM = ProviderCase(
    name="litellm",
    sdk="litellm",
    make_client=_litellm_client,
    make_async_client=_litellm_client,
    chat=_litellm_chat,
    achat=_litellm_achat,
    response=OPENAI.response,
    stream_events=OPENAI.stream_events,
    # litellm stamps what the body lacks (ids, created) with fresh values, and the time it took
    volatile=(_SDK_DATE, _UUID, r"created=\d+", r"'created': \d+", r"_response_ms=[\d.]+"),
)

PROVIDERS: tuple[ProviderCase, ...] = (OPENAI, ANTHROPIC, OLLAMA, GOOGLE, BEDROCK, MISTRAL, COHERE, LITELLM)
