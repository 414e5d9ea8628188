"""Agent runs, workflows and tool executions: ``llmtrace.agent()``, ``llmtrace.workflow()``, ``llmtrace.tool()``.

Each is a context manager and a decorator (sync and async functions, sync and async generators) that opens one
INTERNAL span as the OTel GenAI conventions describe it (``invoke_agent {name}``, ``invoke_workflow {name}``,
``execute_tool {name}``). Inside an agent run every LLM call carries ``llm.agent`` (span and metric label) and adds
its recorded numbers to the run (``rollup``), so the run's span ends with the cost, tokens and calls of everything
inside it, exact whether or not those calls' spans were sampled.

Instrumentation never changes what the user's code does: the user's exceptions pass through unchanged, a decorated
generator yields, receives, throws and closes exactly as the undecorated one (the run's context is entered on each
resume and left before each yield, so it never leaks into the consumer), and a failure of ours is logged once.
"""

from __future__ import annotations

import functools
import inspect
import json
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import _state
from ._guard import report_internal_error
from .call import LLMTracer
from .context import Attribution, current_attribution, merged_attribution, reset_attribution, set_attribution
from .hashing import canonical_arguments, canonical_json
from .messages import redact_leaves, to_plain
from .metrics import record_run, record_tool
from .mirror import RUN_TWINS, mirror
from .rollup import ACTIVE_RUN, RunTotals
from .semconv import Attr, GenAI, Operation

__all__ = ["Run", "ToolExecution", "agent", "current_tool", "tool", "workflow"]

F = TypeVar("F", bound=Callable[..., Any])
_MISSING: Any = object()


def agent(name: str, *, id: str | None = None, conversation: str | None = None) -> _Scope:
    """One agent run: an ``invoke_agent`` span whose LLM calls carry ``llm.agent=name`` and add up into it.

    Use it as a context manager (``with``/``async with``, giving the ``Run``) or as a decorator of a function,
    coroutine function or (async) generator function; each call of the decorated function is one run. Runs nest:
    an agent started inside another (a handoff) is its child, and the parent's totals include the child's.
    ``conversation`` becomes ``llm.session`` / ``gen_ai.conversation.id`` of the run and of every call inside.

    Example::

        with llmtrace.agent("planner", conversation=thread_id) as run:
            client.chat.completions.create(...)
        print(run.totals.cost_usd)

        @llmtrace.agent("researcher")
        async def research(question): ...
    """
    return _Scope(lambda _fn, _args, _kwargs: Run(Operation.INVOKE_AGENT, name, id, conversation))


def workflow(name: str, *, conversation: str | None = None) -> _Scope:
    """A named multi-agent run (``invoke_workflow`` span): the agents inside nest under it and add up into it.

    Same forms as ``agent()``; LLM calls directly inside keep whatever agent attribution they already had.

    Example::

        with llmtrace.workflow("support-pipeline"):
            triage(ticket)
            answer(ticket)
    """
    return _Scope(lambda _fn, _args, _kwargs: Run(Operation.INVOKE_WORKFLOW, name, None, conversation))


