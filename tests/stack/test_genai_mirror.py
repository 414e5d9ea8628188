"""The collector's gen_ai.* mirror (transform/genai_mirror) against llmtrace's in-process one.

The same calls are made twice through the real SDKs (and ``log_call``): once with the in-process mirror (the
default) and once with ``genai_semconv=False``, both exported to the real collector. In Jaeger, the second set must
carry the same ``gen_ai.*`` / ``error.type`` / ``user.id`` / ``http.request.resend_count`` tags as the first,
except for the documented differences, and the first set must pass the collector unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import anthropic
import openai
import pytest
import yaml

import llmtrace
from llmtrace.demo.fake_server import FakeProviderServer

from .conftest import ROOT, Stack, wait_until

SERVICE = "llmtrace-genai-mirror-test"  # its own service: the workload tests count their traces exactly
MIRRORED = ("gen_ai.", "error.type", "session.id", "user.id", "http.request.resend_count")
# Values that differ from call to call: checked against the same span's llm.* twin instead of across the sides.
PER_CALL = {"gen_ai.response.id": "llm.response.id", "gen_ai.response.time_to_first_chunk": "llm.ttft_ms"}
CASES = (
    "openai-params",
    "openai-stream-429",
    "anthropic-end-turn",
    "openai-auth",
    "gemini-logged",
    "completion-logged",
    "bedrock-logged",
)


def _calls(server: FakeProviderServer) -> dict[str, Callable[[], Any]]:
    """One call per case; each case's span is found in Jaeger by its llm.agent tag."""
    oa = openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=2)
    an = anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url, max_retries=0)
    messages = [{"role": "user", "content": "Name a river."}]

    def openai_params() -> None:
        oa.chat.completions.create(
            model="gpt-4o-mini", messages=messages, temperature=0.3, max_tokens=64, top_p=0.9, user="ignored"
        )

    def openai_stream_after_429() -> None:
        stream = oa.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"x-llmtrace-fault": "rate_limit,ok", "x-llmtrace-usage": "input=50,output=9,cache_read=32"},
        )
        for _ in stream:
            pass

    def anthropic_end_turn() -> None:
        an.messages.create(model="claude-haiku-4-5", max_tokens=100, system="Be brief.", messages=messages)

    def openai_auth_error() -> None:
        with pytest.raises(openai.AuthenticationError):
            oa.chat.completions.create(model="gpt-4o", messages=messages, extra_headers={"x-llmtrace-fault": "auth"})

    def gemini_logged() -> None:
        llmtrace.log_call(
            provider="google",
            model="gemini-2.5-flash",
            input_tokens=300,
            output_tokens=40,
            cache_read_tokens=100,
            reasoning_tokens=12,
            latency_s=0.8,
            ttft_s=0.25,
            finish_reason="MAX_TOKENS",
            response_id="resp-g1",
        )

    def completion_logged() -> None:
        llmtrace.log_call(provider="openai", operation="completion", model="gpt-3.5-turbo-instruct", input_tokens=7)

    def bedrock_logged() -> None:
        llmtrace.log_call(provider="bedrock", model="amazon.nova-lite-v1:0", error_type="rate_limit", retries=3)

    calls = (
        openai_params,
        openai_stream_after_429,
        anthropic_end_turn,
        openai_auth_error,
        gemini_logged,
        completion_logged,
        bedrock_logged,
    )
    return dict(zip(CASES, calls, strict=True))


