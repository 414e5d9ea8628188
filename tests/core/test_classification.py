import asyncio

import pytest

from llmtrace.classification import ErrorRules, classify, retry_after_seconds, status_error_type
from llmtrace.exceptions import IncompleteStreamError
from llmtrace.semconv import ErrorType


class FakeStatusError(Exception):
    def __init__(self, status, message="boom", headers=None):
        super().__init__(message)
        self.status_code = status
        self.response = type("R", (), {"status_code": status, "headers": headers or {}})()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, "bad_request"),
        (401, "auth"),
        (403, "permission"),
        (404, "not_found"),
        (408, "timeout"),
        (429, "rate_limit"),
        (500, "server_error"),
        (503, "overloaded"),
        (529, "overloaded"),
        (599, "server_error"),
    ],
)
def test_status_mapping(status, expected):
    assert status_error_type(status).value == expected
    assert classify(FakeStatusError(status)).type.value == expected


def test_context_length_and_content_filter_refine_400():
    assert (
        classify(FakeStatusError(400, "This model's maximum context length is 8192")).type is ErrorType.CONTEXT_LENGTH
    )
    assert classify(FakeStatusError(400, "flagged by content_filter")).type is ErrorType.CONTENT_FILTER


def test_retry_after_headers():
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({}) is None
    info = classify(FakeStatusError(429, headers={"retry-after": "7"}))
    assert (info.type, info.status, info.retry_after_s, info.qualname) == (
        ErrorType.RATE_LIMIT,
        429,
        7.0,
        "FakeStatusError",
    )


def test_kinds_without_status():
    assert classify(asyncio.CancelledError()).type is ErrorType.CANCELLED
    assert classify(TimeoutError()).type is ErrorType.TIMEOUT
    assert classify(ConnectionResetError()).type is ErrorType.CONNECTION
    assert classify(IncompleteStreamError()).type is ErrorType.CONNECTION
    assert classify(ValueError("x")).type is ErrorType.UNKNOWN


def test_provider_table_wins_over_status():
    class Overloaded(FakeStatusError):
        pass

    assert classify(Overloaded(500), ErrorRules(((Overloaded, ErrorType.OVERLOADED),))).type is ErrorType.OVERLOADED


def test_predicate_rows_match_what_no_class_tells_apart():
    """A row may be a predicate: matched by what the exception says, whatever its class (one class per code)."""
    rules = ErrorRules(((lambda exc: "quota" in str(exc), ErrorType.RATE_LIMIT),))
    assert classify(FakeStatusError(400, "quota exceeded"), rules).type is ErrorType.RATE_LIMIT
    assert classify(FakeStatusError(400, "bad field"), rules).type is ErrorType.BAD_REQUEST


def test_provider_readers_say_where_the_sdk_keeps_status_headers_delay_and_message():
    class Odd(Exception):
        meta = {"status": 429, "headers": {"retry-after": "3"}}

    rules = ErrorRules(
        status=lambda exc: exc.meta["status"],
        headers=lambda exc: exc.meta["headers"],
        message=lambda exc: "odd failure",
    )
    info = classify(Odd(), rules)
    assert (info.type, info.status, info.retry_after_s, info.message) == (ErrorType.RATE_LIMIT, 429, 3.0, "odd failure")
    delayed = ErrorRules(status=lambda exc: 429, retry_delay=lambda exc: 7.5)
    assert classify(Odd(), delayed).retry_after_s == 7.5  # no header: the body's delay
