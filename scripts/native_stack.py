"""The native stack: otelcol, Jaeger v2 and Prometheus 3 as processes on loopback ports, started from the config files
docker-compose mounts (collector/otelcol.yaml, jaeger.yaml, prometheus.yml, rules/).

One module for both of its users, so the command lines, ports and readiness checks cannot drift apart:
``scripts/stack.sh up|down|status`` (a stack that outlives the command; pid files, logs and data under
``~/.cache/llmtrace/stack``) and the stack tests (``tests/stack/conftest.py``: free ports, a temporary state dir).
The binaries come from ``scripts/stack-binaries.sh``. Needs only the standard library and PyYAML.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = [
    "PROMETHEUS_FLAGS",
    "SERVICES",
    "BuildError",
    "NativeStack",
    "Ports",
    "binaries",
    "main",
    "prometheus_config",
]

ROOT = Path(__file__).resolve().parents[1]
COLLECTOR = ROOT / "collector"
CACHE = Path(os.environ.get("LLMTRACE_CACHE") or Path.home() / ".cache" / "llmtrace")
SERVICES = ("jaeger", "prometheus", "otelcol")  # start order: the collector's backends first
# Prometheus's flags, spelled once for the native stack (docker-compose.yml repeats them; a stack test checks the
# two agree). Paths, listen address and retention are added per run by NativeStack.
PROMETHEUS_FLAGS = ("--web.enable-otlp-receiver", "--enable-feature=exemplar-storage")
# Addresses collector/prometheus.yml scrapes on the compose network -> the native port that serves them.
COMPOSE_TARGETS = {"otelcol:8888": "collector_metrics"}


class BuildError(RuntimeError):
    """scripts/stack-binaries.sh failed or ran out of time."""


@dataclass(frozen=True)
class Ports:
    """Loopback ports of one stack. The defaults are the compose stack's published ports; Jaeger's own OTLP and health
    ports move off its defaults (4317/4318/13133), which the collector holds."""

    otlp_grpc: int = 4317  # the collector: what apps export to
    otlp_http: int = 4318
    collector_health: int = 13133
    collector_metrics: int = 8888  # the collector's own metrics, scraped by Prometheus
    prometheus: int = 9090
    jaeger_query: int = 16686
    jaeger_query_grpc: int = 16685
    jaeger_otlp_grpc: int = 14317  # only the collector sends here
    jaeger_otlp_http: int = 14318
    jaeger_health: int = 14133

    @classmethod
    def free(cls) -> Ports:
        """Ports the OS hands out now, all distinct (every socket is held until all are picked)."""
        with contextlib.ExitStack() as stack:
            socks = [stack.enter_context(socket.socket()) for _ in fields(cls)]
            for sock in socks:
                sock.bind(("127.0.0.1", 0))
            return cls(*(sock.getsockname()[1] for sock in socks))

    def busy(self) -> list[str]:
        """Names of the ports something already listens on."""
        taken = []
        for f in fields(self):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", getattr(self, f.name))) == 0:
                    taken.append(f"{f.name} {getattr(self, f.name)}")
        return taken


# -- binaries -----------------------------------------------------------------------------------------------------


def binaries(
    progress: Callable[[str], None] | None = None,
    timeout: float | None = None,
    heartbeat: float = 60.0,
    *,
    scale: bool = False,
    kafka: bool = False,
    background: bool = False,
) -> dict[str, str]:
    """``{"OTELCOL_BIN": path, "JAEGER_BIN": ..., "PROMETHEUS_BIN": ..., "PROMTOOL_BIN": ...}``, building whatever is
    missing with scripts/stack-binaries.sh (cold: 15-25 min on 2 cores; warm: a second). ``scale`` adds the scale
    profile's ``VICTORIA_METRICS_BIN`` (the script's ``--scale``), ``kafka`` its ``KAFKA_HOME`` (``--kafka``).

    The script's own lines go to ``progress`` as they come; while Go is quiet for ``heartbeat`` seconds a line says
    the build is still running. Go's full output is kept in ``<cache>/logs/stack-binaries.log``. ``timeout``
    (default ``LLMTRACE_BUILD_TIMEOUT`` or 3 h) bounds the whole build. ``LLMTRACE_STACK_BINARIES_SCRIPT`` replaces
    the script (tests use a stand-in to exercise a slow or failing build). ``background`` runs the build at the
    lowest CPU priority (``nice -n 19``), for a build that overlaps work that must not slow down (the test session).
    """
    say = progress or _stderr
    limit = timeout if timeout is not None else float(os.environ.get("LLMTRACE_BUILD_TIMEOUT") or 3 * 3600)
    script = os.environ.get("LLMTRACE_STACK_BINARIES_SCRIPT") or str(ROOT / "scripts" / "stack-binaries.sh")
    log_path = CACHE / "logs" / "stack-binaries.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = ["bash", script, "--print-env", *(["--scale"] if scale else []), *(["--kafka"] if kafka else [])]
    if background and shutil.which("nice"):
        command = ["nice", "-n", "19", *command]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)

    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stderr, lines), daemon=True).start()
    # appended to, not truncated: CI's early build and the test session's (which waits on the script's lock) overlap
    if log_path.exists() and log_path.stat().st_size > 20_000_000:
        log_path.unlink()
    with log_path.open("a") as log:
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} pid {os.getpid()}: {' '.join(command)}\n")
        _follow_build(proc, lines, log, say, limit, heartbeat)
    out = proc.stdout.read() if proc.stdout else ""
    if proc.wait() != 0:
        tail = "".join(log_path.read_text().splitlines(keepends=True)[-20:])
        raise BuildError(f"{script} failed (exit {proc.returncode}); last lines of {log_path}:\n{tail}")
    return dict(line.split("=", 1) for line in out.strip().splitlines() if "=" in line)


def _pump(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _follow_build(
    proc: subprocess.Popen[str],
    lines: queue.Queue[str | None],
    log: Any,
    say: Callable[[str], None],
    limit: float,
    heartbeat: float,
) -> None:
    """Relay the script's own lines, log everything, say something at least every ``heartbeat`` s, enforce ``limit``."""
    started = last_said = time.monotonic()
    last_go = ""
    while True:
        try:
            line = lines.get(timeout=min(5.0, heartbeat))
        except queue.Empty:
            line = ""
        if line is None:
            return
        now = time.monotonic()
        log.write(line)
        log.flush()
        if line.startswith("[stack-binaries]"):
            say(line.rstrip())
            last_said = now
        elif line.strip():
            last_go = line.strip()
        if now - last_said >= heartbeat:
            last = f" (last: {last_go[:100]})" if last_go else ""
            say(f"[stack-binaries] still building, {(now - started) / 60:.0f} min so far{last}")
            last_said = now
        if now - started > limit:
            proc.kill()
            raise BuildError(f"stack binaries not built within {limit:.0f} s (LLMTRACE_BUILD_TIMEOUT); log: {log.name}")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# -- configuration ------------------------------------------------------------------------------------------------