def tool(name: str, *, call_id: str | None = None, type: str = "function", arguments: Any = _MISSING) -> _Scope:
    """One tool execution: an ``execute_tool`` span with its duration, outcome, and hashes of arguments and result.

    As a decorator, the arguments are the call's (bound to the signature, without ``self``/``cls``) and the result
    is the return value; as a context manager, pass ``arguments=`` and give the result with
    ``execution.record_result(value)``. Raw arguments and result go on the span only with ``capture_content``
    (redacted, size-capped). ``call_id`` is the id of the model's tool call this executes (``gen_ai.tool.call.id``).

    Example::

        @llmtrace.tool("search")
        def search(query: str) -> list[str]: ...

        with llmtrace.tool("search", call_id=call.id, arguments=call.function.arguments) as execution:
            execution.record_result(run_search(call))
    """

    def begin(fn: Callable[..., Any] | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> ToolExecution:
        execution = ToolExecution(name, call_id, type)
        if fn is not None:
            execution.call = (fn, args, kwargs)
        elif arguments is not _MISSING:
            execution.arguments = arguments
        return execution

    return _Scope(begin)


# -- what each span does ------------------------------------------------------------------------------------------


class Run:
    """An agent or workflow run in flight; ``totals`` holds its rollup so far (``rollup.RunTotals``)."""

    __slots__ = (
        "_tokens",
        "attribution",
        "error_type",
        "llm_tracer",
        "name",
        "operation",
        "span",
        "start_ns",
        "tenant",
        "totals",
    )

    def __init__(self, operation: Operation, name: str, agent_id: str | None, conversation: str | None) -> None:
        self.llm_tracer: LLMTracer = _state.get_llm_tracer()
        self.operation = operation.value
        self.name = name
        self.totals = RunTotals(ACTIVE_RUN.get())
        self.error_type: str | None = None
        is_agent = operation is Operation.INVOKE_AGENT
        outer = current_attribution()  # explicit, completed from baggage
        self.attribution = merged_attribution(agent=name if is_agent else None, session=conversation)
        self.tenant = outer.tenant
        attrs: dict[str, Any] = {Attr.OPERATION: self.operation, (Attr.AGENT if is_agent else Attr.WORKFLOW): name}
        if is_agent and agent_id is not None:
            attrs[Attr.AGENT_ID] = agent_id
        _put_attribution(attrs, outer._replace(session=conversation or outer.session), with_agent=False)
        self.start_ns = time.perf_counter_ns()
        self.span = _start_span(self.llm_tracer, f"{self.operation} {name}", attrs)
        self._tokens: tuple[Any, ...] | None = None

    def record_error(self, error_type: str) -> None:
        """The run failed without an exception reaching us (a framework reported the failure): it ends as an error
        of ``error_type``. An exception, if one comes, still wins."""
        self.error_type = error_type

    def enter(self) -> None:
        self._tokens = (
            otel_context.attach(trace.set_span_in_context(self.span)),
            ACTIVE_RUN.set(self.totals),
            set_attribution(self.attribution),
        )

    def leave(self) -> None:
        tokens, self._tokens = self._tokens, None
        if tokens is not None:
            ctx_token, run_token, who_token = tokens
            reset_attribution(who_token)
            ACTIVE_RUN.reset(run_token)
            otel_context.detach(ctx_token)

    def end(self, exc: BaseException | None, result: Any = _MISSING) -> None:
        """The run returned (or raised ``exc``): add it to its parent, record its metrics, end its span."""
        try:
            self._end(exc)
        except Exception:
            _end_span_anyway(self.span)
            report_internal_error("agents.run")

    def _end(self, exc: BaseException | None) -> None:
        duration_s = (time.perf_counter_ns() - self.start_ns) / 1e9
        totals, span = self.totals, self.span
        if totals.parent is not None:
            totals.parent.add_run(totals)
        error_type = _error_type(exc) if exc is not None else self.error_type
        ctx = trace.set_span_in_context(span)
        record_run(
            self.llm_tracer,
            self.operation,
            self.name,
            self.tenant,
            duration_s,
            totals.calls,
            totals.cost_usd,
            error_type,
            ctx,
        )
        if span.is_recording():
            attrs = _outcome_attributes(self.llm_tracer, duration_s, error_type)
            attrs.update(_rollup_attributes(totals))
            span.set_attributes(attrs)
            if error_type is not None:
                span.set_status(Status(StatusCode.ERROR, error_type))
        span.end()


class ToolExecution:
    """A tool execution in flight. Give its result with ``record_result`` when used as a context manager."""

    __slots__ = (
        "_token",
        "arguments",
        "call",
        "error_type",
        "llm_tracer",
        "name",
        "result",
        "run",
        "span",
        "start_ns",
        "who",
    )

    def __init__(self, name: str, call_id: str | None, tool_type: str) -> None:
        self.llm_tracer: LLMTracer = _state.get_llm_tracer()
        self.name = name
        self.run = ACTIVE_RUN.get()
        self.who = current_attribution()
        self.arguments: Any = _MISSING
        self.result: Any = _MISSING
        self.call: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]] | None = None
        self.error_type: str | None = None
        attrs: dict[str, Any] = {Attr.OPERATION: Operation.EXECUTE_TOOL.value, Attr.TOOL_NAME: name}
        if tool_type:
            attrs[Attr.TOOL_TYPE] = tool_type
        if call_id is not None:
            attrs[Attr.TOOL_CALL_ID] = call_id
        _put_attribution(attrs, self.who, with_agent=True)
        self.start_ns = time.perf_counter_ns()
        self.span = _start_span(self.llm_tracer, f"{Operation.EXECUTE_TOOL.value} {name}", attrs)
        self._token: Any = None

    def record_result(self, value: Any) -> None:
        """The tool's result, hashed onto the span when it ends (and captured raw only with ``capture_content``)."""
        self.result = value

    def record_error(self, error_type: str) -> None:
        """The tool failed without raising (its result says so, as MCP's ``isError`` does): it ends as an error of
        ``error_type``, counted in its run and metrics like a raise. An exception, if one comes, still wins."""
        self.error_type = error_type

    def enter(self) -> None:
        self._token = (otel_context.attach(trace.set_span_in_context(self.span)), _ACTIVE_TOOL.set(self))

    def leave(self) -> None:
        tokens, self._token = self._token, None
        if tokens is not None:
            ctx_token, tool_token = tokens
            _ACTIVE_TOOL.reset(tool_token)
            otel_context.detach(ctx_token)

    def end(self, exc: BaseException | None, result: Any = _MISSING) -> None:
        """The tool returned ``result`` (or raised ``exc``): count it in its run and metrics, end its span."""
        try:
            if result is not _MISSING:
                self.result = result
            self._end(exc)
        except Exception:
            _end_span_anyway(self.span)
            report_internal_error("agents.tool")

    def _end(self, exc: BaseException | None) -> None:
        duration_s = (time.perf_counter_ns() - self.start_ns) / 1e9
        error_type = _error_type(exc) if exc is not None else self.error_type
        if self.run is not None:
            self.run.add_tool(error_type is not None)
        span = self.span
        record_tool(self.llm_tracer, self.name, self.who.agent, duration_s, error_type, trace.set_span_in_context(span))
        if span.is_recording():  # a sampled-out tool costs no binding, hashing or serializing
            attrs = _outcome_attributes(self.llm_tracer, duration_s, error_type)
            self._content_attributes(attrs)
            span.set_attributes(attrs)
            if error_type is not None:
                span.set_status(Status(StatusCode.ERROR, error_type))
        span.end()

    def _content_attributes(self, attrs: dict[str, Any]) -> None:
        """Hash and length of the arguments and the result (and, captured, their redacted JSON)."""
        arguments = _bound_arguments(*self.call) if self.call is not None else self.arguments
        for value, text_of, hash_key, length_key, content_key in (
            (
                arguments,
                canonical_arguments,
                Attr.TOOL_ARGUMENTS_HASH,
                Attr.TOOL_ARGUMENTS_LENGTH,
                GenAI.TOOL_CALL_ARGUMENTS,
            ),
            (self.result, _result_text, Attr.TOOL_RESULT_HASH, Attr.TOOL_RESULT_LENGTH, GenAI.TOOL_CALL_RESULT),
        ):
            if value is _MISSING or value is None:
                continue
            try:
                text = text_of(value)
            except (ValueError, TypeError, RecursionError):  # JSON cannot hold it (a circular list, mixed keys)
                continue  # no hash rather than no span attributes at all
            attrs[hash_key] = self.llm_tracer.hasher.hash_text(text)
            attrs[length_key] = len(text)
            if self.llm_tracer.settings.capture_content:
                # arguments given as JSON text are captured as the object they encode (text that is not JSON: as is)
                plain = json.loads(text) if text_of is canonical_arguments and text is not value else to_plain(value)
                attrs[content_key] = canonical_json(redact_leaves(plain, self.llm_tracer.redactor))


