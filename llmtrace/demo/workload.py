"""A seeded multi-agent workload through the real SDKs against the fake provider, with its ground truth.

Agents (planner -> researcher -> writer) work on tasks for tenants; each step is one LLM call on a provider and
model chosen by a seeded RNG, some streamed, some given a scripted fault. The ground truth is computed from
what the fake server actually sent (its exchange log) and priced with genai-prices directly, independently of
llmtrace's own recorder, so tests and the stack can compare what arrived in Prometheus/Jaeger against it.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MODELS", "CallPlan", "GroundTruth", "WorkloadConfig", "plan_calls", "run_workload"]

MODELS: dict[str, tuple[str, ...]] = {
    "openai": ("gpt-5-mini", "gpt-4o-mini"),
    "anthropic": ("claude-sonnet-4-6", "claude-haiku-4-5"),
    "ollama": ("llama3.2", "qwen3:8b"),
}
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
MAX_RETRIES = 2
_NO_RETRY_PROVIDERS = frozenset({"ollama"})


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
    rate: float | None = None  # calls per second; None = as fast as possible
    duration_s: float | None = None  # stop after this long even if calls remain


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

    def headers(self) -> dict[str, str]:
        return {"x-llmtrace-fault": self.fault, **({"x-llmtrace-usage": self.usage} if self.usage else {})}


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

    def to_json(self) -> dict[str, Any]:
        """Stable JSON: lists of {labels..., value} rows (what ``--truth FILE`` writes)."""

        def rows(counter: Any, names: Sequence[str]) -> list[dict[str, Any]]:
            return [dict(zip(names, key, strict=True), value=value) for key, value in sorted(counter.items())]

        return {
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
            },
        }


_TOKEN_TYPES = ("input", "output", "cache_read", "cache_write", "reasoning")


def plan_calls(config: WorkloadConfig) -> list[CallPlan]:
    """Deterministic call list for ``config`` (same seed, same plan)."""
    rng = random.Random(config.seed)
    plans = []
    for index in range(config.calls):
        provider = rng.choice(list(config.providers))
        streaming = rng.random() < config.stream_ratio
        faults = list(FAULTS) + (list(STREAM_FAULTS) if streaming else [])
        fault = rng.choice(faults) if rng.random() < config.fault_rate else "ok"
        model = rng.choice(MODELS[provider])
        plans.append(
            CallPlan(
                index=index,
                provider=provider,
                model=model,
                agent=config.agents[index % len(config.agents)],
                tenant=rng.choice(list(config.tenants)),
                streaming=streaming,
                fault=fault,
                usage=_usage_override(rng, provider, model),
            )
        )
    return plans


def _usage_override(rng: random.Random, provider: str, model: str) -> str:
    """A third of the calls reuse a long cached system prompt; reasoning models report reasoning tokens."""
    parts = []
    if rng.random() < 0.33 and provider != "ollama":  # Ollama's API reports no cache tokens
        cached = rng.choice((1024, 2048))
        write = provider == "anthropic" and rng.random() < 0.3
        parts.append(f"input={cached + 300},cache_{'write' if write else 'read'}={cached}")
    if model.startswith(("gpt-5", "o3", "o4")):
        parts.append("reasoning=8")
    return ",".join(parts)


def _prompt(plan: CallPlan) -> list[dict[str, str]]:
    task = f"task-{plan.index // 3}"
    return [{"role": "user", "content": f"As the {plan.agent}, work on {task} for {plan.tenant}."}]


def _openai_call(client: Any, plan: CallPlan, headers: dict[str, str]) -> None:
    kwargs: dict[str, Any] = {
        "model": plan.model,
        "messages": [{"role": "system", "content": f"You are the {plan.agent} agent."}, *_prompt(plan)],
        "extra_headers": headers,
        "max_tokens": 200,
    }
    if not plan.streaming:
        client.chat.completions.create(**kwargs)
        return
    for _ in client.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True}):
        pass


def _anthropic_call(client: Any, plan: CallPlan, headers: dict[str, str]) -> None:
    kwargs: dict[str, Any] = {
        "model": plan.model,
        "system": f"You are the {plan.agent} agent.",
        "messages": _prompt(plan),
        "max_tokens": 200,
        "extra_headers": headers,
    }
    if not plan.streaming:
        client.messages.create(**kwargs)
        return
    with client.messages.stream(**kwargs) as stream:
        for _ in stream.text_stream:
            pass


def _ollama_call(server_url: str, plan: CallPlan, headers: dict[str, str]) -> None:
    import ollama

    # The ollama SDK takes headers per client, not per call: one short-lived client per scripted call.
    with ollama.Client(host=server_url, headers=headers, timeout=5.0) as client:
        messages = [{"role": "system", "content": f"You are the {plan.agent} agent."}, *_prompt(plan)]
        if plan.streaming:
            for _ in client.chat(model=plan.model, messages=messages, stream=True):
                pass
        else:
            client.chat(model=plan.model, messages=messages)


def make_clients(server: Any) -> dict[str, Any]:
    """Real SDK clients pointed at the fake server (short timeouts, the SDK's own retries on)."""
    clients: dict[str, Any] = {}
    try:
        import openai

        clients["openai"] = openai.OpenAI(
            api_key="sk-demo", base_url=server.openai_base_url, max_retries=MAX_RETRIES, timeout=5.0
        )
    except ImportError:
        pass
    try:
        import anthropic

        clients["anthropic"] = anthropic.Anthropic(
            api_key="sk-ant-demo", base_url=server.anthropic_base_url, max_retries=MAX_RETRIES, timeout=5.0
        )
    except ImportError:
        pass
    try:
        import ollama  # noqa: F401 - availability check; clients are made per call

        clients["ollama"] = server.url
    except ImportError:
        pass
    return clients


_CALLERS: dict[str, Callable[[Any, CallPlan, dict[str, str]], None]] = {
    "openai": _openai_call,
    "anthropic": _anthropic_call,
    "ollama": _ollama_call,
}


def run_workload(
    server: Any, config: WorkloadConfig, *, on_call: Callable[[CallPlan], None] | None = None
) -> GroundTruth:
    """Run the planned calls through the real SDKs (instrumented if llmtrace is) and return the ground truth."""
    from .. import attributes

    clients = make_clients(server)
    truth = GroundTruth()
    interval = 1.0 / config.rate if config.rate else 0.0
    deadline = time.monotonic() + config.duration_s if config.duration_s else None
    for plan in plan_calls(config):
        if deadline is not None and time.monotonic() >= deadline:
            break
        if plan.provider not in clients:
            continue
        started = time.perf_counter()
        first = len(server.log)
        with attributes(agent=plan.agent, tenant=plan.tenant, session=f"task-{plan.index // 3}"):
            try:
                _CALLERS[plan.provider](clients[plan.provider], plan, plan.headers())
            except Exception:
                pass  # the scripted failure; llmtrace records it
        _account(truth, plan, server.log[first:])
        if on_call is not None:
            on_call(plan)
        if interval:
            time.sleep(max(0.0, interval - (time.perf_counter() - started)))
    return truth


def _account(truth: GroundTruth, plan: CallPlan, exchanges: list[Any]) -> None:
    """Add one logical call's expected metrics, from what the server sent."""
    # SDKs without a retry loop fail on the plan's first entry ("rate_limit,ok" is a rate-limit error there).
    fault = plan.fault.split(",")[0] if plan.provider in _NO_RETRY_PROVIDERS else plan.fault
    table = STREAM_FAULTS if fault in STREAM_FAULTS else FAULTS
    error_type, _ = table.get(fault, (None, 1))
    streaming = "true" if plan.streaming else "false"
    status = "error" if error_type else "ok"
    truth.calls[(plan.provider, plan.model, status, error_type or "", streaming, plan.agent, plan.tenant)] += 1
    if len(exchanges) > 1:
        truth.retries[(plan.provider, plan.model)] += len(exchanges) - 1
    if error_type:
        truth.errors[error_type] += 1
    final = exchanges[-1] if exchanges else None
    usage = getattr(final, "usage", None) if final is not None and final.status == 200 else None
    if plan.streaming and final is not None and final.chunks:
        truth.ttft_count[(plan.provider, plan.model)] += 1
    if not usage or error_type:
        return
    for kind in _TOKEN_TYPES:
        if usage.get(kind):
            truth.tokens[(plan.provider, plan.model, kind, plan.agent, plan.tenant)] += usage[kind]
    if plan.provider == "ollama":
        return  # local models have no list price: llmtrace records them as unpriced, with no cost series
    truth.cost_usd[(plan.provider, plan.model, plan.agent, plan.tenant)] += reference_cost(
        plan.provider, final.model or plan.model, usage
    )


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
