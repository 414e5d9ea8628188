"""A fixture factory: instrument only the given providers, into the ``telemetry`` fixture's providers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

__all__ = ["instrumented_by"]


def instrumented_by(*classes: type[Any]) -> Callable[..., Any]:
    """A fixture instrumenting ``classes`` (in order; uninstrumented in reverse) and yielding ``telemetry``."""

    @pytest.fixture
    def fixture(telemetry: Any) -> Iterator[Any]:
        instrumentors = [cls() for cls in classes]
        for inst in instrumentors:
            inst.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
        yield telemetry
        for inst in reversed(instrumentors):
            inst.uninstrument()

    return fixture
