"""Every name in the semantic-conventions module is documented in docs/reference.md."""

from pathlib import Path

import pytest

from llmtrace.semconv import Attr, ErrorType, Metric, PromName

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


def test_prometheus_names_are_the_otlp_translation_of_the_metric_names():
    """Dots to underscores, the unit as a suffix (seconds for the histograms), ``_total`` on counters."""
    histograms = {"LATENCY", "TTFT"}
    prom = {key: value for key, value in vars(PromName).items() if key.isupper()}
    assert set(prom) == {key for key in vars(Metric) if key.isupper() and not key.startswith(("L_", "STATUS_"))}
    for key, name in prom.items():
        assert name == getattr(Metric, key).replace(".", "_") + ("_seconds" if key in histograms else "_total")
