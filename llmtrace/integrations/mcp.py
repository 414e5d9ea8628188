"""MCP client tool calls as llmtrace tool executions: ``ClientSession.call_tool`` becomes an ``execute_tool {name}``
span (``llmtrace.agents.ToolExecution``), counted in the agent run it happens in, with the OTel MCP conventions'
attributes and the W3C trace context in the request's ``params._meta``.

What the span says:

- the tool execution as ``llmtrace.tool`` records it (duration, outcome, hashes of the arguments and of the result
  as it came over the wire; raw only with ``capture_content``, through the redactor), ``gen_ai.tool.type=extension``;
- the MCP side (semantic-conventions-genai ``model/mcp``): ``mcp.method.name=tools/call``, ``mcp.protocol.version``,
  ``jsonrpc.request.id``, ``mcp.session.id`` (streamable HTTP), ``network.transport`` (``pipe`` for stdio, ``tcp``
  for HTTP) and ``server.address``/``server.port`` when the session was opened through the SDK's transports while
  instrumented; the server's self-reported name and version (``llm.mcp.server.name``/``.version``, from the
  initialize result: the conventions have no name for them);
- the outcome: a ``CallToolResult`` with ``isError=true`` is a tool error of type ``tool_error`` (the conventions'
  value); an exception is an error of its class, with ``rpc.response.status_code`` when it is an ``MCPError``. The
  user gets the result or the exception unchanged either way.

Trace context: the tool span's context is injected (configured propagators: ``traceparent``, ``tracestate``,
``baggage``) into a copy of the request's ``_meta``, so the server's spans are its children. mcp 2.x also starts a
CLIENT span of its own per request (``MCP send tools/call {name}``) and injects that one; with ``sdk_spans=suppress``
(the default) that span is folded into ours, as for the other SDKs that trace themselves (``llmtrace.sdk_spans``): one
span per tool call, and the ``traceparent`` the server receives is the tool span's. With ``sdk_spans=keep`` the SDK's
span nests under ours and carries the context.

When an outer instrumentation already traces this tool execution (the current span is an llmtrace ``execute_tool``
span of the same tool name, e.g. an agent framework's function tool that calls the MCP server), the MCP attributes
and outcome go on that span instead of a second one, as the MCP conventions ask.
"""

from __future__ import annotations

import inspect
import sys
import weakref
from collections.abc import Callable, Collection, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import wrapt
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap

from .. import _state
from .._guard import report_internal_error
from .._imports import when_imported
from ..agents import ToolExecution, current_tool
from ..providers._instrumentor import _arguments, integration_llm_tracer
from ..semconv import MCP, Attr

try:  # the key moved between opentelemetry-instrumentation releases
    from opentelemetry.instrumentation.utils import _SUPPRESS_INSTRUMENTATION_KEY
except ImportError:  # pragma: no cover
    from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY  # type: ignore[attr-defined,no-redef]

__all__ = ["MCPInstrumentor"]

_SESSION = "mcp.client.session"
# (module, holder or "" for a module-level function, attribute): everything patched, in patching order.
_TARGETS: tuple[tuple[str, str, str], ...] = (
    (_SESSION, "ClientSession", "__init__"),
    (_SESSION, "ClientSession", "initialize"),
    (_SESSION, "ClientSession", "call_tool"),
    # mcp 2.x starts its own CLIENT span per request here and injects its context into _meta
    ("mcp.shared.jsonrpc_dispatcher", "", "otel_span"),
    ("mcp.client.stdio", "", "stdio_client"),
    ("mcp.client.streamable_http", "", "streamable_http_client"),
    ("mcp.client.streamable_http", "StreamableHTTPTransport", "__init__"),
)


class MCPInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Traces the ``mcp`` SDK's client tool calls (``ClientSession.call_tool``) as llmtrace tool executions.

    ``llmtrace.instrument()`` and ``opentelemetry-instrument`` pick it up when ``mcp`` is installed; on its own::

        from llmtrace.integrations.mcp import MCPInstrumentor
        MCPInstrumentor().instrument()  # tracer_provider=, meter_provider= and llmtrace settings as keywords
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("mcp >= 2.0",)

    def _instrument(self, **kwargs: Any) -> None:
        self._off = integration_llm_tracer(kwargs) is None
        if self._off:
            return  # llmtrace is off in this process (a bad setting under auto-instrumentation, logged once)
        self._generation = generation = object()
        self._wrapped: list[tuple[str, str, str]] = []
        for module in dict.fromkeys(target[0] for target in _TARGETS):
            when_imported(module, lambda module=module: self._patch(module, generation))

    def _patch(self, module_name: str, generation: object) -> None:
        if generation is not self._generation:
            return  # uninstrumented before the module was imported
        module = sys.modules[module_name]
        for target in _TARGETS:
            if target[0] != module_name:
                continue
            holder = getattr(module, target[1], None) if target[1] else module
            attr = target[2]
            if holder is None or not hasattr(holder, attr) or _is_wrapped(holder, attr):
                continue  # another SDK version: nothing of that name to wrap; or wrapped already
            original = getattr(holder, attr)
            wrapt.wrap_function_wrapper(holder, attr, _WRAPPERS[(target[1], attr)])
            self._wrapped.append(target)
            _rebind(attr, original, getattr(holder, attr))

    def _uninstrument(self, **kwargs: Any) -> None:
        if self._off:
            return
        self._generation = None
        while self._wrapped:
            module_name, holder_name, attr = self._wrapped.pop()
            module = sys.modules.get(module_name)
            holder = getattr(module, holder_name, None) if holder_name else module
            wrapper = getattr(holder, attr, None)
            if holder is not None and _is_wrapped(holder, attr):
                unwrap(holder, attr)
                _rebind(attr, wrapper, getattr(holder, attr))


def _is_wrapped(holder: Any, attr: str) -> bool:
    """Whether ``holder.attr`` is our wrapt wrapper. Read statically: through a class, ``getattr`` gives a
    ``BoundFunctionWrapper``, which is not a ``FunctionWrapper``, so a method would be wrapped again on each
    ``instrument()`` and never unwrapped."""
    return isinstance(inspect.getattr_static(holder, attr, None), wrapt.FunctionWrapper)


# Modules that import a transport function by name: an SDK imported before instrument() holds the original there.
_ALIASES = {
    "stdio_client": ("mcp", "mcp.client.client"),
    "streamable_http_client": ("mcp.client.client", "mcp.client.session_group"),
}


def _rebind(attr: str, old: Any, new: Any) -> None:
    """Point each module-level alias of ``old`` at ``new`` (the wrapper after patching, the original after)."""
    for module_name in _ALIASES.get(attr, ()):
        module = sys.modules.get(module_name)
        if module is not None and getattr(module, attr, None) is old:
            setattr(module, attr, new)


# -- what is known about a session ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Connection:
    """How a session reaches its server, as far as the SDK's transport functions tell: set while one is open."""

    network_transport: str
    address: str | None = None
    port: int | None = None
    http_transport: Any = None  # the SDK's StreamableHTTPTransport: its session_id arrives with the first response


