"""ProviderInstrumentor: the mechanics every provider shares (wrapping, lifecycle, streams, suppression).

A provider module supplies data and small functions only: ``TARGETS`` (what to wrap), ``extract_request``,
``extract_response``, a ``StreamState`` class, an error table and an ``is_stream`` test. Sync and async
wrappers here are a few lines each around the shared ``_begin`` / ``_returned`` steps.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import wrapt
from opentelemetry import context as otel_context
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap

from .. import _state
from .._guard import report_internal_error
from .._imports import when_imported
from ..call import LLMCall, LLMRecord, Recorder
from ..config import load_settings
from ..errors import ErrorTable
from ..exceptions import ConfigError
from ..retries import ACTIVE_CALL, install_transport_hooks, uninstall_transport_hooks
from ..sdk_spans import SelfTracing, install_suppression, uninstall_suppression
from ..streams import AsyncStreamProxy, StreamState, SyncStreamProxy

try:  # the key moved between opentelemetry-instrumentation releases
    from opentelemetry.instrumentation.utils import _SUPPRESS_INSTRUMENTATION_KEY
except ImportError:  # pragma: no cover
    from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY  # type: ignore[attr-defined,no-redef]

__all__ = [
    "ProviderHooks",
    "ProviderInstrumentor",
    "WrapTarget",
    "as_float",
    "as_int",
    "as_items",
    "as_tools",
    "get_path",
    "is_raw_response",
    "keep_function_calls",
    "server_of",
]

_RECORDER_KEYS = ("tracer_provider", "meter_provider")
# kwargs that OTel's instrument() machinery passes along and that are not llmtrace settings.
_OTEL_KEYS = frozenset(
    {
        *_RECORDER_KEYS,
        "_recorder",
        "skip_dep_check",
        "raise_exception_on_conflict",
        "logger_provider",
        "event_logger_provider",
    }
)


@dataclass(frozen=True, slots=True)
class WrapTarget:
    """One SDK method to wrap: ``module`` + ``Class.method``, the operation it performs, sync or async.

    ``deferred`` targets return an object that makes the request later (e.g. Anthropic's
    ``messages.stream()`` manager); ``request_attr`` names its private request callable to wrap instead.
    """

    module: str
    name: str
    operation: str
    is_async: bool = False
    deferred: bool = False
    request_attr: str = ""
    streaming: bool | None = None  # None: decided per call from kwargs["stream"]


@dataclass(frozen=True, slots=True)
class ProviderHooks:
    """Everything provider-specific, as plain functions and data."""

    provider: str
    targets: Sequence[WrapTarget]
    extract_request: Callable[[WrapTarget, Any, dict[str, Any]], LLMRecord]
    extract_response: Callable[[LLMRecord, Any], Any]
    stream_state: Callable[[LLMRecord], StreamState]
    is_stream: Callable[[Any], bool]
    errors: Callable[[], ErrorTable]
    rebind: Callable[[], None] | None = None  # refresh module-level aliases bound before (un)wrapping
    # (sync, async) proxy classes for SDK streams whose close/aclose differ from the core proxies' (litellm)
    stream_proxies: tuple[type[SyncStreamProxy], type[AsyncStreamProxy]] | None = None
    # where the SDK starts spans of its own calls (anthropic 2.14+, mistralai's hook): suppressed by default
    self_tracing: Sequence[SelfTracing] = ()


class ProviderInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Base for every llmtrace instrumentor; subclasses set ``hooks`` and ``dependencies``."""

    hooks: ProviderHooks
    dependencies: Collection[str] = ()

    def instrumentation_dependencies(self) -> Collection[str]:
        return self.dependencies

    def _instrument(self, **kwargs: Any) -> None:
        recorder = kwargs.get("_recorder") or self._own_recorder(kwargs)
        self._recorder = recorder
        if recorder is None:
            return  # llmtrace is off in this process (a bad setting under auto-instrumentation, logged once)
        self._error_table: ErrorTable = ()
        self._patched = False
        install_transport_hooks()
        self._suppressing = recorder.settings.sdk_spans == "suppress" and bool(self.hooks.self_tracing)
        if self._suppressing:
            install_suppression(self.hooks.self_tracing)
        # patched now if the app already imported the SDK, else when it does: never imported on our account
        self._generation = generation = object()
        when_imported(self.sdk_module(), lambda: self._patch(generation))

    def _own_recorder(self, kwargs: dict[str, Any]) -> Recorder | None:
        """A recorder from env + kwargs for an instrumentor used on its own; None when llmtrace is switched off.

        A bad setting raises ``ConfigError``, except under OTel's auto-instrumentation, where raising would abort
        every instrumentor loaded after ours (and print two tracebacks): there llmtrace switches itself off with
        one log line naming the setting, and the app's other telemetry carries on.
        """
        if _state.is_off():
            return None
        try:
            settings = load_settings({k: v for k, v in kwargs.items() if k not in _OTEL_KEYS})
        except ConfigError as exc:
            if not _under_auto_instrumentation():
                raise
            _state.switch_off(str(exc))
            return None
        recorder = Recorder(settings, **{k: kwargs[k] for k in _RECORDER_KEYS if kwargs.get(k) is not None})
        _state.set_recorder(recorder)
        return recorder

    def sdk_module(self) -> str:
        """The SDK module whose import triggers patching (``PROVIDER_MODULES``' import name)."""
        from . import PROVIDER_MODULES

        entry = PROVIDER_MODULES.get(self.hooks.provider)
        return entry[2] if entry else self.hooks.targets[0].module.split(".")[0]

    def _patch(self, generation: object) -> None:
        if generation is not self._generation:
            return  # uninstrumented (or instrumented again) before the SDK was imported
        self._error_table = self.hooks.errors()
        for target in self.hooks.targets:
            self._wrap(target)
        if self.hooks.rebind is not None:
            self.hooks.rebind()
        self._patched = True

    def _uninstrument(self, **kwargs: Any) -> None:
        if self._recorder is None:
            return  # instrument() found llmtrace switched off: nothing was patched or hooked
        self._generation = None  # a patch still waiting for its SDK's import will not happen
        if self._patched:
            self._unpatch()
        if self._suppressing:
            uninstall_suppression(self.hooks.self_tracing)
        uninstall_transport_hooks()

    def _unpatch(self) -> None:
        self._patched = False
        for target in self.hooks.targets:
            module = sys.modules.get(target.module)
            cls_name, method = target.name.rsplit(".", 1)
            cls = getattr(module, cls_name, None)
            if cls is not None and isinstance(cls.__dict__.get(method), wrapt.FunctionWrapper):
                unwrap(cls, method)
        if self.hooks.rebind is not None:
            self.hooks.rebind()

    # -- wrapping -------------------------------------------------------------------------------------------
    def _wrap(self, target: WrapTarget) -> None:
        try:
            module = importlib.import_module(target.module)
        except ImportError:
            return  # this SDK version has no such module: nothing to wrap
        cls_name, method = target.name.rsplit(".", 1)
        cls = getattr(module, cls_name, None)
        if cls is None or method not in cls.__dict__ or isinstance(cls.__dict__[method], wrapt.FunctionWrapper):
            return
        if target.deferred:
            wrapper = self._deferred_wrapper(target)
        else:
            wrapper = self._async_wrapper(target) if target.is_async else self._sync_wrapper(target)
        wrapt.wrap_function_wrapper(cls, method, wrapper)

    def _sync_wrapper(self, target: WrapTarget) -> Callable[..., Any]:
        def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any, request: Any = None) -> Any:
            call = self._begin(target, instance, _arguments(wrapped, args, kwargs) if request is None else request)
            if call is None:
                return wrapped(*args, **kwargs)
            try:
                result = wrapped(*args, **kwargs)
            except BaseException as exc:
                call.fail(exc, self._error_table)
                raise
            finally:
                call.leave()
            return self._returned(call, result, target)

        return wrapper

    def _async_wrapper(self, target: WrapTarget) -> Callable[..., Any]:
        async def wrapper(
            wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any, request: Any = None
        ) -> Any:
            call = self._begin(target, instance, _arguments(wrapped, args, kwargs) if request is None else request)
            if call is None:
                return await wrapped(*args, **kwargs)
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as exc:
                call.fail(exc, self._error_table)
                raise
            finally:
                call.leave()
            return self._returned(call, result, target)

        return wrapper

    def _deferred_wrapper(self, target: WrapTarget) -> Callable[..., Any]:
        """Wrap the request inside the returned manager, so the call starts when the request really runs.

        Sync managers hold a request callable; async ones hold an un-awaited coroutine, which we await inside
        our own coroutine so attempts, latency and errors belong to the call.
        """
        request_wrapper = self._async_wrapper(target) if target.is_async else self._sync_wrapper(target)

        def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
            manager = wrapped(*args, **kwargs)
            try:
                pending = getattr(manager, target.request_attr)
                if target.is_async:
                    deferred = request_wrapper(lambda: pending, instance, (), {}, request=kwargs)
                else:
                    deferred = functools.partial(request_wrapper, pending, instance, (), {}, request=kwargs)
                setattr(manager, target.request_attr, deferred)
            except Exception:
                report_internal_error(f"{self.hooks.provider}.deferred")
            return manager

        return wrapper

    # -- shared steps -----------------------------------------------------------------------------------------
    def _begin(self, target: WrapTarget, instance: Any, kwargs: dict[str, Any]) -> LLMCall | None:
        """Start the call, or None when instrumentation is suppressed or an outer LLM call is already active."""
        if otel_context.get_value(_SUPPRESS_INSTRUMENTATION_KEY) or ACTIVE_CALL.get() is not None:
            return None
        try:
            record = self.hooks.extract_request(target, instance, kwargs)
            call = self._recorder.start(record)
            call.enter()
            return call
        except Exception:
            report_internal_error(f"{self.hooks.provider}.begin")
            return None

    def _returned(self, call: LLMCall, result: Any, target: WrapTarget) -> Any:
        """The SDK returned: wrap a stream, or read the response and end the call."""
        try:
            if self.hooks.is_stream(result):
                state = self.hooks.stream_state(call.record)
                sync_proxy, async_proxy = self.hooks.stream_proxies or (SyncStreamProxy, AsyncStreamProxy)
                # async by target, or by result: some SDKs' async streams come from a plain call (async generator)
                proxy = async_proxy if target.is_async or inspect.isasyncgen(result) else sync_proxy
                return proxy(result, call, state, self._error_table)
            self.hooks.extract_response(call.record, result)
        except Exception:
            report_internal_error(f"{self.hooks.provider}.response")
        call.finish()
        return result