def _emit(stack: Stack, server: FakeProviderServer, mirror: bool) -> list[dict[str, Any]]:
    """Make every case's call; returns the spans as the app exported them (to check what left the process)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    sent = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{stack.otlp_http}/v1/traces")))
    provider.add_span_processor(SimpleSpanProcessor(sent))
    llmtrace.instrument(tracer_provider=provider, meter_provider=MeterProvider(), genai_semconv=mirror)
    try:
        for case, call in _calls(server).items():
            with llmtrace.attributes(agent=f"{case}/{'app' if mirror else 'collector'}", session="s-1", user="u-7"):
                call()
    finally:
        llmtrace.uninstrument()
        provider.shutdown()
    return [dict(span.attributes) for span in sent.get_finished_spans()]


def _mirrored_tags(span: dict[str, Any]) -> dict[str, Any]:
    keep = (*MIRRORED, *PER_CALL.values())
    return {t["key"]: t["value"] for t in span["tags"] if t["key"].startswith(keep)}


@pytest.fixture(scope="module")
def mirrored(stack: Stack) -> dict[str, dict[str, dict[str, Any]]]:
    """case -> {"app": tags, "collector": tags} as stored in Jaeger."""
    with FakeProviderServer(seed=5) as server:
        in_app = _emit(stack, server, mirror=True)
        bare = _emit(stack, server, mirror=False)
    assert all(any(k.startswith("gen_ai.") for k in attrs) for attrs in in_app)
    assert not any(k.startswith(MIRRORED) for attrs in bare for k in attrs), "genai_semconv=False sent a mirror key"

    def stored() -> dict[str, dict[str, dict[str, Any]]] | None:
        traces = stack.jaeger_traces(service=SERVICE)
        found: dict[str, dict[str, dict[str, Any]]] = {}
        for trace in traces:
            for span in trace["spans"]:
                agent = next(t["value"] for t in span["tags"] if t["key"] == "llm.agent")
                case, side = agent.split("/")
                found.setdefault(case, {})[side] = _mirrored_tags(span)
        complete = len(found) == len(CASES) and all(len(sides) == 2 for sides in found.values())
        return found if complete else None

    return wait_until(stored, 30, "both span sets in jaeger")


def test_collector_mirror_equals_the_in_process_mirror(mirrored: dict[str, dict[str, dict[str, Any]]]):
    # Documented differences: finish_reasons carries the normalized llm.stop_reason, error.type the llm.error.type
    # category (in-process: the provider's raw reason and the exception class).
    expected_differences = {
        "anthropic-end-turn": {"gen_ai.response.finish_reasons": ('["end_turn"]', '["stop"]')},
        "gemini-logged": {"gen_ai.response.finish_reasons": ('["MAX_TOKENS"]', '["length"]')},
        "openai-auth": {"error.type": ("AuthenticationError", "auth")},
        "bedrock-logged": {"error.type": ("LoggedCallError", "rate_limit")},
    }
    for case, sides in mirrored.items():
        app, collector = sides["app"], sides["collector"]
        assert set(app) == set(collector), (case, set(app) ^ set(collector))
        for key, twin in PER_CALL.items():
            for side in (app, collector):
                if key in side:
                    expected = side[twin] / 1000.0 if twin == "llm.ttft_ms" else side[twin]
                    assert side[key] == pytest.approx(expected), (case, key)
        for key, value in app.items():
            if key in PER_CALL or key in PER_CALL.values():
                continue
            if key in expected_differences.get(case, {}):
                assert (value, collector[key]) == expected_differences[case][key], (case, key)
            elif isinstance(value, float):
                assert collector[key] == pytest.approx(value, rel=1e-9), (case, key)
            else:
                assert collector[key] == value, (case, key, value, collector[key])


def test_collector_mirror_values(mirrored: dict[str, dict[str, dict[str, Any]]]):
    """Spot values, so the comparison above cannot pass on two equally wrong sides."""
    params = mirrored["openai-params"]["collector"]
    assert params["gen_ai.provider.name"] == "openai" and params["gen_ai.operation.name"] == "chat"
    assert (params["gen_ai.request.temperature"], params["gen_ai.request.max_tokens"]) == (0.3, 64)
    assert params["gen_ai.request.top_p"] == 0.9 and params["gen_ai.request.stream"] is False
    assert (params["gen_ai.conversation.id"], params["session.id"], params["user.id"]) == ("s-1", "s-1", "u-7")
    stream = mirrored["openai-stream-429"]["collector"]
    assert stream["http.request.resend_count"] == 1 and stream["gen_ai.request.stream"] is True
    assert (stream["gen_ai.usage.input_tokens"], stream["gen_ai.usage.cache_read.input_tokens"]) == (50, 32)
    assert 0 < stream["gen_ai.response.time_to_first_chunk"] < 5
    gemini = mirrored["gemini-logged"]["collector"]
    assert gemini["gen_ai.provider.name"] == "gcp.gemini"
    assert gemini["gen_ai.usage.reasoning.output_tokens"] == 12
    assert gemini["gen_ai.response.time_to_first_chunk"] == pytest.approx(0.25)
    assert mirrored["completion-logged"]["collector"]["gen_ai.operation.name"] == "text_completion"
    bedrock = mirrored["bedrock-logged"]["collector"]
    assert bedrock["gen_ai.provider.name"] == "aws.bedrock" and bedrock["http.request.resend_count"] == 3
    assert json.loads(mirrored["anthropic-end-turn"]["collector"]["gen_ai.response.finish_reasons"]) == ["stop"]


def test_collector_mapping_is_semconv_py():
    """Every provider and operation mapping of llmtrace/semconv.py and call.py is in the collector, and no other."""
    from llmtrace.semconv import GENAI_OPERATION_NAMES, GENAI_PROVIDER_NAMES

    config = yaml.safe_load((ROOT / "collector" / "otelcol.yaml").read_text())
    (group,) = config["processors"]["transform/genai_mirror"]["trace_statements"]
    constant = re.compile(
        r'set\(span\.attributes\["(gen_ai\.[a-z_.]+)"\], "([^"]+)"\) where .*"(llm\.[a-z_]+)"\] == "([^"]+)"'
    )
    mapped: dict[str, dict[str, str]] = {}
    for statement in group["statements"]:
        if match := constant.search(statement):
            target, value, _, source = match.groups()
            mapped.setdefault(target, {})[source] = value
    assert mapped["gen_ai.provider.name"] == {k: v for k, v in GENAI_PROVIDER_NAMES.items() if k != v}
    assert mapped["gen_ai.operation.name"] == {k: v for k, v in GENAI_OPERATION_NAMES.items() if k != v}
