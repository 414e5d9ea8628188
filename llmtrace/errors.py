"""Exception -> (llm.error.type, HTTP status, retry-after, message): provider-neutral classification.

Providers contribute an ordered table of their exception classes (most specific first); everything else is
decided here from the HTTP status and body, so a new SDK exception class still lands in the right bucket.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

from .semconv import ErrorType

__all__ = [
    "ErrorInfo",
    "ErrorTable",
    "IncompleteStreamError",
    "classify",
    "http_client_errors",
    "retry_after_seconds",
    "status_error_type",
]


class IncompleteStreamError(Exception):
    """Recorded (never raised to the user) when a stream ends without its terminal event: the connection was cut."""


# (exception class, error type), most specific first. Classes are resolved lazily by the provider.
ErrorTable = Sequence[tuple[type[BaseException], ErrorType]]

_STATUS: dict[int, ErrorType] = {
    400: ErrorType.BAD_REQUEST,
    401: ErrorType.AUTH,
    402: ErrorType.PERMISSION,
    403: ErrorType.PERMISSION,
    404: ErrorType.NOT_FOUND,
    408: ErrorType.TIMEOUT,
    409: ErrorType.SERVER_ERROR,
    424: ErrorType.SERVER_ERROR,  # bedrock ModelErrorException: the model failed
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
    "input is too long",  # bedrock ValidationException
)
_AUTH_MARKERS = ("api_key_invalid", "api key not valid")  # Gemini answers a bad API key with a 400
_FILTER_MARKERS = (
    "content_filter",
    "content_policy",
    "content management policy",
    "safety",
    "blocked by guardrail",  # Mistral guardrails answer 403
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
    for name, divisor in (("retry-after-ms", 1000.0), ("x-amz-retry-after", 1000.0), ("retry-after", 1.0)):
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


def _status_of(exc: BaseException) -> int | None:
    """The first valid HTTP status among the places SDKs keep it: ``status_code``, ``status`` (google-genai keeps
    the RPC name there, e.g. ``RESOURCE_EXHAUSTED``), ``code`` (google-genai's HTTP status), the response's
    (botocore's is a dict)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        candidates: tuple[object, ...] = (response.get("ResponseMetadata", {}).get("HTTPStatusCode"),)
    else:
        candidates = (getattr(response, "status_code", None), getattr(response, "status", None))  # aiohttp: status
    for status in (
        getattr(exc, "status_code", None),
        getattr(exc, "status", None),
        getattr(exc, "code", None),
        *candidates,
    ):
        if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599:
            return status  # e.g. ollama's ResponseError uses -1 for "no HTTP status": skipped
    return None


def _rpc_retry_delay(exc: BaseException) -> float | None:
    """``google.rpc.RetryInfo.retryDelay`` (e.g. ``"24s"``) from a Google API error body: Google sends no header."""
    details = getattr(exc, "details", None)
    error = details.get("error", details) if isinstance(details, dict) else None
    items = error.get("details") if isinstance(error, dict) else None
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("google.rpc.RetryInfo"):
            try:
                return max(float(str(item.get("retryDelay", "")).removesuffix("s")), 0.0)
            except ValueError:
                return None
    return None


def _refine(error_type: ErrorType, exc: BaseException) -> ErrorType:
    """A 400/403 that says 'context length' or 'content filter' is that, whatever its class."""
    if error_type not in (ErrorType.BAD_REQUEST, ErrorType.PERMISSION, ErrorType.UNKNOWN):
        return error_type
    text = f"{getattr(exc, 'code', '') or ''} {getattr(exc, 'body', '') or ''} {exc}".lower()
    if any(marker in text for marker in _AUTH_MARKERS):
        return ErrorType.AUTH
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


def classify(exc: BaseException, table: ErrorTable = ()) -> ErrorInfo:
    """Classify ``exc``: the provider's table first, then the HTTP status, then the exception's kind."""
    status = _status_of(exc)
    error_type = next((kind for cls, kind in table if isinstance(exc, cls)), None)
    if status is not None and error_type in (None, ErrorType.SERVER_ERROR, ErrorType.BAD_REQUEST):
        error_type = status_error_type(status)  # e.g. InternalServerError with 503 -> overloaded
    if error_type is None:
        error_type = _from_name(exc)
    retry_after = retry_after_seconds(_headers_of(exc))
    return ErrorInfo(
        type=_refine(error_type, exc),
        qualname=type(exc).__qualname__,
        status=status,
        retry_after_s=_rpc_retry_delay(exc) if retry_after is None else retry_after,
        message=_message_of(exc),
    )


def _message_of(exc: BaseException) -> str:
    """The exception's text; for cohere's ``ApiError``, whose text starts with every response header, the
    status and body only (the headers would use most of ``llm.error.message``'s 256 characters)."""
    text = str(exc)
    if text.startswith("headers: ") and hasattr(exc, "body") and hasattr(exc, "status_code"):
        body = exc.body
        detail = body.get("message") if isinstance(body, dict) else None
        return f"status_code: {exc.status_code}, {detail if isinstance(detail, str) else f'body: {body}'}"
    return text


def _headers_of(exc: BaseException) -> object:
    """Response headers wherever the SDK keeps them: ``response`` (Stainless SDKs, httpx; botocore's dict),
    ``raw_response``
    (Speakeasy SDKs such as mistralai), ``headers`` (cohere), ``litellm_response_headers`` (litellm)."""
    for holder in (getattr(exc, "response", None), getattr(exc, "raw_response", None)):
        if isinstance(holder, dict):  # botocore ClientError
            headers = holder.get("ResponseMetadata", {}).get("HTTPHeaders")
        else:
            headers = getattr(holder, "headers", None)
        if headers:
            return headers
    return getattr(exc, "headers", None) or getattr(exc, "litellm_response_headers", None)
