"""Count HTTP attempts of the active LLM call at the transport, so SDK-internal retries become visible.

The SDKs retry 429/5xx/timeouts inside one ``create()`` call; only the transport sees each attempt. Each provider
declares the ``Transport`` methods its SDK sends one HTTP attempt through (an HTTP client's ``send``, a cloud SDK's
endpoint); we wrap each once (when its module is first imported, if it is installed), however many providers
declared it, and bump the call that is active in this context.
Outside an LLM call the wrapper is one ContextVar lookup.

Transports can nest (litellm routes httpx through an aiohttp transport): only the outermost send of an attempt
counts. Async sends get an async wrapper so "inside a counted send" spans the awaited request, not just the
creation of its coroutine.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import wrapt

from ._guard import report_internal_error
from ._imports import when_imported

__all__ = ["ACTIVE_CALL", "AttemptCounter", "Transport", "install_transport_hooks", "uninstall_transport_hooks"]


class AttemptCounter(Protocol):
    attempts: int

    def counts_send(self, url: Callable[[], str]) -> bool: ...


ACTIVE_CALL: ContextVar[AttemptCounter | None] = ContextVar("llmtrace_active_call", default=None)


@dataclass(frozen=True, slots=True)
class Transport:
    """A method that sends one HTTP attempt: ``module.Class.method`` (sync or async, decided by the method)."""

    module: str
    cls: str
    method: str


_IN_SEND: ContextVar[bool] = ContextVar("llmtrace_in_send", default=False)
# transport -> [users, generation, (class, original method) once wrapped]
_hooks: dict[Transport, list[Any]] = {}


def _request_url(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The URL a transport send goes to: an httpx/botocore request's ``url``, or aiohttp's ``(method, url)``."""
    url = getattr(args[0], "url", None) if args else None
    if url is None:
        url = args[1] if len(args) > 1 else kwargs.get("str_or_url", kwargs.get("url"))
    return str(url) if url is not None else ""


def _count_attempt(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    call = ACTIVE_CALL.get()
    if call is None:
        return wrapped(*args, **kwargs)
    if _IN_SEND.get():
        return wrapped(*args, **kwargs)  # a transport under a send we already counted
    if not call.counts_send(lambda: _request_url(args, kwargs)):
        return wrapped(*args, **kwargs)  # the SDK's own side request (e.g. a metadata lookup), not an attempt
    call.attempts += 1
    token = _IN_SEND.set(True)
    try:
        return wrapped(*args, **kwargs)
    finally:
        _IN_SEND.reset(token)


async def _count_async_attempt(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    call = ACTIVE_CALL.get()
    if call is None or _IN_SEND.get() or not call.counts_send(lambda: _request_url(args, kwargs)):
        return await wrapped(*args, **kwargs)
    call.attempts += 1
    token = _IN_SEND.set(True)
    try:
        return await wrapped(*args, **kwargs)
    finally:
        _IN_SEND.reset(token)


def install_transport_hooks(transports: Iterable[Transport]) -> None:
    """Wrap each transport's send method, now or when its module is imported; reference-counted, so one wrapper
    serves every provider that declared it."""
    for transport in transports:
        entry = _hooks.get(transport)
        if entry is not None:
            entry[0] += 1
            continue
        generation = object()
        _hooks[transport] = [1, generation, None]
        if importlib.util.find_spec(transport.module.split(".")[0]) is not None:  # else: not installed
            when_imported(transport.module, functools.partial(_hook, transport, generation))


def _hook(transport: Transport, generation: object) -> None:
    entry = _hooks.get(transport)
    if entry is None or entry[1] is not generation:
        return  # uninstalled before the transport was imported
    try:
        cls = getattr(importlib.import_module(transport.module), transport.cls)
        original = cls.__dict__[transport.method]
    except Exception:
        report_internal_error(f"retries.install:{transport.module}")
        return
    counter = _count_async_attempt if inspect.iscoroutinefunction(original) else _count_attempt
    setattr(cls, transport.method, wrapt.FunctionWrapper(original, counter))
    entry[2] = (cls, original)


def uninstall_transport_hooks(transports: Iterable[Transport]) -> None:
    """Restore each transport's original send method once the last provider that declared it is gone."""
    for transport in transports:
        entry = _hooks.get(transport)
        if entry is None:
            continue
        entry[0] -= 1
        if entry[0] > 0:
            continue
        del _hooks[transport]
        if entry[2] is not None:
            cls, original = entry[2]
            setattr(cls, transport.method, original)
