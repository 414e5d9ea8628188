"""Instrumented SDK objects behave exactly like the SDK's own; uninstrument() restores; instrument twice is a no-op.

The stream checks are table-driven over ``_providers.PROVIDERS``: the same call is made with instrumentation
suppressed (the SDK's own object) and instrumented (our proxy), and every public behaviour is compared.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
import wrapt
from opentelemetry import context as otel_context

import llmtrace
from llmtrace import _instrument
from llmtrace.integrations import INTEGRATIONS
from llmtrace.providers import PROVIDER_MODULES
from llmtrace.streams import AsyncStreamProxy, SyncStreamProxy

from ._providers import PROVIDERS, Prompt, ProviderCase, available

try:
    from opentelemetry.instrumentation.utils import _SUPPRESS_INSTRUMENTATION_KEY
except ImportError:  # pragma: no cover
    from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY  # type: ignore[attr-defined,no-redef]

PROMPT = Prompt(system="Be brief.", user="Name three rivers.")
CASES = [pytest.param(case, id=case.name) for case in PROVIDERS]


@pytest.fixture
def traced(telemetry) -> Iterator[Any]:
    # the available providers and the integrations (providers= names both; uninstalled frameworks are skipped)
    names = [case.name for case in PROVIDERS if available(case)] + [spec.name for spec in INTEGRATIONS]
    llmtrace.instrument(
        providers=names, tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    yield telemetry
    llmtrace.uninstrument()


class _Suppressed:
    def __enter__(self) -> None:
        self._token = otel_context.attach(otel_context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))

    def __exit__(self, *exc: object) -> None:
        otel_context.detach(self._token)


def _skip_missing(case: ProviderCase) -> None:
    if not available(case):
        pytest.skip(f"{case.sdk} not installed")


def _skip_sync_only(case: ProviderCase) -> None:
    _skip_missing(case)
    if not case.has_async:
        pytest.skip(f"{case.sdk} has no async client")


def _is_proxy(case: ProviderCase, stream: Any, bare: Any, proxy_class: type) -> bool:
    """The instrumented stream is our proxy of the SDK's object, or (SDKs whose public stream is their own generator
    around the proxied request, like google-genai's) an object of exactly the SDK's own type."""
    if case.proxied_stream:
        return isinstance(stream, proxy_class) and isinstance(stream, type(bare))
    return type(stream) is type(bare) and not isinstance(stream, proxy_class)


def _public(obj: Any) -> set[str]:
    return {name for name in dir(obj) if not name.startswith("_")}


def _dumps(chunks: list[Any]) -> list[str]:
    """Chunks without per-response ids/timestamps (the fake server makes each response unique)."""
    return [type(c).__qualname__ for c in chunks]


def _headers(response: Any) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower() not in ("date", "x-request-id", "request-id")}


# -- streams ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_sync_stream_keeps_public_behaviour(case, server, traced):
    _skip_missing(case)
    client = case.make_client(server, {"x-llmtrace-chunks": "4"})
    with _Suppressed():
        bare = case.chat(client, PROMPT, True)
    stream = case.chat(client, PROMPT, True)
    assert _is_proxy(case, stream, bare, SyncStreamProxy)
    assert _public(bare) <= _public(stream)
    if hasattr(bare, "response"):  # HTTP response and headers reachable through the proxy
        assert stream.response.status_code == bare.response.status_code == 200
        assert _headers(stream.response) == _headers(bare.response)
    # iterating as the SDK does: a stream that is its own iterator stays so, one whose __iter__ makes a generator
    assert (iter(stream) is stream) == (iter(bare) is bare)
    with _Suppressed():
        bare_chunks = list(bare)
    chunks = list(stream)
    assert _dumps(chunks) == _dumps(bare_chunks) and len(chunks) >= 4
    (span,) = traced.spans()
    assert span.attributes["llm.chunks"] == 4 and "llm.stream.incomplete" not in span.attributes


@pytest.mark.parametrize("case", CASES)
def test_sync_stream_context_manager_and_close(case, server, traced):
    _skip_missing(case)
    client = case.make_client(server, {"x-llmtrace-chunks": "6"})
    with _Suppressed():
        bare = case.chat(client, PROMPT, True)
    stream = case.chat(client, PROMPT, True)
    if hasattr(bare, "__enter__"):
        with stream as inside:
            assert inside is stream
            next(inside)
        with _Suppressed(), bare as bare_inside:
            assert bare_inside is bare
            next(bare_inside)
    else:  # generators (Ollama, Cohere, Gemini) and Bedrock's event stream: close() is the only early exit
        next(iter(stream))  # iter(): Bedrock's EventStream is iterable, not an iterator
        stream.close()
        with _Suppressed():
            next(iter(bare))
        bare.close()
    (span,) = traced.spans()
    assert span.attributes["llm.stream.incomplete"] is True  # abandoned early: recorded as such, ended once
    stream.close()  # closing again is harmless, like the SDK's
    _next_after_close(stream)  # whatever the SDK does after close (timing-dependent buffering): no second end
    assert len(traced.spans()) == 1


@pytest.mark.parametrize("case", CASES)
async def test_async_stream_keeps_public_behaviour(case, server, traced):
    _skip_sync_only(case)
    client = case.make_async_client(server, {"x-llmtrace-chunks": "4"})
    with _Suppressed():
        bare = await case.achat(client, PROMPT, True)
    stream = await case.achat(client, PROMPT, True)
    assert _is_proxy(case, stream, bare, AsyncStreamProxy)
    assert _public(bare) <= _public(stream)
    if hasattr(bare, "response"):
        assert stream.response.status_code == 200 and _headers(stream.response) == _headers(bare.response)
    assert (stream.__aiter__() is stream) == (bare.__aiter__() is bare)
    assert hasattr(stream, "aclose") == hasattr(bare, "aclose") and hasattr(stream, "response") == hasattr(
        bare, "response"
    )
    with _Suppressed():
        bare_chunks = [c async for c in bare]
    chunks = [c async for c in stream]
    assert _dumps(chunks) == _dumps(bare_chunks)
    (span,) = traced.spans()
    assert span.attributes["llm.chunks"] == 4


@pytest.mark.parametrize("case", CASES)
async def test_async_stream_context_manager_and_close(case, server, traced):
    _skip_sync_only(case)
    client = case.make_async_client(server, {"x-llmtrace-chunks": "6"})
    stream = await case.achat(client, PROMPT, True)
    bare = stream.__wrapped__ if case.proxied_stream else stream
    if hasattr(bare, "__aenter__"):
        async with stream as inside:
            assert inside is stream
            await inside.__anext__()
        closed = stream.close()  # closing again is harmless (litellm's close() is sync, others' a coroutine)
        if inspect.isawaitable(closed):
            await closed
    else:  # async generators (Ollama, Cohere, Gemini): aclose() is the early exit
        await stream.__anext__()
        await stream.aclose()
    for _ in range(100):  # Gemini's own generator lets go of the proxied request on a later loop iteration
        if traced.spans() or case.proxied_stream:
            break
        await asyncio.sleep(0.01)
    (span,) = traced.spans()
    assert span.attributes["llm.stream.incomplete"] is True


def test_anthropic_stream_helper_keeps_text_stream_and_final_message(server, traced):
    import anthropic

    client = anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url, max_retries=0)
    kwargs = {"model": "claude-sonnet-4-6", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    with _Suppressed(), client.messages.stream(**kwargs) as bare:
        bare_text = "".join(bare.text_stream)
        bare_public = _public(bare)
    with client.messages.stream(**kwargs) as stream:
        assert _public(stream) == bare_public
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
        assert stream.response.status_code == 200 and stream.request_id == bare.request_id
        assert stream.current_message_snapshot.id == final.id
    assert final.content[0].text == text == server.log[1].text and bare_text == server.log[0].text
    assert final.usage.output_tokens == server.log[1].usage["output"]
    (span,) = traced.spans()
    assert span.attributes["llm.tokens.output"] == final.usage.output_tokens
    assert span.attributes["llm.response.id"] == final.id


async def test_anthropic_async_stream_helper(server, traced):
    import anthropic

    client = anthropic.AsyncAnthropic(api_key="k", base_url=server.anthropic_base_url, max_retries=0)
    kwargs = {"model": "claude-sonnet-4-6", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    async with client.messages.stream(**kwargs) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert final.content[0].text == text == server.log[0].text
    (span,) = traced.spans()
    assert span.attributes["llm.response.id"] == final.id


def test_openai_raw_and_streaming_response_wrappers(server, traced):
    import openai

    client = openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0)
    kwargs = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    raw = client.chat.completions.with_raw_response.create(**kwargs)
    assert raw.headers["content-type"] == "application/json" and raw.http_response.status_code == 200
    parsed = raw.parse()
    assert parsed.choices[0].message.content == server.log[0].text
    with client.chat.completions.with_streaming_response.create(**kwargs, stream=True) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    with client.chat.completions.stream(**kwargs) as helper:
        final = helper.get_final_completion()
    assert final.choices[0].message.content == server.log[2].text
    spans = traced.spans()
    assert len(spans) == 3
    assert spans[0].attributes["llm.response.id"] == parsed.id
    assert spans[2].attributes["llm.response.id"] == final.id


def _next_after_close(stream: Any) -> str:
    try:
        return type(next(stream)).__qualname__
    except BaseException as exc:
        return type(exc).__qualname__


# -- uninstrument / double instrument -------------------------------------------------------------------------


def _targets(case: ProviderCase) -> dict[tuple[Any, str], Any]:
    """(class, method) -> the object in the class __dict__ right now, for every wrap target of the provider."""
    found = {}
    for target in case.provider_module().PROVIDER.targets:
        module = importlib.import_module(target.module)
        cls_name, method = target.name.rsplit(".", 1)
        cls = getattr(module, cls_name, None)
        if cls is not None and method in cls.__dict__:
            found[(cls, method)] = cls.__dict__[method]
    return found


def _transport_sends() -> dict[Any, Any]:
    out = {}
    for name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for cls in (module.Client, module.AsyncClient):
            out[cls] = cls.__dict__["send"]
    return out


@pytest.mark.parametrize("case", CASES)
def test_uninstrument_restores_the_original_functions(case, telemetry):
    _skip_missing(case)
    before, sends = _targets(case), _transport_sends()
    assert before and not any(isinstance(f, wrapt.FunctionWrapper) for f in before.values())
    llmtrace.instrument(providers=[case.name], tracer_provider=telemetry.tracer_provider)
    during = _targets(case)
    assert all(isinstance(during[k], wrapt.FunctionWrapper) and during[k].__wrapped__ is f for k, f in before.items())
    llmtrace.uninstrument()
    after = _targets(case)
    assert all(after[k] is f for k, f in before.items())
    assert _transport_sends() == sends and all(_transport_sends()[c] is f for c, f in sends.items())


@pytest.mark.parametrize("case", CASES)
def test_instrumenting_twice_does_not_double_wrap(case, server, telemetry):
    _skip_missing(case)
    before = _targets(case)
    instrumentor_cls = type(_instrumentor_of(case))
    try:
        llmtrace.instrument(providers=[case.name], tracer_provider=telemetry.tracer_provider)
        llmtrace.instrument(providers=[case.name], tracer_provider=telemetry.tracer_provider)
        instrumentor_cls().instrument(tracer_provider=telemetry.tracer_provider)  # the OTel entry-point path too
        for key, original in before.items():
            wrapper = _targets(case)[key]
            assert isinstance(wrapper, wrapt.FunctionWrapper) and wrapper.__wrapped__ is original, key
        case.chat(case.make_client(server, {}), PROMPT, False)
        (span,) = telemetry.spans()  # one span, not one per wrapper layer
        assert span.attributes["llm.retry_count"] == 0  # one HTTP attempt counted once: transport hook not doubled
        assert len(server.log) == 1
    finally:
        llmtrace.uninstrument()
        instrumentor_cls().uninstrument()
    assert all(_targets(case)[k] is f for k, f in before.items())


def _instrumentor_of(case: ProviderCase) -> Any:
    module, class_name, _ = PROVIDER_MODULES[case.name]
    return getattr(importlib.import_module(module), class_name)()


def test_active_instrumentors_are_the_table(traced):
    """Every available provider of the table, and every installed agent-framework integration (the dev extra)."""
    integrations = {spec.name for spec in INTEGRATIONS if _instrument.sdk_installed(spec.framework_module)}
    assert set(_instrument._active) == {case.name for case in PROVIDERS if available(case)} | integrations
