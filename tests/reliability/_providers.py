"""The per-provider table behind the reliability and content-safety tests, derived from the registry.

Each provider's test module defines its ``RELIABILITY_CASE`` (see ``_case``); a provider whose SDK is not installed
has no entry (its test module cannot import it).
"""

from __future__ import annotations

import importlib

from llmtrace.providers._registry import PROVIDERS as SPECS

from ._case import TOOL_ARGUMENTS, TOOL_CALL_ID, Prompt, ProviderCase, available

__all__ = ["PROVIDERS", "TOOL_ARGUMENTS", "TOOL_CALL_ID", "Prompt", "ProviderCase", "available", "case_module"]


def case_module(module: str) -> str:
    """The test module holding the entry of the provider whose instrumentor lives in ``module``."""
    return f"tests.providers.test_{module.rsplit('.', 1)[-1]}"


def _cases() -> tuple[ProviderCase, ...]:
    found = []
    for spec in SPECS:
        try:
            found.append(importlib.import_module(case_module(spec.module)).RELIABILITY_CASE)
        except ImportError:  # the SDK is not installed
            continue
    return tuple(found)


PROVIDERS: tuple[ProviderCase, ...] = _cases()
