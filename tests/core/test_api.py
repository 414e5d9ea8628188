"""Public API: exports, instrument/uninstrument, attribution context, baggage, log_call."""

from __future__ import annotations

import openai
import pytest
from opentelemetry import baggage
from opentelemetry import context as otel_context

import llmtrace
from llmtrace.semconv import Attr


def test_public_all_is_sorted_and_complete():
    assert llmtrace.__all__ == sorted(llmtrace.__all__)
    for name in llmtrace.__all__:
        assert hasattr(llmtrace, name)


def test_instrument_twice_does_not_double_wrap_and_uninstrument_restores(server, telemetry):
    completions = openai.resources.chat.completions.completions.Completions
    original = completions.__dict__["create"]
    for _ in range(2):
        llmtrace.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    client = openai.OpenAI(api_key="k", base_url=server.openai_base_url)
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert len(telemetry.spans()) == 1
    llmtrace.uninstrument()
    assert completions.__dict__["create"] is original
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert len(telemetry.spans()) == 1


def _instrumented_now() -> set[str]:
    """Names of the providers and integrations whose instrumentor is instrumented right now."""
    import importlib

    from llmtrace.integrations import INTEGRATIONS
    from llmtrace.providers import PROVIDER_MODULES

    classes = {name: (module, cls) for name, (module, cls, _) in PROVIDER_MODULES.items()}
    classes.update({spec.name: (spec.module, spec.instrumentor) for spec in INTEGRATIONS})
    return {
        name
        for name, (module, cls) in classes.items()
        if getattr(importlib.import_module(module), cls)().is_instrumented_by_opentelemetry
    }


@pytest.mark.parametrize("names", [["openai"], ["openai", "mcp", "langchain"], "anthropic,openai_agents", []], ids=repr)
def test_instrument_providers_selects_providers_and_integrations(telemetry, names):
    """``providers=`` is the list of what to instrument, integrations included: what it leaves out stays untraced."""
    wanted = set(names.split(",") if isinstance(names, str) else names)
    try:
        done = llmtrace.instrument(providers=names, tracer_provider=telemetry.tracer_provider)
        assert set(done) == wanted == _instrumented_now()
    finally:
        llmtrace.uninstrument()
    assert _instrumented_now() == set()


@pytest.mark.parametrize("names", [["openai", "langgraph"], ["OpenAI Agents"], 5])
def test_instrument_unknown_provider_name_raises_before_patching(names):
    completions = openai.resources.chat.completions.completions.Completions
    original = completions.__dict__["create"]
    with pytest.raises(llmtrace.ConfigError) as info:
        llmtrace.instrument(providers=names)
    message = str(info.value)
    assert message.startswith("providers=") and "accepted" in message, message
    assert "openai_agents" in message and "langchain" in message and "anthropic" in message, message
    assert completions.__dict__["create"] is original and _instrumented_now() == set()


def test_attributes_context_and_labels(server, instrumented):
    client = openai.OpenAI(api_key="k", base_url=server.openai_base_url)
    with llmtrace.attributes(agent="planner", tenant="acme"):
        with llmtrace.attributes(session="s-1", user="u-9"):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    attrs = dict(instrumented.span().attributes)
    assert (attrs[Attr.AGENT], attrs[Attr.TENANT], attrs[Attr.SESSION], attrs[Attr.USER]) == (
        "planner",
        "acme",
        "s-1",
        "u-9",
    )
    assert attrs["gen_ai.conversation.id"] == attrs["session.id"] == "s-1"
    ((labels, _),) = instrumented.points("llm.calls")
    assert labels["agent"] == "planner" and labels["tenant"] == "acme"
    assert "session" not in labels and "user" not in labels


def test_baggage_fills_attribution(server, instrumented):
    client = openai.OpenAI(api_key="k", base_url=server.openai_base_url)
    ctx = baggage.set_baggage("llm.tenant", "initech", baggage.set_baggage("llm.agent", "router"))
    token = otel_context.attach(ctx)
    try:
        with llmtrace.attributes(agent="explicit"):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    finally:
        otel_context.detach(token)
    attrs = dict(instrumented.span().attributes)
    assert (attrs[Attr.AGENT], attrs[Attr.TENANT]) == ("explicit", "initech")


def test_suppressed_instrumentation_calls_through(server, instrumented):
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    client = openai.OpenAI(api_key="k", base_url=server.openai_base_url)
    with suppress_instrumentation():
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert instrumented.spans() == [] and instrumented.points("llm.calls") == []


def test_log_call_records_same_attributes_and_metrics(instrumented):
    llmtrace.log_call(
        provider="openai",
        model="gpt-4o-mini",
        input_tokens=1000,
        output_tokens=500,
        cache_read_tokens=200,
        latency_s=1.5,
        ttft_s=0.25,
        chunks=12,
        retries=1,
        finish_reason="stop",
    )
    llmtrace.log_call(provider="acme", model="acme-large", error_type="rate_limit", latency_s=0.1)
    ok, failed = sorted(instrumented.spans(), key=lambda s: s.attributes["llm.provider"] != "openai")
    assert ok.attributes["llm.cost_usd"] == pytest.approx(0.000435)
    assert ok.attributes["llm.ttft_ms"] == pytest.approx(250) and ok.attributes["llm.retry_count"] == 1
    # backdated by latency_s: the span and the latency cover at least that (plus recording it, on a loaded machine)
    assert ok.attributes["llm.latency_ms"] >= 1500 and ok.end_time - ok.start_time >= 1_500_000_000
    assert failed.attributes["llm.error.type"] == "rate_limit" and failed.status.status_code.name == "ERROR"
    assert instrumented.total("llm.calls") == 2 and instrumented.total("llm.retries") == 1
    with pytest.raises(ValueError, match="not_a_type"):
        llmtrace.log_call(provider="x", model="y", error_type="not_a_type")


def test_instrumentors_used_on_their_own_share_one_llm_tracer():
    """Under opentelemetry-instrument each provider's instrumentor builds its LLM tracer from the same environment:
    they share one (one tracer, one set of instruments, one price book), and different settings get their own."""
    from llmtrace import _state
    from llmtrace.providers.anthropic import AnthropicInstrumentor
    from llmtrace.providers.openai import OpenAIInstrumentor

    first, second = OpenAIInstrumentor(), AnthropicInstrumentor()
    first.instrument()
    second.instrument()
    try:
        assert first._llm_tracer is second._llm_tracer is _state.get_llm_tracer()
    finally:
        second.uninstrument()
        first.uninstrument()
    first.instrument(capture_content=True)
    try:
        assert first._llm_tracer is not second._llm_tracer and first._llm_tracer.settings.capture_content
    finally:
        first.uninstrument()
        _state.set_llm_tracer(None)
