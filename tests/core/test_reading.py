"""The defensive accessors providers read SDK objects with: junk is None, never an exception."""

from __future__ import annotations

import json

import pytest

from llmtrace.call import LLMRecord
from llmtrace.providers._reading import as_int, as_stop_sequences, read_choices, split_system


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


def test_system_prompts_split_by_one_rule():
    """system and developer messages are the template, in any provider's message list (dicts or SDK objects)."""
    system, developer = {"role": "system", "content": "s"}, {"role": "developer", "content": "d"}
    user = {"role": "user", "content": "u"}
    assert split_system([system, user, developer]) == ([user], [system, developer])
    assert split_system((user,)) == ((user,), None)  # nothing to split: the caller's object, unread
    assert split_system(None) == (None, None)
    one_shot = iter([system, user])
    assert split_system(one_shot) == (one_shot, None)  # a one-shot iterable is never consumed


def test_openai_shaped_choices_chat_and_completion():
    record = LLMRecord(provider="x", operation="chat")
    tool = {"id": "c1", "function": {"name": "lookup", "arguments": "{}"}}
    read_choices(
        record,
        [
            {"message": {"content": "hi", "tool_calls": [tool]}, "finish_reason": "tool_calls"},
            {"text": "legacy", "finish_reason": "stop"},
            None,
        ],
    )
    assert record.output_text == ["hi", "legacy"]
    assert record.tool_calls == 1 and record.finish_reasons == ["tool_calls", "stop"]
