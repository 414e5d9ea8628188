"""Captured content follows the GenAI conventions' message schema, for every provider.

With ``capture_content=True`` each provider makes a plain call, a streamed one, a call answered with a tool call
(plain and streamed), and a call whose conversation carries an earlier tool call and its result. Every
``gen_ai.input.messages``, ``gen_ai.output.messages`` and ``gen_ai.system_instructions`` must validate against the
schema vendored in ``genai_schema/`` (semantic-conventions v1.41.0). The schema accepts any ``{"type": ...}`` as a
generic part, so each part whose type the conventions define (text, tool_call, tool_call_response, reasoning) is
also validated against that part's own definition. The redactor still applies, inside the JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

jsonschema = pytest.importorskip("jsonschema")

import llmtrace  # noqa: E402
from tests.reliability._providers import PROVIDERS, TOOL_ARGUMENTS, TOOL_CALL_ID, Prompt, available  # noqa: E402

SCHEMAS = Path(__file__).parent / "genai_schema"
EMAIL = "ops.lead@example.com"
PROMPT = Prompt(system="Answer as a harbour master.", user=f"When is high tide? Mail {EMAIL}")
WITH_TOOL_RESULT = Prompt(system=PROMPT.system, user=PROMPT.user, tool_result=f"High tide 06:12, ask {EMAIL}")
ATTRIBUTES = {
    "gen_ai.input.messages": "gen-ai-input-messages.json",
    "gen_ai.output.messages": "gen-ai-output-messages.json",
    "gen_ai.system_instructions": "gen-ai-system-instructions.json",
}
_PART_DEFS = {
    "text": "TextPart",
    "tool_call": "ToolCallRequestPart",
    "tool_call_response": "ToolCallResponsePart",
    "reasoning": "ReasoningPart",
}


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text())


def _validate(attribute: str, value: Any) -> None:
    schema = _schema(ATTRIBUTES[attribute])
    jsonschema.validate(value, schema)
    parts = value if attribute == "gen_ai.system_instructions" else [p for m in value for p in m["parts"]]
    for part in parts:
        definition = _PART_DEFS.get(part["type"])
        if definition is not None:
            jsonschema.validate(part, {"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"})


def _consume(result: Any, stream: bool) -> None:
    if stream:
        for _ in result:
            pass


def _events(telemetry: Any) -> list[dict[str, Any]]:
    """The content event of each call, in call order, with its attributes parsed."""
    spans = sorted(telemetry.spans(), key=lambda s: s.start_time)
    found = []
    for span in spans:
        events = [e for e in span.events if e.name == "gen_ai.client.inference.operation.details"]
        assert len(events) == 1, span.name
        found.append({key: json.loads(value) for key, value in events[0].attributes.items()})
    return found


def _parts(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [p for m in messages for p in m["parts"] if p["type"] == kind]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in PROVIDERS])
def test_captured_content_follows_the_genai_message_schema(case, server, telemetry):
    if not available(case):
        pytest.skip(f"{case.sdk} not installed")
    llmtrace.instrument(providers=[case.name], tracer_provider=telemetry.tracer_provider, capture_content=True)
    try:
        plain = case.make_client(server, {})
        _consume(case.chat(plain, PROMPT, False), False)
        _consume(case.chat(plain, PROMPT, True), True)
        tools = case.make_client(server, {"x-llmtrace-fault": "tool_call"})
        _consume(case.chat(tools, PROMPT, False), False)
        _consume(case.chat(tools, PROMPT, True), True)
        _consume(case.chat(plain, WITH_TOOL_RESULT, False), False)
    finally:
        llmtrace.uninstrument()
    events = _events(telemetry)
    assert len(events) == 5
    for event in events:
        assert {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"} <= set(event)
        for attribute, value in event.items():
            if attribute in ATTRIBUTES:
                _validate(attribute, value)
    first = events[0]
    assert _parts(first["gen_ai.input.messages"], "text")[0]["content"] == "When is high tide? Mail [REDACTED:email]"
    assert first["gen_ai.input.messages"][0]["role"] == "user"
    assert first["gen_ai.system_instructions"] == [{"type": "text", "content": PROMPT.system}]
    output = first["gen_ai.output.messages"]
    assert output[0]["role"] == "assistant" and output[0]["finish_reason"] == "stop"
    assert _parts(output, "text") and _parts(events[1]["gen_ai.output.messages"], "text")
    calls = _parts(events[2]["gen_ai.output.messages"], "tool_call")
    assert calls and all(c["name"] for c in calls), events[2]["gen_ai.output.messages"]
    assert events[2]["gen_ai.output.messages"][0]["finish_reason"] == "tool_call"
    history = events[4]["gen_ai.input.messages"]
    (call,) = _parts(history, "tool_call")
    assert call["name"] == PROMPT.tool_name and call["arguments"] == TOOL_ARGUMENTS
    assert call["id"] == (None if case.name == "ollama" else TOOL_CALL_ID)  # Ollama's tool calls have no id
    (result,) = _parts(history, "tool_call_response")
    assert EMAIL not in json.dumps(result) and "High tide 06:12, ask [REDACTED:email]" in json.dumps(result)
    if case.name != "ollama":
        assert result["id"] == TOOL_CALL_ID


def test_shapes_beyond_chat_messages_validate():
    """Responses API input items, a bare prompt string, an image block and an SDK object all become schema
    messages (the image as its type only, without its data)."""
    from llmtrace.messages import input_messages, system_parts, to_plain

    class SDKMessage:  # what an SDK's pydantic message looks like to the converter
        def model_dump(self, **kwargs: Any) -> dict[str, Any]:
            return {"role": "user", "content": [{"type": "text", "text": "from an object"}]}

    responses_input = [
        {"role": "user", "content": [{"type": "input_text", "text": "hi"}, {"type": "input_image", "image_url": "x"}]},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": '{"q": 1}'},
        {"type": "function_call_output", "call_id": "c1", "output": "42"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "ok"}]},
        SDKMessage(),
    ]
    messages = to_plain(input_messages(responses_input))
    _validate("gen_ai.input.messages", messages)
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "user"]
    assert messages[0]["parts"][1] == {"type": "input_image"}
    assert messages[1]["parts"] == [{"type": "tool_call", "id": "c1", "name": "lookup", "arguments": {"q": 1}}]
    assert messages[2]["parts"] == [{"type": "tool_call_response", "id": "c1", "response": "42"}]
    assert messages[3]["parts"][0] == {"type": "reasoning", "content": "hmm"}
    assert to_plain(input_messages("a bare prompt")) == [
        {"role": "user", "parts": [{"type": "text", "content": "a bare prompt"}]}
    ]
    _validate("gen_ai.system_instructions", to_plain(system_parts([{"role": "system", "content": "be brief"}])))


def test_capped_content_is_still_valid_json(server, telemetry):
    """Each string is cut on its own at ``content_max_length``: the attribute stays parseable JSON."""
    from tests.providers.test_openai import RELIABILITY_CASE as OPENAI

    long_prompt = Prompt(system="s" * 500, user="u" * 5000)
    llmtrace.instrument(
        providers=["openai"], tracer_provider=telemetry.tracer_provider, capture_content=True, content_max_length=64
    )
    try:
        OPENAI.chat(OPENAI.make_client(server, {}), long_prompt, False)
    finally:
        llmtrace.uninstrument()
    (event,) = _events(telemetry)
    _validate("gen_ai.input.messages", event["gen_ai.input.messages"])
    (text,) = _parts(event["gen_ai.input.messages"], "text")
    assert text["content"] == "u" * 63 + "…"
    assert event["gen_ai.system_instructions"] == [{"type": "text", "content": "s" * 63 + "…"}]
