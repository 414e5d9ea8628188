"""The real ``ollama`` SDK over HTTP to the fake provider server (Ollama's JSON and NDJSON), instrumented."""

from __future__ import annotations

from typing import Any

import httpx
import ollama
import pytest

from llmtrace.demo.fake_server import ndjson_line

from .._assertions import assert_attributes
from ..reliability._case import (
    Prompt,
    ProviderCase,
    function_chat,
)

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name three rivers."}]


@pytest.fixture
def client(server, instrumented):
    return ollama.Client(host=server.url)


def test_chat(client, instrumented, server):
    reply = client.chat(model="llama3.2", messages=MESSAGES, options={"temperature": 0.1, "num_predict": 64})
    (exchange,) = server.log
    attrs = dict(instrumented.span().attributes)
    assert reply.message.content == exchange.text
    assert_attributes(
        attrs,
        {
            "llm.provider": "ollama",
            "llm.model": "llama3.2",
            "llm.tokens.input": exchange.usage["input"],
            "llm.tokens.output": exchange.usage["output"],
            "llm.stop_reason": "stop",
            "llm.temperature": 0.1,
            "llm.max_tokens": 64,
            "gen_ai.provider.name": "ollama",
        },
    )
    assert attrs["llm.cost.unpriced"] is True and "llm.cost_usd" not in attrs  # local models have no list price
    assert attrs["llm.prompt.system_length"] == len("Be brief.")
    assert instrumented.total("llm.unpriced_calls", provider="ollama") == 1


def test_chat_stream_and_module_level_alias(server, instrumented):
    client = ollama.Client(host=server.url, headers={"x-llmtrace-chunks": "7", "x-llmtrace-ttft-ms": "20"})
    parts = list(client.chat(model="llama3.2", messages=MESSAGES, stream=True))
    (exchange,) = server.log
    (span,) = instrumented.spans()
    attrs = dict(span.attributes)
    assert "".join(p.message.content for p in parts) == exchange.text
    assert attrs["llm.streaming"] is True and attrs["llm.chunks"] == exchange.chunks == 7
    assert attrs["llm.ttft_ms"] >= 20 and attrs["llm.tokens.output"] == exchange.usage["output"]
    ollama_default = ollama._client
    ollama_default._client.base_url = server.url  # the module-level ollama.chat uses the default client
    ollama.chat(model="llama3.2", messages=MESSAGES)
    assert len(instrumented.spans()) == 2


async def test_async_chat_stream_generate_and_embed(server, instrumented):
    client = ollama.AsyncClient(host=server.url)
    reply = await client.chat(model="llama3.2", messages=MESSAGES)
    parts = [p async for p in await client.chat(model="llama3.2", messages=MESSAGES, stream=True)]
    generated = await client.generate(model="llama3.2", prompt="Say hi", system="Be brief.")
    embedded = await client.embed(model="nomic-embed-text", input=["a", "b"])
    assert reply.message.content == server.log[0].text and parts[-1].done and generated.response == server.log[2].text
    assert len(embedded.embeddings) == 2
    spans = sorted(instrumented.spans(), key=lambda s: s.start_time)
    assert [s.attributes["llm.operation"] for s in spans] == ["chat", "chat", "completion", "embeddings"]
    for span, exchange in zip(spans, server.log, strict=True):
        assert span.attributes["llm.tokens.input"] == exchange.usage["input"]
    assert spans[1].attributes["llm.chunks"] == server.log[1].chunks


def test_positional_arguments_are_read(client, instrumented, server):
    client.generate("llama3.2", "Say hi")
    assert instrumented.span().attributes["llm.model"] == "llama3.2"


@pytest.mark.parametrize(
    ("plan", "status", "error_type"),
    [("not_found", 404, "not_found"), ("server_error", 500, "server_error"), ("rate_limit", 429, "rate_limit")],
)
def test_errors(server, instrumented, plan, status, error_type):
    client = ollama.Client(host=server.url, headers={"x-llmtrace-fault": plan})
    with pytest.raises(ollama.ResponseError) as info:
        client.chat(model="llama3.2", messages=MESSAGES)
    attrs = dict(instrumented.span().attributes)
    assert info.value.status_code == status
    assert (attrs["llm.error.type"], attrs["llm.error.status"], attrs["error.type"]) == (
        error_type,
        status,
        "ResponseError",
    )


def test_stream_cut(server, instrumented):
    client = ollama.Client(host=server.url, headers={"x-llmtrace-fault": "stream_cut"})
    with pytest.raises(httpx.RemoteProtocolError):  # the transport's own error, re-raised unchanged
        list(client.chat(model="llama3.2", messages=MESSAGES, stream=True))
    span = instrumented.span()
    assert span.status.status_code.name == "ERROR" and span.attributes["llm.error.type"] == "connection"


def test_uninstrument_restores_module_aliases(server, telemetry):
    import llmtrace

    llmtrace.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    llmtrace.uninstrument()
    ollama.Client(host=server.url).chat(model="llama3.2", messages=MESSAGES)
    assert telemetry.spans() == []


# -- the reliability table's entry (tests/reliability: fuzzing, transparency, load, content safety) ----------


def _ollama_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    import ollama

    return ollama.Client(host=server.url, headers=headers)


def _ollama_async_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    import ollama

    return ollama.AsyncClient(host=server.url, headers=headers)


def _ollama_kwargs(prompt: Prompt, stream: bool) -> dict[str, Any]:
    return function_chat("llama3.2", prompt, stream, json_arguments=False)


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
RELIABILITY_CASE = ProviderCase(
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
