"""The provider registry is the one list of providers: pyproject's entry points and extras, the instrumentors, config
validation and the semconv / pricing maps all agree with it."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import tomllib

from llmtrace.config import KNOWN_PROVIDERS
from llmtrace.integrations import INTEGRATIONS
from llmtrace.pricing import GENAI_PRICES_PROVIDER_IDS
from llmtrace.providers import PROVIDER_MODULES
from llmtrace.providers._registry import ENDPOINTS, PROVIDERS
from llmtrace.semconv import GENAI_PROVIDER_NAMES

PYPROJECT = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_entry_points_are_the_registry():
    entry_points = PYPROJECT["entry-points"]["opentelemetry_instrumentor"]
    registry = {f"llmtrace_{p.name}": f"{p.module}:{p.instrumentor}" for p in (*PROVIDERS, *INTEGRATIONS)}
    assert entry_points == registry


@pytest.mark.parametrize("spec", INTEGRATIONS, ids=lambda s: s.name)
def test_each_integration_has_its_extra(spec):
    extras = PYPROJECT["optional-dependencies"]
    assert spec.distribution in _requirement_names(extras[spec.extra])
    (all_extras,) = re.findall(r"\[([^\]]*)\]", "".join(extras["all"]))
    assert spec.extra in {e.strip() for e in all_extras.split(",")}
    assert getattr(importlib.import_module(spec.module), spec.instrumentor)


@pytest.mark.parametrize("spec", PROVIDERS, ids=lambda p: p.name)
def test_each_provider_has_its_extra_and_instrumentor(spec):
    extras = PYPROJECT["optional-dependencies"]
    assert spec.distribution in _requirement_names(extras[spec.extra])
    (all_extras,) = re.findall(r"\[([^\]]*)\]", "".join(extras["all"]))  # all = ["<this package>[a,b,...]"]
    assert spec.extra in {e.strip() for e in all_extras.split(",")}
    instrumentor = getattr(importlib.import_module(spec.module), spec.instrumentor)
    assert instrumentor.provider.name == spec.name


def test_everything_that_names_providers_derives_from_the_registry():
    assert KNOWN_PROVIDERS == tuple(p.name for p in PROVIDERS)
    assert list(PROVIDER_MODULES) == [p.name for p in PROVIDERS]
    names = [p.name for p in (*PROVIDERS, *ENDPOINTS)]
    assert len(names) == len(set(names))
    assert set(GENAI_PROVIDER_NAMES) <= set(names) and set(GENAI_PRICES_PROVIDER_IDS) <= set(names)
    assert GENAI_PROVIDER_NAMES["bedrock"] == "aws.bedrock" and GENAI_PRICES_PROVIDER_IDS["bedrock"] == "aws"
