"""One prompt template, one ``llm.prompt.system_hash``: the same system prompt through every provider's real SDK
hashes the same, whatever shape the SDK sends it in (a string, system messages, text blocks, Gemini parts)."""

from __future__ import annotations

import hashlib

import pytest

import llmtrace
from llmtrace.hashing import template_text

from ._providers import PROVIDERS, Prompt, available

SYSTEM = "You are a careful planner. Answer in one sentence."
PROMPT = Prompt(system=SYSTEM, user="Plan a trip.")


def test_every_provider_hashes_one_system_prompt_alike(server, telemetry):
    cases = [c for c in PROVIDERS if available(c)]
    assert len(cases) >= 2, "needs at least two provider SDKs installed"
    llmtrace.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    try:
        for case in cases:
            case.chat(case.make_client(server, {}, 0), PROMPT, False)
    finally:
        llmtrace.uninstrument()
    spans = telemetry.spans()
    assert len(spans) == len(cases)
    by_provider = {case.name: span.attributes for case, span in zip(cases, spans, strict=True)}
    expected = "sha256:" + hashlib.sha256(SYSTEM.encode()).hexdigest()
    assert {p: a.get("llm.prompt.system_hash") for p, a in by_provider.items()} == dict.fromkeys(by_provider, expected)
    assert {a["llm.prompt.system_length"] for a in by_provider.values()} == {len(SYSTEM)}


@pytest.mark.parametrize(
    "system",
    [
        SYSTEM,
        [{"role": "system", "content": SYSTEM}],  # OpenAI, Mistral, Ollama, LiteLLM
        [{"role": "system", "content": [{"type": "text", "text": SYSTEM}]}],  # Cohere v2, OpenAI content parts
        [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],  # Anthropic blocks
        [{"text": SYSTEM}, {"cachePoint": {"type": "default"}}],  # Bedrock converse
        {"role": "user", "parts": [{"text": SYSTEM}]},  # Gemini Content
    ],
)
def test_template_text_reads_every_shape(system):
    assert template_text(system) == SYSTEM


def test_several_system_prompts_are_one_template_of_their_joined_text():
    assert template_text([{"role": "system", "content": "A"}, {"role": "developer", "content": "B"}]) == "A\nB"
    assert template_text([{"type": "image", "source": {}}]) is None  # no text: the caller hashes the structure
