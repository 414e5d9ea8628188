"""In-process A/B of llmtrace: finer than the cross-process benchmark, for llmtrace alone.

    .venv/bin/python -m benchmarks.ab [--blocks 10]

``overhead.py`` compares contenders in separate processes, whose run-to-run drift (~15 us per call, ~1 us per
chunk on 2 cores) is as large as the differences asked about here. This one stays in ONE process and alternates
blocks (bare SDK, llmtrace, llmtrace with ``genai_semconv=False``) via ``instrument()``/``uninstrument()``, in
rotating order, then compares medians: per-call and per-chunk overhead, and what the ``gen_ai.*`` mirror adds.
Same SDK setup, canned responses and providers as ``overhead.py``.
"""

from __future__ import annotations

import argparse
import statistics

from .overhead import STREAM_CHUNKS, _call, _clients, _providers, _time

MODES = ("bare", "llmtrace", "llm-only")


def run(blocks: int, calls: int, streams: int) -> dict[str, dict[str, float]]:
    """Median time (us) per call / per chunk for each mode and workload."""
    import llmtrace

    tracer_provider, meter_provider = _providers()
    clients = _clients()
    samples: dict[tuple[str, str], list[int]] = {}
    workloads = {
        f"{sdk}_{kind}": (sdk, kind == "chunk") for sdk in ("openai", "anthropic") for kind in ("call", "chunk")
    }
    for block in range(blocks):
        order = MODES[block % 3 :] + MODES[: block % 3]
        for mode in order:
            if mode != "bare":
                llmtrace.instrument(
                    tracer_provider=tracer_provider, meter_provider=meter_provider, genai_semconv=mode == "llmtrace"
                )
            try:
                for workload, (sdk, stream) in workloads.items():
                    n = streams if stream else calls
                    timed = _time(lambda sdk=sdk, stream=stream: _call(clients, sdk, stream), n, max(1, n // 5))
                    samples.setdefault((mode, workload), []).extend(timed)
            finally:
                if mode != "bare":
                    llmtrace.uninstrument()
    medians: dict[str, dict[str, float]] = {}
    for (mode, workload), values in samples.items():
        per = STREAM_CHUNKS if workload.endswith("chunk") else 1
        medians.setdefault(mode, {})[workload] = statistics.median(values) / 1000 / per
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=10, help="rounds of (bare, llmtrace, llm-only) blocks")
    parser.add_argument("--calls", type=int, default=300, help="non-streaming calls per block per SDK")
    parser.add_argument("--streams", type=int, default=6, help="500-chunk streams per block per SDK")
    args = parser.parse_args()
    medians = run(args.blocks, args.calls, args.streams)
    bare = medians["bare"]

    def added(mode: str, workload: str) -> float:
        return medians[mode][workload] - bare[workload]

    for workload in bare:
        print(
            f"{workload:16} bare {bare[workload]:8.2f} us   llmtrace +{added('llmtrace', workload):6.2f} us   "
            f"llm-only +{added('llm-only', workload):6.2f} us   "
            f"mirror {medians['llmtrace'][workload] - medians['llm-only'][workload]:+6.2f} us"
        )


if __name__ == "__main__":
    main()
