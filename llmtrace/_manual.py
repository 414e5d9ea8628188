"""``log_call()``: record a call made by a client llmtrace does not instrument, with the same attributes/metrics."""

from __future__ import annotations

import dataclasses
import functools
import importlib
from typing import Any

from . import _state
from .call import GENERIC, LLMRecord, Outcomes
from .semconv import ErrorType

__all__ = ["log_call"]


class LoggedCallError(Exception):
    """Stands for a failure reported through ``log_call(error_type=...)``."""


@functools.lru_cache(maxsize=64)
def _outcomes(provider: str) -> Outcomes:
    """How a known provider spells finish reasons and keeps error details (its contract, without importing its SDK);
    the spec's spellings for any other provider."""
    from .providers import PROVIDER_MODULES

    entry = PROVIDER_MODULES.get(provider)
    if entry is None:
        return GENERIC
    contract = importlib.import_module(entry[0]).PROVIDER
    return Outcomes.of(contract.finish_reasons, contract.error_readers)


def log_call(
    *,
    provider: str,
    model: str,
    operation: str = "chat",
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    cache_read_tokens: int | None = None,
    cache_write_tokens: int | None = None,
    reasoning_tokens: int | None = None,
    latency_s: float = 0.0,
    ttft_s: float | None = None,
    chunks: int = 0,
    streaming: bool = False,
    finish_reason: str | None = None,
    retries: int = 0,
    error: BaseException | None = None,
    error_type: str | None = None,
    response_model: str | None = None,
    response_id: str | None = None,
    messages: Any = None,
    system: Any = None,
    output_text: str | None = None,
) -> None:
    """Record one LLM call that already happened (span backdated by ``latency_s``, metrics as usual).

    ``input_tokens`` counts all prompt tokens including cached ones. Give ``error`` (the exception) or
    ``error_type`` (an ``llm.error.type`` value such as ``"rate_limit"``) for a failed call.

    Example::

        llmtrace.log_call(provider="acme", model="acme-large", input_tokens=120, output_tokens=30, latency_s=0.8)
    """
    outcomes = _outcomes(provider)
    if error is None and error_type is not None:
        kind = ErrorType(error_type)  # ValueError names the bad value
        rules = dataclasses.replace(outcomes.errors, table=((LoggedCallError, kind),))
        error, outcomes = LoggedCallError(kind.value), Outcomes(outcomes.finish_reasons, rules)
    record = LLMRecord(
        provider=provider,
        operation=operation,
        model=model,
        streaming=streaming or ttft_s is not None,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read_tokens,
        cache_write_tokens=cache_write_tokens,
        reasoning_tokens=reasoning_tokens,
        response_model=response_model,
        response_id=response_id,
        messages=messages,
        system=system,
        finish_reasons=[finish_reason] if finish_reason else [],
        output_text=[output_text] if output_text else [],
    )
    call = _state.get_llm_tracer().start(record, outcomes, started_ago_ns=int(latency_s * 1e9))
    call.attempts = retries + 1
    if ttft_s is not None:
        call.first_chunk_ns = call.start_ns + int(ttft_s * 1e9)
        call.chunks = max(chunks, 1)
    if error is not None:
        call.fail(error)
    else:
        call.finish()
