"""The tool calls a model asks for are recorded for every provider, in every way its SDK can be called.

Each mode is one real SDK call (sync or async, whole or streamed, and the other APIs an SDK has for it: Anthropic's
``messages.stream()`` helper, OpenAI's Responses API, Bedrock's InvokeModel for Anthropic and Nova bodies, litellm
routed to Anthropic) that the fake server answers with a tool call (fault ``tool_call``). The LLM span must carry
the requested call's name, id and argument hash, and with ``capture_content`` ``gen_ai.output.messages`` must hold
it as a ``tool_call`` part (GenAI message schema). The truth is the fake server's answer: the tool the request
defined, the arguments it always sends, and the call id the SDK handed the user.

Streams are the hard half: most providers send a call's arguments as JSON text in pieces (OpenAI-shaped deltas,
Anthropic ``input_json_delta``, Bedrock ``toolUse`` deltas, Cohere ``tool-call-delta``), so a streamed call must hash
exactly as the same call unstreamed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

import llmtrace
from llmtrace.demo.fake_server import Reply
from tests.core.test_content_schema import _validate
from tests.reliability._providers import PROVIDERS, Prompt, ProviderCase, available

FAULT = {"x-llmtrace-fault": "tool_call"}
PROMPT = Prompt(system="Answer as a harbour master.", user="When is high tide?")
TOOL_NAME = PROMPT.tool_name  # the fake server calls the first tool the request defines
SERVER_ARGUMENTS = json.loads(Reply.__dataclass_fields__["tool_args"].default)  # what every fake tool call carries
# The hash of the arguments' canonical JSON (sorted keys, compact), computed here rather than by llmtrace's hasher.
ARGUMENTS_HASH = (
    "sha256:"
    + hashlib.sha256(
        json.dumps(SERVER_ARGUMENTS, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
)
ID_LESS = {"ollama", "google"}  # their APIs give a tool call no id
CASES = {case.name: case for case in PROVIDERS}


@dataclass(frozen=True)
class Mode:
    """One way to make a call: ``run(server)`` makes it (the fake server answering with a tool call) and returns
    everything the SDK handed the user (the response, or every stream event), where the call id must show."""

    id: str
    provider: str  # the ``llmtrace.instrument(providers=[...])`` name
    sdk: str
    run: Callable[[Any], list[Any]] | None = None
    arun: Callable[[Any], Awaitable[list[Any]]] | None = None


def _case_modes(case: ProviderCase) -> list[Mode]:
    """The provider's common chat call (its ``RELIABILITY_CASE``), sync and async, whole and streamed."""
    modes = []
    for stream in (False, True):
        suffix = "stream" if stream else "whole"

        def run(server: Any, stream: bool = stream) -> list[Any]:
            client = case.make_client(server, FAULT)  # held until the stream is read: some SDKs close on collection
            result = case.chat(client, PROMPT, stream)
            return list(result) if stream else [result]

        async def arun(server: Any, stream: bool = stream) -> list[Any]:
            assert case.make_async_client is not None and case.achat is not None
            client = case.make_async_client(server, FAULT)
            result = await case.achat(client, PROMPT, stream)
            return [event async for event in result] if stream else [result]

        modes.append(Mode(f"{case.name}-sync-{suffix}", case.name, case.sdk, run=run))
        if case.has_async:
            modes.append(Mode(f"{case.name}-async-{suffix}", case.name, case.sdk, arun=arun))
    return modes


# -- the other APIs that return tool calls ------------------------------------------------------------------------

_ANTHROPIC_KWARGS: dict[str, Any] = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": PROMPT.user}],
    "tools": [{"name": TOOL_NAME, "input_schema": {"type": "object"}}],
}


def _anthropic_helper(server: Any) -> list[Any]:
    with CASES["anthropic"].make_client(server, FAULT).messages.stream(**_ANTHROPIC_KWARGS) as stream:
        return [*stream, stream.get_final_message()]


async def _anthropic_helper_async(server: Any) -> list[Any]:
    client = CASES["anthropic"].make_async_client(server, FAULT)  # type: ignore[misc]
    async with client.messages.stream(**_ANTHROPIC_KWARGS) as stream:
        return [*[event async for event in stream], await stream.get_final_message()]


_RESPONSES_KWARGS: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "input": PROMPT.user,
    "tools": [{"type": "function", "name": TOOL_NAME, "parameters": {"type": "object"}}],
}


