"""The real stack as native processes: otelcol (ocb build), Jaeger v2 and Prometheus 3, started on free loopback
ports from the repository's own config files (the ones docker-compose mounts) by scripts/native_stack.py, the module
behind ``scripts/stack.sh``; then a seeded demo workload through the real SDKs with its ground truth.

The binaries are built (or found in ~/.cache/llmtrace) once per session, in the background while the tests that do
not need them run, under its own time limit: a cold build (15-25 min on 2 cores) never counts against a test's
timeout."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import queue
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "llmtrace-stack-test"
STACK_TIMEOUT_S = 600  # per stack test: starting the stack and the workload land in the first one (never a build)


def _load_native_stack() -> ModuleType:
    spec = importlib.util.spec_from_file_location("llmtrace_native_stack", ROOT / "scripts" / "native_stack.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


native_stack = _load_native_stack()
_BINARIES = pytest.StashKey[Any]()
_SCALE_BINARIES = pytest.StashKey[Any]()
_BUILD = pytest.StashKey["_Build"]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Stack tests get STACK_TIMEOUT_S unless they set their own: the session's stack and workload start inside them.

    Order, for a cold machine (``_Build``): the tests that need no binaries first (those under tests/stack included:
    config checks and the build's own tests run while it builds), then the stack tests, then the modules of the
    scale tests, so VictoriaMetrics builds while the other stack tests run. Each group keeps its collected order."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(STACK_TIMEOUT_S))
    scale_modules = {item.fspath for item in items if _needs_scale(item)}

    def group(item: pytest.Item) -> int:
        return 0 if not _needs_binaries(item) else 2 if item.fspath in scale_modules else 1

    items.sort(key=group)  # stable


class _Build:
    """The session's one build (or look-up) of the stack binaries, started when collection finishes and run in a
    background thread at the lowest CPU priority, so a cold build (15-25 min on 2 cores) overlaps the tests that do
    not need the stack instead of preceding them. Its progress lines are queued and printed between tests, from the
    main thread (the thread never touches pytest's capture). The first test that needs the binaries waits for it in
    ``pytest_runtest_protocol``, before pytest-timeout starts that test's clock.

    Two stages: the core binaries (otelcol, Jaeger, Prometheus) first, then, when a selected test needs them, the
    scale profile's extras (VictoriaMetrics). The stack tests start as soon as the core is ready, and the scale tests,
    ordered last (``pytest_collection_modifyitems``), wait for the rest, which builds meanwhile."""

    HEARTBEAT_S = 300.0  # between tests, a "still building" line every 5 min is enough

    def __init__(self, config: pytest.Config, scale: bool) -> None:
        self.say = _printer(config)
        self.started = time.monotonic()
        self.lines: queue.Queue[str] = queue.Queue()
        self.core: dict[str, str] | BaseException | None = None
        self.scale: dict[str, str] | BaseException | None = None
        self._core_done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(scale,), name="stack-binaries", daemon=True)
        self._thread.start()

    def _stage(self, scale: bool) -> dict[str, str] | BaseException:
        try:
            return native_stack.binaries(
                progress=self.lines.put, heartbeat=self.HEARTBEAT_S, scale=scale, background=True
            )
        except BaseException as exc:  # reported by every test that needs them, the build log's tail included
            self.lines.put(f"[stack-binaries] failed: {exc}")
            return exc

    def _run(self, scale: bool) -> None:
        try:
            self.core = self._stage(scale=False)
        finally:
            self._core_done.set()
        if scale:
            self.scale = self.core if isinstance(self.core, BaseException) else self._stage(scale=True)

    def relay(self) -> None:
        while True:
            try:
                self.say(self.lines.get_nowait())
            except queue.Empty:
                return

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logfinish(self) -> None:
        """Between any two tests of the session (registered as a plugin: a conftest's own item hooks would only run
        for the tests below it)."""
        self.relay()

    def wait(self, scale: bool = False) -> dict[str, str] | BaseException:
        """The core binaries, or with ``scale`` every binary, once built (the build's lines relayed meanwhile)."""
        done = self._thread.is_alive if scale else lambda: not self._core_done.is_set()
        if done():
            minutes = (time.monotonic() - self.started) / 60
            what = "the scale tests wait for VictoriaMetrics" if scale else "the stack tests wait for the build"
            self.say(f"[stack-binaries] {what} ({minutes:.0f} min so far)")
        while done():
            self._thread.join(5.0)
            self.relay()
        self.relay()
        result = self.scale if scale else self.core
        assert result is not None
        return result


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start building (or finding) the stack binaries when a selected test needs them; progress is printed even under
    ``-q``. VictoriaMetrics is built only when a selected test needs it (tests/stack/test_scale.py)."""
    config = session.config
    if config.option.collectonly or not any(_needs_binaries(item) for item in session.items):
        return
    scale = any(_needs_scale(item) for item in session.items)
    build = config.stash[_BUILD] = _Build(config, scale)
    config.pluginmanager.register(build, "llmtrace-stack-build")


def _needs_binaries(item: pytest.Item) -> bool:
    return "stack_binaries" in getattr(item, "fixturenames", ())


def _needs_scale(item: pytest.Item) -> bool:
    return "scale_binaries" in getattr(item, "fixturenames", ())


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Wait for the build outside any test's time limit (this wrapper runs before pytest-timeout's)."""
    build = item.config.stash.get(_BUILD, None)
    if build is not None and _needs_binaries(item):
        item.config.stash[_BINARIES] = build.wait()
        if _needs_scale(item):
            item.config.stash[_SCALE_BINARIES] = build.wait(scale=True)
    yield


def _printer(config: pytest.Config) -> Any:
    """A line printer that reaches the terminal whatever the verbosity and capture settings."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")

    def say(line: str) -> None:
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            if reporter:
                reporter.write_line(line)
            else:
                print(line, file=sys.stderr, flush=True)

    return say


@pytest.fixture(scope="session")
def stack_binaries(pytestconfig: pytest.Config) -> dict[str, str]:
    """NAME_BIN -> path of the stack binaries, as the session's build found or built them."""
    found = pytestconfig.stash.get(_BINARIES, None)
    if found is None:  # the hooks did not run (a plugin re-ordered collection): build here
        build = pytestconfig.stash.get(_BUILD, None)
        found = build.wait() if build is not None else native_stack.binaries()
    if isinstance(found, BaseException):
        pytest.fail(f"stack binaries unavailable: {found}", pytrace=False)
    return found


@pytest.fixture(scope="session")
def scale_binaries(pytestconfig: pytest.Config, stack_binaries: dict[str, str]) -> dict[str, str]:
    """``stack_binaries`` plus the scale profile's ``VICTORIA_METRICS_BIN``."""
    found = pytestconfig.stash.get(_SCALE_BINARIES, None)
    if found is None:  # the hooks did not run or did not stage it: build the rest here
        found = native_stack.binaries(scale=True)
    if isinstance(found, BaseException):
        pytest.fail(f"scale binaries unavailable: {found}", pytrace=False)
    return found


def http_get(url: str, timeout: float = 10.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body = response.read()
    return json.loads(body) if body[:1] in (b"{", b"[") else body.decode()


def wait_until(check: Any, timeout: float, what: str) -> Any:
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # the service is still starting
            last = exc
        time.sleep(0.25)
    raise TimeoutError(f"{what} not ready after {timeout}s (last error: {last})")


@dataclass
class Stack:
    """A running native stack and the queries the tests make of it."""

    native: Any  # native_stack.NativeStack

    @property
    def bins(self) -> dict[str, str]:
        return self.native.bins

    @property
    def otlp_http(self) -> str:
        return self.native.urls["otlp_http"]

    @property
    def prometheus(self) -> str:
        return self.native.urls["prometheus"]

    @property
    def jaeger(self) -> str:
        return self.native.urls["jaeger"]

    @property
    def logs(self) -> dict[str, Path]:
        return {name: self.native.log(name) for name in self.native.services}

    def promql(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr, **({"time": str(at)} if at else {})}
        data = http_get(f"{self.prometheus}/api/v1/query?{urllib.parse.urlencode(params)}")
        assert data["status"] == "success", data
        return data["data"]["result"]

    def promql_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        params = {"query": expr, "start": str(start), "end": str(end), "step": str(step)}
        data = http_get(f"{self.prometheus}/api/v1/query_range?{urllib.parse.urlencode(params)}")
        assert data["status"] == "success", data
        return data["data"]["result"]

    def scalar(self, expr: str) -> float:
        result = self.promql(expr)
        return float(result[0]["value"][1]) if result else 0.0

    def jaeger_traces(self, **params: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"service": SERVICE, "limit": "2000", "lookback": "1h", **params})
        return http_get(f"{self.jaeger}/api/traces?{query}")["data"]


def start_native_stack(state: Path, bins: dict[str, str], services: tuple[str, ...] | None = None) -> Any:
    """A native stack on free ports with its state in ``state``, ready; the caller stops it."""
    native = native_stack.NativeStack(state, native_stack.Ports.free(), bins, services or native_stack.SERVICES)
    try:
        native.start()
        native.wait_ready(60)
    except BaseException:
        native.stop()
        raise
    return native


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, stack_binaries: dict[str, str]) -> Iterator[Stack]:
    native = start_native_stack(tmp_path_factory.mktemp("stack"), stack_binaries)
    try:
        yield Stack(native)
    finally:
        native.stop()


# The Prometheus flags (spelled once, in scripts/native_stack.py; docker-compose.yml runs the same ones).
PROMETHEUS_FLAGS = native_stack.PROMETHEUS_FLAGS


@contextlib.contextmanager
def running_stack(tmp: Path, bins: dict[str, str] | None = None) -> Iterator[Stack]:
    """A stack of the test's own (not the session's) on free loopback ports; stopped after."""
    native = start_native_stack(tmp, bins or native_stack.binaries())
    try:
        yield Stack(native)
    finally:
        native.stop()


@dataclass
class WorkloadResult:
    truth: dict[str, Any]
    started: float
    finished: float


@pytest.fixture(scope="session")
def workload(stack: Stack) -> WorkloadResult:
    """The seeded demo workload through the real SDKs, exported over OTLP/HTTP to the collector."""
    return exported_workload(stack, calls=150, seed=11, fault_rate=0.3, providers=("openai", "anthropic", "ollama"))


def exported_workload(stack: Stack, **config: Any) -> WorkloadResult:
    """A seeded demo workload (``WorkloadConfig(**config)``) through the real SDKs, its spans and metrics exported
    over OTLP/HTTP to ``stack``'s collector; returns once Prometheus holds every call and Jaeger every trace."""
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    import llmtrace
    from llmtrace.demo.fake_server import FakeProviderServer
    from llmtrace.demo.workload import WorkloadConfig, run_workload

    resource = Resource.create({"service.name": SERVICE})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{stack.otlp_http}/v1/traces")))
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{stack.otlp_http}/v1/metrics"), export_interval_millis=2000
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    llmtrace.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    started = time.time()
    try:
        with FakeProviderServer(seed=config.get("seed", 0)) as server:
            truth = run_workload(server, WorkloadConfig(**config)).to_json()
    finally:
        llmtrace.uninstrument()
        tracer_provider.shutdown()
        meter_provider.shutdown()
    total = truth["totals"]["calls"]
    # Wait until everything arrived (>=: an excess is then reported by the tests with the exact difference).
    wait_until(lambda: stack.scalar("sum(llm_calls_total)") >= total, 60, "metrics in prometheus")
    traces = truth["totals"]["traces"]  # one per agent run (or per task's workflow); a run may make several calls
    wait_until(lambda: len(stack.jaeger_traces()) >= traces, 60, "traces in jaeger")
    return WorkloadResult(truth, started, time.time())


def listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket process ``pid`` listens on, from /proc (IPv4 and IPv6)."""
    import ipaddress
    import os

    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            address, port = fields[1].split(":")
            raw = bytes.fromhex(address)
            # the kernel prints each 32-bit word in host (little-endian) order
            packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.add((str(ipaddress.ip_address(packed)), int(port, 16)))
    return found
