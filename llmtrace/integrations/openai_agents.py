"""OpenAI Agents SDK (``openai-agents``, imported as ``agents``): its agent runs, function tools, handoffs and
guardrails as llmtrace's agent and tool spans, with the LLM calls the openai instrumentor records nested under them.

The SDK reports its own trace to every ``agents.tracing.TracingProcessor``; llmtrace adds one (``_Processor``)
*beside* the SDK's default processor, which keeps exporting to OpenAI's trace backend exactly as before. Replacing it
would silently switch off a dashboard the user may rely on; dropping it is the user's call
(``agents.set_trace_processors([])``, which keeps llmtrace's). What the processor turns into OTel:

- an SDK ``agent`` span -> ``invoke_agent {name}`` (``llmtrace.agents.Run``: run rollup, ``llm_runs_total``). After a
  handoff the SDK ends the first agent's span and starts the next one beside it; here the next run nests *inside*
  the agent that handed off (as ``llmtrace.agent`` runs nest), whose span stays open until the chain ends, so the
  first agent's rollup is the whole run's. The handoff is an ``llm.agent.handoff`` event on the agent that handed
  off (and ``llm.handoff.from_agent`` on the new run); a guardrail's verdict is an ``llm.agent.guardrail`` event on
  the agent it guarded. Events, not spans: neither does work of its own worth a duration.
- an SDK ``function`` span -> ``execute_tool {name}`` (``llmtrace.agents.ToolExecution``): hashed arguments and
  result, the model's tool call id, the exception class of a tool that raised.
- the SDK's ``response`` / ``generation`` spans -> nothing: the openai instrumentor already makes one CLIENT span
  per call, and the agent's context (OTel span, run, ``llm.agent``) is current when the SDK calls the client.

The SDK starts an agent or function span, calls the processor, then makes it current in the same context, and
reverses that at the end: the processor enters and leaves llmtrace's run or tool there too. With SDK tracing off
(``OPENAI_AGENTS_DISABLE_TRACING``, ``set_tracing_disabled``, ``RunConfig(tracing_disabled=True)``) the SDK reports
nothing: LLM calls are still traced, as calls outside any agent. Two small wraps add what the SDK's spans lack:
``ToolContext.from_agent_context`` (the tool call id) and the tool-failure handler (the exception's class); a third
keeps llmtrace's processor registered when the app replaces the SDK's (``set_trace_processors``), before or after
``instrument()``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Collection
from contextvars import ContextVar, Token
from typing import Any

import wrapt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap

from .._guard import report_internal_error
from .._imports import when_imported
from ..agents import Run, ToolExecution
from ..mirror import RUN_TWINS, mirror
from ..providers._instrumentor import integration_llm_tracer
from ..semconv import Attr, Operation

__all__ = ["OpenAIAgentsInstrumentor"]

_SDK = "agents"
# error.type of a failure the SDK reported without an exception in sight (the OTel conventions' fallback value)
_OTHER_ERROR = "_OTHER"
# (module, attribute) wrapped to learn a tool's call id, and the class of the exception a tool raised
_CALL_ID_TARGET = ("agents.tool_context", "ToolContext.from_agent_context")
_FAILURE_TARGETS = (
    ("agents.tool", "maybe_invoke_function_tool_failure_error_function"),
    ("agents.run_internal.tool_execution", "maybe_invoke_function_tool_failure_error_function"),
)
# what ``agents.set_trace_processors`` calls: wrapped so that replacing the SDK's processors keeps llmtrace's
_PROCESSORS_TARGET = ("agents.tracing.provider", "SynchronousMultiTracingProcessor.set_processors")


class _AgentRun:
    """One SDK agent span's run, and the run it nests in when a handoff started it."""

    __slots__ = ("handed_off_to", "name", "outer_exc", "parent", "run")

    def __init__(self, run: Run, name: str, parent: _AgentRun | None, outer_exc: BaseException | None) -> None:
        self.run = run
        self.name = name
        self.parent = parent  # the agent that handed off to this one (its run ends when this one does)
        self.outer_exc = outer_exc  # an exception the caller was already handling: not this run's failure
        self.handed_off_to: str | None = None