def _under_auto_instrumentation() -> bool:
    """Whether OTel's auto-instrumentation loader (``opentelemetry-instrument``, or its ``initialize()``) is
    instrumenting us: it calls ``instrument()`` exactly as a user would, so only the call stack tells."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith("opentelemetry.instrumentation.auto_instrumentation"):
            return True
        frame = frame.f_back
    return False


def _arguments(wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments by name; SDKs are keyword-only almost everywhere, so binding is the rare path."""
    if not args:
        return kwargs

    try:
        return dict(inspect.signature(wrapped).bind_partial(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        return kwargs


def keep_function_calls(record: LLMRecord, calls: Sequence[Any]) -> None:
    """Tool calls in the ``{"id", "function": {"name", "arguments"}}`` shape most chat APIs share, kept for
    captured content (``gen_ai.output.messages``)."""
    for call in calls:
        function = get_path(call, "function")
        record.keep_tool_call(get_path(call, "id"), get_path(function, "name"), get_path(function, "arguments"))


def get_path(obj: Any, *names: str) -> Any:
    """Read ``obj.a.b`` or ``obj["a"]["b"]`` alike; None when any step is missing (SDK objects or raw dicts)."""
    for name in names:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def as_int(value: Any) -> int | None:
    """A token count as int, or None when the provider sent nothing usable (None, bool, negative, junk)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != value:
        return None
    return int(value)


def as_float(value: Any) -> float | None:
    """A numeric request parameter (temperature, top_p, ...) as float, or None when absent or not a number."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def as_items(value: Any) -> list[Any] | tuple[Any, ...]:
    """A response's list field (choices, content blocks, tool calls) as a sequence; anything else as empty."""
    return value if isinstance(value, (list, tuple)) else ()


def as_tools(value: Any) -> list[Any] | tuple[Any, ...] | None:
    """The request's tool definitions when it has any (a non-empty list), else None: nothing to hash or count."""
    return value if isinstance(value, (list, tuple)) and value else None


def server_of(client: Any) -> tuple[str | None, int | None]:
    """Host and port of an SDK client's base URL (remembered per URL object: clients are few, calls are many)."""
    url = get_path(client, "base_url")
    if url is None:
        return None, None
    if isinstance(url, str):
        return _split_url(url)
    cached = _URLS.get(id(url))
    if cached is not None and cached[0] is url:
        return cached[1]
    server = _split_url(str(url))
    if len(_URLS) >= 256:
        _URLS.clear()
    _URLS[id(url)] = (url, server)  # holding the URL keeps its id unique while cached
    return server


_URLS: dict[int, tuple[Any, tuple[str | None, int | None]]] = {}


def is_raw_response(response: Any) -> bool:
    """Whether an SDK returned its raw-response wrapper (``with_raw_response``): decided once per type, because
    asking a pydantic model for a missing attribute costs microseconds (it raises inside ``__getattr__``)."""
    kind = type(response)
    raw = _RAW_TYPES.get(kind)
    if raw is None:
        # every instance of a wrapper type sets ``http_response`` in __init__: the first one answers for its type
        raw = _RAW_TYPES[kind] = hasattr(response, "http_response") and callable(getattr(response, "parse", None))
    return raw


_RAW_TYPES: dict[type, bool] = {}


@functools.lru_cache(maxsize=256)
def _split_url(url: str) -> tuple[str | None, int | None]:
    """Parsed once per distinct base URL: clients are few, calls are many."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None)
    return parts.hostname, port