# The innermost tool execution entered in this context: an integration whose framework is about to run a tool that
# an outer instrumentation already traces (MCP's conventions ask for this) adds to that span instead of nesting a twin.
_ACTIVE_TOOL: ContextVar[ToolExecution | None] = ContextVar("llmtrace_active_tool", default=None)


def current_tool() -> ToolExecution | None:
    """The innermost tool execution whose context is entered here, or None."""
    return _ACTIVE_TOOL.get()


# -- shared helpers -----------------------------------------------------------------------------------------------


def _start_span(llm_tracer: LLMTracer, name: str, attrs: dict[str, Any]) -> trace.Span:
    if llm_tracer.settings.genai_semconv:
        mirror(attrs, RUN_TWINS)
    return llm_tracer.otel_tracer.start_span(name, kind=SpanKind.INTERNAL, attributes=attrs)


def _put_attribution(attrs: dict[str, Any], who: Attribution, *, with_agent: bool) -> None:
    """The run's or tool's attribution on its span: session, tenant and user (and for a tool, its agent)."""
    if with_agent and who.agent is not None:
        attrs[Attr.AGENT] = who.agent
    for key, value in ((Attr.SESSION, who.session), (Attr.TENANT, who.tenant), (Attr.USER, who.user)):
        if value is not None:
            attrs[key] = value


