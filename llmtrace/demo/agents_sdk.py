"""The demo's researcher on the OpenAI Agents SDK: an ``agents.Agent`` whose model asks for its tools, through the
real SDK and the real ``openai`` client (Responses API) against the fake server.

The runs the workload plans for this driver (``FRAMEWORK``: the openai provider's researcher runs) go through
``Runner.run`` instead of ``llmtrace.agent``: llmtrace's openai_agents integration turns the SDK's agent and function
spans into the same ``invoke_agent`` run and ``execute_tool`` spans, with the LLM calls inside. Only the model is
scripted: each turn, the fake server answers with the next tool call of the plan's ``ToolStep``s (a failed attempt
is asked for again: the agent retries it), then with the answer. The first turn carries the plan's fault, so a call
that fails ends the run with the SDK's exception, as on the plain API. The function tools run ``runs.use_tool``, so
what each attempt did is recorded by the demo itself. Without the SDK (``available()`` is False) the workload runs
these plans on the plain API.
"""

import asyncio
import functools
import logging
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .runs import SCRIPTED_FAILURE, TOOLS, RunRecord, ToolStep, recording, use_tool

if TYPE_CHECKING:
    from .workload import CallPlan

__all__ = ["FRAMEWORK", "available", "run_researcher", "turn_faults"]

FRAMEWORK = "openai-agents"  # the distribution; CallPlan.framework of the runs planned for this driver


def available() -> bool:
    """Whether the OpenAI Agents SDK can be imported (the ``openai-agents`` extra)."""
    try:
        from agents import Runner  # noqa: F401
    except ImportError:
        return False
    return True


def turn_faults(fault: str, steps: tuple[ToolStep, ...]) -> list[str]:
    """The fake model's fault plan per turn: the tool calls of ``steps`` in order (each attempt one turn), then the
    answer; the first turn also carries the plan's ``fault`` (its retried attempts before the tool call, or the
    failure that ends the run)."""
    script = [f"tool_call:{step.tool}" for step in steps for _ in step.fails] + ["ok"]
    attempts = fault.split(",")
    if attempts[-1] == "ok":
        attempts[-1] = script[0]
    return [",".join(attempts), *script[1:]]


@dataclass
class _Research:
    """The run's context (``RunContextWrapper.context``): what the tools record into, and the outcome of each attempt
    the scripted model will ask for, in order."""

    record: RunRecord
    attempts: deque[tuple[str, bool]]

    def use(self, name: str, argument: str) -> Any:
        planned, fails = self.attempts.popleft()
        if planned != name:
            raise RuntimeError(f"demo script: the model asked for {name}, the plan has {planned}")
        return use_tool(self.record, name, argument, fails)


class _Turns:
    """Puts each turn's fault plan on its requests (an httpx request hook): a request that is not a retry of the SDK
    (``x-stainless-retry-count`` 0) is the next turn."""

    def __init__(self, faults: list[str], headers: dict[str, str]) -> None:
        self.faults, self.headers, self.turn = faults, headers, -1

    async def __call__(self, request: Any) -> None:
        if request.headers.get("x-stainless-retry-count", "0") == "0":
            self.turn += 1
        fault = self.faults[min(self.turn, len(self.faults) - 1)]
        request.headers.update({**self.headers, "x-llmtrace-fault": fault})


class _ScriptedFailures(logging.Filter):
    """The SDK logs each failed model call and (unless told not to log tool data) each failed tool at ERROR; in the
    demo both are scripted, and the summary counts them: the demo's own runs keep them off the console."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        tool = isinstance(error, tuple(TOOLS.values())) and str(error).endswith(SCRIPTED_FAILURE)
        return not (tool or record.getMessage().startswith(_MODEL_FAILURE))


_MODEL_FAILURE = "Error getting response"  # how the SDK's log line about a failed model call starts


@functools.cache
def _tools() -> list[Any]:
    """The researcher's function tools (built once: the SDK reads their schema from the signatures, whose
    annotations are objects here: this module does not postpone them, since the SDK is imported in this function)."""
    from agents import RunContextWrapper, function_tool

    @function_tool
    def web_search(ctx: RunContextWrapper[_Research], query: str) -> list[str]:
        """Search the web for the query."""
        return ctx.context.use("web_search", query)  # type: ignore[no-any-return]

    @function_tool
    def fetch_page(ctx: RunContextWrapper[_Research], url: str) -> str:
        """Fetch the page at the URL."""
        return ctx.context.use("fetch_page", url)  # type: ignore[no-any-return]

    return [web_search, fetch_page]


@functools.cache
def _no_export_to_openai() -> None:
    """The SDK's default trace processor exports every run to OpenAI's trace backend (with the environment's key):
    the demo's runs are against a fake server and stay on this machine. llmtrace's processor stays registered (its
    integration keeps it through ``set_trace_processors``)."""
    from agents import set_trace_processors

    set_trace_processors([])


def run_researcher(server: Any, plan: "CallPlan", steps: tuple[ToolStep, ...], conversation: str) -> RunRecord:
    """One run of ``plan``'s agent through ``Runner.run`` (non-streamed), with the researcher's tools; what it did,
    as the demo saw it. The run's exception ends it (recorded, then swallowed, as ``runs.run_agent`` does)."""
    _no_export_to_openai()
    record = RunRecord(plan.agent, plan.tenant)
    faults = turn_faults(plan.fault, steps)
    research = _Research(record, deque((step.tool, fails) for step in steps for fails in step.fails))
    quiet = _ScriptedFailures()
    sdk_logger = logging.getLogger("openai.agents")
    sdk_logger.addFilter(quiet)
    try:
        with recording(record):
            asyncio.run(_run(server, plan, faults, research, conversation))
    finally:
        sdk_logger.removeFilter(quiet)
    return record


async def _run(server: Any, plan: "CallPlan", faults: list[str], research: _Research, conversation: str) -> None:
    import openai
    from agents import Agent, ModelSettings, OpenAIResponsesModel, RunConfig, Runner

    headers = {k: v for k, v in plan.headers().items() if k != "x-llmtrace-fault"}
    http = openai.DefaultAsyncHttpxClient(event_hooks={"request": [_Turns(faults, headers)]})
    client = openai.AsyncOpenAI(
        api_key="sk-demo", base_url=server.openai_base_url, max_retries=2, timeout=5.0, http_client=http
    )
    async with client:
        agent = Agent(
            name=plan.agent,
            instructions=plan.system(),
            model=OpenAIResponsesModel(model=plan.model, openai_client=client),
            model_settings=ModelSettings(max_tokens=200),
            tools=_tools(),
        )
        (message,) = plan.messages()
        await Runner.run(
            agent,
            message["content"],
            context=research,
            max_turns=len(faults),
            run_config=RunConfig(group_id=conversation),
        )
