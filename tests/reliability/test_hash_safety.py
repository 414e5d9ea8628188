"""Keyed hashes: with ``LLMTRACE_HASH_KEY`` set, exported hashes are HMACs that name their key but never reveal it.

The property that matters: someone holding the exported telemetry but not the key cannot confirm a guess of a
short prompt ("yes") by hashing the guess themselves; with the key they can (that is what the key is for:
joining equal prompts across calls). The key id (first 8 hex of sha256(key)) travels in every hash, so after a
key rotation old and new hashes are told apart instead of silently failing to match (docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest

import llmtrace
from llmtrace.hashing import canonical_json

from ._providers import PROVIDERS, Prompt, available

KEY = "k3y-for-tests-0123456789abcdef"
OTHER_KEY = "another-key-fedcba9876543210"
GUESS = "yes"


def _key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def _log_yes(telemetry, monkeypatch, key: str | None) -> dict:
    if key is None:
        monkeypatch.delenv("LLMTRACE_HASH_KEY", raising=False)
    else:
        monkeypatch.setenv("LLMTRACE_HASH_KEY", key)
    llmtrace.instrument(providers=[], tracer_provider=telemetry.tracer_provider)  # nothing: log_call only
    try:
        llmtrace.log_call(provider="openai", model="gpt-4o-mini", messages=GUESS, system=GUESS, output_text=GUESS)
    finally:
        llmtrace.uninstrument()
    return dict(telemetry.spans()[-1].attributes)


def _guesses(text: str) -> set[str]:
    """What an attacker without the key would try: sha256 of the guess in every plausible encoding."""
    forms = {text, canonical_json(text), json.dumps(text), canonical_json([{"role": "user", "content": text}])}
    return {"sha256:" + hashlib.sha256(f.encode()).hexdigest() for f in forms} | {
        hashlib.sha256(f.encode()).hexdigest() for f in forms
    }


def test_unkeyed_hash_of_a_short_prompt_is_confirmable(telemetry, monkeypatch):
    """Documents why the key exists: without it, "yes" is confirmed from the exported hash in one try."""
    attrs = _log_yes(telemetry, monkeypatch, None)
    assert attrs["llm.prompt.hash"] in _guesses(GUESS)
    assert attrs["llm.response.hash"] in _guesses(GUESS)


def test_keyed_hash_cannot_be_confirmed_without_the_key(telemetry, monkeypatch):
    attrs = _log_yes(telemetry, monkeypatch, KEY)
    hashes = [attrs["llm.prompt.hash"], attrs["llm.prompt.system_hash"], attrs["llm.response.hash"]]
    for exported in hashes:
        scheme, key_id, digest = exported.split(":")
        assert (scheme, key_id) == ("hmac-sha256", _key_id(KEY))
        assert exported not in _guesses(GUESS) and digest not in _guesses(GUESS)
    # With the key, the same guess is confirmed: equal prompts still join across calls.
    expected = hmac.new(KEY.encode(), GUESS.encode(), hashlib.sha256).hexdigest()
    assert attrs["llm.prompt.hash"] == f"hmac-sha256:{_key_id(KEY)}:{expected}"


def test_hashes_differ_per_key_and_name_their_key(telemetry, monkeypatch):
    first = _log_yes(telemetry, monkeypatch, KEY)["llm.prompt.hash"]
    again = _log_yes(telemetry, monkeypatch, KEY)["llm.prompt.hash"]
    rotated = _log_yes(telemetry, monkeypatch, OTHER_KEY)["llm.prompt.hash"]
    plain = _log_yes(telemetry, monkeypatch, None)["llm.prompt.hash"]
    assert first == again  # stable under one key
    assert len({first, rotated, plain}) == 3
    assert first.split(":")[1] != rotated.split(":")[1]  # rotation is visible in the hash itself
    assert first.split(":")[2] != plain.split(":")[1]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in PROVIDERS])
def test_key_never_appears_in_output(case, server, telemetry, monkeypatch, caplog):
    if not available(case):
        pytest.skip(f"{case.sdk} not installed")
    caplog.set_level(logging.DEBUG, logger="llmtrace")
    monkeypatch.setenv("LLMTRACE_HASH_KEY", KEY)
    llmtrace.instrument(
        providers=[case.name], tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        prompt = Prompt(system="Be brief.", user=GUESS)
        client = case.make_client(server, {})  # kept: google-genai closes its transport when the client is collected
        case.chat(client, prompt, False)
        for _ in case.chat(client, prompt, True):
            pass
    finally:
        llmtrace.uninstrument()
    exported = json.dumps([dict(s.attributes) for s in telemetry.spans()], default=str)
    data = telemetry.reader.get_metrics_data()
    exported += json.dumps(
        [dict(p.attributes) for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
         for p in m.data.data_points],
        default=str,
    )  # fmt: skip
    exported += caplog.text
    assert KEY not in exported and KEY.encode().hex() not in exported
    assert telemetry.spans()[0].attributes["llm.prompt.hash"].startswith(f"hmac-sha256:{_key_id(KEY)}:")
    from llmtrace.config import load_settings

    assert KEY not in repr(load_settings())
