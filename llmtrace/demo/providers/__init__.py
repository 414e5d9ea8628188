"""Per-provider demo knowledge, one module per provider, found automatically.

Each module defines ``WIRE`` (the fake server's ``WireFormat`` for that provider's API) and ``DEMO`` (a
``DemoProvider``: the models the demo workload uses and how it calls the real SDK). Adding a provider to the fake
server and the demo is adding one module here.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..fake_server import WireFormat

__all__ = ["DemoProvider", "demo_providers", "module_names", "wire_formats"]


@dataclass(frozen=True)
class DemoProvider:
    """How the demo workload drives one provider's real SDK against the fake server."""

    name: str
    models: tuple[str, ...]
    make_client: Callable[[Any], Any]  # (fake server) -> client; raises ImportError when the SDK is not installed
    call: Callable[[Any, Any, dict[str, str]], None]  # (client, CallPlan, fault/usage headers) -> None
    priced: bool = True  # genai-prices has list prices for these models
    cache_read: bool = True  # the API reports cached input tokens
    cache_write: bool = False  # the API reports cache-creation tokens
    price_provider: str | None = None  # genai-prices provider id, when it differs from ``name``
    routes_to: str | None = None  # llm.provider llmtrace records, for wrappers that route elsewhere (litellm)


def module_names() -> list[str]:
    """The provider modules here, OpenAI first (it answers paths nobody claims: a 404 in its format)."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    return sorted(names, key=lambda n: n != "openai")


@functools.cache
def _modules() -> tuple[ModuleType, ...]:
    """Import every provider module; one that fails is left out with a warning (a test imports each strictly)."""
    found = []
    for name in module_names():
        try:
            found.append(importlib.import_module(f"{__name__}.{name}"))
        except Exception as exc:
            warnings.warn(f"llmtrace demo: provider module {name!r} failed to import: {exc!r}", stacklevel=2)
    return tuple(found)


def wire_formats() -> tuple[WireFormat, ...]:
    """Every provider's wire format, OpenAI first."""
    return tuple(m.WIRE for m in _modules())


def demo_providers() -> dict[str, DemoProvider]:
    """Provider name -> its demo driver, for every provider module (installed SDK or not)."""
    return {m.DEMO.name: m.DEMO for m in _modules() if hasattr(m, "DEMO")}
