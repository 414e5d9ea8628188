"""The demo's agents: every planned LLM call is made inside a run of its agent, and the researcher runs tools.

Each plan becomes one ``llmtrace.agent`` run (an ``invoke_agent`` span, the root of its own trace) around its one
LLM call, so the call's ``agent`` label is the run's agent (the Agents SDK's plans run in ``agents_sdk.py``). The
agents hand off in turn within a task (planner, researcher, writer, sharing the task's conversation id); the second
agent of the list is the researcher: after its call it runs tools (``llmtrace.tool``) that fail now and then, as
flaky backends do, and retries each failed one up to ``TOOL_ATTEMPTS`` times. A run whose call fails ends with the
SDK's exception, like a real agent that does not handle it; the workload catches it outside the run and goes on with
the next plan.

Which tool attempts fail is drawn from a generator of its own per plan, so adding tools never changes the calls
the seed plans. What a run did (its outcome, every tool attempt) is recorded here as it happens: that record, with
the call's cost from the workload's ground truth, is the truth of the run metrics and of each run's rollup.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..agents import agent, tool

__all__ = [
    "TOOLS",
    "TOOL_ATTEMPTS",
    "RunRecord",
    "ToolStep",
    "plan_tools",
    "recording",
    "run_agent",
    "use_tool",
    "uses_tools",
]

# tool -> the exception it raises when its backend fails (the tool span's and metric's error type)
TOOLS: dict[str, type[Exception]] = {"web_search": TimeoutError, "fetch_page": ConnectionError}
TOOL_FAILURE_RATE = 0.3
TOOL_ATTEMPTS = 3  # the researcher tries a failing tool at most this many times, then does without it


@dataclass(frozen=True)
class ToolStep:
    """One tool the researcher needs, and which of its attempts fail (True), in order."""

    tool: str
    fails: tuple[bool, ...]


@dataclass
class RunRecord:
    """What one agent run did, as the demo saw it (not as llmtrace recorded it)."""

    agent: str
    tenant: str
    error_type: str = ""  # the class of the exception that ended the run; "" when it returned
    tools: list[tuple[str, str]] = field(default_factory=list)  # (tool, error type or "") per tool execution

    @property
    def tool_errors(self) -> int:
        return sum(1 for _, error in self.tools if error)


def uses_tools(index: int, agents: Sequence[str]) -> bool:
    """Whether the plan at ``index`` is the researcher's turn (the second agent of the list)."""
    return len(agents) > 1 and index % len(agents) == 1


def plan_tools(seed: int, index: int) -> tuple[ToolStep, ...]:
    """The researcher's tool attempts for plan ``index``: a search, then one or two page fetches; each attempt
    fails with ``TOOL_FAILURE_RATE`` and a failed one is retried until it succeeds or ``TOOL_ATTEMPTS`` ran."""
    rng = random.Random(f"llmtrace-demo-tools:{seed}:{index}")  # its own stream: the call plan stays the seed's
    names = ["web_search", *["fetch_page"] * rng.randint(1, 2)]
    steps = []
    for name in names:
        fails: list[bool] = []
        while len(fails) < TOOL_ATTEMPTS and (not fails or fails[-1]):
            fails.append(rng.random() < TOOL_FAILURE_RATE)
        steps.append(ToolStep(name, tuple(fails)))
    return tuple(steps)


def use_tool(record: RunRecord, name: str, argument: str, fails: bool) -> Any:
    """One execution of tool ``name``, recorded in ``record`` as it happens: its backend's answer, or (``fails``) the
    exception its backend raises when it does not answer. Both drivers' tools run this: ``Toolbox`` (llmtrace.tool)
    and the Agents SDK's function tools (``agents_sdk``)."""
    if fails:
        record.tools.append((name, TOOLS[name].__qualname__))
        raise TOOLS[name](f"{name}: {SCRIPTED_FAILURE}")
    record.tools.append((name, ""))
    return _ANSWERS[name](argument)


SCRIPTED_FAILURE = "the backend did not answer"  # the message of every tool failure the demo scripts
_ANSWERS: dict[str, Callable[[str], Any]] = {
    "web_search": lambda query: [f"https://example.org/{query}/{n}" for n in range(3)],
    "fetch_page": lambda url: f"<html><body>notes on {url}</body></html>",
}


class Toolbox:
    """The researcher's tools on the plain API. Each attempt fails or not as its ``ToolStep`` says."""

    def __init__(self, record: RunRecord) -> None:
        self.record = record
        self.fail_next = False

    def attempt(self, name: str, fails: bool, argument: str) -> bool:
        """One execution of tool ``name``; True when it returned."""
        self.fail_next = fails
        try:
            getattr(self, name)(argument)
        except tuple(TOOLS.values()):
            return False
        return True

    @tool("web_search")
    def web_search(self, query: str) -> list[str]:
        return use_tool(self.record, "web_search", query, self.fail_next)  # type: ignore[no-any-return]

    @tool("fetch_page")
    def fetch_page(self, url: str) -> str:
        return use_tool(self.record, "fetch_page", url, self.fail_next)  # type: ignore[no-any-return]


def _research(record: RunRecord, steps: tuple[ToolStep, ...], topic: str) -> None:
    """The researcher's tools after its call: each retried while it fails, at most ``TOOL_ATTEMPTS`` times."""
    box = Toolbox(record)
    for n, step in enumerate(steps):
        argument = topic if step.tool == "web_search" else f"https://example.org/{topic}/{n}"
        for fails in step.fails:
            if box.attempt(step.tool, fails, argument):
                break


def run_agent(
    name: str, tenant: str, conversation: str, call: Callable[[], None], steps: tuple[ToolStep, ...] = ()
) -> RunRecord:
    """One run of agent ``name``: its LLM ``call``, then its tool ``steps``. The call's exception ends the run (and
    is recorded, then swallowed here: the demo goes on with its next plan)."""
    record = RunRecord(name, tenant)
    with recording(record), agent(name, conversation=conversation):
        call()
        _research(record, steps, conversation)
    return record


@contextlib.contextmanager
def recording(record: RunRecord) -> Iterator[None]:
    """Around one run: the exception that ends it (a scripted failure; llmtrace records it on the call and on the
    run) is recorded, then swallowed: the demo goes on with its next plan."""
    try:
        yield
    except Exception as exc:
        record.error_type = type(exc).__qualname__
