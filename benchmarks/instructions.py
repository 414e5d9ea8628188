"""Instructions per call and per chunk, counted by callgrind: an A/B of two llmtrace trees that a loaded machine
cannot blur.

    .venv/bin/python -m benchmarks.instructions [--before DIR] [--calls 200]

Wall-clock figures on 2 shared cores move by ~15 us per call between processes (benchmarks/README.md), as much as
the changes one wants to judge. ``valgrind --tool=callgrind`` counts the instructions a process executes instead,
which is the same for the same binary, inputs and environment whatever else the machine runs. Each process sets
up, warms up, then asks callgrind to dump its counters (``callgrind_control --dump``) before and after the measured
calls, so start-up, imports and first-call work stay out of the figure; llmtrace's cost is its figure minus the
bare SDK's. Same SDK setup and canned
responses as ``overhead.py`` (an in-process mock transport). ``--before DIR`` counts the llmtrace in DIR (a
worktree of an older commit) beside this one. Instructions are not time (cache misses, the GIL and the exporter
thread are not in them), so this complements, and does not replace, ``run.sh``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKLOADS = ("openai_call", "anthropic_call", "openai_chunk", "anthropic_chunk")


def _dump() -> None:
    """End a callgrind part here (the counters restart from zero): ``callgrind_control`` runs outside valgrind."""
    subprocess.run(["callgrind_control", "--dump", str(os.getpid())], check=True, capture_output=True)


def _worker(mode: str, workload: str, n: int) -> None:
    """One measured process: warm-up, a dump, ``n`` calls (or ``n // 20`` streams), a dump."""
    sys.path.insert(0, str(HERE))
    import overhead  # this tree's SDK setup, whatever llmtrace PYTHONPATH selects

    sdk, kind = workload.split("_")
    stream = kind == "chunk"
    clients = overhead._clients()
    if mode == "llmtrace":
        import llmtrace

        tracer_provider, meter_provider = overhead._providers()
        llmtrace.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    count = max(1, n // 20) if stream else n
    for _ in range(max(1, count // 4)):  # warm-up: first-call work is not per-call work
        overhead._call(clients, sdk, stream)
    _dump()
    for _ in range(count):
        overhead._call(clients, sdk, stream)
    _dump()


def _instructions(tree: Path | None, mode: str, workload: str, n: int) -> int:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable]
        command += [str(Path(__file__)), "--worker", mode, workload, str(n)]
        subprocess.run(command, env=env, check=True, capture_output=True)
        (measured,) = Path(tmp).glob("callgrind.out.2")  # part 1: start-up and warm-up; part 2: the calls
        totals = re.search(r"^(?:summary|totals):\s*(\d+)", measured.read_text(), re.M)
        assert totals, f"no totals in {measured}"
        return int(totals.group(1))


def per_unit(tree: Path | None, mode: str, workload: str, n: int) -> float:
    """Instructions per call (or per chunk) in ``mode``."""
    units = (max(1, n // 20) * 500) if workload.endswith("chunk") else n  # 500 chunks per stream (overhead.py)
    return _instructions(tree, mode, workload, n) / units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="a checkout of an older llmtrace to count beside this one")
    parser.add_argument("--calls", type=int, default=200, help="calls per measured run (streams: calls / 20)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--worker", nargs=3, metavar=("MODE", "WORKLOAD", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker[0], args.worker[1], int(args.worker[2]))
        return
    trees = {"this": None, **({"before": args.before.resolve()} if args.before else {})}
    results: dict[str, dict[str, float]] = {}
    for workload in args.workloads.split(","):
        bare = per_unit(None, "bare", workload, args.calls)
        row = {"bare": bare}
        for name, tree in trees.items():
            row[name] = per_unit(tree, "llmtrace", workload, args.calls) - bare
        results[workload] = row
        added = "   ".join(f"{name} +{row[name]:10,.0f}" for name in trees)
        print(f"{workload:16} bare {bare:10,.0f} instr   llmtrace: {added}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
