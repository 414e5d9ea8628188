"""PriceBook: what a call cost, from genai-prices (priced at request time) or a user rate card.

Rules that matter to finance: a model found in no table is *unpriced* (no cost, a flag), never guessed;
every priced span says which table and version priced it; a rate card overrides genai-prices for the models
it lists. Lookups are cached per (provider, model) and rates per (model, UTC day), so the hot path is a few
float multiplications instead of genai-prices' ~200 us generic calculation.
"""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from .exceptions import ConfigError
from .providers._registry import prices_provider_ids

__all__ = ["GENAI_PRICES_PROVIDER_IDS", "Price", "PriceBook", "RateCard", "Tokens"]

# llm.provider -> genai-prices provider id. Providers absent here are matched by model name only.
GENAI_PRICES_PROVIDER_IDS: dict[str, str] = prices_provider_ids()
# Local/self-hosted engines have no list price: their calls are unpriced unless a rate card says otherwise.
_NEVER_LIST_PRICED = frozenset({"ollama", "vllm", "localhost"})


class Tokens(NamedTuple):
    """Normalized usage: ``input`` includes cached tokens, ``reasoning`` is a subset of ``output``.

    Tokens and Price are named tuples (one is built per call): a frozen dataclass costs ~1 us more to create."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0


class Price(NamedTuple):
    """Cost of one call in USD, split into components, with the source that priced it."""

    total: float
    input: float
    output: float
    cache: float
    source: str


# A rate is USD per million tokens: a float, or tiers (base, ((threshold, price), ...)) chosen by total input.
Rate = float | tuple[float, tuple[tuple[int, float], ...]]


@dataclass(frozen=True, slots=True)
class _Rates:
    """Per-token rates; ``None`` cache rate means the table has no separate cache price."""

    input: Rate
    output: Rate
    cache_read: Rate | None
    cache_write: Rate | None


def _resolve(rate: Rate, total_input: int) -> float:
    """genai-prices' tier rule: the highest tier whose threshold the request's total input exceeds."""
    if isinstance(rate, float):
        return rate
    base, tiers = rate
    for start, price in reversed(tiers):
        if total_input > start:
            return price
    return base


def _cost(rates: _Rates, tokens: Tokens, source: str) -> Price:
    total_input = tokens.input
    input_rate = _resolve(rates.input, total_input)
    cache_read_rate = input_rate if rates.cache_read is None else _resolve(rates.cache_read, total_input)
    cache_write_rate = input_rate if rates.cache_write is None else _resolve(rates.cache_write, total_input)
    uncached = max(tokens.input - tokens.cache_read - tokens.cache_write, 0)
    input_usd = uncached * input_rate / 1e6
    cache_usd = (tokens.cache_read * cache_read_rate + tokens.cache_write * cache_write_rate) / 1e6
    output_usd = tokens.output * _resolve(rates.output, total_input) / 1e6
    return Price(input_usd + cache_usd + output_usd, input_usd, output_usd, cache_usd, source)


class RateCard:
    """User prices (JSON or YAML) that override genai-prices for the models they list.

    Format::

        version: contract-2026-05
        models:
          - model: gpt-4o-mini          # exact model name (request or response model)
            provider: openai            # optional: restrict to one llm.provider
            input_per_mtok: 0.10
            output_per_mtok: 0.40
            cache_read_per_mtok: 0.05   # optional
            cache_write_per_mtok: 0.125 # optional
    """

    def __init__(self, version: str, entries: dict[tuple[str | None, str], _Rates], path: Path | None = None):
        self.version = version
        self.source = f"ratecard:{version}"
        self._entries = entries
        self.path = path

    @classmethod
    def load(cls, path: Path) -> RateCard:
        """Parse and validate a rate card file; errors name the file and line (syntax) or entry (schema).

        Parsed once per file version: config validation and the price book read the same card."""
        stat = path.stat()
        return cls._load(path.resolve(), stat.st_mtime_ns, stat.st_size)

    @classmethod
    @functools.lru_cache(maxsize=8)
    def _load(cls, path: Path, mtime_ns: int, size: int) -> RateCard:
        data = _parse_rate_card_text(path)
        if not isinstance(data, dict) or not isinstance(data.get("models"), list):
            raise ConfigError(f"{path}: rate card must be a mapping with a 'models' list")
        version = str(data.get("version") or "").strip()
        if not version:
            raise ConfigError(f"{path}: rate card needs a non-empty 'version' (stamped on every priced span)")
        lines = _entry_lines(path)
        entries = dict(_parse_entry(path, i, entry, lines) for i, entry in enumerate(data["models"]))
        return cls(version, entries, path)

    def rates(self, provider: str, model: str) -> _Rates | None:
        return self._entries.get((provider, model)) or self._entries.get((None, model))


def _parse_rate_card_text(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON rate card: {exc.msg}") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML rate card: {getattr(exc, 'problem', exc)}") from None


def _entry_lines(path: Path) -> list[int]:
    """1-based line of each ``models`` entry (JSON is YAML too), so schema errors point at file:line."""
    import yaml

    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
        models = next(v for k, v in root.value if k.value == "models")
        return [item.start_mark.line + 1 for item in models.value]
    except Exception:  # best effort: without lines the message still names the entry
        return []


def _parse_entry(
    path: Path, index: int, entry: Any, lines: list[int] | None = None
) -> tuple[tuple[str | None, str], _Rates]:
    line = f":{lines[index]}" if lines and index < len(lines) else ""
    where = f"{path}{line}: models[{index}]"
    if not isinstance(entry, dict) or not entry.get("model"):
        raise ConfigError(f"{where}: each entry needs a 'model'")

    def rate(key: str, required: bool) -> float | None:
        value = entry.get(key)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{where} ({entry['model']}): '{key}' must be a number >= 0, got {value!r}")
        return float(value)

    rates = _Rates(
        input=rate("input_per_mtok", True) or 0.0,
        output=rate("output_per_mtok", True) or 0.0,
        cache_read=rate("cache_read_per_mtok", False),
        cache_write=rate("cache_write_per_mtok", False),
    )
    return (entry.get("provider"), str(entry["model"])), rates


class PriceBook:
    """Prices calls: the rate card first, then genai-prices; ``None`` when nobody prices the model."""

    def __init__(self, rate_card: RateCard | None = None) -> None:
        import genai_prices

        _warm_genai_prices()
        self.rate_card = rate_card
        self._genai_source = f"genai-prices {genai_prices.__version__}"
        self._models: dict[tuple[str, str], Any] = {}
        self._rates: dict[tuple[int, str], _Rates | None] = {}
        self._day_rates: dict[tuple[str, str, int], Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path | None) -> PriceBook:
        return cls(RateCard.load(path) if path else None)

    def price(self, provider: str, model: str | None, tokens: Tokens, at: datetime | None = None) -> Price | None:
        """Cost of ``tokens`` on ``model`` at request time ``at`` (UTC now when omitted), or ``None`` if unpriced."""
        if not model:
            return None
        if self.rate_card is not None and (rates := self.rate_card.rates(provider, model)) is not None:
            return _cost(rates, tokens, self.rate_card.source)
        model_info = self._find_model(provider, model)
        if model_info is None:
            return None
        at = at or datetime.now(timezone.utc)
        rates = self._linear_rates(model_info, at, tokens)
        if rates is None:
            return self._exact(model_info, tokens, at)
        return _cost(rates, tokens, self._genai_source)

    def price_at_ns(self, provider: str, model: str | None, tokens: Tokens, at_ns: int) -> Price | None:
        """``price`` for the hot path: request time as epoch ns; what prices a (provider, model) on a UTC day is
        resolved once, so a call costs one dict lookup and a few multiplications (no datetime)."""
        if not model:
            return None
        key = (provider, model, at_ns // _DAY_NS)
        found = self._day_rates.get(key, _MISSING)
        if found is _MISSING:
            found = self._resolve_day(provider, model, datetime.fromtimestamp(at_ns / 1e9, timezone.utc))
            with self._lock:
                if len(self._day_rates) >= _DAY_RATES_MAX:
                    self._day_rates.clear()
                self._day_rates[key] = found
        if found is None:
            return None
        rates, source = found
        if rates is None or (source == self._genai_source and _unpriced_cache(rates, tokens)):
            return self.price(provider, model, tokens, datetime.fromtimestamp(at_ns / 1e9, timezone.utc))
        return _cost(rates, tokens, source)

    def _resolve_day(self, provider: str, model: str, at: datetime) -> tuple[_Rates | None, str] | None:
        """(flat rates, source) for the day; (None, source) when only genai-prices' own math prices it; None
        when unpriced."""
        if self.rate_card is not None and (rates := self.rate_card.rates(provider, model)) is not None:
            return rates, self.rate_card.source
        model_info = self._find_model(provider, model)
        if model_info is None:
            return None
        return _flat_rates(model_info.get_prices(at)), self._genai_source

    def _find_model(self, provider: str, model: str) -> Any:
        key = (provider, model)
        try:
            return self._models[key]
        except KeyError:
            pass
        found = None if provider in _NEVER_LIST_PRICED else _lookup_genai_model(provider, model)
        with self._lock:
            self._models[key] = found
        return found

    def _linear_rates(self, model_info: Any, at: datetime, tokens: Tokens) -> _Rates | None:
        """Flat per-token rates for this model and day, or None when tiers/extra units need genai-prices' math."""
        key = (id(model_info), at.date().isoformat())
        if key not in self._rates:
            self._rates[key] = _flat_rates(model_info.get_prices(at))
        rates = self._rates[key]
        if rates is None or _unpriced_cache(rates, tokens):
            return None  # let genai-prices decide how it bills cache tokens it has no price for
        return rates

    def _exact(self, model_info: Any, tokens: Tokens, at: datetime) -> Price:
        """Tiered or unusual prices: genai-prices computes the total; the cache share is the input price
        minus what the uncached input alone costs (exact unless a tier boundary falls in between)."""
        from genai_prices import Usage

        prices = model_info.get_prices(at)
        full = prices.calc_price(_usage(Usage, tokens))
        input_usd = float(full["input_price"])
        if tokens.cache_read or tokens.cache_write:
            uncached = max(tokens.input - tokens.cache_read - tokens.cache_write, 0)
            input_usd = float(prices.calc_price(_usage(Usage, Tokens(input=uncached)))["input_price"])
        cache_usd = float(full["input_price"]) - input_usd
        return Price(float(full["total_price"]), input_usd, float(full["output_price"]), cache_usd, self._genai_source)