_CONNECTION: ContextVar[_Connection | None] = ContextVar("llmtrace_mcp_connection", default=None)
_SESSIONS: weakref.WeakKeyDictionary[Any, _Connection] = weakref.WeakKeyDictionary()
_INITIALIZED: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _opened(connection: _Connection, wrapped: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    """The transport's context manager, with ``connection`` current while it is open (sessions made inside it
    remember it)."""

    @asynccontextmanager
    async def scope() -> Any:
        token = _CONNECTION.set(connection)
        try:
            async with wrapped(*args, **kwargs) as streams:
                yield streams
        finally:
            try:
                _CONNECTION.reset(token)
            except ValueError:  # exited in another context than entered: nothing of ours to restore there
                pass

    return scope()


def _stdio_client(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    return _opened(_Connection("pipe"), wrapped, args, kwargs)


def _streamable_http_client(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    url = args[0] if args else kwargs.get("url")
    connection = _Connection("tcp")
    try:
        parts = urlsplit(str(url))
        connection.address = parts.hostname
        connection.port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        pass
    return _opened(connection, wrapped, args, kwargs)


def _http_transport_init(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> None:
    wrapped(*args, **kwargs)
    connection = _CONNECTION.get()
    if connection is not None and connection.http_transport is None:
        connection.http_transport = instance


def _session_init(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> None:
    wrapped(*args, **kwargs)
    connection = _CONNECTION.get()
    if connection is not None:
        try:
            _SESSIONS[instance] = connection
        except TypeError:
            pass


async def _initialize(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    result = await wrapped(*args, **kwargs)
    try:
        _INITIALIZED[instance] = result  # SDKs that do not keep it on the session (mcp 1.x)
    except TypeError:
        pass
    return result


def _session_attributes(session: Any) -> dict[str, Any]:
    """What the tool span says about the server: its name and version, protocol and connection."""
    attrs: dict[str, Any] = {MCP.METHOD_NAME: MCP.TOOLS_CALL}
    initialized = _INITIALIZED.get(session)
    info = getattr(session, "server_info", None) or getattr(initialized, "serverInfo", None)
    version = getattr(session, "protocol_version", None) or getattr(initialized, "protocolVersion", None)
    for key, value in (
        (MCP.SERVER_NAME, getattr(info, "name", None)),
        (MCP.SERVER_VERSION, getattr(info, "version", None)),
        (MCP.PROTOCOL_VERSION, version),
    ):
        if isinstance(value, str):
            attrs[key] = value
    connection = _SESSIONS.get(session)
    if connection is not None:
        attrs[MCP.NETWORK_TRANSPORT] = connection.network_transport
        if connection.address:
            attrs[Attr.SERVER_ADDRESS] = connection.address
            if connection.port is not None:
                attrs[Attr.SERVER_PORT] = connection.port
        session_id = getattr(connection.http_transport, "session_id", None)
        if isinstance(session_id, str):
            attrs[MCP.SESSION_ID] = session_id
    return attrs


# -- one tool call ------------------------------------------------------------------------------------------------


class _ToolCall:
    """One ``call_tool`` in flight: the tool execution it records into (its own, or an outer one it adopted)."""

    __slots__ = ("_token", "adopted", "args", "execution", "folded", "kwargs")

    def __init__(self, execution: ToolExecution, adopted: bool, args: tuple[Any, ...], kwargs: dict[str, Any]):
        self.execution = execution
        self.adopted = adopted
        self.args = args
        self.kwargs = kwargs
        self.folded = False  # the SDK's own CLIENT span for this request was folded into ours
        self._token: Any = None

    @classmethod
    def start(cls, wrapped: Callable[..., Any], session: Any, args: Any, kwargs: dict[str, Any]) -> _ToolCall | None:
        """The call, with its span current and the request's ``_meta`` carrying it; None to call through."""
        if otel_context.get_value(_SUPPRESS_INSTRUMENTATION_KEY):
            return None
        try:
            bound = _arguments(wrapped, args, kwargs)
            name = bound.get("name")
            if not isinstance(name, str):
                return None
            execution, adopted = _execution_for(name)
        except Exception:
            report_internal_error("mcp.call_tool")
            return None
        try:
            if not adopted:
                execution.arguments = bound.get("arguments") or {}
            call = cls(execution, adopted, args, _with_trace_context(wrapped, kwargs, execution.span))
            if execution.span.is_recording():
                execution.span.set_attributes(_session_attributes(session))
            call._token = _CALL.set(call)
            return call
        except Exception:
            report_internal_error("mcp.call_tool")
            if not adopted:  # the user's call runs bare: nothing of ours stays current or open
                execution.leave()
                execution.end(None)
            return None

    def finish(self, exc: BaseException | None, result: Any) -> None:
        """The call returned ``result`` or raised ``exc``: the outcome onto the execution, which ends unless adopted."""
        try:
            _CALL.reset(self._token)
        except Exception:
            report_internal_error("mcp.call_tool")
        execution = self.execution
        try:
            _record_outcome(execution, exc, result)
        except Exception:
            report_internal_error("mcp.call_tool")
        if self.adopted:
            return  # the outer instrumentation ends its span
        try:
            execution.leave()
        except Exception:
            report_internal_error("mcp.call_tool")
        execution.end(exc)


_CALL: ContextVar[_ToolCall | None] = ContextVar("llmtrace_mcp_call", default=None)


def _execution_for(name: str) -> tuple[ToolExecution, bool]:
    """The outer tool execution already tracing this tool (its span current), or a new one, entered."""
    outer = current_tool()
    if outer is not None and outer.name == name and trace.get_current_span() is outer.span:
        return outer, True
    execution = ToolExecution(name, None, "extension")
    execution.enter()
    return execution, False


def _record_outcome(execution: ToolExecution, exc: BaseException | None, result: Any) -> None:
    if exc is not None:
        error = getattr(exc, "error", None)  # MCPError carries the JSON-RPC ErrorData
        code = getattr(error, "code", None)
        if isinstance(code, int) and execution.span.is_recording():
            execution.span.set_attribute(MCP.RPC_STATUS_CODE, str(code))
        return
    if getattr(result, "is_error", None) is True or getattr(result, "isError", None) is True:
        execution.record_error(MCP.TOOL_ERROR)
    dump = getattr(result, "model_dump", None)
    execution.record_result(dump(mode="json", by_alias=True, exclude_none=True) if callable(dump) else result)


def _with_trace_context(wrapped: Callable[..., Any], kwargs: dict[str, Any], span: trace.Span) -> dict[str, Any]:
    """The call's keyword arguments with ``meta`` a copy of the caller's plus the span's trace context."""
    if "meta" not in _parameters(wrapped):
        return kwargs  # an SDK version without per-request _meta
    meta = dict(kwargs.get("meta") or {})
    propagate.inject(meta, context=trace.set_span_in_context(span))
    return {**kwargs, "meta": meta}


_PARAMETERS: dict[Any, frozenset[str]] = {}


def _parameters(fn: Callable[..., Any]) -> frozenset[str]:
    names = _PARAMETERS.get(fn)
    if names is None:
        try:
            names = frozenset(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            names = frozenset()
        _PARAMETERS[fn] = names
    return names


async def _call_tool(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    call = _ToolCall.start(wrapped, instance, args, kwargs)
    if call is None:
        return await wrapped(*args, **kwargs)
    try:
        result = await wrapped(*call.args, **call.kwargs)
    except BaseException as exc:
        call.finish(exc, None)
        raise
    call.finish(None, result)
    return result


# -- the SDK's own span -------------------------------------------------------------------------------------------


def _sdk_span(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """mcp's ``otel_span``: for the tools/call request of the call in flight under ``sdk_spans=suppress``, a span
    that records nothing and carries ours, so the SDK's injection sends the tool span's context."""
    call = _CALL.get()
    if call is None or call.folded:
        return wrapped(*args, **kwargs)
    try:
        attributes = kwargs.get("attributes") or {}
        if attributes.get(MCP.METHOD_NAME) != MCP.TOOLS_CALL or not _suppressing_sdk_spans():
            return wrapped(*args, **kwargs)
        call.folded = True
        request_id = attributes.get(MCP.JSONRPC_REQUEST_ID)
        span = call.execution.span
        if request_id is not None and span.is_recording():
            span.set_attribute(MCP.JSONRPC_REQUEST_ID, str(request_id))
    except Exception:
        report_internal_error("mcp.sdk_span")
        return wrapped(*args, **kwargs)
    return _current_span()


def _suppressing_sdk_spans() -> bool:
    return _state.get_llm_tracer().settings.sdk_spans == "suppress"


@contextmanager
def _current_span() -> Iterator[trace.Span]:
    span = trace.NonRecordingSpan(trace.get_current_span().get_span_context())
    with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
        yield span


_WRAPPERS: dict[tuple[str, str], Callable[..., Any]] = {
    ("ClientSession", "__init__"): _session_init,
    ("ClientSession", "initialize"): _initialize,
    ("ClientSession", "call_tool"): _call_tool,
    ("", "otel_span"): _sdk_span,
    ("", "stdio_client"): _stdio_client,
    ("", "streamable_http_client"): _streamable_http_client,
    ("StreamableHTTPTransport", "__init__"): _http_transport_init,
}
