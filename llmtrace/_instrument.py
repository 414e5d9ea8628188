"""``instrument()`` / ``uninstrument()``: every installed provider SDK, one shared LLM tracer."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

from . import _state
from ._guard import logger
from .call import LLMTracer
from .config import load_settings, parse_selection
from .integrations import INTEGRATIONS
from .providers import PROVIDER_MODULES

__all__ = ["instrument", "sdk_installed", "uninstrument"]

_active: dict[str, Any] = {}


def instrument(
    *,
    providers: list[str] | str | None = None,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    **settings: Any,
) -> list[str]:
    """Instrument every installed provider SDK and agent framework (``llmtrace.integrations``), or only those named
    in ``providers``, and return the names instrumented.

    ``providers`` takes provider and integration names alike (``["openai", "openai_agents"]``): what it leaves out
    stays untraced, as with ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``. Settings and names are validated first: a bad
    kwarg, ``LLMTRACE_*`` value or unknown name raises ``ConfigError`` before anything is patched. SDKs and frameworks
    that are not installed are skipped silently; ``LLMTRACE_DISABLED_PROVIDERS`` skips others.

    Example::

        import llmtrace
        llmtrace.instrument(capture_content=False, metric_labels="agent,tenant")
        llmtrace.instrument(providers=["openai", "mcp"])  # the openai SDK and MCP tool calls, nothing else
    """
    resolved = load_settings(settings)
    selected = parse_selection(providers)
    llm_tracer = LLMTracer(resolved, tracer_provider=tracer_provider, meter_provider=meter_provider)
    _state.set_llm_tracer(llm_tracer)
    done = []

    def wanted(name: str) -> bool:
        return (selected is None or name in selected) and name not in resolved.disabled_providers

    for name, (module_name, class_name, sdk) in PROVIDER_MODULES.items():
        if not wanted(name) or not sdk_installed(sdk):
            continue
        instrumentor = getattr(importlib.import_module(module_name), class_name)()
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()  # re-instrument with the new settings
        instrumentor.instrument(_llm_tracer=llm_tracer, skip_dep_check=True)
        _active[name] = instrumentor
        done.append(name)
    for spec in INTEGRATIONS:
        if not wanted(spec.name) or not sdk_installed(spec.framework_module):
            continue
        instrumentor = getattr(importlib.import_module(spec.module), spec.instrumentor)()
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
        instrumentor.instrument(skip_dep_check=True)
        _active[spec.name] = instrumentor
        done.append(spec.name)
    logger.debug("llmtrace instrumented: %s", ", ".join(done) or "nothing")
    return done


def sdk_installed(module: str) -> bool:
    """Whether ``module`` can be imported, found without importing it (or, for ``a.b``, its package ``a``)."""
    top, _, rest = module.partition(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    if spec is None or not rest:
        return spec is not None
    if top in sys.modules:
        try:
            return importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            return False
    first = rest.split(".")[0]
    names = (first, f"{first}.py")
    return any(os.path.exists(os.path.join(path, n)) for path in spec.submodule_search_locations or [] for n in names)


def uninstrument() -> None:
    """Restore every SDK method llmtrace wrapped."""
    while _active:
        _, instrumentor = _active.popitem()
        instrumentor.uninstrument()
    _state.set_llm_tracer(None)