def _result_text(result: Any) -> str:
    return result if isinstance(result, str) else canonical_json(result)


def _error_type(exc: BaseException | None) -> str | None:
    """The exception's class, as ``error.type`` wants it: low cardinality, defined by code, never by content."""
    return type(exc).__qualname__ if exc is not None else None


def _outcome_attributes(llm_tracer: LLMTracer, duration_s: float, error_type: str | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {Attr.LATENCY_MS: duration_s * 1000.0, Attr.SUCCESS: error_type is None}
    if error_type is not None:
        attrs[Attr.ERROR_TYPE] = error_type
        if llm_tracer.settings.genai_semconv:
            attrs[GenAI.ERROR_TYPE] = error_type
    return attrs


def _rollup_attributes(totals: RunTotals) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        Attr.RUN_CALLS: totals.calls,
        Attr.RUN_CALL_ERRORS: totals.call_errors,
        Attr.RUN_RETRIES: totals.retries,
        Attr.RUN_TOKENS_INPUT: totals.input_tokens,
        Attr.RUN_TOKENS_OUTPUT: totals.output_tokens,
        Attr.RUN_COST_USD: totals.cost_usd,
        Attr.RUN_TOOL_CALLS: totals.tool_calls,
        Attr.RUN_TOOL_ERRORS: totals.tool_errors,
    }
    if totals.unpriced_calls:
        attrs[Attr.RUN_UNPRICED_CALLS] = totals.unpriced_calls
    return attrs


def _end_span_anyway(span: trace.Span) -> None:
    try:
        if span.is_recording():
            span.end()
    except Exception:
        pass


_SIGNATURES: dict[Any, inspect.Signature | None] = {}
_SIGNATURES_MAX = 1024


