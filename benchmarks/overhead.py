"""Instrumentation overhead: llmtrace vs the uninstrumented SDK, peer instrumentations, and the floor.

    bash benchmarks/run.sh [--quick] [--json out.json]

One run, interleaved: every round starts one fresh worker process per contender (instrumentors patch classes
globally, so each process holds exactly one), in rotating order, so machine drift hits all contenders alike.
The SDKs talk to an in-process ``httpx2.MockTransport`` returning canned wire-format responses instantly, so
network noise is out and what remains is SDK time + instrumentation time. Every contender gets the same
TracerProvider (BatchSpanProcessor + discarding exporter) and MeterProvider (in-memory reader).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from typing import Any

# llmtrace-llm-only: llmtrace with its gen_ai.* mirror switched off (genai_semconv=False), so the mirror's own cost
# is measured rather than guessed.
CONTENDERS = ("bare", "llmtrace", "llmtrace-llm-only", "openllmetry", "otel-contrib-v2", "openlit", "floor")
_OURS = ("llmtrace", "llmtrace-llm-only")
STREAM_CHUNKS = 500

# -- canned wire responses ------------------------------------------------------------------------------------------

_OPENAI_JSON = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "The Nile, the Amazon and the Yangtze."},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 120,
            "completion_tokens": 12,
            "total_tokens": 132,
            "prompt_tokens_details": {"cached_tokens": 64},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }
).encode()
_ANTHROPIC_JSON = json.dumps(
    {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "text", "text": "The Nile, the Amazon and the Yangtze."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 56,
            "output_tokens": 12,
            "cache_read_input_tokens": 64,
            "cache_creation_input_tokens": 0,
        },
    }
).encode()


def _openai_sse() -> bytes:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1_760_000_000,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if delta is not None else [],
            **extra,
        }
        return f"data: {json.dumps(body)}\n\n"

    parts = [chunk({"role": "assistant", "content": ""})]
    parts += [chunk({"content": f"w{i} "}) for i in range(STREAM_CHUNKS)]
    parts += [
        chunk({}, "stop"),
        chunk(
            None, usage={"prompt_tokens": 120, "completion_tokens": STREAM_CHUNKS, "total_tokens": 120 + STREAM_CHUNKS}
        ),
        "data: [DONE]\n\n",
    ]
    return "".join(parts).encode()


def _anthropic_sse() -> bytes:
    def event(kind: str, **data: Any) -> str:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

    message = {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 56, "output_tokens": 1, "cache_read_input_tokens": 64},
    }
    parts = [
        event("message_start", message=message),
        event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
    ]
    parts += [
        event("content_block_delta", index=0, delta={"type": "text_delta", "text": f"w{i} "})
        for i in range(STREAM_CHUNKS)
    ]
    parts += [
        event("content_block_stop", index=0),
        event(
            "message_delta",
            delta={"stop_reason": "end_turn", "stop_sequence": None},
            usage={"output_tokens": STREAM_CHUNKS},
        ),
        event("message_stop"),
    ]
    return "".join(parts).encode()


# -- worker: one contender, one process -----------------------------------------------------------------------------


def _providers() -> tuple[Any, Any]:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Discard(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(Discard()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    return tracer_provider, meter_provider


def _instrument(contender: str, tracer_provider: Any, meter_provider: Any) -> None:
    kwargs = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    if contender in _OURS:
        import llmtrace

        llmtrace.instrument(**kwargs, genai_semconv=contender == "llmtrace")
    elif contender == "openllmetry":
        from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(**kwargs)
        AnthropicInstrumentor().instrument(**kwargs)
    elif contender == "otel-contrib-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor as ContribOpenAI

        ContribOpenAI().instrument(**kwargs)
    elif contender == "openlit":
        import openlit

        openlit.init(tracer=tracer_provider.get_tracer("openlit"), disable_batch=False)


def _clients() -> dict[str, Any]:
    import anthropic
    import httpx2
    import openai

    def transport(body: bytes, stream_body: bytes) -> Any:
        def handler(request: Any) -> Any:
            streamed = b'"stream":true' in request.content.replace(b" ", b"")
            if streamed:
                return httpx2.Response(200, content=stream_body, headers={"content-type": "text/event-stream"})
            return httpx2.Response(200, content=body, headers={"content-type": "application/json"})

        return httpx2.Client(transport=httpx2.MockTransport(handler))

    return {
        "openai": openai.OpenAI(
            api_key="sk-bench",
            base_url="https://api.openai.com/v1",
            http_client=transport(_OPENAI_JSON, _openai_sse()),
            max_retries=0,
        ),
        "anthropic": anthropic.Anthropic(
            api_key="sk-bench", http_client=transport(_ANTHROPIC_JSON, _anthropic_sse()), max_retries=0
        ),
    }


_MESSAGES = [
    {"role": "system", "content": "You answer geography questions in one sentence."},
    {"role": "user", "content": "Name three long rivers."},
]


def _call(clients: dict[str, Any], sdk: str, stream: bool) -> None:
    if sdk == "openai":
        if stream:
            for _ in clients["openai"].chat.completions.create(
                model="gpt-4o-mini", messages=_MESSAGES, stream=True, stream_options={"include_usage": True}
            ):
                pass
        else:
            clients["openai"].chat.completions.create(model="gpt-4o-mini", messages=_MESSAGES)
    elif stream:
        for _ in clients["anthropic"].messages.create(
            model="claude-haiku-4-5",
            max_tokens=600,
            system=_MESSAGES[0]["content"],
            messages=_MESSAGES[1:],
            stream=True,
        ):
            pass
    else:
        clients["anthropic"].messages.create(
            model="claude-haiku-4-5", max_tokens=600, system=_MESSAGES[0]["content"], messages=_MESSAGES[1:]
        )


def _time(fn: Any, n: int, warmup: int) -> list[int]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return samples


def _floor_op(tracer_provider: Any, meter_provider: Any) -> Any:
    """One span with as many attributes as an llmtrace span, plus the same metric points: no SDK call."""
    from opentelemetry import context, trace

    tracer = tracer_provider.get_tracer("floor")
    meter = meter_provider.get_meter("floor")
    calls, tokens = meter.create_counter("f.calls"), meter.create_counter("f.tokens")
    cost, latency = meter.create_counter("f.cost"), meter.create_histogram("f.latency")
    attrs = {f"llm.attr_{i}": (i if i % 3 else f"value-{i}") for i in range(_llmtrace_attribute_count())}
    labels = {"provider": "openai", "model": "gpt-4o-mini", "operation": "chat", "status": "ok", "streaming": False}
    no_exemplar = context.Context()

    def op() -> None:
        span = tracer.start_span("chat gpt-4o-mini", kind=trace.SpanKind.CLIENT, attributes=attrs)
        ctx = trace.set_span_in_context(span)
        calls.add(1, labels, context=ctx)
        latency.record(0.5, labels, context=ctx)
        for kind in ("input", "output", "cache_read"):
            tokens.add(10, {"provider": "openai", "model": "gpt-4o-mini", "type": kind}, context=no_exemplar)
        cost.add(0.001, {"provider": "openai", "model": "gpt-4o-mini"}, context=no_exemplar)
        span.end()

    return op


def _llmtrace_attribute_count() -> int:
    """Attributes on a real llmtrace span for the benchmark's non-streaming OpenAI call."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import llmtrace

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    llmtrace.instrument(tracer_provider=provider, meter_provider=MeterProvider())
    _call(_clients(), "openai", stream=False)
    llmtrace.uninstrument()
    return len(exporter.get_finished_spans()[0].attributes)


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def worker(contender: str, calls: int, streams: int, memory_calls: int) -> dict[str, Any]:
    """Run inside a fresh process: instrument one contender and measure."""
    tracer_provider, meter_provider = _providers()
    result: dict[str, Any] = {"contender": contender}
    if contender == "floor":
        op = _floor_op(tracer_provider, meter_provider)
        result["floor_call"] = _time(op, calls, calls // 5)
        # The same floor work next to each real (uninstrumented) SDK call: what it adds in situ, where the SDK's
        # own code and data have pushed the telemetry code out of the CPU caches, as they do for every contender.
        clients = _clients()
        for sdk in ("openai", "anthropic"):
            result[f"{sdk}_call"] = _time(lambda sdk=sdk: (_call(clients, sdk, False), op()), calls, calls // 5)
        return result
    _instrument(contender, tracer_provider, meter_provider)
    clients = _clients()
    for sdk in ("openai", "anthropic"):
        result[f"{sdk}_call"] = _time(lambda sdk=sdk: _call(clients, sdk, False), calls, calls // 5)
        per_stream = _time(lambda sdk=sdk: _call(clients, sdk, True), streams, max(2, streams // 5))
        result[f"{sdk}_chunk"] = [s / STREAM_CHUNKS for s in per_stream]
    if contender != "bare" and not memory_calls:  # the memory run must not keep spans in an in-memory exporter
        result.update(_export_cost(tracer_provider, clients))
    if memory_calls:
        result.update(_memory(clients, memory_calls))
    return result


def _export_cost(tracer_provider: Any, clients: dict[str, Any]) -> dict[str, list[float]]:
    """What the discarding exporter hides: OTLP-encoding this contender's spans, as the exporter thread of a real
    app does for every span (CPU the app pays, under the GIL), and their size on the wire. Per span, 200 calls of
    each SDK; collected after the timings, so the extra span processor never ran during them."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    for sdk in ("openai", "anthropic"):
        for _ in range(200):
            _call(clients, sdk, False)
    finished = spans.get_finished_spans()
    if not finished:
        return {}
    best = min(_time(lambda: encode_spans(finished).SerializeToString(), 5, 1))
    size = len(encode_spans(finished).SerializeToString())
    return {"export_encode_ns": [best / len(finished)], "export_bytes": [size / len(finished)]}


def _memory(clients: dict[str, Any], n: int) -> dict[str, Any]:
    """RSS growth over ``n`` calls (untraced, full speed), then the tracemalloc peak over a tenth of them
    (tracemalloc slows every allocation several-fold)."""
    for _ in range(500):
        _call(clients, "openai", False)
    rss_before = _rss_kb()
    for _ in range(n):
        _call(clients, "openai", False)
    rss_growth = _rss_kb() - rss_before
    traced = max(n // 10, 1)
    tracemalloc.start()
    for _ in range(traced):
        _call(clients, "openai", False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "memory_calls": n,
        "rss_growth_kb": rss_growth,
        "tracemalloc_calls": traced,
        "tracemalloc_peak_kb": peak // 1024,
    }


# -- parent: interleave rounds, summarize ---------------------------------------------------------------------------


def _python(contender: str, args: argparse.Namespace) -> str:
    """Interpreter for a contender: openlit lives in its own venv (its pins clash with the others)."""
    return (getattr(args, "openlit_python", "") or "") if contender == "openlit" else sys.executable


def _available(contender: str, args: argparse.Namespace) -> str | None:
    """None when the contender can run here, else why not."""
    modules = {
        "openllmetry": "opentelemetry.instrumentation.openai",
        "otel-contrib-v2": "opentelemetry.instrumentation.openai_v2",
        "openlit": "openlit",
    }
    if contender not in modules:
        return None
    python = _python(contender, args)
    if not python:
        return "cannot be installed next to openai 3 (its dependency pins exclude it)"
    check = (
        f"import {modules[contender]}, openai; assert int(openai.__version__.split('.')[0]) >= 3, openai.__version__"
    )
    probe = subprocess.run([python, "-c", check], capture_output=True, text=True)
    return None if probe.returncode == 0 else (probe.stderr.strip().splitlines() or ["import failed"])[-1]


def _run_worker(contender: str, args: argparse.Namespace, memory_calls: int) -> dict[str, Any]:
    cmd = [
        _python(contender, args),
        "-m",
        "benchmarks.overhead",
        "--worker",
        contender,
        "--calls",
        str(args.calls),
        "--streams",
        str(args.streams),
        "--memory-calls",
        str(memory_calls),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarize(samples: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    """Median and p90 overhead (us) above bare for each contender and workload, plus ratios."""
    bare = samples["bare"]
    summary: dict[str, Any] = {}
    for contender, data in samples.items():
        if contender in ("bare", "floor"):
            continue
        summary[contender] = {}
        for workload, values in data.items():
            if workload.startswith("export_"):
                summary[contender][workload] = statistics.median(values)
                continue
            base = bare[workload]
            summary[contender][workload] = {
                "median_us": (statistics.median(values) - statistics.median(base)) / 1000,
                "p90_us": (_pct(values, 0.9) - _pct(base, 0.9)) / 1000,
            }
    if "floor" in samples:
        floor = samples["floor"]
        summary["floor"] = {
            "floor_call": {
                "median_us": statistics.median(floor["floor_call"]) / 1000,
                "p90_us": _pct(floor["floor_call"], 0.9) / 1000,
            }
        }
        for workload in ("openai_call", "anthropic_call"):  # in situ: next to the bare SDK call, minus bare
            if workload in floor:
                summary["floor"][f"{workload}_in_situ"] = {
                    "median_us": (statistics.median(floor[workload]) - statistics.median(bare[workload])) / 1000,
                    "p90_us": (_pct(floor[workload], 0.9) - _pct(bare[workload], 0.9)) / 1000,
                }
    return summary


def _versions() -> dict[str, str]:
    from llmtrace._distribution import DISTRIBUTION  # here, not at the top: contender workers import no llmtrace

    names = (
        DISTRIBUTION,
        "openai",
        "anthropic",
        "httpx2",
        "opentelemetry-sdk",
        "opentelemetry-instrumentation-openai",
        "opentelemetry-instrumentation-anthropic",
        "opentelemetry-instrumentation-openai-v2",
        "openlit",
    )
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _table(summary: dict[str, Any], skipped: dict[str, str], memory: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    workloads = ("openai_call", "anthropic_call", "openai_chunk", "anthropic_chunk")
    table = Table(title="Overhead above the uninstrumented SDK (us): median / p90")
    table.add_column("contender")
    for w in workloads:
        table.add_column(w, justify="right")
    for contender, rows in summary.items():
        if contender == "floor":
            continue
        table.add_row(contender, *(f"{rows[w]['median_us']:.2f} / {rows[w]['p90_us']:.2f}" for w in workloads))
    console = Console(width=140)
    console.print(table)
    ours = summary.get("llmtrace", {})
    floor = summary.get("floor", {}).get("floor_call", {}).get("median_us")
    for peer in (c for c in summary if c not in (*_OURS, "floor")):
        ratios = ", ".join(
            f"{w} {ours[w]['median_us'] / summary[peer][w]['median_us']:.2f}x"
            for w in workloads
            if summary[peer][w]["median_us"] > 0
        )
        console.print(f"llmtrace / {peer}: {ratios}")
    if floor:
        console.print(
            f"floor (span with the same attribute count + same metric points): {floor:.1f} us in a tight loop; "
            f"llmtrace/floor openai_call {ours['openai_call']['median_us'] / floor:.2f}x, "
            f"anthropic_call {ours['anthropic_call']['median_us'] / floor:.2f}x"
        )
        calls = ("openai_call", "anthropic_call")
        in_situ = {w: summary["floor"].get(f"{w}_in_situ", {}).get("median_us") for w in calls}
        if all(in_situ.values()):
            console.print(
                "floor in situ (the same work next to each bare SDK call): "
                f"openai_call {in_situ['openai_call']:.1f} us, anthropic_call {in_situ['anthropic_call']:.1f} us; "
                "llmtrace/floor-in-situ "
                + ", ".join(f"{w} {ours[w]['median_us'] / v:.2f}x" for w, v in in_situ.items())
            )
    exports = {c: rows for c, rows in summary.items() if "export_encode_ns" in rows}
    if exports:
        console.print(
            "OTLP export per span (encode in the exporter thread; bytes): "
            + "; ".join(
                f"{c} {rows['export_encode_ns'] / 1000:.1f} us, {rows['export_bytes']:,.0f} B"
                for c, rows in exports.items()
            )
        )
    lean = summary.get("llmtrace-llm-only")
    if ours and lean:
        console.print(
            "gen_ai.* mirror (llmtrace minus llmtrace-llm-only): "
            + ", ".join(f"{w} {ours[w]['median_us'] - lean[w]['median_us']:+.1f} us" for w in workloads)
            + (
                f", OTLP encode {(ours['export_encode_ns'] - lean['export_encode_ns']) / 1000:+.1f} us and "
                f"{ours['export_bytes'] - lean['export_bytes']:+,.0f} B per span"
                if "export_encode_ns" in ours and "export_encode_ns" in lean
                else ""
            )
        )
    for contender, why in skipped.items():
        console.print(f"{contender}: not measured ({why})")


def _table_memory(memory: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(width=140)
    for contender, data in memory.items():
        console.print(
            f"memory {contender}: RSS growth {data['rss_growth_kb']:,} KiB over {data['memory_calls']:,} calls; "
            f"tracemalloc peak {data['tracemalloc_peak_kb']:,} KiB over {data['tracemalloc_calls']:,} calls"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1500, help="non-streaming calls per round per SDK")
    parser.add_argument("--streams", type=int, default=30, help="500-chunk streams per round per SDK")
    parser.add_argument("--memory-calls", type=int, default=100_000, help="calls for the memory measurement")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 rounds, few calls")
    parser.add_argument("--json", dest="json_path", help="also write the results here")
    parser.add_argument("--openlit-python", default="", help="interpreter of a venv where openlit is installed")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.calls, args.streams, args.memory_calls)))
        return
    if args.quick:
        args.rounds, args.calls, args.streams, args.memory_calls = 2, 200, 5, 2000
    skipped = {c: why for c in CONTENDERS if (why := _available(c, args))}
    active = [c for c in CONTENDERS if c not in skipped]
    samples: dict[str, dict[str, list[float]]] = {c: {} for c in active}
    for round_no in range(args.rounds):
        order = active[round_no % len(active) :] + active[: round_no % len(active)]
        for contender in order:
            data = _run_worker(contender, args, 0)
            for key, values in data.items():
                if key != "contender":
                    samples[contender].setdefault(key, []).extend(values)
        print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)
    summary = summarize(samples)
    _table(summary, skipped, {})  # timings first: the memory runs below take minutes
    memory = {
        c: _run_worker(c, argparse.Namespace(calls=10, streams=2), args.memory_calls)
        for c in ("bare", "llmtrace", "openllmetry")
        if args.memory_calls and c in active
    }
    memory = {
        c: {k: v for k, v in d.items() if k.startswith(("memory", "tracemalloc", "rss"))} for c, d in memory.items()
    }
    _table_memory(memory)
    if args.json_path:
        with open(args.json_path, "w") as out:
            json.dump(
                {
                    "versions": _versions(),
                    "rounds": args.rounds,
                    "calls": args.calls,
                    "streams": args.streams,
                    "summary": summary,
                    "skipped": skipped,
                    "memory": memory,
                },
                out,
                indent=2,
            )


if __name__ == "__main__":
    main()
