"""Nothing the user sent or received leaves the process by default; opt-in capture is redacted.

Table-driven over ``tests/reliability/_providers.PROVIDERS``: every provider makes the same calls (plain,
streamed, a tool call, an error echoing the request) with a secret prompt, system prompt and tool definition;
a scan of everything exported (span names, attributes, events, status, resource, metric labels and exemplars,
llmtrace's DEBUG logs) must find none of it, nor the completion text, nor the tool-call arguments.

The same holds inside agent runs: a workflow and two agents around those calls, and tools run with secret arguments
and results (one raising with the secret in its message), export hashes only; with capture the tool content is
there, through the redactor, and an agent's inputs and an exception's message never are.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

import llmtrace
from llmtrace.demo.fake_server import RawReply
from tests.reliability._providers import PROVIDERS, Prompt, ProviderCase, available

SECRET_PROMPT = "Summarise the merger memo for zebra-falcon-9931"
SECRET_SYSTEM = "You are counsel for quasar-otter-4417"
SECRET_TOOL = "Searches the vault of heron-mango-5521"
SECRET_EMAIL = "ceo.private@example.com"
TOOL_ARGUMENTS = "weather in Paris"  # what the fake server's tool calls carry as arguments
PROMPT = Prompt(system=SECRET_SYSTEM, user=f"{SECRET_PROMPT} {SECRET_EMAIL}", tool_description=SECRET_TOOL)
SECRETS = (SECRET_PROMPT, SECRET_SYSTEM, SECRET_TOOL, SECRET_EMAIL, "zebra-falcon", "quasar-otter", "heron-mango")
CASES = [pytest.param(case, id=case.name) for case in PROVIDERS]


def _exported_text(telemetry: Any) -> str:
    """Every span name/attribute/event/status/resource, metric label and exemplar, as one searchable string."""
    parts = []
    for span in telemetry.spans():
        parts.append(json.dumps(dict(span.attributes), default=str))
        parts.append(json.dumps(dict(span.resource.attributes), default=str))
        parts.extend(json.dumps({"name": e.name, **dict(e.attributes)}, default=str) for e in span.events)
        parts.append(span.name + str(span.status.description))
    data = telemetry.reader.get_metrics_data()
    for rm in data.resource_metrics:
        parts.append(json.dumps(dict(rm.resource.attributes), default=str))
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    parts.append(json.dumps(dict(point.attributes), default=str))
                    for exemplar in getattr(point, "exemplars", None) or ():
                        parts.append(json.dumps(dict(exemplar.filtered_attributes or {}), default=str))
    return "\n".join(parts)


def _consume(result: Any, stream: bool) -> None:
    if stream:
        for _ in result:
            pass


def _workload(case: ProviderCase, server: Any) -> list[str]:
    """Plain, streamed and tool-call calls plus an error that echoes the request; returns the completions sent."""
    plain = case.make_client(server, {})
    _consume(case.chat(plain, PROMPT, False), False)
    _consume(case.chat(plain, PROMPT, True), True)
    tools = case.make_client(server, {"x-llmtrace-fault": "tool_call"})
    _consume(case.chat(tools, PROMPT, False), False)
    _consume(case.chat(tools, PROMPT, True), True)
    with pytest.raises(Exception):  # noqa: B017 - each SDK raises its own class; the message is what matters
        _consume(case.chat(case.make_client(server, {"x-llmtrace-fault": "context_length"}), PROMPT, False), False)
    return [e.text for e in server.log if e.text]


def _llmtrace_logs(caplog: Any) -> str:
    return "\n".join(r.getMessage() + str(r.exc_info or "") for r in caplog.records if r.name.startswith("llmtrace"))


@pytest.mark.parametrize("case", CASES)
def test_default_exports_no_content(case, server, telemetry, caplog):
    if not available(case):
        pytest.skip(f"{case.sdk} not installed")
    caplog.set_level(logging.DEBUG, logger="llmtrace")
    llmtrace.instrument(
        providers=[case.name], tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        completions = _workload(case, server)
    finally:
        llmtrace.uninstrument()
    exported = _exported_text(telemetry) + _llmtrace_logs(caplog)
    assert len(telemetry.spans()) == 5 and completions
    assert any(e.fault == "tool_call" for e in server.log)
    for secret in (*SECRETS, *completions, TOOL_ARGUMENTS):
        assert secret not in exported, secret
    assert all(not span.events for span in telemetry.spans())


@pytest.mark.parametrize("case", CASES)
def test_error_message_echoing_the_request_is_truncated_and_redacted(case, server, telemetry):
    if not available(case):
        pytest.skip(f"{case.sdk} not installed")
    echo = f"Invalid request: {SECRET_EMAIL} key sk-proj-abcdefghijklmnop0123 card 4111 1111 1111 1111 " + "z" * 2000
    body = json.dumps(case.error_body(echo)).encode()
    llmtrace.instrument(providers=[case.name], tracer_provider=telemetry.tracer_provider)
    try:
        server.enqueue_raw(RawReply(body, status=400))
        with pytest.raises(Exception):  # noqa: B017
            case.chat(case.make_client(server, {}), PROMPT, False)
    finally:
        llmtrace.uninstrument()
    attrs = dict(telemetry.span().attributes)
    message = attrs.get("llm.error.message", "")
    assert attrs["llm.error.status"] == 400 and len(message) <= 256
    assert SECRET_EMAIL not in message and "sk-proj-abcdefghijklmnop0123" not in message
    assert "4111 1111 1111 1111" not in message
    assert message.endswith("…") and _shown("[REDACTED:email]", message), message
    assert _shown("[REDACTED:api_key]", message), message


def _shown(marker: str, message: str) -> bool:
    """The redaction marker is in the message, or the 256-character cut fell inside it (SDKs whose error text starts
    with the HTTP headers, like cohere's, leave less room for the body): redacted first, truncated after."""
    return marker in message or any(message.endswith(marker[:i] + "…") for i in range(1, len(marker)))


@pytest.mark.parametrize("case", CASES)
def test_capture_content_is_opt_in_and_redacted(case, server, telemetry):
    if not available(case):
        pytest.skip(f"{case.sdk} not installed")
    llmtrace.instrument(
        providers=[case.name],
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        capture_content=True,
    )
    try:
        completions = _workload(case, server)
    finally:
        llmtrace.uninstrument()
    events = [e for s in telemetry.spans() for e in s.events if e.name == "gen_ai.client.inference.operation.details"]
    captured = json.dumps([dict(e.attributes) for e in events])
    assert SECRET_PROMPT in captured and SECRET_SYSTEM in captured and SECRET_TOOL in captured
    assert completions[0] in captured
    assert SECRET_EMAIL not in captured and "[REDACTED:email]" in captured
    metric_labels = _exported_text(telemetry).split("\n")
    assert not any(SECRET_PROMPT in line for line in metric_labels if line.startswith('{"provider"'))


# -- agent, workflow and tool spans ---------------------------------------------------------------------------------

SECRET_ACCOUNT = f"walrus-cobalt-7702 held by {SECRET_EMAIL}"  # a tool's arguments
SECRET_BALANCE = "ibis-lemon-3318 owes 1.2M, ask ops@example.com"  # a tool's result
SECRET_BRIEF = "brief on yak-ember-6610 from cfo.private@example.com"  # an agent's input
AGENT_SECRETS = ("walrus-cobalt", "ibis-lemon", "yak-ember", "ops@example.com", "cfo.private@example.com")


def _agent_workload(case: ProviderCase, server: Any) -> None:
    """A workflow with two agents: the inner one asks the model for a tool call (whole and streamed), then runs
    three tools with secret arguments and results (decorated, one raising with the secret in its message, and a
    ``with`` block), all under secret inputs."""
    client = case.make_client(server, {"x-llmtrace-fault": "tool_call"})

    @llmtrace.tool("vault_lookup")
    def vault_lookup(account: str) -> dict[str, str]:
        return {"balance": SECRET_BALANCE}

    @llmtrace.tool("vault_audit")
    def vault_audit(account: str) -> str:
        raise LookupError(f"no audit trail for {account}")

    @llmtrace.agent("researcher")
    def research(brief: str) -> None:
        _consume(case.chat(client, PROMPT, False), False)
        _consume(case.chat(client, PROMPT, True), True)
        vault_lookup(account=SECRET_ACCOUNT)
        with pytest.raises(LookupError):
            vault_audit(SECRET_ACCOUNT)
        with llmtrace.tool("vault_note", call_id="call_1", arguments=json.dumps({"note": SECRET_ACCOUNT})) as note:
            note.record_result(SECRET_BALANCE)

    with llmtrace.workflow("due-diligence", conversation="conv-1"), llmtrace.agent("planner", id="planner-1"):
        research(SECRET_BRIEF)


def _instrument_for_agents(case: ProviderCase, telemetry: Any, capture: bool) -> None:
    if not available(case):
        pytest.skip(f"{case.sdk} not installed")
    llmtrace.instrument(
        providers=[case.name],
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        capture_content=capture,
    )


@pytest.mark.parametrize("case", CASES)
def test_agent_tool_and_workflow_spans_export_no_content(case, server, telemetry, caplog):
    caplog.set_level(logging.DEBUG, logger="llmtrace")
    _instrument_for_agents(case, telemetry, capture=False)
    try:
        _agent_workload(case, server)
    finally:
        llmtrace.uninstrument()
    spans = telemetry.spans()
    kinds = sorted(str(s.attributes.get("llm.operation")) for s in spans)
    assert kinds == [
        "chat",
        "chat",
        "execute_tool",
        "execute_tool",
        "execute_tool",
        "invoke_agent",
        "invoke_agent",
        "invoke_workflow",
    ], kinds
    calls = [s for s in spans if s.attributes.get("llm.operation") == "chat"]
    # the requested tool calls are exported, as names, ids and argument hashes
    assert all(s.attributes["llm.response.tool_call_argument_hashes"][0].startswith("sha256:") for s in calls)
    assert all(s.attributes["llm.agent"] == "researcher" for s in calls)
    tools = [s for s in spans if s.attributes.get("llm.operation") == "execute_tool"]
    assert all(s.attributes["llm.tool.arguments_hash"].startswith("sha256:") for s in tools)
    exported = _exported_text(telemetry) + _llmtrace_logs(caplog)
    completions = [e.text for e in server.log if e.text]
    for secret in (*SECRETS, *AGENT_SECRETS, *completions, TOOL_ARGUMENTS, SECRET_BALANCE, SECRET_ACCOUNT):
        assert secret not in exported, secret
    assert all(not span.events for span in spans)


@pytest.mark.parametrize("case", CASES)
def test_agent_tool_content_is_opt_in_and_redacted(case, server, telemetry):
    _instrument_for_agents(case, telemetry, capture=True)
    try:
        _agent_workload(case, server)
    finally:
        llmtrace.uninstrument()
    exported = _exported_text(telemetry)
    tools = {
        s.attributes["llm.tool.name"]: dict(s.attributes) for s in telemetry.spans() if "llm.tool.name" in s.attributes
    }
    lookup, note = tools["vault_lookup"], tools["vault_note"]
    # captured: the tool's arguments and result, and the model's tool call, each through the redactor
    assert json.loads(lookup["gen_ai.tool.call.arguments"]) == {
        "account": "walrus-cobalt-7702 held by [REDACTED:email]"
    }
    assert json.loads(lookup["gen_ai.tool.call.result"]) == {
        "balance": "ibis-lemon-3318 owes 1.2M, ask [REDACTED:email]"
    }
    assert json.loads(note["gen_ai.tool.call.arguments"]) == {"note": "walrus-cobalt-7702 held by [REDACTED:email]"}
    assert json.loads(note["gen_ai.tool.call.result"]) == "ibis-lemon-3318 owes 1.2M, ask [REDACTED:email]"
    assert TOOL_ARGUMENTS in exported  # the model's requested call, in gen_ai.output.messages
    # never exported, captured or not: the emails, an exception's message, an agent's inputs
    for secret in (SECRET_EMAIL, "ops@example.com", "cfo.private@example.com", "yak-ember", "no audit trail"):
        assert secret not in exported, secret
    labels = json.dumps([point for name in _metric_names(telemetry) for point, _ in telemetry.points(name)])
    assert "vault_lookup" in labels  # the tool metrics are there, labelled by name only
    for secret in (*AGENT_SECRETS, SECRET_EMAIL, TOOL_ARGUMENTS):
        assert secret not in labels, secret


def _metric_names(telemetry: Any) -> set[str]:
    data = telemetry.reader.get_metrics_data()
    return {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
