"""What an agent run and a tool execution cost, and whether a call outside any agent got slower.

    .venv/bin/python -m benchmarks.agents [--blocks 8] [--n 2000]

One process, the same providers and canned SDK responses as ``overhead.py``, blocks alternating in rotating order;
medians in microseconds:
- ``empty_agent``: ``with llmtrace.agent("a"): pass`` (span, rollup, run metrics, context in and out);
- ``empty_tool``: a ``@llmtrace.tool`` function of two arguments returning a string (arguments bound and hashed);
- ``call_outside`` / ``call_in_agent``: one openai call alone, and inside an agent that is already open (the
  difference is what being in a run adds to a call: its attribution and one rollup update);
- ``bare_call``: the same call with llmtrace uninstrumented.
"""

from __future__ import annotations

import argparse
import statistics

from .overhead import _call, _clients, _providers, _time


def run(blocks: int, n: int) -> dict[str, float]:
    import llmtrace

    tracer_provider, meter_provider = _providers()
    clients = _clients()

    @llmtrace.tool("lookup")
    def lookup(key: str, limit: int = 3) -> str:
        return key * limit

    def empty_agent() -> None:
        with llmtrace.agent("a"):
            pass

    def call() -> None:
        _call(clients, "openai", False)

    samples: dict[str, list[int]] = {}
    modes = ("bare", "outside", "inside", "spans")
    for block in range(blocks):
        for mode in modes[block % 4 :] + modes[: block % 4]:
            if mode == "bare":
                samples.setdefault("bare_call", []).extend(_time(call, n // 4, 20))
                continue
            llmtrace.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
            try:
                if mode == "outside":
                    samples.setdefault("call_outside", []).extend(_time(call, n // 4, 20))
                elif mode == "inside":
                    with llmtrace.agent("planner"):
                        samples.setdefault("call_in_agent", []).extend(_time(call, n // 4, 20))
                else:
                    samples.setdefault("empty_agent", []).extend(_time(empty_agent, n, 50))
                    samples.setdefault("empty_tool", []).extend(_time(lambda: lookup("k", limit=2), n, 50))
            finally:
                llmtrace.uninstrument()
    return {name: statistics.median(values) / 1000 for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    for name, us in sorted(run(args.blocks, args.n).items()):
        print(f"{name:14} {us:8.1f} us")


if __name__ == "__main__":
    main()
