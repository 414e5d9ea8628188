"""Every name in the semantic-conventions module is documented in docs/reference.md."""

from pathlib import Path

import pytest

from llmtrace.semconv import Attr, ErrorType, Metric

REFERENCE = (Path(__file__).resolve().parents[2] / "docs" / "reference.md").read_text()


def _names(cls):
    return [v for k, v in vars(cls).items() if k.isupper() and isinstance(v, str)]


@pytest.mark.parametrize("name", _names(Attr))
def test_attribute_documented(name):
    assert f"`{name}`" in REFERENCE or f"{name}`" in REFERENCE


@pytest.mark.parametrize(
    "name",
    [Metric.CALLS, Metric.TOKENS, Metric.COST, Metric.LATENCY, Metric.TTFT, Metric.RETRIES, Metric.UNPRICED_CALLS],
)
def test_metric_documented(name):
    assert f"`{name}`" in REFERENCE


def test_error_types_documented():
    for error_type in ErrorType:
        assert error_type.value in REFERENCE