class _Tool:
    """One SDK function span's tool execution."""

    __slots__ = ("arguments", "error_type", "execution", "has_call_id", "outer_exc", "token")

    def __init__(self, execution: ToolExecution, outer_exc: BaseException | None) -> None:
        self.execution = execution
        self.outer_exc = outer_exc
        self.error_type: str | None = None  # the class of what the tool raised, from the SDK's failure handler
        self.has_call_id = False
        self.arguments: str | None = None  # the model's arguments, from the tool's context
        self.token: Token[_Tool | None] | None = None


# The tool execution whose SDK function span is current in this context (the two wraps report to it).
_CURRENT_TOOL: ContextVar[_Tool | None] = ContextVar("llmtrace_openai_agents_tool", default=None)


class _Processor:
    """The ``TracingProcessor`` llmtrace adds to the SDK (registered once, inert while uninstrumented).

    SDK spans are matched by id: ``_open`` holds our run or tool per open agent or function span, ``_owner`` the
    agent run every open span belongs to (for handoff and guardrail events), ``_handed_off`` the runs whose agent
    handed off, by (trace id, parent span id, name) of the agent span that will take over."""

    def __init__(self) -> None:
        self.enabled = False
        self._open: dict[str, _AgentRun | _Tool] = {}
        self._owner: dict[str, _AgentRun] = {}
        self._handed_off: dict[tuple[str, str | None, str], _AgentRun] = {}
        self._conversations: dict[str, str] = {}

    # -- the TracingProcessor interface ---------------------------------------------------------------------------
    def on_trace_start(self, trace: Any) -> None:
        try:
            group_id = getattr(trace, "group_id", None)
            if self.enabled and group_id:
                self._conversations[trace.trace_id] = str(group_id)
        except Exception:
            report_internal_error("openai_agents.trace_start")

    def on_trace_end(self, trace: Any) -> None:
        try:
            trace_id = trace.trace_id
            self._conversations.pop(trace_id, None)
            for key in [key for key in list(self._handed_off) if key[0] == trace_id]:
                # a handoff whose next agent never started (the run failed in between): end the chain here
                self._end_chain(self._handed_off.pop(key, None), _in_flight(None))
        except Exception:
            report_internal_error("openai_agents.trace_end")

    def on_span_start(self, span: Any) -> None:
        try:
            if not self.enabled:
                return
            kind = span.span_data.type
            if kind == "agent":
                self._start_agent(span)
            elif kind == "function":
                self._start_tool(span)
            else:
                owner = self._owner.get(span.parent_id)  # type: ignore[arg-type]
                if owner is not None:
                    self._owner[span.span_id] = owner
        except Exception:
            report_internal_error("openai_agents.span_start")

    def on_span_end(self, span: Any) -> None:
        try:
            owner = self._owner.pop(span.span_id, None)
            opened = self._open.pop(span.span_id, None)
            if isinstance(opened, _AgentRun):
                self._end_agent(span, opened)
            elif isinstance(opened, _Tool):
                self._end_tool(span, opened)
            elif owner is not None:
                kind = span.span_data.type
                if kind == "handoff":
                    _record_handoff(owner, span.span_data)
                elif kind == "guardrail":
                    _record_guardrail(owner, span.span_data)
        except Exception:
            report_internal_error("openai_agents.span_end")

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass

    # -- agents ------------------------------------------------------------------------------------------------------
    def _start_agent(self, span: Any) -> None:
        name = str(span.span_data.name)
        parent = self._handed_off.pop((span.trace_id, span.parent_id, name), None)
        conversation = self._conversations.get(span.trace_id)
        if parent is None:
            run = Run(Operation.INVOKE_AGENT, name, None, conversation)
        else:
            parent.run.enter()  # the new agent's run starts inside the one that handed off to it
            try:
                run = Run(Operation.INVOKE_AGENT, name, None, conversation)
            finally:
                parent.run.leave()
            run.span.set_attribute(Attr.HANDOFF_FROM_AGENT, parent.name)
        run.enter()
        state = _AgentRun(run, name, parent, sys.exc_info()[1])
        self._open[span.span_id] = state
        self._owner[span.span_id] = state

    def _end_agent(self, span: Any, state: _AgentRun) -> None:
        _leave(state.run.leave)
        failure = _failure(span, state.outer_exc)
        if failure is None and state.handed_off_to is not None:
            # ends with the agent it handed off to, whose span the SDK starts next, beside this one
            self._handed_off[(span.trace_id, span.parent_id, state.handed_off_to)] = state
            return
        self._end_chain(state, failure)

    @staticmethod
    def _end_chain(state: _AgentRun | None, failure: str | None) -> None:
        """End a run and every run that handed off into it: the chain failed if its last agent did."""
        while state is not None:
            if failure is not None:
                state.run.record_error(failure)
            state.run.end(None)
            state = state.parent

    # -- tools ---------------------------------------------------------------------------------------------------------
    def _start_tool(self, span: Any) -> None:
        owner = self._owner.get(span.parent_id)
        if owner is not None:
            self._owner[span.span_id] = owner
        execution = ToolExecution(str(span.span_data.name), None, "function")
        execution.enter()
        state = _Tool(execution, sys.exc_info()[1])
        state.token = _CURRENT_TOOL.set(state)
        self._open[span.span_id] = state

    def _end_tool(self, span: Any, state: _Tool) -> None:
        execution, data = state.execution, span.span_data
        if state.token is not None:
            _leave(lambda: _CURRENT_TOOL.reset(state.token), execution.leave)  # type: ignore[arg-type]
        arguments = data.input if data.input is not None else state.arguments
        if arguments is not None:
            execution.arguments = arguments
        failure = _failure(span, state.outer_exc, state.error_type)
        if failure is not None:
            execution.record_error(failure)
        elif data.output is not None:
            execution.record_result(data.output)  # a failed tool's output is the SDK's error text: not a result
        execution.end(None)