def _unpriced_cache(rates: _Rates, tokens: Tokens) -> bool:
    """The call has cache tokens of a kind the table gives no flat price for (genai-prices' own math decides)."""
    return bool((tokens.cache_read and rates.cache_read is None) or (tokens.cache_write and rates.cache_write is None))


def _usage(usage_cls: Any, tokens: Tokens) -> Any:
    return usage_cls(
        input_tokens=tokens.input,
        output_tokens=tokens.output,
        cache_read_tokens=tokens.cache_read or None,
        cache_write_tokens=tokens.cache_write or None,
    )


_warmed = False


def _warm_genai_prices() -> None:
    """genai-prices builds its price tables on first use (~50-80 ms) and compiles each model-matching regex on the
    first lookup that meets it (~1-10 ms per provider): both happen here, once per process, at instrument() time,
    instead of inside the first call's span. A lookup of a model no provider has walks every provider's rules."""
    global _warmed
    if _warmed:
        return
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    for provider_id in sorted(set(GENAI_PRICES_PROVIDER_IDS.values())):
        try:
            snapshot.find_provider_model("llmtrace-warm-up", None, provider_id, None)
        except LookupError:
            pass
    _warmed = True


def _lookup_genai_model(provider: str, model: str) -> Any:
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    try:
        _, model_info = snapshot.find_provider_model(model, None, GENAI_PRICES_PROVIDER_IDS.get(provider), None)
    except LookupError:
        return None
    return model_info


_DAY_NS = 86_400 * 1_000_000_000
_DAY_RATES_MAX = 4096
_MISSING = object()
_RATE_KEYS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")


def _flat_rates(model_price: Any) -> _Rates | None:
    """Rates for the token kinds llmtrace reports, or None when the table prices text tokens differently."""
    values = vars(model_price)
    if values.get("input_mtok") is None or values.get("output_mtok") is None:
        return None  # e.g. per-modality text prices: let genai-prices' own calculation decide
    if any(k.startswith(("input_text", "output_text", "cache_text")) and v is not None for k, v in values.items()):
        return None
    converted = [_as_rate(values.get(key)) for key in _RATE_KEYS]
    if any(rate is _UNSUPPORTED for rate in converted):
        return None
    return _Rates(*converted)  # type: ignore[arg-type]


_UNSUPPORTED = object()


def _as_rate(value: Any) -> Any:
    if value is None:
        return None
    if type(value).__name__ == "Decimal":
        return float(value)
    base, tiers = getattr(value, "base", None), getattr(value, "tiers", None)
    if base is None or tiers is None:
        return _UNSUPPORTED
    return float(base), tuple((int(t.start), float(t.price)) for t in tiers)
