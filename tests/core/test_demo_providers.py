"""Every demo provider module imports and declares a wire format and a demo driver of its own name."""

from __future__ import annotations

import importlib

import pytest

from llmtrace.demo.fake_server import WireFormat
from llmtrace.demo.providers import DemoProvider, module_names


@pytest.mark.parametrize("name", module_names())
def test_provider_module_declares_wire_and_demo(name):
    module = importlib.import_module(f"llmtrace.demo.providers.{name}")
    assert isinstance(module.WIRE, WireFormat)
    assert isinstance(module.DEMO, DemoProvider)
    assert module.DEMO.models, name


def test_openai_answers_unclaimed_paths_first():
    assert module_names()[0] == "openai"
