"""Exception -> (llm.error.type, HTTP status, retry-after, message): provider-neutral classification.

Providers contribute ``ErrorRules``: an ordered table of their exception classes or predicates (most specific
first) and readers for where their SDK keeps the HTTP status, the headers, a body-borne retry delay and a readable
message. Everything else is decided here from the HTTP status and body, so a new SDK exception class still lands in
the right bucket.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .exceptions import IncompleteStreamError
from .semconv import ErrorType

__all__ = [
    "ErrorInfo",
    "ErrorRow",
    "ErrorRules",
    "ErrorTable",
    "classify",
    "http_client_errors",
    "response_headers",
    "response_status",
    "retry_after_seconds",
    "status_error_type",
]


# (exception class or predicate, error type), most specific first. Classes are resolved lazily by the provider;
# a predicate row matches what no class can tell apart (one class per error code, a marker in the message).
ErrorRow = tuple[type[BaseException] | Callable[[BaseException], bool], ErrorType]
ErrorTable = Sequence[ErrorRow]

_STATUS: dict[int, ErrorType] = {
    400: ErrorType.BAD_REQUEST,
    401: ErrorType.AUTH,
    402: ErrorType.PERMISSION,
    403: ErrorType.PERMISSION,
    404: ErrorType.NOT_FOUND,
    408: ErrorType.TIMEOUT,
    409: ErrorType.SERVER_ERROR,
    424: ErrorType.SERVER_ERROR,  # failed dependency: the model behind the API failed
    413: ErrorType.CONTEXT_LENGTH,
    422: ErrorType.BAD_REQUEST,
    429: ErrorType.RATE_LIMIT,
    500: ErrorType.SERVER_ERROR,
    502: ErrorType.SERVER_ERROR,
    503: ErrorType.OVERLOADED,
    504: ErrorType.TIMEOUT,
    529: ErrorType.OVERLOADED,
}
_CONTEXT_MARKERS = (
    "context_length",
    "context length",
    "prompt is too long",
    "maximum context",
    "too many tokens",
    "input is too long",
)
_FILTER_MARKERS = (
    "content_filter",
    "content_policy",
    "content management policy",
    "safety",
    "blocked by guardrail",
)
_NAME_HINTS: tuple[tuple[str, ErrorType], ...] = (
    ("timeout", ErrorType.TIMEOUT),
    ("timedout", ErrorType.TIMEOUT),
    ("connect", ErrorType.CONNECTION),
    ("protocol", ErrorType.CONNECTION),
    ("network", ErrorType.CONNECTION),
    ("ratelimit", ErrorType.RATE_LIMIT),
    ("throttl", ErrorType.RATE_LIMIT),
    ("decode", ErrorType.INVALID_RESPONSE),
    ("validation", ErrorType.INVALID_RESPONSE),
)


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What a failure was, in provider-neutral terms."""

    type: ErrorType
    qualname: str
    status: int | None = None
    retry_after_s: float | None = None
    message: str = ""


def _no_delay(exc: BaseException) -> float | None:
    return None


@dataclass(frozen=True, slots=True)
class ErrorRules:
    """One provider's error knowledge: its table, and where its SDK keeps the facts the core reads.

    ``status``/``headers``: the HTTP status and response headers (the defaults read the attributes most SDKs use);
    ``retry_delay``: a delay the server sent in the body, used when no header carries one;
    ``message``: the exception's readable text (the default is ``str(exc)``).
    """

    table: ErrorTable = ()
    status: Callable[[BaseException], int | None] = lambda exc: response_status(exc)
    headers: Callable[[BaseException], Any] = lambda exc: response_headers(exc)
    retry_delay: Callable[[BaseException], float | None] = _no_delay
    message: Callable[[BaseException], str] = str


def http_client_errors(http: ModuleType) -> ErrorTable:
    """Rows for an httpx-flavoured module's own transport errors (httpx or httpx2), which SDKs such as cohere
    and mistralai let through unwrapped: timeouts, undecodable bodies, then every other transport failure."""
    return (
        (http.TimeoutException, ErrorType.TIMEOUT),
        (http.DecodingError, ErrorType.INVALID_RESPONSE),
        (http.TransportError, ErrorType.CONNECTION),
    )