def prometheus_config(ports: Ports) -> dict[str, Any]:
    """collector/prometheus.yml for the native stack: rule files by absolute path, and every scrape target that names
    a compose service pointed at the native port serving it. A target this module cannot map is an error, so a
    compose-only target added to the file fails the stack tests instead of going silently down."""
    import yaml

    config = yaml.safe_load((COLLECTOR / "prometheus.yml").read_text())
    config["rule_files"] = [str(COLLECTOR / pattern) for pattern in config.get("rule_files") or ()]
    for job in config.get("scrape_configs") or ():
        for group in job.get("static_configs") or ():
            group["targets"] = [_native_target(target, ports) for target in group["targets"]]
    return config


def _native_target(target: str, ports: Ports) -> str:
    if target not in COMPOSE_TARGETS:
        raise ValueError(f"collector/prometheus.yml scrapes {target}: map it in COMPOSE_TARGETS ({__file__})")
    return f"127.0.0.1:{getattr(ports, COMPOSE_TARGETS[target])}"


def _loop(port: int) -> str:
    return f"127.0.0.1:{port}"


# -- the stack ----------------------------------------------------------------------------------------------------


@dataclass
class NativeStack:
    """One stack's ports, binaries and state dir (pid files, logs, generated config, data).

    >>> stack = NativeStack(state, Ports.free(), binaries())
    >>> stack.start(); stack.wait_ready(); ...; stack.stop()
    """

    state: Path
    ports: Ports
    bins: dict[str, str]
    services: tuple[str, ...] = SERVICES
    persistent: bool = False  # Jaeger on disk (badger, 7-day TTL) instead of in memory
    retention: str = "1d"
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def urls(self) -> dict[str, str]:
        p = self.ports
        return {
            "otlp_http": f"http://127.0.0.1:{p.otlp_http}",
            "otlp_grpc": f"http://127.0.0.1:{p.otlp_grpc}",
            "collector_health": f"http://127.0.0.1:{p.collector_health}/",
            "collector_metrics": f"http://127.0.0.1:{p.collector_metrics}/metrics",
            "prometheus": f"http://127.0.0.1:{p.prometheus}",
            "jaeger": f"http://127.0.0.1:{p.jaeger_query}",
        }

    def log(self, service: str) -> Path:
        return self.state / f"{service}.log"

    def commands(self) -> dict[str, tuple[list[str], dict[str, str]]]:
        """Each service's command line and environment."""
        p, b = self.ports, self.bins
        return {
            "jaeger": (
                [b["JAEGER_BIN"], f"--config={COLLECTOR / 'jaeger.yaml'}"],
                {
                    "JAEGER_OTLP_GRPC_ENDPOINT": _loop(p.jaeger_otlp_grpc),
                    "JAEGER_OTLP_HTTP_ENDPOINT": _loop(p.jaeger_otlp_http),
                    "JAEGER_QUERY_HTTP_ENDPOINT": _loop(p.jaeger_query),
                    "JAEGER_QUERY_GRPC_ENDPOINT": _loop(p.jaeger_query_grpc),
                    "JAEGER_HEALTH_ENDPOINT": _loop(p.jaeger_health),
                    "JAEGER_TRACE_STORAGE": "badger_store" if self.persistent else "memstore",
                    # Jaeger opens every configured backend, so badger gets a dir of this stack's own (or two
                    # Jaegers fight over /badger's lock) even when traces stay in memory.
                    "JAEGER_BADGER_DIR": str(self.state / "badger"),
                },
            ),
            "prometheus": (
                [
                    b["PROMETHEUS_BIN"],
                    f"--config.file={self.state / 'prometheus.yml'}",
                    f"--storage.tsdb.path={self.state / 'prometheus-data'}",
                    f"--storage.tsdb.retention.time={self.retention}",
                    f"--web.listen-address={_loop(p.prometheus)}",
                    *PROMETHEUS_FLAGS,
                ],
                {},
            ),
            "otelcol": (
                [b["OTELCOL_BIN"], f"--config={COLLECTOR / 'otelcol.yaml'}"],
                {
                    "LLMTRACE_OTLP_GRPC_ENDPOINT": _loop(p.otlp_grpc),
                    "LLMTRACE_OTLP_HTTP_ENDPOINT": _loop(p.otlp_http),
                    "LLMTRACE_COLLECTOR_HEALTH_ENDPOINT": _loop(p.collector_health),
                    "LLMTRACE_COLLECTOR_METRICS_HOST": "127.0.0.1",
                    "LLMTRACE_COLLECTOR_METRICS_PORT": str(p.collector_metrics),
                    "JAEGER_OTLP_ENDPOINT": _loop(p.jaeger_otlp_grpc),
                    "PROMETHEUS_OTLP_ENDPOINT": f"{self.urls['prometheus']}/api/v1/otlp/v1/metrics",
                },
            ),
        }

    def start(self, *, detach: bool = False) -> None:
        """Start the services (``detach``: in their own session, to outlive this process) and record their pids."""
        import yaml

        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config(self.ports), sort_keys=False))
        commands = self.commands()
        for name in self.services:
            cmd, env = commands[name]
            with self.log(name).open("ab") as log:
                self.procs[name] = subprocess.Popen(
                    cmd,
                    env={**os.environ, **env},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.state,
                    start_new_session=detach,
                )
        self._save()

    def _save(self) -> None:
        pids = {name: proc.pid for name, proc in self.procs.items()}
        record = {"ports": asdict(self.ports), "bins": self.bins, "services": list(self.services), "pids": pids}
        (self.state / "stack.json").write_text(json.dumps(record, indent=2))

    @classmethod
    def load(cls, state: Path) -> tuple[NativeStack, dict[str, int]] | None:
        """The stack recorded in ``state`` by ``start`` and its pids, or None."""
        try:
            record = json.loads((state / "stack.json").read_text())
        except FileNotFoundError:
            return None
        stack = cls(state, Ports(**record["ports"]), record["bins"], tuple(record["services"]))
        return stack, {name: int(pid) for name, pid in record["pids"].items()}

    def health(self, service: str) -> bool:
        """Whether the service answers its readiness check now."""
        url = {
            "jaeger": f"{self.urls['jaeger']}/api/services",
            "prometheus": f"{self.urls['prometheus']}/-/ready",
            "otelcol": self.urls["collector_health"],
        }[service]
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until every service answers its readiness check; an exited service or ``timeout`` raises with its log."""
        pending, deadline = list(self.services), time.monotonic() + timeout
        while pending:
            for name in list(pending):
                proc = self.procs.get(name)
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self._tail(name)}")
                if self.health(name):
                    pending.remove(name)
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"{', '.join(pending)} not ready after {timeout:.0f} s:\n{self._tail(pending[0])}")
            if pending:
                time.sleep(0.25)

    def _tail(self, service: str, lines: int = 30) -> str:
        return "".join(self.log(service).read_text(errors="replace").splitlines(keepends=True)[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """Terminate the services this process started, then kill what has not exited after ``timeout``."""
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


# -- the command: scripts/stack.sh up|down|status -----------------------------------------------------------------


def _ours(pid: int, binary: str) -> bool:
    """Whether ``pid`` is alive and runs ``binary`` (a stale pid file may name a recycled pid)."""
    try:
        return os.path.realpath(f"/proc/{pid}/exe") == os.path.realpath(binary)
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return Path(f"/proc/{pid}").exists() and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


def _running(stack: NativeStack, pids: dict[str, int]) -> dict[str, int]:
    binary = {"jaeger": "JAEGER_BIN", "prometheus": "PROMETHEUS_BIN", "otelcol": "OTELCOL_BIN"}
    return {name: pid for name, pid in pids.items() if _ours(pid, stack.bins[binary[name]])}


def _print_urls(stack: NativeStack) -> None:
    u = stack.urls
    print(
        f"""llmtrace native stack (state, logs: {stack.state})
  send telemetry    OTEL_EXPORTER_OTLP_ENDPOINT={u["otlp_http"]}   (OTLP/HTTP; gRPC on {_loop(stack.ports.otlp_grpc)})
  Prometheus API    {u["prometheus"]}/api/v1/query?query=llm_calls_total
  Jaeger query API  {u["jaeger"]}/api/traces?service=llmtrace-demo
  collector health  {u["collector_health"]}
  llmtrace CLI      export LLMTRACE_PROMETHEUS_URL={u["prometheus"]} LLMTRACE_JAEGER_URL={u["jaeger"]}
