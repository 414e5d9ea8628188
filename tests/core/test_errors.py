import asyncio

import pytest

from llmtrace.errors import IncompleteStreamError, classify, retry_after_seconds, status_error_type
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

    assert classify(Overloaded(500), ((Overloaded, ErrorType.OVERLOADED),)).type is ErrorType.OVERLOADED
