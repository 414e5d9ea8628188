"""Many calls at once keep their attempt counts and attributes apart (contextvars, not globals)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import openai

import llmtrace

PLANS = ["ok", "rate_limit,ok", "rate_limit,rate_limit,ok"]


async def test_50_async_calls_and_8_threads_do_not_cross_talk(server, instrumented):
    aclient = openai.AsyncOpenAI(api_key="k", base_url=server.openai_base_url, max_retries=3)
    client = openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=3)

    async def one_async(i: int) -> None:
        with llmtrace.attributes(agent=f"async-{i}", session=str(i)):
            await aclient.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": f"q{i}"}],
                extra_headers={"x-llmtrace-fault": PLANS[i % 3]},
            )

    def one_thread(i: int) -> None:
        with llmtrace.attributes(agent=f"thread-{i}", session=str(i)):
            for _ in client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": f"t{i}"}],
                stream=True,
                extra_headers={"x-llmtrace-fault": PLANS[i % 3]},
            ):
                pass

    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(8) as pool:
        threads = [loop.run_in_executor(pool, one_thread, i) for i in range(8)]
        await asyncio.gather(*(one_async(i) for i in range(50)), *threads)
    spans = instrumented.spans()
    assert len(spans) == 58
    attempts: dict[str, int] = {}  # prompt -> HTTP attempts the server saw
    for exchange in server.log:
        prompt = exchange.request_body["messages"][0]["content"]
        attempts[prompt] = attempts.get(prompt, 0) + 1
    for span in spans:
        agent = span.attributes["llm.agent"]
        kind, i = agent.split("-")
        prompt = ("q" if kind == "async" else "t") + i
        assert span.attributes["llm.session"] == i
        assert attempts[prompt] - 1 >= PLANS[int(i) % 3].count("rate_limit")
        assert span.attributes["llm.retry_count"] == attempts[prompt] - 1, agent
        assert span.attributes["llm.streaming"] is (kind == "thread")
    assert instrumented.total("llm.retries") == sum(attempts.values()) - 58
