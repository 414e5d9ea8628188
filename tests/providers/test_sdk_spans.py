"""SDKs that trace themselves (anthropic 2.14+ by default, mistralai's hook when switched on): one logical call is
one CLIENT span, llmtrace's, and the SDK's trace-context propagation carries it. With ``sdk_spans="keep"`` the
SDK's span nests under ours, and llmtrace's metrics still count each call once."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id

import llmtrace
from llmtrace.config import load_settings
from llmtrace.exceptions import ConfigError

anthropic = pytest.importorskip("anthropic")
mistralai = pytest.importorskip("mistralai")
from mistralai.client import Mistral  # noqa: E402

MODEL = "claude-haiku-4-5"
PROMPT = [{"role": "user", "content": "hi"}]


def _anthropic(server, telemetry, *, is_async=False):
    cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
    # The SDK's own tracer provider is the test's, so its spans land beside ours (a real app uses the global one).
    return cls(
        api_key="k",
        base_url=server.anthropic_base_url,
        max_retries=2,
        open_telemetry={"tracer_provider": telemetry.tracer_provider},
    )


def _mistral(server, telemetry):
    from mistralai.extra.observability import configure_telemetry

    client = Mistral(api_key="k", server_url=server.url + "/mistral")
    configure_telemetry(client, provider=telemetry.tracer_provider)
    return client


def _anthropic_sync(server, telemetry):
    _anthropic(server, telemetry).messages.create(model=MODEL, max_tokens=16, messages=PROMPT)


def _anthropic_stream(server, telemetry):
    with _anthropic(server, telemetry).messages.stream(model=MODEL, max_tokens=16, messages=PROMPT) as stream:
        for _ in stream.text_stream:
            pass


async def _anthropic_async(server, telemetry):
    stream = await _anthropic(server, telemetry, is_async=True).messages.create(
        model=MODEL, max_tokens=16, messages=PROMPT, stream=True
    )
    async for _ in stream:
        pass


def _mistral_sync(server, telemetry):
    _mistral(server, telemetry).chat.complete(model="mistral-small-latest", messages=PROMPT)


CALLS = {
    "anthropic-sync": _anthropic_sync,
    "anthropic-stream-helper": _anthropic_stream,
    "anthropic-async-stream": _anthropic_async,
    "mistral-sync": _mistral_sync,
}


async def _call(name, server, telemetry):
    result = CALLS[name](server, telemetry)
    if hasattr(result, "__await__"):
        await result


def _ours(spans):
    found = [s for s in spans if s.instrumentation_scope.name == "llmtrace"]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def _traceparent_of(span) -> str:
    """version-trace-span of a W3C traceparent (the flags byte depends on the sampler and the id generator)."""
    ctx = span.get_span_context()
    return f"00-{format_trace_id(ctx.trace_id)}-{format_span_id(ctx.span_id)}"


def _sent(server) -> list[str | None]:
    return [e.traceparent and e.traceparent.rsplit("-", 1)[0] for e in server.log]


@pytest.mark.parametrize("name", list(CALLS))
async def test_one_client_span_per_call_and_propagation_carries_it(name, server, telemetry):
    llmtrace.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    try:
        await _call(name, server, telemetry)
    finally:
        llmtrace.uninstrument()
    spans = telemetry.spans()
    ours = _ours(spans)
    assert [s.kind for s in spans] == [SpanKind.CLIENT], [(s.name, s.instrumentation_scope.name) for s in spans]
    # The SDK still sends a traceparent; it now names llmtrace's span, so the provider side joins our trace.
    assert _sent(server) == [_traceparent_of(ours)]
    assert telemetry.total("llm.calls") == 1


@pytest.mark.parametrize("name", list(CALLS))
async def test_keep_nests_the_sdk_span_under_ours_and_counts_once(name, server, telemetry):
    llmtrace.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider, sdk_spans="keep"
    )
    try:
        await _call(name, server, telemetry)
    finally:
        llmtrace.uninstrument()
    spans = telemetry.spans()
    ours = _ours(spans)
    theirs = [s for s in spans if s is not ours]
    assert len(theirs) == 1, [s.name for s in spans]
    assert theirs[0].parent is not None and theirs[0].parent.span_id == ours.context.span_id
    assert theirs[0].context.trace_id == ours.context.trace_id
    assert _sent(server) == [_traceparent_of(theirs[0])]
    assert telemetry.total("llm.calls") == 1


def test_a_call_llmtrace_does_not_record_keeps_the_sdks_span(server, telemetry):
    """Outside an llmtrace call (a method llmtrace does not wrap) the SDK's span is the only one: left alone."""
    llmtrace.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    try:
        client = _anthropic(server, telemetry)
        client.messages.count_tokens(model=MODEL, messages=PROMPT)
    except anthropic.APIStatusError:
        pass  # the fake server has no count_tokens route; the SDK's span is what this test looks at
    finally:
        llmtrace.uninstrument()
    assert [s.instrumentation_scope.name for s in telemetry.spans()] == ["com.anthropic.sdk.python"]


def test_uninstrument_restores_the_sdks_own_span(server, telemetry):
    llmtrace.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    llmtrace.uninstrument()
    _anthropic_sync(server, telemetry)
    assert [s.instrumentation_scope.name for s in telemetry.spans()] == ["com.anthropic.sdk.python"]


@pytest.mark.parametrize("value", ["maybe", "", "off"])
def test_bad_sdk_spans_setting_names_it(value):
    with pytest.raises(ConfigError, match=r"LLMTRACE_SDK_SPANS.*suppress, keep"):
        load_settings(env={"LLMTRACE_SDK_SPANS": value})
    with pytest.raises(ConfigError, match="sdk_spans"):
        load_settings({"sdk_spans": value})


def test_sdk_spans_setting_from_env_and_kwarg():
    assert load_settings(env={}).sdk_spans == "suppress"
    assert load_settings(env={"LLMTRACE_SDK_SPANS": " Keep "}).sdk_spans == "keep"
    assert load_settings({"sdk_spans": "suppress"}, env={"LLMTRACE_SDK_SPANS": "keep"}).sdk_spans == "suppress"
