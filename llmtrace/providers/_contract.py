"""The provider contract: everything llmtrace knows about one SDK, declared in one typed object.

A provider module declares ``PROVIDER = Provider(...)`` and names its instrumentor ``instrumentor_class(PROVIDER)``.
There is nothing to subclass and nothing else to hook: what to wrap, how to read a request, a response and a
stream, which transports carry the SDK's HTTP attempts, how it spells finish reasons and errors, and where it
traces itself are all fields here. The mechanics (``_instrumentor``) and the core (``call``, ``errors``,
``retries``, ``streams``) read these fields and name no provider.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..call import LLMRecord
from ..classification import ErrorRules, ErrorTable
from ..retries import Transport
from ..sdk_spans import SelfTracing
from ..semconv import FinishReason
from ..streams import StreamState

__all__ = ["AIOHTTP", "HTTPX", "HTTPX2", "Alias", "Provider", "Streamed", "WrapTarget", "as_is", "generator_stream"]


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
class Alias:
    """A module attribute bound to a wrapped function at import time (``ollama.chat`` is ``ollama._client.chat``,
    ``litellm.completion`` is ``litellm.main.completion``): read again from ``holder`` after (un)wrapping."""

    module: str
    name: str
    holder: str


class Streamed(NamedTuple):
    """A result that is, or holds, a stream: the stream to observe, and ``put``, which returns what the user gets
    once the stream is proxied (None: the proxy itself)."""

    stream: Any
    put: Callable[[Any], Any] | None = None


def generator_stream(record: LLMRecord, result: Any) -> Streamed | None:
    """``stream_in`` for SDKs whose streams are (async) generators."""
    return Streamed(result) if inspect.isgenerator(result) or inspect.isasyncgen(result) else None


def as_is(record: LLMRecord, result: Any) -> Any:
    """The default ``settle``: the SDK's result is complete as returned."""
    return result


@dataclass(frozen=True, slots=True)
class Provider:
    """One provider SDK, as data and plain functions.

    - ``name``: the ``llm.provider`` value (a ``ProviderSpec`` in ``_registry`` says where it lives);
      ``requires``: the SDK versions supported (OTel's ``instrumentation_dependencies``).
    - ``targets``: the methods to wrap; ``aliases``: module attributes bound to them at import, rebound after.
    - ``read_request(target, instance, kwargs)``: a record for the call, or None when this call is not an LLM call
      (it then runs untouched).
    - ``settle(record, result)``: finishes what the SDK left lazy but the user will read anyway (a body not yet
      read); runs as part of the call, so its failure is the call's. Returns the result the user gets.
    - ``read_response(record, result)``: reads a complete, non-streamed result into the record.
    - ``stream_in(record, result)``: a ``Streamed`` when the result is (or holds) a stream, else None;
      ``stream_state(record, stream)``: the state that stream's chunks feed.
    - ``transports``: where the SDK sends each HTTP attempt (retry counting).
    - ``errors()``: the error table, resolved lazily (it imports the SDK); ``error_readers``: where the SDK keeps
      an error's status, headers, retry delay and message (``ErrorRules`` without a table).
    - ``finish_reasons``: the SDK's finish-reason spellings beyond the spec's (any case).
    - ``self_tracing``: where the SDK starts spans of its own calls.
    - ``is_attempt(url)``: whether a send inside a call is one of its HTTP attempts, for SDKs whose calls also
      make side requests (metadata lookups); None: every send is.
    - ``raw_responses``: the SDK has Stainless raw-response wrappers (``with_raw_response``,
      ``with_streaming_response``), whose stream, or unread body, comes on ``parse()``: the call follows it there.
    """

    name: str
    requires: Collection[str]
    targets: Sequence[WrapTarget]
    read_request: Callable[[WrapTarget, Any, dict[str, Any]], LLMRecord | None]
    read_response: Callable[[LLMRecord, Any], Any]
    stream_in: Callable[[LLMRecord, Any], Streamed | None]
    stream_state: Callable[[LLMRecord, Any], StreamState]
    transports: Sequence[Transport]
    errors: Callable[[], ErrorTable]
    error_readers: ErrorRules = field(default_factory=ErrorRules)
    finish_reasons: Mapping[str, FinishReason] = field(default_factory=dict)
    settle: Callable[[LLMRecord, Any], Any] = as_is
    aliases: Sequence[Alias] = ()
    self_tracing: Sequence[SelfTracing] = ()
    is_attempt: Callable[[str], bool] | None = None
    raw_responses: bool = False


# The HTTP clients provider SDKs send through: a provider lists the ones its SDK uses.
HTTPX2 = (Transport("httpx2", "Client", "send"), Transport("httpx2", "AsyncClient", "send"))
HTTPX = (Transport("httpx", "Client", "send"), Transport("httpx", "AsyncClient", "send"))
AIOHTTP = (Transport("aiohttp", "ClientSession", "_request"),)
