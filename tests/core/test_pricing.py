import os
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from genai_prices import Usage, __version__, calc_price

from llmtrace.exceptions import ConfigError
from llmtrace.pricing import PriceBook, RateCard, Tokens


@pytest.mark.parametrize(
    ("provider", "model", "tokens"),
    [
        ("openai", "gpt-4o-mini", Tokens(1000, 500, 200, 0)),
        ("openai", "gpt-4.1", Tokens(12345, 678, 0, 0)),
        ("anthropic", "claude-sonnet-4-5", Tokens(1000, 500, 200, 100)),
        ("anthropic", "claude-sonnet-4-5", Tokens(250_000, 500, 0, 0)),  # tiered: above 200k input
        ("anthropic", "claude-3-5-haiku-latest", Tokens(3000, 10, 2000, 500)),
    ],
)
def test_price_equals_genai_prices_reference(provider, model, tokens):
    price = PriceBook().price(provider, model, tokens)
    usage = Usage(
        input_tokens=tokens.input,
        output_tokens=tokens.output,
        cache_read_tokens=tokens.cache_read or None,
        cache_write_tokens=tokens.cache_write or None,
    )
    ref = calc_price(usage, model, provider_id=provider)
    assert price is not None
    assert price.total == pytest.approx(float(ref.total_price), rel=1e-12, abs=1e-15)
    assert price.output == pytest.approx(float(ref.output_price), rel=1e-12)
    assert price.input + price.cache == pytest.approx(float(ref.input_price), rel=1e-12)
    assert price.source == f"genai-prices {__version__}"


def test_cache_component_uses_cache_rate():
    price = PriceBook().price("openai", "gpt-4o-mini", Tokens(1000, 0, 1000, 0))
    assert price is not None
    assert Decimal(str(price.cache)) == Decimal("0.075") * 1000 / 1_000_000
    assert price.input == 0


def test_unknown_model_is_unpriced_not_guessed():
    assert PriceBook().price("openai", "gpt-does-not-exist-9", Tokens(10, 10)) is None
    assert PriceBook().price("ollama", "llama3.2", Tokens(10, 10)) is None


def test_rate_card_overrides_genai_prices(tmp_path: Path):
    card = tmp_path / "card.yaml"
    card.write_text(
        "version: contract-2026-05\nmodels:\n  - model: gpt-4o-mini\n    input_per_mtok: 1\n    output_per_mtok: 2\n"
        "    cache_read_per_mtok: 0.5\n  - model: llama3.2\n    provider: ollama\n    input_per_mtok: 0.1\n"
        "    output_per_mtok: 0.1\n"
    )
    book = PriceBook.from_file(card)
    price = book.price("openai", "gpt-4o-mini", Tokens(1_000_000, 1_000_000, 500_000, 0))
    assert (price.total, price.input, price.cache, price.output, price.source) == (
        2.75,
        0.5,
        0.25,
        2.0,
        "ratecard:contract-2026-05",
    )
    assert book.price("ollama", "llama3.2", Tokens(1_000_000, 0)).total == pytest.approx(0.1)
    assert book.price("openai", "gpt-4.1", Tokens(1, 1)).source.startswith("genai-prices")


def test_broken_rate_card_names_file_and_line(tmp_path: Path):
    card = tmp_path / "card.yaml"
    card.write_text("version: v1\nmodels:\n  - model: x\n    input_per_mtok: [1\n")
    with pytest.raises(ConfigError, match=r"card\.yaml:\d+:\d+: invalid YAML"):
        RateCard.load(card)
    bad_json = tmp_path / "card.json"
    bad_json.write_text('{"version": "v1",\n "models": [}\n')
    with pytest.raises(ConfigError, match=r"card\.json:2:\d+: invalid JSON"):
        RateCard.load(bad_json)
    schema = tmp_path / "schema.yaml"
    schema.write_text("version: v1\nmodels:\n  - model: x\n    input_per_mtok: -1\n    output_per_mtok: 1\n")
    with pytest.raises(ConfigError, match=r"models\[0\] \(x\): 'input_per_mtok' must be a number >= 0"):
        RateCard.load(schema)


