"""Agent-framework integrations: each maps a framework's own agents, tools and runs onto llmtrace's agent, workflow
and tool spans (``llmtrace.agents``), with the LLM calls the providers record nested under them.

One registry, like the providers' (``providers._registry``): ``instrument()``, ``opentelemetry-instrument`` (the
entry points), ``LLMTRACE_DISABLED_PROVIDERS`` and ``doctor`` read ``INTEGRATIONS``; a test holds it equal to
pyproject's entry points and extras. Each integration is an OTel ``BaseInstrumentor`` that records through the
process's shared LLM tracer. This module imports nothing of llmtrace, so any module may use it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["INTEGRATIONS", "IntegrationSpec"]


@dataclass(frozen=True, slots=True)
class IntegrationSpec:
    """One agent framework. ``name``: the ``instrument()`` / ``LLMTRACE_DISABLED_PROVIDERS`` key and the entry point
    ``llmtrace_<name>``; ``framework_module``: the import that must be available; ``module``/``instrumentor``: where
    its instrumentor lives; ``extra``/``distribution``: the pyproject extra and the framework's distribution."""

    name: str
    framework_module: str
    module: str
    instrumentor: str
    extra: str
    distribution: str


INTEGRATIONS: tuple[IntegrationSpec, ...] = (
    IntegrationSpec("mcp", "mcp", "llmtrace.integrations.mcp", "MCPInstrumentor", "mcp", "mcp"),
    IntegrationSpec(
        "openai_agents",
        "agents",
        "llmtrace.integrations.openai_agents",
        "OpenAIAgentsInstrumentor",
        "openai-agents",
        "openai-agents",
    ),
    IntegrationSpec(
        "langchain",
        "langchain_core",
        "llmtrace.integrations.langchain",
        "LangChainInstrumentor",
        "langchain",
        "langchain-core",
    ),
)
