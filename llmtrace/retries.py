"""Count HTTP attempts of the active LLM call at the transport, so SDK-internal retries become visible.

The SDKs retry 429/5xx/timeouts inside one ``create()`` call; only the transport sees each attempt. We wrap
``send`` of httpx2 and httpx clients (whichever are installed; each when first imported) and botocore's
``Endpoint._send`` (one call per HTTP attempt of every boto3 client, whenever it was made), and bump the call
that is active in this context.
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
from contextvars import ContextVar
from typing import Any, Protocol

import wrapt

from ._guard import report_internal_error
from ._imports import when_imported

__all__ = ["ACTIVE_CALL", "AttemptCounter", "install_transport_hooks", "uninstall_transport_hooks"]


class AttemptCounter(Protocol):
    attempts: int


ACTIVE_CALL: ContextVar[AttemptCounter | None] = ContextVar("llmtrace_active_call", default=None)
# (module, class, method) sending one HTTP attempt
_TARGETS = (
    ("httpx2", "Client", "send"),
    ("httpx2", "AsyncClient", "send"),
    ("httpx", "Client", "send"),
    ("httpx", "AsyncClient", "send"),
    ("botocore.endpoint", "Endpoint", "_send"),
    ("aiohttp", "ClientSession", "_request"),  # google-genai's async transport when aiohttp is installed
)
_IN_SEND: ContextVar[bool] = ContextVar("llmtrace_in_send", default=False)
_installed: list[tuple[Any, str, Any]] = []
_users = 0
_generation: object | None = None


def _count_attempt(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    call = ACTIVE_CALL.get()
    if call is None:
        return wrapped(*args, **kwargs)
    if _IN_SEND.get():
        return wrapped(*args, **kwargs)  # a transport under a send we already counted
    call.attempts += 1
    token = _IN_SEND.set(True)
    try:
        return wrapped(*args, **kwargs)
    finally:
        _IN_SEND.reset(token)


async def _count_async_attempt(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    call = ACTIVE_CALL.get()
    if call is None or _IN_SEND.get():
        return await wrapped(*args, **kwargs)
    call.attempts += 1
    token = _IN_SEND.set(True)
    try:
        return await wrapped(*args, **kwargs)
    finally:
        _IN_SEND.reset(token)


def install_transport_hooks() -> None:
    """Wrap the send method of every transport, now or when its module is imported; reference-counted across
    instrumentors."""
    global _users, _generation
    _users += 1
    if _users > 1:
        return
    _generation = generation = object()
    for module_name, class_name, method in _TARGETS:
        if importlib.util.find_spec(module_name.split(".")[0]) is None:
            continue  # not installed
        when_imported(module_name, functools.partial(_hook, module_name, class_name, method, generation))


def _hook(module_name: str, class_name: str, method: str, generation: object) -> None:
    if generation is not _generation:
        return  # uninstalled before the transport was imported
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
        original = cls.__dict__[method]
    except Exception:
        report_internal_error(f"retries.install:{module_name}")
        return
    counter = _count_async_attempt if inspect.iscoroutinefunction(original) else _count_attempt
    setattr(cls, method, wrapt.FunctionWrapper(original, counter))
    _installed.append((cls, method, original))


def uninstall_transport_hooks() -> None:
    """Restore the original send methods once the last instrumentor is gone."""
    global _users, _generation
    _users = max(_users - 1, 0)
    if _users:
        return
    _generation = None
    while _installed:
        cls, method, original = _installed.pop()
        setattr(cls, method, original)
