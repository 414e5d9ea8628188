"""Provider instrumentors: each module declares one ``Provider`` (``_contract``); ``_instrumentor`` is the mechanics."""

from __future__ import annotations

from ._registry import PROVIDERS

__all__ = ["PROVIDERS", "PROVIDER_MODULES"]

# llm.provider name -> (instrumentor module, class name, SDK import name that must be importable), from the registry.
PROVIDER_MODULES: dict[str, tuple[str, str, str]] = {
    spec.name: (spec.module, spec.instrumentor, spec.sdk_module) for spec in PROVIDERS
}