def _bound_arguments(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments by parameter name (defaults left out), without ``self``/``cls``."""
    signature = _SIGNATURES.get(fn, _MISSING)
    if signature is _MISSING:
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError):
            signature = None
        if len(_SIGNATURES) >= _SIGNATURES_MAX:
            _SIGNATURES.clear()  # tools made per call (closures) must not grow this without bound
        _SIGNATURES[fn] = signature
    if signature is None:
        return {"args": list(args), "kwargs": kwargs}
    try:
        bound = signature.bind(*args, **kwargs).arguments
    except TypeError:
        return {"args": list(args), "kwargs": kwargs}
    return {key: value for key, value in bound.items() if key not in ("self", "cls")}


# -- the context manager and decorator ----------------------------------------------------------------------------

Active = Run | ToolExecution
# The innermost run or tool opened with ``with`` in this context: __exit__ finds what it closes here, so one scope
# object (a module-level ``planner = llmtrace.agent("planner")``) can be entered by many threads and tasks at once.
_OPEN: ContextVar[list[Any] | None] = ContextVar("llmtrace_open_scope", default=None)


class _Scope:
    """What ``agent()``, ``workflow()`` and ``tool()`` return: a context manager and a decorator."""

    __slots__ = ("_begin",)

    def __init__(self, begin: Callable[[Callable[..., Any] | None, tuple[Any, ...], dict[str, Any]], Active]) -> None:
        self._begin = begin

    def _start(self, fn: Callable[..., Any] | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Active | None:
        """The run or tool, entered; None when llmtrace failed to start it (the user's code then runs bare)."""
        try:
            active = self._begin(fn, args, kwargs)
        except Exception:
            report_internal_error("agents.start")
            return None
        try:
            active.enter()
        except Exception:
            _end_span_anyway(active.span)
            report_internal_error("agents.enter")
            return None
        return active

    # -- with / async with -------------------------------------------------------------------------------------
    def __enter__(self) -> Any:
        active = self._start(None, (), {})
        entry: list[Any] = [active, None]  # pushed even when not started, so __exit__ never ends an outer one
        entry[1] = _OPEN.set(entry)
        return active

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        entry = _OPEN.get()
        if entry is None:
            return
        active, token = entry
        try:
            _OPEN.reset(token)
        except Exception:
            report_internal_error("agents.exit")
        if active is not None:
            _leave(active)
            active.end(exc)

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    # -- decorator ---------------------------------------------------------------------------------------------
    def __call__(self, fn: F) -> F:
        if inspect.isasyncgenfunction(fn):
            wrapper: Any = _async_generator(self, fn)
        elif inspect.isgeneratorfunction(fn):
            wrapper = _generator(self, fn)
        elif inspect.iscoroutinefunction(fn):
            wrapper = _coroutine(self, fn)
        else:
            wrapper = _function(self, fn)
        return functools.wraps(fn)(wrapper)  # type: ignore[no-any-return]


def _leave(active: Active) -> None:
    try:
        active.leave()
    except Exception:
        report_internal_error("agents.leave")


def _function(scope: _Scope, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        active = scope._start(fn, args, kwargs)
        if active is None:
            return fn(*args, **kwargs)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            _leave(active)
            active.end(exc)
            raise
        _leave(active)
        active.end(None, result)
        return result

    return wrapper


def _coroutine(scope: _Scope, fn: Callable[..., Any]) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        active = scope._start(fn, args, kwargs)
        if active is None:
            return await fn(*args, **kwargs)
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            _leave(active)
            active.end(exc)
            raise
        _leave(active)
        active.end(None, result)
        return result

    return wrapper


def _generator(scope: _Scope, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A generator function's wrapper: the run starts at the first ``next()`` (as the body would), its context is
    entered around each resume of the inner generator, and ``send``/``throw``/``close`` are passed through."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        active = scope._start(fn, args, kwargs)
        if active is None:
            return (yield from fn(*args, **kwargs))
        try:
            inner = fn(*args, **kwargs)
        except BaseException as exc:
            _leave(active)
            active.end(exc)
            raise
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            try:  # the inner generator runs inside the run's context...
                item = inner.send(sent) if thrown is None else inner.throw(thrown)
            except StopIteration as stop:
                _leave(active)
                active.end(None)
                return stop.value
            except BaseException as exc:
                _leave(active)
                active.end(exc)
                raise
            finally:
                thrown = None
            _leave(active)  # ...and the consumer between items outside it
            try:
                sent = yield item
            except GeneratorExit:
                _close(active, inner.close)
                raise
            except BaseException as exc:
                thrown = exc
            _reenter(active)

    return wrapper


def _async_generator(scope: _Scope, fn: Callable[..., Any]) -> Callable[..., Any]:
    """The async twin of ``_generator``: ``asend``/``athrow``/``aclose`` passed through."""

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        active = scope._start(fn, args, kwargs)
        if active is None:
            async for item in fn(*args, **kwargs):
                yield item
            return
        try:
            inner = fn(*args, **kwargs)
        except BaseException as exc:
            _leave(active)
            active.end(exc)
            raise
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            try:
                item = await (inner.asend(sent) if thrown is None else inner.athrow(thrown))
            except StopAsyncIteration:
                _leave(active)
                active.end(None)
                return
            except BaseException as exc:
                _leave(active)
                active.end(exc)
                raise
            finally:
                thrown = None
            _leave(active)
            try:
                sent = yield item
            except GeneratorExit:
                _reenter(active)
                try:
                    await inner.aclose()
                except BaseException as exc:
                    _leave(active)
                    active.end(exc)
                    raise
                _leave(active)
                active.end(None)
                raise
            except BaseException as exc:
                thrown = exc
            _reenter(active)

    return wrapper


def _reenter(active: Active) -> None:
    try:
        active.enter()
    except Exception:
        report_internal_error("agents.enter")


def _close(active: Active, close: Callable[[], Any]) -> None:
    """The consumer closed the generator early (a ``break``, or garbage collection): close the inner one inside
    the run's context, then end the run; a close is not a failure unless the inner generator raises."""
    _reenter(active)
    try:
        close()
    except BaseException as exc:
        _leave(active)
        active.end(exc)
        raise
    _leave(active)
    active.end(None)