def _record_handoff(owner: _AgentRun, data: Any) -> None:
    to_agent = getattr(data, "to_agent", None)
    if to_agent is None:
        return  # the handoff failed before it chose an agent: the run's own error says why
    owner.handed_off_to = str(to_agent)
    from_agent = getattr(data, "from_agent", None) or owner.name
    owner.run.span.add_event(
        Attr.EVENT_HANDOFF, {Attr.HANDOFF_FROM_AGENT: str(from_agent), Attr.HANDOFF_TO_AGENT: str(to_agent)}
    )


def _record_guardrail(owner: _AgentRun, data: Any) -> None:
    attributes = {Attr.GUARDRAIL_NAME: str(data.name), Attr.GUARDRAIL_TRIGGERED: bool(data.triggered)}
    owner.run.span.add_event(Attr.EVENT_GUARDRAIL, attributes)


def _in_flight(outer_exc: BaseException | None) -> str | None:
    """The class of the exception propagating through the SDK's span ``finish`` (``sys.exc_info`` sees it there,
    in the ``finally`` or ``__exit__`` that ends the span), unless the caller was already handling it."""
    exc = sys.exc_info()[1]
    return type(exc).__qualname__ if exc is not None and exc is not outer_exc else None


def _failure(span: Any, outer_exc: BaseException | None, known: str | None = None) -> str | None:
    """``error.type`` of an SDK span that failed, else None: what the tool raised when the failure handler told us,
    else the exception ending the span, else the fallback when the SDK only marked the span as failed."""
    if known is not None:
        return known
    in_flight = _in_flight(outer_exc)
    if in_flight is not None:
        return in_flight
    return _OTHER_ERROR if getattr(span, "error", None) is not None else None


def _leave(*steps: Callable[[], Any]) -> None:
    """Leave a run's or tool's context. An SDK span ended in another context than it started (never seen, but not
    ours to forbid) cannot reset this one's variables: ``ValueError`` from the first reset, and nothing to undo."""
    try:
        for step in steps:
            step()
    except ValueError:
        pass


# -- the wraps ----------------------------------------------------------------------------------------------------