def status_error_type(status: int) -> ErrorType:
    """The error type an HTTP status means on its own."""
    if status in _STATUS:
        return _STATUS[status]
    if 200 <= status < 300:  # the SDK got a success it could not read (e.g. cohere's ApiError(status_code=200))
        return ErrorType.INVALID_RESPONSE
    if status >= 500:
        return ErrorType.SERVER_ERROR
    return ErrorType.BAD_REQUEST if status >= 400 else ErrorType.UNKNOWN


def retry_after_seconds(headers: object) -> float | None:
    """Server-directed delay from ``retry-after-ms`` / ``retry-after`` (seconds or HTTP date)."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except (TypeError, ValueError):
            parsed = email.utils.parsedate_to_datetime(str(value)) if isinstance(value, str) else None
            seconds = parsed.timestamp() - time.time() if parsed else math.nan
        if math.isfinite(seconds):
            return max(seconds, 0.0)
    return None


def response_status(exc: BaseException) -> int | None:
    """The first valid HTTP status among the places SDKs keep it: ``status_code``, ``status`` (some SDKs keep an RPC
    name there instead), ``code``, or the response's ``status_code``/``status``."""
    response = getattr(exc, "response", None)
    for status in (
        getattr(exc, "status_code", None),
        getattr(exc, "status", None),
        getattr(exc, "code", None),
        getattr(response, "status_code", None),
        getattr(response, "status", None),  # aiohttp
    ):
        if valid_status(status):
            return status  # type: ignore[return-value]
    return None


def valid_status(status: object) -> bool:
    """Whether ``status`` is an HTTP status (SDKs use -1 or an RPC name where they have none)."""
    return isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599


def _refine(error_type: ErrorType, exc: BaseException) -> ErrorType:
    """A 400/403 that says 'context length' or 'content filter' is that, whatever its class."""
    if error_type not in (ErrorType.BAD_REQUEST, ErrorType.PERMISSION, ErrorType.UNKNOWN):
        return error_type
    text = f"{getattr(exc, 'code', '') or ''} {getattr(exc, 'body', '') or ''} {exc}".lower()
    if any(marker in text for marker in _CONTEXT_MARKERS):
        return ErrorType.CONTEXT_LENGTH
    if any(marker in text for marker in _FILTER_MARKERS):
        return ErrorType.CONTENT_FILTER
    return error_type


def _from_name(exc: BaseException) -> ErrorType:
    if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt, GeneratorExit)):
        return ErrorType.CANCELLED
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return ErrorType.TIMEOUT
    if isinstance(exc, (ConnectionError, IncompleteStreamError)):
        return ErrorType.CONNECTION
    name = type(exc).__name__.lower()
    for hint, error_type in _NAME_HINTS:
        if hint in name:
            return error_type
    return ErrorType.UNKNOWN


def classify(exc: BaseException, rules: ErrorRules = ErrorRules()) -> ErrorInfo:
    """Classify ``exc``: the provider's table first, then the HTTP status, then the exception's kind."""
    status = rules.status(exc)
    error_type = next((kind for match, kind in rules.table if _matches(match, exc)), None)
    if status is not None and error_type in (None, ErrorType.SERVER_ERROR, ErrorType.BAD_REQUEST):
        error_type = status_error_type(status)  # e.g. InternalServerError with 503 -> overloaded
    if error_type is None:
        error_type = _from_name(exc)
    retry_after = retry_after_seconds(rules.headers(exc))
    return ErrorInfo(
        type=_refine(error_type, exc),
        qualname=type(exc).__qualname__,
        status=status,
        retry_after_s=rules.retry_delay(exc) if retry_after is None else retry_after,
        message=rules.message(exc),
    )


def _matches(match: type[BaseException] | Callable[[BaseException], bool], exc: BaseException) -> bool:
    return isinstance(exc, match) if isinstance(match, type) else bool(match(exc))


def response_headers(exc: BaseException) -> Any:
    """Response headers where SDKs keep them: ``response.headers`` (Stainless SDKs, httpx), ``raw_response.headers``
    (Speakeasy SDKs), or ``headers`` on the exception itself."""
    for holder in (getattr(exc, "response", None), getattr(exc, "raw_response", None)):
        headers = getattr(holder, "headers", None)
        if headers:
            return headers
    return getattr(exc, "headers", None)
