"""LangChain and LangGraph runs as llmtrace agent runs and tool executions, through langchain-core's callbacks.

What becomes what:

- an agent run (``invoke_agent {name}``, ``llmtrace.agents.Run``): the top-level chain run (a LangGraph graph, a
  ``create_react_agent`` agent, an ``AgentExecutor``, any runnable invoked from the app) and every LangGraph graph
  run nested in it (a subgraph added as a node: the agents of a multi-agent graph), named by the run's name (the
  graph's ``name=``). A LangGraph ``thread_id`` becomes the run's conversation (``llm.session``). The LLM calls
  inside add up into the innermost agent run and carry its name as ``llm.agent``; a nested agent's totals add up into
  its parent's. Other chain runs (nodes, sequences, prompts, routers) are not spans: they only pass their agent on.
- a tool execution (``execute_tool {name}``, ``llmtrace.agents.ToolExecution``): every tool run, with LangChain's tool
  call id (``gen_ai.tool.call.id``), hashes of the arguments and of the result (raw only with ``capture_content``),
  counted in its agent run. A tool that raises is a tool error of the exception's class; a tool whose error LangChain
  turned into the result (``handle_tool_error``: a ``ToolMessage`` with ``status="error"``) is a tool error of type
  ``tool_error``. LangGraph's control-flow exceptions (``GraphBubbleUp``: interrupts, ``Command`` to a parent
  graph) and a closed stream (``GeneratorExit``) end a run without error, as ``llmtrace.agents``' generators do.
- model runs: nothing. The chat model's SDK call is recorded by llmtrace's provider instrumentor (``ChatOpenAI`` →
  the ``openai`` SDK, ``ChatAnthropic`` → ``anthropic``, ...) as one CLIENT span with the real usage, cost, retries and
  errors; a span of our own from LangChain's callbacks would make two spans (and two counts) of one call. A model
  whose SDK llmtrace does not instrument is therefore not recorded: a callback span would have to take LangChain's
  word for tokens (often absent), and could not tell the two cases apart without racing the provider's span.

How the context gets where the work runs. Callbacks are no place to attach a context: LangChain calls the async end
callbacks (``on_chain_end``, ``on_llm_end``, their errors) ``@shielded``, in a new task with a copy of the context, so
a detach there never undoes the attach made by the start callback, and the app's task would keep our span current
forever (and a generator's start and end can run in different contexts anyway). So:

1. The handler keeps a map ``run_id -> scope``: for each open run, the innermost agent or tool it belongs to (its
   span, the ``RunTotals`` its calls add to, its attribution). A run's parent is found by ``parent_run_id``; a
   top-level run takes the app's context as ``on_chain_start`` sees it (the caller's, or a copy of it; the handler
   asks to be called inline, ``run_inline``, which spares a thread hop per callback in async runs). Agent and tool
   spans are started with that parent explicitly, by entering its scope for the duration of the constructor, inside
   the callback: entered and left in one call, in one context.
2. The work of a run runs in a context of its own that LangChain creates for it (``set_config_context``: a copy
   holding the run's config, whose ``callbacks.parent_run_id`` is the run) and drops afterwards. Wrapping the
   function that fills that copy (``_set_config_context``, in langchain-core and in LangGraph) puts the run's scope
   in it too: the OTel span, ``ACTIVE_RUN`` and the attribution that an SDK call inside reads when it starts. That
   is what nests the provider's CLIENT span under the agent or tool span, with ``llm.agent`` and the rollup, for a
   ``ChatOpenAI`` call and a raw SDK call inside a node or tool alike, sync or async, in threads and tasks. Nothing is
   ever detached, because nothing is attached in a context that outlives the run.
3. LangGraph graphs are told apart from other chains by their run id: ``Pregel.stream``/``astream`` (which
   ``invoke``/``ainvoke`` use) are wrapped to give the run a ``run_id`` in its config when it has none
   (``RunnableConfig.run_id``, LangChain's own way), and ``on_chain_start`` knows that id as a graph's.

The handler is registered as OpenInference and OpenLLMetry do it: ``BaseCallbackManager.__init__`` is wrapped to add
one shared handler, inheritable, to every callback manager (not to LangGraph's graph-lifecycle managers, which take
only their own handler type). ``uninstrument()`` unwraps everything and switches the handler off, so managers made
earlier that still hold it record nothing.

Limits: a legacy ``Chain`` that calls its model without a runnable in between (``LLMChain``) runs its model in its
caller's context, so that call nests under whatever is current there, not under the chain's agent. Runs whose end
never comes (an abandoned generator never closed) leave their entry behind: the maps are bounded.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any

import wrapt
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap

from .. import _guard
from .._guard import report_internal_error
from .._imports import when_imported
from ..agents import Run, ToolExecution
from ..context import Attribution, merged_attribution, reset_attribution, set_attribution
from ..providers._instrumentor import integration_llm_tracer
from ..rollup import ACTIVE_RUN, RunTotals
from ..semconv import Operation

try:  # the key moved between opentelemetry-instrumentation releases
    from opentelemetry.instrumentation.utils import _SUPPRESS_INSTRUMENTATION_KEY
except ImportError:  # pragma: no cover
    from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY  # type: ignore[attr-defined,no-redef]

__all__ = ["LangChainInstrumentor"]

_MAX_OPEN = 10_000  # open runs remembered; past it the oldest entry goes (a run whose end never came)
_MAX_GRAPHS = 1_024  # graph run ids given out and not yet started
# A tool error LangChain handled itself has no exception to name it: the OTel GenAI conventions' value.
_HandledToolError = type("tool_error", (Exception,), {"__module__": __name__})
_NOT_FAILURES = ("GraphBubbleUp", "GeneratorExit")  # LangGraph control flow (interrupt, Command.PARENT); a close


class LangChainInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Traces LangChain and LangGraph agents and tools as llmtrace agent runs and tool executions.

    ``llmtrace.instrument()`` and ``opentelemetry-instrument`` pick it up when ``langchain-core`` is installed; the
    model calls are recorded by the provider instrumentors (instrument those too). On its own::

        from llmtrace.integrations.langchain import LangChainInstrumentor
        LangChainInstrumentor().instrument()  # tracer_provider=, meter_provider= and llmtrace settings as keywords
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("langchain-core >= 0.3",)

    def _instrument(self, **kwargs: Any) -> None:
        self._off = integration_llm_tracer(kwargs) is None
        if self._off:
            return  # llmtrace is off in this process (a bad setting under auto-instrumentation, logged once)
        self._runs = runs = _Runs()
        self._generation = generation = object()
        self._wrapped: list[tuple[str, str, str]] = []
        self._targets = _targets(runs)
        for module in dict.fromkeys(target[0] for target in self._targets):
            when_imported(module, lambda module=module: self._patch(module, generation))

    def _patch(self, module_name: str, generation: object) -> None:
        if generation is not self._generation:
            return  # uninstrumented before the module was imported
        module = sys.modules[module_name]
        for target_module, holder_name, attr, wrapper in self._targets:
            if target_module != module_name:
                continue
            holder = getattr(module, holder_name, None) if holder_name else module
            # the holder's own attribute: a wrapped method read through the class is a BoundFunctionWrapper
            current = vars(holder).get(attr) if holder is not None else None
            if current is None or isinstance(current, wrapt.FunctionWrapper):
                continue  # another version without it: that part is not traced
            wrapt.wrap_function_wrapper(holder, attr, wrapper)
            self._wrapped.append((module_name, holder_name, attr))

    def _uninstrument(self, **kwargs: Any) -> None:
        if self._off:
            return
        self._generation = None
        self._runs.enabled = False  # managers made while instrumented may still hold the handler: it stays quiet
        while self._wrapped:
            module_name, holder_name, attr = self._wrapped.pop()
            module = sys.modules.get(module_name)
            holder = getattr(module, holder_name, None) if holder_name else module
            if holder is not None and isinstance(vars(holder).get(attr), wrapt.FunctionWrapper):
                unwrap(holder, attr)


# -- scopes: which agent or tool a run belongs to ---------------------------------------------------------------


class _Scope:
    """The innermost agent run or tool execution of a LangChain run: what an LLM call inside it must see."""

    __slots__ = ("attribution", "span", "totals")

    def __init__(self, span: trace.Span, totals: RunTotals | None, attribution: Attribution) -> None:
        self.span = span
        self.totals = totals
        self.attribution = attribution

    def enter(self) -> tuple[Any, Any, Any]:
        """Make this scope current in the running context; the tokens undo it."""
        return (
            otel_context.attach(trace.set_span_in_context(self.span)),
            ACTIVE_RUN.set(self.totals),
            set_attribution(self.attribution),
        )

    @staticmethod
    def leave(tokens: tuple[Any, Any, Any]) -> None:
        ctx_token, run_token, who_token = tokens
        reset_attribution(who_token)
        ACTIVE_RUN.reset(run_token)
        otel_context.detach(ctx_token)


@contextmanager
def _inside(scope: _Scope | None) -> Iterator[None]:
    """``scope`` current for the duration of the block (None: the context as it is, the app's)."""
    if scope is None:
        yield
        return
    tokens = scope.enter()
    try:
        yield
    finally:
        _Scope.leave(tokens)


class _Runs:
    """The open LangChain runs: ``scopes`` for every open run (None: the app's own context), ``active`` for the
    ones that are spans. Callbacks of concurrent runs come from many threads: each step is one dict operation."""

    def __init__(self) -> None:
        self.enabled = True
        self.handler: Any = None  # made when langchain_core is imported (its base class comes from there)
        self.scopes: dict[Any, _Scope | None] = {}
        self.active: dict[Any, Run | ToolExecution] = {}
        self.graphs: dict[Any, bool] = {}  # run ids given to graph runs not started yet

    def chain_started(self, run_id: Any, parent_run_id: Any, name: str, metadata: dict[str, Any] | None) -> None:
        scope = self.scopes.get(parent_run_id) if parent_run_id is not None else None
        is_graph = self.graphs.pop(run_id, False)
        if (parent_run_id is not None and not is_graph) or _suppressed():
            self._remember(run_id, scope)
            return
        thread = (metadata or {}).get("thread_id")
        with _inside(scope):
            run = Run(Operation.INVOKE_AGENT, name, None, thread if isinstance(thread, str) else None)
        self.active[run_id] = run
        self._remember(run_id, _Scope(run.span, run.totals, run.attribution))

    def tool_started(self, run_id: Any, parent_run_id: Any, name: str, arguments: Any, call_id: Any) -> None:
        scope = self.scopes.get(parent_run_id) if parent_run_id is not None else None
        if _suppressed():
            self._remember(run_id, scope)
            return
        with _inside(scope):
            execution = ToolExecution(name, call_id if isinstance(call_id, str) else None, "function")
            attribution = merged_attribution()
        execution.arguments = arguments
        self.active[run_id] = execution
        self._remember(run_id, _Scope(execution.span, execution.run, attribution))

    def ended(self, run_id: Any, exc: BaseException | None, result: Any = None) -> None:
        self.scopes.pop(run_id, None)
        active = self.active.pop(run_id, None)
        if active is None:
            return
        if exc is not None and any(cls.__name__ in _NOT_FAILURES for cls in type(exc).__mro__):
            exc = None
        if result is None:
            active.end(exc)
        else:
            active.end(exc, result)

    def _remember(self, run_id: Any, scope: _Scope | None) -> None:
        scopes = self.scopes
        scopes[run_id] = scope
        if len(scopes) > _MAX_OPEN:
            stale = _oldest(scopes)
            scopes.pop(stale, None)
            self.active.pop(stale, None)

    # -- the wrapped LangChain and LangGraph functions ------------------------------------------------------------
    def add_handler(self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> None:
        """``BaseCallbackManager.__init__``: every callback manager gets the handler, inheritable."""
        wrapped(*args, **kwargs)
        try:
            handler = self.handler
            if handler is None or not self.enabled or hasattr(instance, "on_interrupt"):
                return  # LangGraph's graph-lifecycle managers dispatch to their own handler type only
            if handler not in instance.inheritable_handlers:
                instance.add_handler(handler, True)
        except Exception:
            report_internal_error("langchain.add_handler")

    def enter_work(self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        """``_set_config_context``: it runs inside the context LangChain made for a run's work (a copy, dropped
        after the work): the run's scope goes in there as well, and is never left, as the context is never reused."""
        result = wrapped(*args, **kwargs)
        if self.enabled:
            try:
                config = args[0] if args else kwargs.get("config")
                run_id = getattr(config.get("callbacks"), "parent_run_id", None) if config else None
                scope = self.scopes.get(run_id) if run_id is not None else None
                if scope is not None:
                    scope.enter()
            except Exception:
                report_internal_error("langchain.context")
        return result

    def mark_graph(self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        """``Pregel.stream``/``astream``: the graph run gets a run id we know (its own when the config has one)."""
        if self.enabled:
            try:
                args, kwargs = self._with_run_id(args, kwargs)
            except Exception:
                report_internal_error("langchain.graph")
        return wrapped(*args, **kwargs)

    def _with_run_id(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        positional = len(args) > 1
        config = args[1] if positional else kwargs.get("config")
        run_id = config.get("run_id") if config else None
        if run_id is None:
            run_id = _new_run_id()
            config = {**(config or {}), "run_id": run_id}
            if positional:
                args = (args[0], config, *args[2:])
            else:
                kwargs = {**kwargs, "config": config}
        graphs = self.graphs
        graphs[run_id] = True
        if len(graphs) > _MAX_GRAPHS:
            graphs.pop(_oldest(graphs), None)
        return args, kwargs


def _oldest(entries: dict[Any, Any]) -> Any:
    """The first key (dicts keep insertion order), or None when another thread changed the dict meanwhile."""
    try:
        return next(iter(entries))
    except (RuntimeError, StopIteration):
        return None


def _suppressed() -> bool:
    return bool(otel_context.get_value(_SUPPRESS_INSTRUMENTATION_KEY))


def _new_run_id() -> uuid.UUID:
    """A run id as LangChain makes them (time-ordered uuid7 where it has it)."""
    try:
        from langchain_core.utils.uuid import uuid7
    except ImportError:  # older langchain-core
        return uuid.uuid4()
    return uuid7()  # type: ignore[no-any-return]


def _tool_outcome(output: Any) -> tuple[Any, BaseException | None]:
    """A tool run's result as the tool gave it (a ``ToolMessage``'s content), and its error if LangChain handled one."""
    if getattr(output, "type", None) != "tool":  # not a ToolMessage: a raw result or a Command
        return output, None
    failed = getattr(output, "status", None) == "error"
    return getattr(output, "content", None), _HandledToolError() if failed else None


# -- the callback handler ---------------------------------------------------------------------------------------


class _Callbacks:
    """The handler's callbacks (mixed into a ``BaseCallbackHandler`` subclass once langchain_core is imported)."""

    run_inline = True  # called in the caller's thread or task (no executor hop per callback in async runs)
    ignore_llm = True  # the provider instrumentors record model calls (one span per call, see the module docstring)
    ignore_chat_model = True
    ignore_retriever = True
    ignore_retry = True  # (ignore_agent must stay False: LangChain gates the tool callbacks on it)
    ignore_custom_event = True

    def __init__(self, runs: _Runs) -> None:
        self._runs = runs

    def __copy__(self) -> Any:
        return self  # one handler per instrumentation: a copied config or manager must not fork the open runs

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self

    @property
    def raise_error(self) -> bool:
        return _guard.RAISE_INTERNAL_ERRORS  # our bugs fail tests (LangChain logs and swallows handler errors)

    def on_chain_start(
        self, serialized: Any, inputs: Any, *, run_id: Any, parent_run_id: Any = None, **kwargs: Any
    ) -> None:
        runs = self._runs
        if not runs.enabled:
            return
        try:
            runs.chain_started(run_id, parent_run_id, _run_name(serialized, kwargs, "chain"), kwargs.get("metadata"))
        except Exception:
            report_internal_error("langchain.chain_start")

    def on_chain_end(self, outputs: Any, *, run_id: Any, **kwargs: Any) -> None:
        self._ended(run_id, None)

    def on_chain_error(self, error: BaseException, *, run_id: Any, **kwargs: Any) -> None:
        self._ended(run_id, error)

    def on_tool_start(
        self,
        serialized: Any,
        input_str: str,
        *,
        run_id: Any,
        parent_run_id: Any = None,
        inputs: Any = None,
        **kwargs: Any,
    ) -> None:
        runs = self._runs
        if not runs.enabled:
            return
        try:
            name = _run_name(serialized, kwargs, "tool")
            arguments = inputs if inputs is not None else input_str
            runs.tool_started(run_id, parent_run_id, name, arguments, kwargs.get("tool_call_id"))
        except Exception:
            report_internal_error("langchain.tool_start")

    def on_tool_end(self, output: Any, *, run_id: Any, **kwargs: Any) -> None:
        if not self._runs.enabled:
            return
        try:
            result, error = _tool_outcome(output)
            self._runs.ended(run_id, error, result)
        except Exception:
            report_internal_error("langchain.end")

    def on_tool_error(self, error: BaseException, *, run_id: Any, **kwargs: Any) -> None:
        self._ended(run_id, error)

    def _ended(self, run_id: Any, error: BaseException | None) -> None:
        if not self._runs.enabled:
            return
        try:
            self._runs.ended(run_id, error)
        except Exception:
            report_internal_error("langchain.end")


def _run_name(serialized: Any, kwargs: dict[str, Any], fallback: str) -> str:
    """The run's name as LangChain shows it: ``name=`` (run name, graph name), else the serialized name or class."""
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    if isinstance(serialized, dict):
        if isinstance(serialized.get("name"), str) and serialized["name"]:
            return str(serialized["name"])
        ids = serialized.get("id")
        if isinstance(ids, list) and ids:
            return str(ids[-1])
    return fallback


def _make_handler(runs: _Runs) -> None:
    """The handler, now that langchain_core (its base class) is imported."""
    from langchain_core.callbacks.base import BaseCallbackHandler

    cls = type("LLMTraceCallbackHandler", (_Callbacks, BaseCallbackHandler), {"__module__": __name__})
    runs.handler = cls(runs)


def _targets(runs: _Runs) -> tuple[tuple[str, str, str, Callable[..., Any]], ...]:
    """(module, holder or "" for a module-level function, attribute, wrapper), in patching order."""

    def add_handler(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> None:
        if runs.handler is None:
            try:
                _make_handler(runs)
            except Exception:
                report_internal_error("langchain.handler")
        runs.add_handler(wrapped, instance, args, kwargs)

    return (
        ("langchain_core.callbacks.base", "BaseCallbackManager", "__init__", add_handler),
        ("langchain_core.runnables.config", "", "_set_config_context", runs.enter_work),
        ("langgraph._internal._runnable", "", "_set_config_context", runs.enter_work),
        ("langgraph.pregel.main", "Pregel", "stream", runs.mark_graph),
        ("langgraph.pregel.main", "Pregel", "astream", runs.mark_graph),
    )
