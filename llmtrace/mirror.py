"""The ``gen_ai.*`` mirror of llmtrace's ``llm.*`` span attributes (DESIGN section 4), as data.

llmtrace's own names are stable; the OTel GenAI conventions still move (names were renamed twice in a year). So
the mirror is one table from an ``llm.*`` attribute to its ``gen_ai.*`` twins (with a conversion where units or
vocabularies differ), plus the few ``gen_ai.*`` attributes that have no ``llm.*`` twin, read from the record.
Following the conventions to a new version is editing these tables; the LLM tracer (``call``) only calls ``mirror``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .semconv import GENAI_OPERATION_NAMES, GENAI_PROVIDER_NAMES, Attr, GenAI

if TYPE_CHECKING:
    from .call import LLMRecord

__all__ = ["RECORD_REQUEST", "RECORD_RESPONSE", "RUN_TWINS", "TWINS", "mirror", "mirror_record"]


def _operation(value: str) -> str:
    return GENAI_OPERATION_NAMES.get(value, value)


def _provider(value: str) -> str:
    return GENAI_PROVIDER_NAMES.get(value, value)


def _seconds(milliseconds: float) -> float:
    return milliseconds / 1000.0


Twin = tuple[str, Callable[[Any], Any] | None]

# llm.* attribute -> its gen_ai.* (and general semconv) twins, each with a conversion when the value differs.
TWINS: Mapping[str, tuple[Twin, ...]] = {
    Attr.OPERATION: ((GenAI.OPERATION_NAME, _operation),),
    Attr.PROVIDER: ((GenAI.PROVIDER_NAME, _provider),),
    Attr.STREAMING: ((GenAI.REQUEST_STREAM, None),),
    Attr.MODEL: ((GenAI.REQUEST_MODEL, None),),
    Attr.TEMPERATURE: ((GenAI.REQUEST_TEMPERATURE, None),),
    Attr.MAX_TOKENS: ((GenAI.REQUEST_MAX_TOKENS, None),),
    Attr.TOP_P: ((GenAI.REQUEST_TOP_P, None),),
    Attr.SESSION: ((GenAI.CONVERSATION_ID, None), (GenAI.SESSION_ID, None)),
    Attr.USER: ((GenAI.USER_ID, None),),
    Attr.RESPONSE_MODEL: ((GenAI.RESPONSE_MODEL, None),),
    Attr.RESPONSE_ID: ((GenAI.RESPONSE_ID, None),),
    Attr.TOKENS_INPUT: ((GenAI.USAGE_INPUT_TOKENS, None),),
    Attr.TOKENS_OUTPUT: ((GenAI.USAGE_OUTPUT_TOKENS, None),),
    Attr.TOKENS_CACHE_READ: ((GenAI.USAGE_CACHE_READ_INPUT_TOKENS, None),),
    Attr.TOKENS_CACHE_WRITE: ((GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS, None),),
    Attr.TOKENS_REASONING: ((GenAI.USAGE_REASONING_OUTPUT_TOKENS, None),),
    Attr.TTFT_MS: ((GenAI.RESPONSE_TIME_TO_FIRST_CHUNK, _seconds),),
    Attr.RETRY_COUNT: ((GenAI.RESEND_COUNT, None),),
    # Agent, workflow and tool spans.
    Attr.AGENT_ID: ((GenAI.AGENT_ID, None),),
    Attr.WORKFLOW: ((GenAI.WORKFLOW_NAME, None),),
    Attr.TOOL_NAME: ((GenAI.TOOL_NAME, None),),
    Attr.TOOL_CALL_ID: ((GenAI.TOOL_CALL_ID, None),),
    Attr.TOOL_TYPE: ((GenAI.TOOL_TYPE, None),),
}

# Agent, workflow and tool spans also name their agent as the conventions do. LLM call spans keep ``llm.agent``
# without a twin: the conventions' inference span has no agent attribute.
RUN_TWINS: Mapping[str, tuple[Twin, ...]] = {**TWINS, Attr.AGENT: ((GenAI.AGENT_NAME, None),)}


def _stop_sequences(record: LLMRecord) -> Any:
    return record.stop_sequences


def _finish_reasons(record: LLMRecord) -> Any:
    return list(record.finish_reasons) if record.finish_reasons else None


# gen_ai.* attributes without an llm.* twin: (name, reader of the record); None values are left out.
RecordRows = tuple[tuple[str, Callable[["LLMRecord"], Any]], ...]
RECORD_REQUEST: RecordRows = (
    (GenAI.REQUEST_TOP_K, lambda record: record.top_k),
    (GenAI.REQUEST_SEED, lambda record: record.seed),
    (GenAI.REQUEST_STOP_SEQUENCES, _stop_sequences),
)
RECORD_RESPONSE: RecordRows = (
    (GenAI.RESPONSE_FINISH_REASONS, _finish_reasons),  # raw, as the provider said them (llm.stop_reason: normalized)
)


def mirror(attrs: dict[str, Any], twins: Mapping[str, tuple[Twin, ...]] = TWINS) -> None:
    """Add the ``gen_ai.*`` twin of every ``llm.*`` attribute in ``attrs`` that has one in ``twins``."""
    for key in [key for key in attrs if key in twins]:
        value = attrs[key]
        for name, convert in twins[key]:
            attrs[name] = value if convert is None else convert(value)


def mirror_record(
    attrs: dict[str, Any], record: LLMRecord, rows: tuple[tuple[str, Callable[[LLMRecord], Any]], ...]
) -> None:
    """Add the ``gen_ai.*`` attributes in ``rows`` that the record has a value for."""
    for name, read in rows:
        value = read(record)
        if value is not None:
            attrs[name] = value