def _responses(stream: bool) -> Callable[[Any], list[Any]]:
    def run(server: Any) -> list[Any]:
        result = CASES["openai"].make_client(server, FAULT).responses.create(**_RESPONSES_KWARGS, stream=stream)
        return list(result) if stream else [result]

    return run


def _responses_async(stream: bool) -> Callable[[Any], Awaitable[list[Any]]]:
    async def arun(server: Any) -> list[Any]:
        client = CASES["openai"].make_async_client(server, FAULT)  # type: ignore[misc]
        result = await client.responses.create(**_RESPONSES_KWARGS, stream=stream)
        return [event async for event in result] if stream else [result]

    return arun


_INVOKE_BODIES = {
    "anthropic": (
        "anthropic.claude-3-haiku-20240307-v1:0",
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": PROMPT.user}],
            "tools": [{"name": TOOL_NAME, "input_schema": {"type": "object"}}],
        },
    ),
    "nova": (
        "amazon.nova-pro-v1:0",
        {
            "messages": [{"role": "user", "content": [{"text": PROMPT.user}]}],
            "toolConfig": {"tools": [{"toolSpec": {"name": TOOL_NAME, "inputSchema": {"json": {"type": "object"}}}}]},
        },
    ),
}


def _invoke(family: str, stream: bool) -> Callable[[Any], list[Any]]:
    """InvokeModel(WithResponseStream) with a model family's native body: the user reads JSON bytes."""

    def run(server: Any) -> list[Any]:
        model, body = _INVOKE_BODIES[family]
        client = CASES["bedrock"].make_client(server, FAULT)
        if stream:
            response = client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
            return [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
        return [json.loads(client.invoke_model(modelId=model, body=json.dumps(body))["body"].read())]

    return run


def _litellm_anthropic(stream: bool) -> Callable[[Any], list[Any]]:
    """litellm routed to Anthropic: litellm turns Anthropic's events into OpenAI-shaped chunks of its own."""

    def run(server: Any) -> list[Any]:
        import litellm

        result = litellm.completion(
            model="anthropic/claude-haiku-4-5",
            api_base=server.anthropic_base_url,
            api_key="sk-ant-test",
            messages=[{"role": "user", "content": PROMPT.user}],
            tools=[{"type": "function", "function": {"name": TOOL_NAME, "parameters": {"type": "object"}}}],
            max_tokens=64,
            extra_headers=FAULT,
            stream=stream,
        )
        return list(result) if stream else [result]

    return run


EXTRA_MODES = [
    Mode("anthropic-sync-helper", "anthropic", "anthropic", run=_anthropic_helper),
    Mode("anthropic-async-helper", "anthropic", "anthropic", arun=_anthropic_helper_async),
    *(
        Mode(f"openai-responses-sync-{s}", "openai", "openai", run=_responses(s == "stream"))
        for s in ("whole", "stream")
    ),
    *(
        Mode(f"openai-responses-async-{s}", "openai", "openai", arun=_responses_async(s == "stream"))
        for s in ("whole", "stream")
    ),
    *(
        Mode(f"bedrock-invoke-{family}-{s}", "bedrock", "boto3", run=_invoke(family, s == "stream"))
        for family in _INVOKE_BODIES
        for s in ("whole", "stream")
    ),
    *(
        Mode(f"litellm-anthropic-{s}", "litellm", "litellm", run=_litellm_anthropic(s == "stream"))
        for s in ("whole", "stream")
    ),
]
MODES = [mode for case in PROVIDERS for mode in _case_modes(case)] + [m for m in EXTRA_MODES if m.provider in CASES]
SYNC = [pytest.param(mode, id=mode.id) for mode in MODES if mode.run is not None]
ASYNC = [pytest.param(mode, id=mode.id) for mode in MODES if mode.arun is not None]


# -- the checks -----------------------------------------------------------------------------------------------------


def _instrument(mode: Mode, telemetry: Any) -> None:
    if not any(available(case) for case in PROVIDERS if case.sdk == mode.sdk):
        pytest.skip(f"{mode.sdk} not installed")
    llmtrace.instrument(providers=[mode.provider], tracer_provider=telemetry.tracer_provider, capture_content=True)


def _check(mode: Mode, telemetry: Any, seen: list[Any]) -> None:
    """One LLM span carrying the requested call (name, id, argument hash); the same call in the captured output."""
    attrs = dict(telemetry.span().attributes)
    assert attrs["llm.response.tool_calls"] == 1, attrs
    assert attrs["llm.response.tool_call_names"] == (TOOL_NAME,)
    assert attrs["llm.response.tool_call_argument_hashes"] == (ARGUMENTS_HASH,)
    (call_id,) = attrs["llm.response.tool_call_ids"]
    if mode.provider in ID_LESS:
        assert call_id == ""
    else:
        assert call_id and call_id in repr(seen), (call_id, seen)  # the id the SDK gave the user
    assert attrs["llm.stop_reason"] == "tool_use"
    raw = json.dumps(SERVER_ARGUMENTS["query"])[1:-1]
    assert not any(raw in str(value) for value in attrs.values())  # arguments leave as a hash only

    (event,) = [e for e in telemetry.span().events if e.name == "gen_ai.client.inference.operation.details"]
    output = json.loads(event.attributes["gen_ai.output.messages"])
    _validate("gen_ai.output.messages", output)
    parts = [part for message in output for part in message["parts"] if part["type"] == "tool_call"]
    assert parts == [{"type": "tool_call", "id": call_id or None, "name": TOOL_NAME, "arguments": SERVER_ARGUMENTS}], (
        output
    )
    assert output[-1]["finish_reason"] == "tool_call"


@pytest.mark.parametrize("mode", SYNC)
def test_requested_tool_call_is_recorded(mode, server, telemetry):
    _instrument(mode, telemetry)
    try:
        assert mode.run is not None
        seen = mode.run(server)
    finally:
        llmtrace.uninstrument()
    assert [e.fault for e in server.log] == ["tool_call"]
    _check(mode, telemetry, seen)


@pytest.mark.parametrize("mode", ASYNC)
async def test_requested_tool_call_is_recorded_async(mode, server, telemetry):
    _instrument(mode, telemetry)
    try:
        assert mode.arun is not None
        seen = await mode.arun(server)
    finally:
        llmtrace.uninstrument()
    assert [e.fault for e in server.log] == ["tool_call"]
    _check(mode, telemetry, seen)


# -- what the fake server never sends ---------------------------------------------------------------------------


def _chunk(choice: int, call: dict[str, Any]) -> Any:
    from openai.types.chat import ChatCompletionChunk

    delta = {"tool_calls": [call]}
    body = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    return ChatCompletionChunk.model_validate({**body, "choices": [{"index": choice, "delta": delta}]})


@pytest.mark.parametrize("provider", ["openai", "together", "groq"])
def test_streamed_calls_of_two_choices_stay_apart(provider):
    """``n=2``: each choice streams its own call at tool index 0, pieces interleaved; they are two calls."""
    pytest.importorskip("openai")
    import importlib

    from llmtrace.call import LLMRecord

    module = importlib.import_module(f"llmtrace.providers.{provider}")
    record = LLMRecord(provider, "chat", streaming=True)
    state = module.PROVIDER.stream_state(record, None)
    for choice, call in [
        (0, {"index": 0, "id": "call_a", "type": "function", "function": {"name": "lookup", "arguments": ""}}),
        (1, {"index": 0, "id": "call_b", "type": "function", "function": {"name": "search", "arguments": ""}}),
        (0, {"index": 0, "function": {"arguments": '{"q": '}}),
        (1, {"index": 0, "function": {"arguments": '{"r": 2}'}}),
        (0, {"index": 0, "function": {"arguments": "1}"}}),
    ]:
        state.process_chunk(_chunk(choice, call))
    state.flush(record)
    assert record.tool_calls == 2
    assert record.output_tool_calls == [("call_a", "lookup", '{"q": 1}'), ("call_b", "search", '{"r": 2}')]


def test_mistral_calls_sent_whole_in_one_delta_are_each_a_call():
    """Mistral sends parallel calls whole in one delta, without an index (its SDK fills in 0): ids tell them apart."""
    pytest.importorskip("mistralai")
    from mistralai.client.models import CompletionEvent

    from llmtrace.call import LLMRecord
    from llmtrace.providers import mistral

    calls = [
        {"id": "a1b2c3d4e", "function": {"name": "lookup", "arguments": '{"q": 1}'}},
        {"id": "f5g6h7i8j", "function": {"name": "search", "arguments": {"r": 2}}},
    ]
    chunk = {"id": "x", "model": "m", "choices": [{"index": 0, "delta": {"tool_calls": calls}, "finish_reason": None}]}
    record = LLMRecord("mistral", "chat", streaming=True)
    state = mistral.PROVIDER.stream_state(record, None)
    state.process_chunk(CompletionEvent.model_validate({"data": chunk}))
    state.flush(record)
    assert record.output_tool_calls == [("a1b2c3d4e", "lookup", '{"q": 1}'), ("f5g6h7i8j", "search", {"r": 2})]
