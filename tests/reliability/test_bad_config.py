"""Every ``LLMTRACE_*`` setting with a bad value fails loudly: ``ConfigError`` naming the variable and what it
accepts, raised by ``instrument()`` before anything is patched; a broken rate card names file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

import llmtrace
from llmtrace.config import _ENV, load_settings
from llmtrace.exceptions import ConfigError

# variable -> bad values (env strings)
BAD_ENV: dict[str, tuple[str, ...]] = {
    "LLMTRACE_CAPTURE_CONTENT": ("maybe", "2", "tru"),
    "LLMTRACE_HASH_KEY": ("s3cr3t", "x" * 15),
    "LLMTRACE_PRICING_FILE": ("/nonexistent/card.yaml", "/"),
    "LLMTRACE_GENAI_SEMCONV": ("sometimes", "-1"),
    "LLMTRACE_GENAI_METRICS": ("enabled?",),
    "LLMTRACE_METRIC_LABELS": ("session", "agent,user", "model"),
    "LLMTRACE_DISABLED_PROVIDERS": ("openai,foo", "gpt"),
    "LLMTRACE_CONTENT_MAX_LENGTH": ("0", "-5", "lots", "1.5"),
    "LLMTRACE_SDK_SPANS": ("maybe", "drop", "on"),
}
# kwarg -> bad values of the wrong type
BAD_KWARGS: dict[str, tuple[object, ...]] = {
    "capture_content": (5, "maybe"),
    "hash_key": (123, b"short"),
    "pricing_file": (123, "/nonexistent/card.yaml"),
    "genai_semconv": ("nope",),
    "genai_metrics": (object(),),
    "metric_labels": (5, ["user"]),
    "disabled_providers": (5, ["nope"]),
    "content_max_length": (0, 2.5, True, "x"),
    "redact": ("not callable",),
    "sdk_spans": ("drop", 1, None),
}


def test_every_env_setting_is_covered():
    assert set(BAD_ENV) == set(_ENV.values())


@pytest.mark.parametrize(("var", "value"), [(var, v) for var, values in BAD_ENV.items() for v in values])
def test_bad_env_value_names_variable_and_accepted_values(var, value):
    with pytest.raises(ConfigError) as info:
        load_settings(env={var: value})
    message = str(info.value)
    assert var in message and "accepted" in message, message
    if var != "LLMTRACE_HASH_KEY":
        assert repr(value) in message or value in message, message
    else:
        assert value not in message  # a secret, even a bad one, is never echoed


@pytest.mark.parametrize(("key", "value"), [(k, v) for k, values in BAD_KWARGS.items() for v in values])
def test_bad_kwarg_names_setting_and_accepted_values(key, value):
    with pytest.raises(ConfigError) as info:
        load_settings({key: value}, env={})
    assert key in str(info.value) and "accepted" in str(info.value), str(info.value)


@pytest.mark.parametrize("var", sorted(BAD_ENV))
def test_instrument_raises_before_patching(var, monkeypatch):
    import openai

    original = openai.resources.chat.completions.completions.Completions.__dict__["create"]
    monkeypatch.setenv(var, BAD_ENV[var][0])
    with pytest.raises(ConfigError, match=var):
        llmtrace.instrument()
    assert openai.resources.chat.completions.completions.Completions.__dict__["create"] is original


CARDS = {
    "syntax.yaml": (
        "version: v1\nmodels:\n  - model: a\n    input_per_mtok: [1, 2\n",
        r"syntax\.yaml:\d+:\d+: invalid YAML",
    ),
    "syntax.json": ('{"version": "v1",\n "models": [\n  {"model": "a",,}\n]}\n', r"syntax\.json:3:\d+: invalid JSON"),
    "negative.yaml": (
        "version: v1\nmodels:\n  - model: a\n    input_per_mtok: 1\n    output_per_mtok: 2\n"
        "  - model: b\n    input_per_mtok: -1\n    output_per_mtok: 2\n",
        r"negative\.yaml:6: models\[1\] \(b\): 'input_per_mtok' must be a number >= 0, got -1",
    ),
    "string.json": (
        '{"version": "v1",\n "models": [\n  {"model": "a", "input_per_mtok": 1, "output_per_mtok": 2},\n'
        '  {"model": "b", "input_per_mtok": "cheap", "output_per_mtok": 2}\n]}\n',
        r"string\.json:4: models\[1\] \(b\): 'input_per_mtok' must be a number >= 0, got 'cheap'",
    ),
    "nomodel.yaml": (
        "version: v1\nmodels:\n  - input_per_mtok: 1\n",
        r"nomodel\.yaml:3: models\[0\]: each entry needs",
    ),
    "noversion.yaml": ("models: []\n", r"noversion\.yaml: rate card needs a non-empty 'version'"),
    "notamap.yaml": ("- 1\n- 2\n", r"notamap\.yaml: rate card must be a mapping"),
}


@pytest.mark.parametrize("name", sorted(CARDS))
def test_broken_rate_card_names_file_and_line(name, tmp_path: Path):
    text, pattern = CARDS[name]
    card = tmp_path / name
    card.write_text(text)
    with pytest.raises(ConfigError, match=r"LLMTRACE_PRICING_FILE: .*" + pattern):
        load_settings(env={"LLMTRACE_PRICING_FILE": str(card)})
    with pytest.raises(ConfigError, match=r"pricing_file: .*" + pattern):
        llmtrace.instrument(pricing_file=str(card))


def test_instrumentor_used_in_code_raises(monkeypatch):
    """Only OTel's auto-instrumentation loader gets the log-and-switch-off treatment; code gets the exception."""
    from llmtrace.providers.openai import OpenAIInstrumentor

    monkeypatch.setenv("LLMTRACE_CAPTURE_CONTENT", "maybe")
    instrumentor = OpenAIInstrumentor()
    with pytest.raises(ConfigError, match="LLMTRACE_CAPTURE_CONTENT"):
        instrumentor.instrument()
    assert not instrumentor.is_instrumented_by_opentelemetry
