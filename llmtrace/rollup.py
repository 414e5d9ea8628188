"""What an agent or workflow run adds up: the LLM calls and tool executions inside it, nested runs included.

Each LLM call adds its own recorded numbers (tokens, cost, retries, outcome) to the run that was active when it
started, whether or not its span was sampled, so a run's totals are exact like the call metrics. A nested run adds
its totals to its parent when it ends: a run's figures always include its children's. The same rule as the
``llm.cost.usd`` counter applies: a failed call adds no tokens or cost, and locally estimated tokens (no usage from
the provider) are kept out.

Nothing here imports the LLM tracer, so ``call`` (which adds to a run) and ``agents`` (which opens one) both can.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .call import LLMRecord
    from .pricing import Price

__all__ = ["ACTIVE_RUN", "RunTotals"]


class RunTotals:
    """One run's running totals. Calls may end on other threads (streams, executors): updates hold a lock."""

    __slots__ = (
        "_lock",
        "call_errors",
        "calls",
        "cost_usd",
        "input_tokens",
        "output_tokens",
        "parent",
        "retries",
        "tool_calls",
        "tool_errors",
        "unpriced_calls",
    )

    def __init__(self, parent: RunTotals | None = None) -> None:
        self.parent = parent  # the run this one adds its totals to when it ends
        self.calls = 0
        self.call_errors = 0
        self.retries = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd = 0.0
        self.unpriced_calls = 0
        self.tool_calls = 0
        self.tool_errors = 0
        self._lock = threading.Lock()

    def add_call(self, record: LLMRecord, price: Price | None, attempts: int, failed: bool) -> None:
        """One LLM call inside this run ended."""
        with self._lock:
            self.calls += 1
            if attempts > 1:
                self.retries += attempts - 1
            if failed:
                self.call_errors += 1
            elif not record.tokens_estimated:
                self.input_tokens += record.input_tokens or 0
                self.output_tokens += record.output_tokens or 0
                if price is not None:
                    self.cost_usd += price.total
                elif record.model and (record.input_tokens or record.output_tokens):
                    self.unpriced_calls += 1

    def add_tool(self, failed: bool) -> None:
        """One tool execution inside this run ended."""
        with self._lock:
            self.tool_calls += 1
            if failed:
                self.tool_errors += 1

    def add_run(self, child: RunTotals) -> None:
        """A nested run ended: its totals (its own children's included) become part of this run's."""
        with self._lock, child._lock:
            self.calls += child.calls
            self.call_errors += child.call_errors
            self.retries += child.retries
            self.input_tokens += child.input_tokens
            self.output_tokens += child.output_tokens
            self.cost_usd += child.cost_usd
            self.unpriced_calls += child.unpriced_calls
            self.tool_calls += child.tool_calls
            self.tool_errors += child.tool_errors


# The innermost agent or workflow run of the current context; LLM calls and tools read it when they start.
ACTIVE_RUN: ContextVar[RunTotals | None] = ContextVar("llmtrace_active_run", default=None)
