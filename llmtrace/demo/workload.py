"""A seeded multi-agent workload through the real SDKs against the fake provider, with its ground truth.

Agents (planner -> researcher -> writer) work on tasks for tenants; each step is one agent run (``runs.py``) around
one LLM call on a provider and model chosen by a seeded RNG, some streamed, some given a scripted fault; the
researcher also runs tools, some of which fail and are retried. The openai researcher's runs go through the OpenAI
Agents SDK instead (``agents_sdk.py``: a call per turn of its model; the plain API when the SDK is missing). The
ground truth is computed from what the fake server actually sent (its exchange log) and priced with genai-prices
directly, independently of llmtrace's own LLM tracer, and from what each run did, so tests and the stack can compare
what arrived in Prometheus/Jaeger against it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import agents_sdk
from .providers import DemoProvider, demo_providers
from .runs import RunRecord, plan_tools, run_agent, uses_tools

__all__ = [
    "CallPlan",
    "GroundTruth",
    "WorkloadConfig",
    "available_models",
    "installed_providers",
    "plan_calls",
    "run_workload",
]

AGENTS = ("planner", "researcher", "writer")
TENANTS = ("acme", "globex")
# fault plan (one entry per HTTP attempt) -> (expected llm.error.type or None, HTTP attempts)
FAULTS: dict[str, tuple[str | None, int]] = {
    "rate_limit,ok": (None, 2),
    "server_error,ok": (None, 2),
    "rate_limit": ("rate_limit", 3),
    "server_error": ("server_error", 3),
    "bad_request": ("bad_request", 1),
    "auth": ("auth", 1),
    "context_length": ("context_length", 1),
}
STREAM_FAULTS: dict[str, tuple[str | None, int]] = {"stream_cut": ("connection", 1)}
# the fault one HTTP attempt got -> llm.error.type of a call whose last attempt got it
_FAULT_ERRORS: dict[str, str] = {
    "rate_limit": "rate_limit",
    "server_error": "server_error",
    "bad_request": "bad_request",
    "auth": "auth",
    "context_length": "context_length",
    "stream_cut": "connection",
}


@dataclass(frozen=True)
class WorkloadConfig:
    """What the demo does; every choice is drawn from ``seed``."""

    calls: int = 60
    seed: int = 0
    providers: Sequence[str] = ("openai", "anthropic")
    agents: Sequence[str] = AGENTS
    tenants: Sequence[str] = TENANTS
    fault_rate: float = 0.15
    stream_ratio: float = 0.4
    rate: float | None = None  # agent runs (planned calls) per second; None = as fast as possible
    duration_s: float | None = None  # stop after this long even if calls remain
    # each task (one turn of every agent) inside an llmtrace.workflow run of this name: one trace per task
    workflow: str | None = None


@dataclass(frozen=True)
class CallPlan:
    index: int
    provider: str
    model: str
    agent: str
    tenant: str
    streaming: bool
    fault: str  # "ok" or a key of FAULTS / STREAM_FAULTS
    usage: str = ""  # x-llmtrace-usage override: prompt caching and reasoning tokens on some calls
    framework: str = ""  # the agent framework that runs it ("openai-agents"); "" for llmtrace.agent

    def headers(self) -> dict[str, str]:
        """Fault plan and usage for the fake server; the call id lets it count attempts of SDKs that send none."""
        headers = {"x-llmtrace-fault": self.fault, "x-llmtrace-call": f"demo-{self.index}-{self.fault}"}
        return {**headers, **({"x-llmtrace-usage": self.usage} if self.usage else {})}

    def system(self) -> str:
        return f"You are the {self.agent} agent."

    def messages(self) -> list[dict[str, str]]:
        """The user turn (system prompt apart: providers take it in different places)."""
        return [{"role": "user", "content": f"As the {self.agent}, work on task-{self.index // 3} for {self.tenant}."}]


@dataclass
class GroundTruth:
    """Expected metric values, keyed like the Prometheus label sets llmtrace produces."""

    calls: Counter[tuple[str, ...]] = field(
        default_factory=Counter
    )  # (provider, model, status, error_type, streaming, agent, tenant)
    tokens: Counter[tuple[str, ...]] = field(default_factory=Counter)  # (provider, model, type, agent, tenant)
    cost_usd: defaultdict[tuple[str, ...], float] = field(default_factory=lambda: defaultdict(float))
    retries: Counter[tuple[str, ...]] = field(default_factory=Counter)  # (provider, model)
    ttft_count: Counter[tuple[str, ...]] = field(default_factory=Counter)  # (provider, model)
    errors: Counter[str] = field(default_factory=Counter)  # error_type -> calls
    # agent runs, keyed like llm_runs_total / llm_run_cost_usd / llm_run_calls / llm_tool_calls_total
    runs: Counter[tuple[str, ...]] = field(default_factory=Counter)  # (operation, agent, tenant, status, error_type)
    run_cost_usd: defaultdict[tuple[str, ...], float] = field(
        default_factory=lambda: defaultdict(float)
    )  # (operation, agent, tenant): the sum of the runs' costs
    run_calls: Counter[tuple[str, ...]] = field(default_factory=Counter)  # (operation, agent, tenant)
    tool_calls: Counter[tuple[str, ...]] = field(default_factory=Counter)  # (tool, agent, status, error_type)
    per_run: list[dict[str, Any]] = field(default_factory=list)  # each run's figures, in order
    traces: int = 0  # one per run that is no other run's child: a task's workflow, else each agent run
    drivers: Counter[str] = field(default_factory=Counter)  # agent runs by what ran them: a framework, llmtrace.agent
    fallbacks: Counter[str] = field(default_factory=Counter)  # framework -> its runs made on the plain API instead

    def add_run(self, record: RunRecord, calls: int, cost_usd: float) -> None:
        """One agent run: its outcome, its calls and their cost (the rollup llmtrace puts on its span), its tools."""
        key = (_INVOKE_AGENT, record.agent, record.tenant)
        status = "error" if record.error_type else "ok"
        self.runs[(*key, status, record.error_type)] += 1
        self.run_cost_usd[key] += cost_usd
        self.run_calls[key] += calls
        for tool, error_type in record.tools:
            self.tool_calls[(tool, record.agent, "error" if error_type else "ok", error_type)] += 1
        self.per_run.append(_run_row(record, calls, cost_usd, len(record.tools), record.tool_errors))

    def add_workflow(self, name: str, done: list[tuple[RunRecord, int, float]]) -> None:
        """One workflow run around a task's agent runs (each with its calls and cost): its rollup is theirs added up
        (its tools are theirs: the tool metrics count them once, under the agent that ran them)."""
        key = (_INVOKE_WORKFLOW, name, "")
        self.runs[(*key, "ok", "")] += 1  # the agents' failures end their own runs, not the workflow
        cost, calls = sum(c for _, _, c in done), sum(n for _, n, _ in done)
        self.run_cost_usd[key] += cost
        self.run_calls[key] += calls
        tools, tool_errors = sum(len(r.tools) for r, _, _ in done), sum(r.tool_errors for r, _, _ in done)
        self.per_run.append(_run_row(RunRecord(name, ""), calls, cost, tools, tool_errors))

    def agents(self) -> dict[str, dict[str, Any]]:
        """Per agent (a workflow by its name): runs, failed runs, cost and calls (its runs' rollups added up), and
        the tool calls and tool errors of the tools it ran itself (as the tool metrics count them)."""
        out: dict[str, dict[str, Any]] = {}
        for run in self.per_run:
            row = out.setdefault(
                run["agent"],
                {"runs": 0, "run_errors": 0, "cost_usd": 0.0, "calls": 0, "tool_calls": 0, "tool_errors": 0},
            )
            row["runs"] += 1
            row["run_errors"] += run["status"] == "error"
            row["cost_usd"] += run["cost_usd"]
            row["calls"] += run["calls"]
        for (_, agent, status, _), count in self.tool_calls.items():
            out[agent]["tool_calls"] += count
            out[agent]["tool_errors"] += count if status == "error" else 0
        return dict(sorted(out.items()))

    def to_json(self) -> dict[str, Any]:
        """Stable JSON: lists of {labels..., value} rows (what ``--truth FILE`` writes)."""

        def rows(counter: Any, names: Sequence[str]) -> list[dict[str, Any]]:
            return [dict(zip(names, key, strict=True), value=value) for key, value in sorted(counter.items())]

        run_keys = ("operation", "agent", "tenant")
        return {
            "runs": rows(self.runs, (*run_keys, "status", "error_type")),
            "run_cost_usd": rows(self.run_cost_usd, run_keys),
            "run_calls": rows(self.run_calls, run_keys),
            "tool_calls": rows(self.tool_calls, ("tool", "agent", "status", "error_type")),
            "agents": self.agents(),
            "per_run": self.per_run,
            "drivers": dict(sorted(self.drivers.items())),
            "fallbacks": dict(sorted(self.fallbacks.items())),
            "calls": rows(self.calls, ("provider", "model", "status", "error_type", "streaming", "agent", "tenant")),
            "tokens": rows(self.tokens, ("provider", "model", "type", "agent", "tenant")),
            "cost_usd": rows(self.cost_usd, ("provider", "model", "agent", "tenant")),
            "retries": rows(self.retries, ("provider", "model")),
            "ttft_count": rows(self.ttft_count, ("provider", "model")),
            "errors": dict(sorted(self.errors.items())),
            "totals": {
                "calls": sum(self.calls.values()),
                "tokens": {t: sum(v for k, v in self.tokens.items() if k[2] == t) for t in _TOKEN_TYPES},
                "cost_usd": sum(self.cost_usd.values()),
                "retries": sum(self.retries.values()),
                "errors": sum(self.errors.values()),
                "runs": sum(self.runs.values()),
                "traces": self.traces,
                "run_errors": sum(v for k, v in self.runs.items() if k[3] == "error"),
                "tool_calls": sum(self.tool_calls.values()),
                "tool_errors": sum(v for k, v in self.tool_calls.items() if k[2] == "error"),
            },
        }


def _run_row(record: RunRecord, calls: int, cost_usd: float, tool_calls: int, tool_errors: int) -> dict[str, Any]:
    """One run's figures as its span's rollup has them (``per_run``)."""
    status = "error" if record.error_type else "ok"
    return {
        "agent": record.agent,
        "tenant": record.tenant,
        "status": status,
        "error_type": record.error_type,
        "calls": calls,
        "cost_usd": cost_usd,
        "tool_calls": tool_calls,
        "tool_errors": tool_errors,
    }


_INVOKE_AGENT, _INVOKE_WORKFLOW = "invoke_agent", "invoke_workflow"
_TOKEN_TYPES = ("input", "output", "cache_read", "cache_write", "reasoning")


def plan_calls(config: WorkloadConfig) -> list[CallPlan]:
    """Deterministic call list for ``config`` (same seed, same plan)."""
    rng = random.Random(config.seed)
    models = available_models()
    plans = []
    for index in range(config.calls):
        provider = rng.choice(list(config.providers))
        streaming = rng.random() < config.stream_ratio
        faults = list(FAULTS) + (list(STREAM_FAULTS) if streaming else [])
        fault = rng.choice(faults) if rng.random() < config.fault_rate else "ok"
        model = rng.choice(models[provider])
        plan = CallPlan(
            index=index,
            provider=provider,
            model=model,
            agent=config.agents[index % len(config.agents)],
            tenant=rng.choice(list(config.tenants)),
            streaming=streaming,
            fault=fault,
            usage=_usage_override(rng, demo_providers()[provider], model),
        )
        plans.append(_on_framework(plan, config.agents))
    return plans


def _on_framework(plan: CallPlan, agents: Sequence[str]) -> CallPlan:
    """The openai provider's researcher runs go through the OpenAI Agents SDK (``agents_sdk``), non-streamed:
    its streamed runs do not report usage to the openai client. A stream fault drawn for them becomes ``ok``. Decided
    after every draw, so the other plans are the seed's as before."""
    if plan.provider != "openai" or not uses_tools(plan.index, agents):
        return plan
    fault = "ok" if plan.fault in STREAM_FAULTS else plan.fault
    return dataclasses.replace(plan, streaming=False, fault=fault, framework=agents_sdk.FRAMEWORK)


def _usage_override(rng: random.Random, demo: DemoProvider, model: str) -> str:
    """A third of the calls reuse a long cached system prompt; reasoning models report reasoning tokens."""
    parts = []
    if rng.random() < 0.33 and demo.cache_read:  # e.g. Ollama's API reports no cache tokens
        cached = rng.choice((1024, 2048))
        write = demo.cache_write and rng.random() < 0.3
        parts.append(f"input={cached + 300},cache_{'write' if write else 'read'}={cached}")
    if model.startswith(("gpt-5", "o3", "o4")):
        parts.append("reasoning=8")
    return ",".join(parts)


def available_models() -> dict[str, tuple[str, ...]]:
    """Provider -> the models the demo uses, for every provider the demo knows (SDK installed or not)."""
    return {name: demo.models for name, demo in demo_providers().items()}


def installed_providers() -> list[str]:
    """The demo providers whose SDK is installed (the ones ``llmtrace.instrument()`` instruments)."""
    from .._instrument import sdk_installed
    from ..providers import PROVIDER_MODULES

    return [name for name in demo_providers() if name in PROVIDER_MODULES and sdk_installed(PROVIDER_MODULES[name][2])]


def make_clients(server: Any, providers: Sequence[str] | None = None) -> dict[str, Any]:
    """Real SDK clients pointed at the fake server (short timeouts, the SDK's own retries on), for ``providers``
    (default: all) whose SDK is installed. Only what is asked for is imported: some SDKs take seconds to import."""
    clients: dict[str, Any] = {}
    for name, demo in demo_providers().items():
        if providers is not None and name not in providers:
            continue
        try:
            clients[name] = demo.make_client(server)
        except ImportError:
            continue
    return clients


def run_workload(
    server: Any, config: WorkloadConfig, *, on_call: Callable[[CallPlan], None] | None = None
) -> GroundTruth:
    """Run the planned calls through the real SDKs (instrumented if llmtrace is), each inside a run of its agent
    (and each task's turns inside a workflow run, when ``config.workflow`` names one), and return the ground truth."""
    clients = make_clients(server, config.providers)
    truth = GroundTruth()
    interval = 1.0 / config.rate if config.rate else 0.0
    deadline = time.monotonic() + config.duration_s if config.duration_s else None
    plans = plan_calls(config)
    turns = len(config.agents)
    for task in (plans[i : i + turns] for i in range(0, len(plans), turns)):
        if deadline is not None and time.monotonic() >= deadline:
            break
        done: list[tuple[RunRecord, int, float]] = []
        with _task_scope(config.workflow):
            for plan in task:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if plan.provider not in clients:
                    continue
                started = time.perf_counter()
                done.append(_run_plan(server, clients, config, plan, truth))
                if on_call is not None:
                    on_call(plan)
                if interval:
                    time.sleep(max(0.0, interval - (time.perf_counter() - started)))
        if config.workflow:
            truth.add_workflow(config.workflow, done)
            truth.traces += 1
        else:
            truth.traces += len(done)
    return truth


def _task_scope(workflow_name: str | None) -> Any:
    """One task's turns: inside a workflow run when the config names one."""
    from ..agents import workflow

    return workflow(workflow_name) if workflow_name else contextlib.nullcontext()


def _run_plan(
    server: Any, clients: dict[str, Any], config: WorkloadConfig, plan: CallPlan, truth: GroundTruth
) -> tuple[RunRecord, int, float]:
    """One agent run around the plan's call (and the researcher's tools): on the plan's framework, else on the plain
    API; its truth added. Returns what the run did, its calls and their cost."""
    from .. import attributes

    demo = demo_providers()[plan.provider]
    steps = plan_tools(config.seed, plan.index) if uses_tools(plan.index, config.agents) else ()
    conversation = f"task-{plan.index // 3}"
    on_framework = bool(plan.framework) and agents_sdk.available()
    if plan.framework and not on_framework:
        truth.fallbacks[plan.framework] += 1
    truth.drivers[plan.framework if on_framework else "llmtrace.agent"] += 1
    first = len(server.log)
    with attributes(tenant=plan.tenant):
        if on_framework:
            record = agents_sdk.run_researcher(server, plan, steps, conversation)
        else:
            call = functools.partial(demo.call, clients[plan.provider], plan, plan.headers())
            record = run_agent(plan.agent, plan.tenant, conversation, call, steps)
    exchanges = server.log[first:]
    calls = _logical_calls(exchanges) if on_framework else [exchanges]
    cost = sum(_account(truth, plan, attempts) for attempts in calls)
    truth.add_run(record, len(calls), cost)
    return record, len(calls), cost


def _logical_calls(exchanges: list[Any]) -> list[list[Any]]:
    """A run's exchanges split into its LLM calls: each starts with the SDK's first attempt (attempt 0), its retries
    follow it."""
    calls: list[list[Any]] = []
    for exchange in exchanges:
        if exchange.attempt == 0 or not calls:
            calls.append([])
        calls[-1].append(exchange)
    return calls


def _account(truth: GroundTruth, plan: CallPlan, exchanges: list[Any]) -> float:
    """Add one logical call's expected metrics, from what the server sent; returns its cost (0 when none).

    The outcome is the last attempt's fault, not the plan's: an SDK that retries less than planned (no retry
    loop, no retries for streams, or a time-bounded loop such as mistralai's) fails on the fault it last got.
    """
    demo = demo_providers()[plan.provider]
    fault = exchanges[-1].fault if exchanges else plan.fault.split(",")[0]
    error_type = _FAULT_ERRORS.get(fault)
    provider = demo.routes_to or plan.provider  # what llmtrace records as llm.provider
    streaming = "true" if plan.streaming else "false"
    status = "error" if error_type else "ok"
    truth.calls[(provider, plan.model, status, error_type or "", streaming, plan.agent, plan.tenant)] += 1
    if len(exchanges) > 1:
        truth.retries[(provider, plan.model)] += len(exchanges) - 1
    if error_type:
        truth.errors[error_type] += 1
    final = exchanges[-1] if exchanges else None
    usage = getattr(final, "usage", None) if final is not None and final.status == 200 else None
    if plan.streaming and final is not None and final.chunks:
        truth.ttft_count[(provider, plan.model)] += 1
    if not usage or error_type:
        return 0.0
    for kind in _TOKEN_TYPES:
        if usage.get(kind):
            truth.tokens[(provider, plan.model, kind, plan.agent, plan.tenant)] += usage[kind]
    if not demo.priced:
        return 0.0  # e.g. local models have no list price: llmtrace records them as unpriced, with no cost series
    cost = reference_cost(demo.price_provider or provider, final.model or plan.model, usage)
    truth.cost_usd[(provider, plan.model, plan.agent, plan.tenant)] += cost
    return cost


def reference_cost(provider: str, model: str, usage: dict[str, int]) -> float:
    """Cost straight from genai-prices (not via llmtrace's PriceBook), for independent checks."""
    from genai_prices import Usage, calc_price

    price = calc_price(
        Usage(
            input_tokens=usage.get("input", 0),
            output_tokens=usage.get("output", 0),
            cache_read_tokens=usage.get("cache_read") or None,
            cache_write_tokens=usage.get("cache_write") or None,
        ),
        model,
        provider_id=provider,
    )
    return float(price.total_price)


def truth_json(truth: GroundTruth) -> str:
    return json.dumps(truth.to_json(), indent=2, sort_keys=True)