def _note_call_id(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """``ToolContext.from_agent_context``: the SDK builds the tool's context inside its function span, with the id of
    the model's tool call and the arguments (which the span has only when the SDK traces sensitive data)."""
    context = wrapped(*args, **kwargs)
    try:
        state = _CURRENT_TOOL.get()
        if state is not None and not state.has_call_id:
            state.has_call_id = True
            call_id = getattr(context, "tool_call_id", None)
            if call_id:
                execution = state.execution
                attrs: dict[str, Any] = {Attr.TOOL_CALL_ID: str(call_id)}
                if execution.llm_tracer.settings.genai_semconv:
                    mirror(attrs, RUN_TWINS)
                execution.span.set_attributes(attrs)
            state.arguments = getattr(context, "tool_arguments", None)
    except Exception:
        report_internal_error("openai_agents.call_id")
    return context


async def _note_failure(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """The SDK's tool-failure handler gets the exception the tool raised (and then swallows it, or re-raises it
    wrapped in ``UserError``): its class is the tool span's ``error.type``."""
    try:
        state = _CURRENT_TOOL.get()
        error = kwargs.get("error")
        if state is not None and isinstance(error, BaseException):
            state.error_type = type(error).__qualname__
    except Exception:
        report_internal_error("openai_agents.failure")
    return await wrapped(*args, **kwargs)


def _keep_registered(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """``set_processors`` replaces the SDK's processors, usually to drop its exporter to OpenAI (or to put one's own
    in its place): llmtrace's processor stays in the new list until uninstrumented, whenever the app calls it."""
    try:
        processors = list(args[0] if args else kwargs["processors"])
        if _PROCESSOR.enabled and not any(p is _PROCESSOR for p in processors):
            args, kwargs = ([*processors, _PROCESSOR],), {}
    except Exception:
        report_internal_error("openai_agents.set_processors")
    return wrapped(*args, **kwargs)


# -- the instrumentor ---------------------------------------------------------------------------------------------

_PROCESSOR = _Processor()


class OpenAIAgentsInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Maps the OpenAI Agents SDK's agent runs, tools, handoffs and guardrails onto llmtrace's spans and run metrics.

    Pair it with the openai provider instrumentor (``llmtrace.instrument()`` does both) for the LLM calls.

    Example::

        from llmtrace.integrations.openai_agents import OpenAIAgentsInstrumentor
        OpenAIAgentsInstrumentor().instrument()
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("openai-agents >= 0.24",)

    def _instrument(self, **kwargs: Any) -> None:
        self._off = integration_llm_tracer(kwargs) is None
        if self._off:
            return  # llmtrace is off in this process (a bad setting under auto-instrumentation, logged once)
        self._wrapped: list[tuple[Any, str]] = []
        self._generation = generation = object()
        when_imported(_SDK, lambda: self._patch(generation))  # never imports the SDK on our account

    def _patch(self, generation: object) -> None:
        if generation is not self._generation:
            return  # uninstrumented before the app imported the SDK
        try:
            _register(_PROCESSOR)
            _PROCESSOR.enabled = True
            self._wrap(*_CALL_ID_TARGET, _note_call_id)
            for module, name in _FAILURE_TARGETS:
                self._wrap(module, name, _note_failure)
            self._wrap(*_PROCESSORS_TARGET, _keep_registered)
        except Exception:
            report_internal_error("openai_agents.patch")

    def _wrap(self, module_name: str, name: str, wrapper: Callable[..., Any]) -> None:
        """Wrap ``module.name`` (``Class.method`` allowed) if this SDK version has it; skipped quietly otherwise."""
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return
        owner_name, _, attribute = name.rpartition(".")
        owner = getattr(module, owner_name, None) if owner_name else module
        if owner is None or not callable(getattr(owner, attribute, None)):
            return
        if isinstance(vars(owner).get(attribute), wrapt.FunctionWrapper):
            return
        wrapt.wrap_function_wrapper(owner, attribute, wrapper)
        self._wrapped.append((owner, attribute))

    def _uninstrument(self, **kwargs: Any) -> None:
        if self._off:
            return
        self._generation = None
        _PROCESSOR.enabled = False  # runs already open still end; nothing new starts
        while self._wrapped:
            owner, attribute = self._wrapped.pop()
            if isinstance(vars(owner).get(attribute), wrapt.FunctionWrapper):
                unwrap(owner, attribute)


def _register(processor: _Processor) -> None:
    """Add the processor beside the SDK's own, unless the SDK's trace provider already has it.

    It stays registered when uninstrumented (inert): removing it would strand the runs of SDK spans still open, and
    the SDK has no public way to remove one processor."""
    from agents.tracing import TracingProcessor, add_trace_processor, get_trace_provider

    if not issubclass(_Processor, TracingProcessor):
        TracingProcessor.register(_Processor)  # the SDK's interface, without importing the SDK with this module
    provider = get_trace_provider()
    registered = getattr(getattr(provider, "_multi_processor", None), "_processors", None)
    if registered is None:
        if getattr(provider, "_llmtrace_registered", False):
            return
        provider._llmtrace_registered = True
    elif any(p is processor for p in registered):
        return
    add_trace_processor(processor)
