"""pydantic-ai's per-request ``chat <model>`` span, folded into llmtrace's call span when llmtrace records the call.

With its instrumentation on (``agent.instrument``, ``Agent.instrument_all()``, the ``Instrumentation``
capability, ``InstrumentedModel``) pydantic-ai opens a CLIENT span per model request in
``open_model_request_span`` (pydantic-ai 2.x), which its agent flow and ``InstrumentedModel`` import by name. Under
llmtrace that is a second span of the same call, the parent of ours. The rows here hand that function settings whose
tracer records nothing, for the requests of the pydantic-ai models that call a method llmtrace wraps, so the call is
one span (ours) under pydantic-ai's ``invoke_agent`` span; pydantic-ai still records its own metrics and keeps its
agent and tool spans. A provider lists the rows for its models: they are patched only while it is instrumented.
"""

from __future__ import annotations

from typing import Any

from ..sdk_spans import SelfTracing

__all__ = ["chat_span"]

# where pydantic-ai's agent flow and InstrumentedModel look up the function that starts the span
# (name for doctor, module, how a user switches the span on)
_CALLERS = (
    (
        "pydantic-ai {}",
        "pydantic_ai.capabilities.instrumentation",
        "agent.instrument, Agent.instrument_all() or the Instrumentation capability",
    ),
    ("pydantic-ai InstrumentedModel({})", "pydantic_ai.models.instrumented", "wrapping a model in InstrumentedModel"),
)


def chat_span(*models: str) -> tuple[SelfTracing, ...]:
    """The rows folding the chat span of requests to pydantic-ai model classes named ``models`` (or subclasses)."""
    applies = _model_is(frozenset(models))
    return tuple(
        SelfTracing(
            sdk=sdk.format("/".join(models)),
            module=module,
            function="open_model_request_span",
            tracer_arg="settings",
            tracer_position=0,
            tracer_attribute="tracer",
            switch=switch,
            applies=applies,
            folds=f"the chat span of {'/'.join(models)} requests",
        )
        for sdk, module, switch in _CALLERS
    )


def _model_is(names: frozenset[str]) -> Any:
    def applies(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        request_context = kwargs["request_context"] if "request_context" in kwargs else args[1]
        model_class = type(request_context.model)
        return any(
            cls.__name__ in names and cls.__module__.startswith("pydantic_ai.models.") for cls in model_class.__mro__
        )

    return applies
