"""The defensive accessors providers read SDK objects with: junk is None, never an exception."""

from __future__ import annotations

import json

import pytest

from llmtrace.providers._reading import as_int, as_stop_sequences


@pytest.mark.parametrize("value", [None, True, -1, float("nan"), float("inf"), json.loads("Infinity"), "12", [3]])
def test_unusable_token_counts_are_none(value):
    assert as_int(value) is None


def test_token_counts_as_int():
    assert (as_int(12), as_int(12.0), as_int(0)) == (12, 12, 0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("END", ["END"]), (["a", 1], ["a", "1"]), (("x",), ["x"]), ("", None), ([], None), (None, None), (7, None)],
)
def test_stop_sequences_in_every_shape(value, expected):
    assert as_stop_sequences(value) == expected