Not here: Grafana (docker compose only), and the Jaeger and Prometheus web UIs (a source build embeds no UI assets);
the APIs above and the llmtrace CLI answer the same questions."""
    )


def _up(state: Path, ports: Ports, timeout: float) -> int:
    loaded = NativeStack.load(state)
    if loaded and _running(*loaded):
        print("already running; `scripts/stack.sh down` first to restart", file=sys.stderr)
        _print_urls(loaded[0])
        return 0
    taken = ports.busy()
    if taken:
        busy = ", ".join(taken)
        print(
            f"error: in use on 127.0.0.1: {busy} (docker compose up?); `up --free-ports` picks free ones",
            file=sys.stderr,
        )
        return 2
    stack = NativeStack(state, ports, binaries(), persistent=True, retention="30d")
    stack.start(detach=True)
    try:
        stack.wait_ready(timeout)
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        _down(state)
        return 1
    _print_urls(stack)
    return 0


def _down(state: Path, timeout: float = 15.0) -> int:
    loaded = NativeStack.load(state)
    running = _running(*loaded) if loaded else {}
    for pid in running.values():
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in running.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    for name, pid in running.items():
        if _alive(pid):
            print(f"{name} (pid {pid}) ignored SIGTERM for {timeout:.0f} s: killed", file=sys.stderr)
            os.kill(pid, signal.SIGKILL)
    if loaded:
        (state / "stack.json").unlink(missing_ok=True)
    print(f"stopped: {', '.join(running) or 'nothing was running'}")
    return 0


def _status(state: Path) -> int:
    loaded = NativeStack.load(state)
    if not loaded:
        print(f"not running (no stack recorded in {state})")
        return 3
    stack, pids = loaded
    running = _running(stack, pids)
    for name in stack.services:
        if name in running:
            verdict = "ready" if stack.health(name) else "NOT READY"
            print(f"{name:10} pid {running[name]:<8} {verdict:9} log {stack.log(name)}")
        else:
            print(f"{name:10} {'stopped':27} log {stack.log(name)}")
    if running:
        _print_urls(stack)
    return 0 if len(running) == len(stack.services) else 3 if not running else 1


def _build(*, scale: bool, background: bool) -> int:
    """Build (or find) the binaries ahead of ``up`` or of the tests: CI starts it behind its install and lint, so a
    cold machine's Go build overlaps them; the test session's own build then waits for it (one build per cache)."""
    try:
        found = binaries(heartbeat=600.0 if background else 60.0, scale=scale, background=background)
    except BuildError as exc:
        print(exc, file=sys.stderr)
        return 1
    print("\n".join(f"{name}={path}" for name, path in found.items()))
    return 0


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/stack.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("build", "up", "down", "status"))
    parser.add_argument("--state", type=Path, default=CACHE / "stack", help="pid files, logs, data (%(default)s)")
    parser.add_argument("--free-ports", action="store_true", help="any free ports instead of the compose ones")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for readiness")
    parser.add_argument("--scale", action="store_true", help="build: the scale profile's VictoriaMetrics too")
    parser.add_argument("--background", action="store_true", help="build: at the lowest CPU priority, quietly")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.action == "build":
        return _build(scale=args.scale, background=args.background)
    state = args.state.expanduser().resolve()
    if args.action == "up":
        return _up(state, Ports.free() if args.free_ports else Ports(), args.timeout)
    return _down(state) if args.action == "down" else _status(state)


if __name__ == "__main__":
    sys.exit(main())
