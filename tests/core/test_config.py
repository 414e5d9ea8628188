from pathlib import Path

import pytest

from llmtrace.config import load_settings
from llmtrace.exceptions import ConfigError


def test_defaults_without_env():
    s = load_settings(env={})
    assert (s.capture_content, s.hash_key, s.genai_semconv, s.metric_labels) == (False, None, True, ("agent", "tenant"))


def test_kwargs_override_env():
    s = load_settings({"capture_content": False}, env={"LLMTRACE_CAPTURE_CONTENT": "true"})
    assert s.capture_content is False
    assert load_settings(env={"LLMTRACE_CAPTURE_CONTENT": "yes"}).capture_content is True


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"LLMTRACE_CAPTURE_CONTENT": "maybe"}, "LLMTRACE_CAPTURE_CONTENT='maybe' is not a boolean; accepted"),
        ({"LLMTRACE_GENAI_SEMCONV": "2"}, "LLMTRACE_GENAI_SEMCONV"),
        ({"LLMTRACE_METRIC_LABELS": "agent,session"}, "LLMTRACE_METRIC_LABELS='agent,session': session cannot"),
        (
            {"LLMTRACE_DISABLED_PROVIDERS": "openai,foo"},
            "LLMTRACE_DISABLED_PROVIDERS='openai,foo': unknown provider foo",
        ),
        ({"LLMTRACE_HASH_KEY": "short"}, "LLMTRACE_HASH_KEY is too short"),
        ({"LLMTRACE_PRICING_FILE": "/nonexistent.yaml"}, "LLMTRACE_PRICING_FILE='/nonexistent.yaml': no such file"),
        ({"LLMTRACE_CONTENT_MAX_LENGTH": "0"}, "LLMTRACE_CONTENT_MAX_LENGTH='0' is not a positive integer"),
    ],
)
def test_bad_env_value_names_the_variable(env, needle):
    with pytest.raises(ConfigError) as info:
        load_settings(env=env)
    assert needle in str(info.value)


def test_unknown_kwarg_is_rejected():
    with pytest.raises(ConfigError, match=r"unknown setting.*capture_contnet"):
        load_settings({"capture_contnet": True}, env={})


def test_hash_key_never_in_repr():
    s = load_settings(env={"LLMTRACE_HASH_KEY": "s3cret-key-0123456789"})
    assert "s3cret" not in repr(s)


def test_instrument_raises_before_patching(monkeypatch):
    import openai

    import llmtrace

    original = openai.resources.chat.completions.completions.Completions.create
    monkeypatch.setenv("LLMTRACE_METRIC_LABELS", "user")
    with pytest.raises(ConfigError, match="LLMTRACE_METRIC_LABELS"):
        llmtrace.instrument()
    assert openai.resources.chat.completions.completions.Completions.create is original


def test_pricing_file_must_exist(tmp_path: Path):
    card = tmp_path / "card.yaml"
    card.write_text("version: v1\nmodels: []\n")
    assert load_settings(env={"LLMTRACE_PRICING_FILE": str(card)}).pricing_file == card