def _catalog():
    from genai_prices import data_snapshot

    for provider in data_snapshot.get_snapshot().providers:
        if provider.id in ("openai", "anthropic", "google", "mistral", "deepseek", "groq"):
            for model in provider.models:
                yield provider.id, model.id


@pytest.mark.parametrize(
    "tokens", [Tokens(1000, 200, 300, 0), Tokens(300_000, 1000, 100_000, 20_000), Tokens(50, 5000, 0, 40)]
)
def test_fast_path_matches_genai_prices_for_the_whole_catalog(tokens):
    """The cached per-token rates (incl. tiers) give genai-prices' own answer for every model it knows."""
    book, checked, now_ns = PriceBook(), 0, time.time_ns()
    for provider, model in _catalog():
        usage = Usage(
            input_tokens=tokens.input,
            output_tokens=tokens.output,
            cache_read_tokens=tokens.cache_read or None,
            cache_write_tokens=tokens.cache_write or None,
        )
        try:
            ref = calc_price(usage, model, provider_id=provider)
        except Exception:  # genai-prices cannot price this usage shape for this model: neither may we guess
            continue
        price = book.price({"mistral": "mistral"}.get(provider, provider), model, tokens)
        assert price is not None, model
        assert price.total == pytest.approx(float(ref.total_price), rel=1e-9, abs=1e-12), (provider, model)
        # the LLM tracer's hot path (rates cached per model and UTC day) gives the same Price, twice
        for _ in range(2):
            assert book.price_at_ns(provider, model, tokens, now_ns) == price, (provider, model)
        checked += 1
    assert checked > 100


def test_hot_path_prices_per_request_day_and_honours_rate_cards(tmp_path: Path):
    card = tmp_path / "card.yaml"
    card.write_text("version: v1\nmodels:\n  - model: gpt-4o-mini\n    input_per_mtok: 1\n    output_per_mtok: 2\n")
    book, tokens = PriceBook.from_file(card), Tokens(1_000_000, 1_000_000, 500_000, 0)
    assert book.price_at_ns("openai", "gpt-4o-mini", tokens, time.time_ns()) == book.price(
        "openai", "gpt-4o-mini", tokens
    )
    assert book.price_at_ns("openai", "gpt-does-not-exist-9", tokens, time.time_ns()) is None
    assert book.price_at_ns("ollama", "llama3.2", tokens, time.time_ns()) is None
    # the request's UTC day selects the price (genai-prices keeps dated price changes)
    first_day = datetime(2001, 1, 1, tzinfo=timezone.utc)
    old = PriceBook().price_at_ns("openai", "gpt-4o-mini", tokens, int(first_day.timestamp() * 1e9))
    assert old == PriceBook().price("openai", "gpt-4o-mini", tokens, first_day)


def test_rate_card_is_parsed_once_per_file_version(tmp_path: Path, monkeypatch):
    """Config validation and the price book read the same card: parsed once, and again only when it changes."""
    from llmtrace import pricing
    from llmtrace.config import load_settings

    parsed = []
    real = pricing._parse_rate_card_text
    monkeypatch.setattr(pricing, "_parse_rate_card_text", lambda path: parsed.append(path) or real(path))
    card = tmp_path / "card.yaml"
    card.write_text("version: v1\nmodels:\n  - model: m-1\n    input_per_mtok: 1\n    output_per_mtok: 2\n")
    settings = load_settings({"pricing_file": str(card)})
    book = PriceBook.from_file(settings.pricing_file)
    assert len(parsed) == 1 and book.price("acme", "m-1", Tokens(1_000_000, 0)).total == 1.0
    card.write_text("version: v2\nmodels:\n  - model: m-1\n    input_per_mtok: 3\n    output_per_mtok: 4\n")
    os.utime(card, ns=(card.stat().st_atime_ns, card.stat().st_mtime_ns + 1_000_000_000))
    assert PriceBook.from_file(card).price("acme", "m-1", Tokens(1_000_000, 0)).source == "ratecard:v2"
    assert len(parsed) == 2
