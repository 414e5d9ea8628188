"""Settings: ``instrument()`` kwargs override ``LLMTRACE_*`` env vars, which override defaults.

Every value is validated once, at init, so a typo fails loudly with the setting's name instead of
silently recording the wrong thing for weeks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exceptions import ConfigError
from .integrations import INTEGRATIONS
from .providers._registry import PROVIDERS

__all__ = ["ALLOWED_METRIC_LABELS", "KNOWN_PROVIDERS", "SDK_SPAN_MODES", "Settings", "load_settings", "parse_selection"]

ALLOWED_METRIC_LABELS = ("agent", "tenant")
KNOWN_PROVIDERS = tuple(spec.name for spec in PROVIDERS)
# what LLMTRACE_DISABLED_PROVIDERS may name: the providers, and the agent-framework integrations
_SWITCHABLE = (*KNOWN_PROVIDERS, *(spec.name for spec in INTEGRATIONS))
# What to do with the spans an SDK makes of its own calls (anthropic 2.14+ by default; mistralai, litellm opt-in):
# "suppress" keeps one CLIENT span per call, llmtrace's; "keep" nests the SDK's span under it.
SDK_SPAN_MODES = ("suppress", "keep")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved, validated configuration shared by every instrumentor."""

    capture_content: bool = False
    hash_key: bytes | None = field(default=None, repr=False)
    pricing_file: Path | None = None
    genai_semconv: bool = True
    genai_metrics: bool = False
    metric_labels: tuple[str, ...] = ALLOWED_METRIC_LABELS
    disabled_providers: frozenset[str] = frozenset()
    content_max_length: int = 4096
    redact: Callable[[str], str] | None = None
    sdk_spans: str = "suppress"


_ENV: dict[str, str] = {
    "capture_content": "LLMTRACE_CAPTURE_CONTENT",
    "hash_key": "LLMTRACE_HASH_KEY",
    "pricing_file": "LLMTRACE_PRICING_FILE",
    "genai_semconv": "LLMTRACE_GENAI_SEMCONV",
    "genai_metrics": "LLMTRACE_GENAI_METRICS",
    "metric_labels": "LLMTRACE_METRIC_LABELS",
    "disabled_providers": "LLMTRACE_DISABLED_PROVIDERS",
    "content_max_length": "LLMTRACE_CONTENT_MAX_LENGTH",
    "sdk_spans": "LLMTRACE_SDK_SPANS",
}


def _parse_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean; accepted values: true/false, 1/0, yes/no, on/off")


def _parse_list(name: str, value: Any, accepted: str) -> tuple[str, ...]:
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        raise ConfigError(f"{name}={value!r} is not a list; accepted: {accepted}")
    return tuple(str(item).strip().lower() for item in items if str(item).strip())


def _parse_metric_labels(name: str, value: Any) -> tuple[str, ...]:
    labels = _parse_list(name, value, f"a comma-separated subset of {', '.join(ALLOWED_METRIC_LABELS)}")
    bad = [label for label in labels if label not in ALLOWED_METRIC_LABELS]
    if bad:
        raise ConfigError(
            f"{name}={value!r}: {', '.join(bad)} cannot be a metric label (unbounded cardinality); "
            f"accepted values: a comma-separated subset of {', '.join(ALLOWED_METRIC_LABELS)}"
        )
    return labels


def _parse_providers(name: str, value: Any) -> frozenset[str]:
    accepted = ", ".join(_SWITCHABLE)
    providers = _parse_list(name, value, f"a comma-separated list of {accepted}")
    bad = [p for p in providers if p not in _SWITCHABLE]
    if bad:
        raise ConfigError(f"{name}={value!r}: unknown provider {', '.join(bad)}; accepted: {accepted}")
    return frozenset(providers)


def parse_selection(value: Any) -> frozenset[str] | None:
    """``instrument(providers=...)``: None instruments everything installed; a list (or comma-separated string)
    names exactly the providers and integrations to instrument, in the ``LLMTRACE_DISABLED_PROVIDERS`` namespace.

    Raises:
        ConfigError: naming ``providers``, the unknown names and the accepted ones.
    """
    return None if value is None else _parse_providers("providers", value)


def _parse_hash_key(name: str, value: Any) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, (str, bytes)):
        raise ConfigError(f"{name} must be a string or bytes; accepted: a secret of at least 16 bytes")
    key = value.encode() if isinstance(value, str) else value
    if not key:
        return None
    if len(key) < 16:
        raise ConfigError(f"{name} is too short ({len(key)} bytes); accepted: a secret of at least 16 bytes")
    return key


def _parse_pricing_file(name: str, value: Any) -> Path | None:
    if value is None or value == "":
        return None
    accepted = "accepted: a path to a JSON or YAML rate card"
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigError(f"{name}={value!r} is not a path; {accepted}")
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"{name}={str(value)!r}: no such file; {accepted}")
    from .pricing import RateCard  # validated here, so instrument() fails before patching anything

    try:
        RateCard.load(path)
    except ConfigError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}={str(value)!r}: cannot read the rate card ({exc}); {accepted}") from None
    return path


def _parse_positive_int(name: str, value: Any) -> int:
    try:
        number = -1 if isinstance(value, (bool, float)) else int(value)
    except (TypeError, ValueError):
        number = -1
    if number <= 0:
        raise ConfigError(f"{name}={value!r} is not a positive integer; accepted: an integer >= 1")
    return number


def _parse_redact(name: str, value: Any) -> Callable[[str], str] | None:
    if value is None or callable(value):
        return value
    raise ConfigError(f"{name}={value!r} is not callable; accepted: a function str -> str, or None")


def _parse_sdk_spans(name: str, value: Any) -> str:
    mode = str(value).strip().lower()
    if mode not in SDK_SPAN_MODES:
        raise ConfigError(f"{name}={value!r} is not a mode; accepted values: {', '.join(SDK_SPAN_MODES)}")
    return mode


_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "capture_content": _parse_bool,
    "hash_key": _parse_hash_key,
    "pricing_file": _parse_pricing_file,
    "genai_semconv": _parse_bool,
    "genai_metrics": _parse_bool,
    "metric_labels": _parse_metric_labels,
    "disabled_providers": _parse_providers,
    "content_max_length": _parse_positive_int,
    "redact": _parse_redact,
    "sdk_spans": _parse_sdk_spans,
}


def load_settings(overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Resolve settings: explicit ``overrides`` > ``LLMTRACE_*`` env vars > defaults.

    Raises:
        ConfigError: naming the kwarg or env var whose value is invalid, and the accepted values.
    """
    overrides = dict(overrides or {})
    env = os.environ if env is None else env
    unknown = sorted(set(overrides) - set(_PARSERS))
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; accepted: {', '.join(sorted(_PARSERS))}")
    values: dict[str, Any] = {}
    for key, parse in _PARSERS.items():
        if key in overrides:
            values[key] = parse(key, overrides[key])
        elif key in _ENV and _ENV[key] in env:
            values[key] = parse(_ENV[key], env[_ENV[key]])
    return Settings(**values)
