"""Nothing the user sent or received leaves the process by default; opt-in capture is redacted."""

from __future__ import annotations

import json
import logging

import anthropic
import openai
import pytest

import llmtrace

SECRET_PROMPT = "Summarise the merger memo for zebra-falcon-9931"
SECRET_SYSTEM = "You are counsel for quasar-otter-4417"
SECRET_EMAIL = "ceo.private@example.com"
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]


def _exported_text(telemetry) -> str:
    """Every span attribute, event, resource attribute and metric label, as one searchable string."""
    parts = []
    for span in telemetry.spans():
        parts.append(json.dumps(dict(span.attributes), default=str))
        parts.append(json.dumps(dict(span.resource.attributes), default=str))
        parts.extend(json.dumps({"name": e.name, **dict(e.attributes)}, default=str) for e in span.events)
        parts.append(span.name + str(span.status.description))
    data = telemetry.reader.get_metrics_data()
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                parts.extend(json.dumps(dict(p.attributes), default=str) for p in metric.data.data_points)
    return "\n".join(parts)


def _workload(server) -> list[str]:
    """Calls on every path; returns the completion texts the server sent."""
    oa = openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0)
    an = anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url, max_retries=0)
    msgs = [
        {"role": "system", "content": SECRET_SYSTEM},
        {"role": "user", "content": f"{SECRET_PROMPT} {SECRET_EMAIL}"},
    ]
    oa.chat.completions.create(model="gpt-4o-mini", messages=msgs)
    for _ in oa.chat.completions.create(model="gpt-4o-mini", messages=msgs, stream=True):
        pass
    oa.chat.completions.create(
        model="gpt-4o-mini", messages=msgs, tools=TOOLS, extra_headers={"x-llmtrace-fault": "tool_call"}
    )
    oa.responses.create(model="gpt-4o-mini", input=SECRET_PROMPT, instructions=SECRET_SYSTEM)
    an.messages.create(model="claude-sonnet-4-6", max_tokens=50, system=SECRET_SYSTEM, messages=msgs[1:])
    with an.messages.stream(model="claude-sonnet-4-6", max_tokens=50, system=SECRET_SYSTEM, messages=msgs[1:]) as s:
        s.until_done()
    with pytest.raises(openai.BadRequestError):
        oa.chat.completions.create(
            model="gpt-4o-mini", messages=msgs, extra_headers={"x-llmtrace-fault": "context_length"}
        )
    return [e.text for e in server.log if e.text]


def test_default_exports_no_content(server, instrumented, caplog):
    caplog.set_level(logging.DEBUG, logger="llmtrace")
    completions = _workload(server)
    exported = _exported_text(instrumented) + caplog.text
    assert len(instrumented.spans()) == 7 and completions
    for secret in (SECRET_PROMPT, SECRET_SYSTEM, SECRET_EMAIL, "zebra-falcon", "quasar-otter", *completions):
        assert secret not in exported
    tool_args = [e.request_body for e in server.log if e.fault == "tool_call"]
    assert tool_args  # the tool call happened; its arguments are not exported either
    assert all(span.events == () or not span.events for span in instrumented.spans())


def test_capture_content_is_opt_in_and_redacted(server, telemetry):
    llmtrace.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider, capture_content=True
    )
    try:
        completions = _workload(server)
    finally:
        llmtrace.uninstrument()
    events = [e for s in telemetry.spans() for e in s.events if e.name == "gen_ai.client.inference.operation.details"]
    captured = json.dumps([dict(e.attributes) for e in events])
    assert SECRET_PROMPT in captured and SECRET_SYSTEM in captured
    assert completions[0] in captured
    assert SECRET_EMAIL not in captured and "[REDACTED:email]" in captured
    metric_labels = _exported_text(telemetry).split("\n")
    assert not any(SECRET_PROMPT in line for line in metric_labels if line.startswith('{"provider"'))
