"""Load: a million recorded calls keep memory flat; 100 asyncio tasks + 16 threads per provider keep their
attributes and attempt counts apart."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import llmtrace

from ._providers import PROVIDERS, Prompt, ProviderCase, available

APP = Path(__file__).with_name("_load_app.py")
CALLS = 1_000_000
CHECKPOINTS = (10_000, 100_000, 500_000, 1_000_000)
RETRY_PLANS = ("ok", "rate_limit,ok", "rate_limit,rate_limit,ok")
TASKS, THREADS = 100, 16


@pytest.mark.timeout(900)
def test_million_log_calls_keep_rss_flat():
    out = subprocess.run(
        [sys.executable, str(APP), str(CALLS), ",".join(map(str, CHECKPOINTS))],
        capture_output=True,
        text=True,
        timeout=880,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(result))
    rss = {int(k): v for k, v in result["rss_mb"].items()}
    assert result["calls"] == CALLS
    # After warm-up (caches, metric streams for every label set) memory must not grow with the number of calls:
    # spans leave through a bounded queue, metrics are cumulative per label set.
    assert rss[100_000] - rss[10_000] < 16, rss
    assert rss[1_000_000] - rss[100_000] < 16, rss


def _marker(kind: str, i: int) -> str:
    return f"task {kind} {i} "


def _prompt(kind: str, i: int) -> Prompt:
    """A unique user message whose length identifies the task (llm.prompt.length is exported, content is not)."""
    return Prompt(system="Be brief.", user=_marker(kind, i) + "x" * (i if kind == "async" else 500 + i))


def _plan(case: ProviderCase, i: int, stream: bool) -> str:
    retries = case.sdk_retries and (case.stream_retries or not stream)
    return RETRY_PLANS[i % len(RETRY_PLANS)] if retries else "ok"


def _attempts_by_task(server, tasks: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    bodies = [json.dumps(e.request_body) for e in server.log]
    return {task: sum(1 for body in bodies if _marker(*task) in body) for task in tasks}


def _self_tracing(case: ProviderCase) -> bool:
    """The SDK traces its own calls in a way llmtrace folds into its own span (litellm's callback is only reported;
    rows that fold a framework's span around the call, ``folds``, are not the SDK's: pydantic-ai's on openai)."""
    rows = case.provider_module().PROVIDER.self_tracing if available(case) else ()
    return any(not t.unsuppressible and not t.folds for t in rows)


# SDKs that trace themselves also run with their spans kept, recording and current while every attempt is sent.
LOAD_CASES = [pytest.param(c, "suppress", id=c.name) for c in PROVIDERS] + [
    pytest.param(c, "keep", id=f"{c.name}-sdk-spans-kept") for c in PROVIDERS if _self_tracing(c)
]


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("case", "sdk_spans"), LOAD_CASES)
async def test_100_tasks_and_16_threads_do_not_cross_talk(case, sdk_spans, server, global_tracer_provider):
    telemetry = global_tracer_provider
    if not available(case):
        pytest.skip(f"{case.sdk} not installed")
    llmtrace.instrument(providers=[case.name], tracer_provider=telemetry.tracer_provider, sdk_spans=sdk_spans)

    async def one_task(i: int) -> None:
        headers = {"x-llmtrace-fault": _plan(case, i, False)}
        with llmtrace.attributes(agent=f"async-{i}", session=str(i)):
            if case.has_async:
                await case.achat(case.make_async_client(server, headers, 3), _prompt("async", i), False)
            else:  # no async client (boto3): the task's call runs in a worker thread, with the task's context
                await asyncio.to_thread(case.chat, case.make_client(server, headers, 3), _prompt("async", i), False)

    def one_thread(i: int) -> None:
        client = case.make_client(server, {"x-llmtrace-fault": _plan(case, i, True)}, 3)
        with llmtrace.attributes(agent=f"thread-{i}", session=str(i)):
            for _ in case.chat(client, _prompt("thread", i), True):
                pass

    try:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(THREADS) as pool:
            threads = [loop.run_in_executor(pool, one_thread, i) for i in range(THREADS)]
            await asyncio.gather(*(one_task(i) for i in range(TASKS)), *threads)
    finally:
        llmtrace.uninstrument()
    tasks = [("async", i) for i in range(TASKS)] + [("thread", i) for i in range(THREADS)]
    attempts = _attempts_by_task(server, tasks)
    spans = [s for s in telemetry.spans() if s.instrumentation_scope.name == "llmtrace"]
    assert len(spans) == TASKS + THREADS
    sdk_spans_seen = len(telemetry.spans()) - len(spans)
    assert sdk_spans_seen >= TASKS + THREADS if sdk_spans == "keep" else sdk_spans_seen == 0
    offsets = set()  # prompt length minus this task's user message length: one constant if no cross-talk
    for span in spans:
        attrs = span.attributes
        kind, i = attrs["llm.agent"].split("-")
        prompt = _prompt(kind, int(i))
        assert attrs["llm.session"] == i
        offsets.add(attrs["llm.prompt.length"] - len(prompt.user))  # lengths are unique per task
        assert attrs["llm.streaming"] is (kind == "thread")
        expected_retries = _plan(case, int(i), kind == "thread").count("rate_limit")
        assert attrs["llm.retry_count"] == attempts[(kind, int(i))] - 1 == expected_retries, attrs["llm.agent"]
        assert attrs["llm.success"] is True
    assert len(offsets) == 1, offsets
