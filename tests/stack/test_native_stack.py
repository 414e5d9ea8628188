"""scripts/native_stack.py without the binaries: the build runner (progress, heartbeat, time limit, failure) against a
stand-in for scripts/stack-binaries.sh, the native Prometheus config, ports, and the command's refusals."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, listening, native_stack


def _fake_script(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-stack-binaries.sh"
    script.write_text("#!/usr/bin/env bash\nset -euo pipefail\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


@pytest.fixture
def fake_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(native_stack, "CACHE", tmp_path / "cache")

    def use(body: str) -> None:
        monkeypatch.setenv("LLMTRACE_STACK_BINARIES_SCRIPT", str(_fake_script(tmp_path, body)))

    return use


def test_build_progress_is_relayed_with_a_heartbeat_while_go_is_quiet(fake_build):
    fake_build(
        'echo "[stack-binaries] building jaeger (cold ~4 min)" >&2\n'
        'echo "go: downloading github.com/x/y v1.0.0" >&2\n'
        "sleep 2.5\n"
        'echo "[stack-binaries] building prometheus" >&2\n'
        'printf "OTELCOL_BIN=/o\\nJAEGER_BIN=/j\\nPROMETHEUS_BIN=/p\\nPROMTOOL_BIN=/t\\n"\n'
    )
    said: list[str] = []
    bins = native_stack.binaries(progress=said.append, heartbeat=1.0)
    assert bins == {"OTELCOL_BIN": "/o", "JAEGER_BIN": "/j", "PROMETHEUS_BIN": "/p", "PROMTOOL_BIN": "/t"}
    assert said[0] == "[stack-binaries] building jaeger (cold ~4 min)"
    assert said[-1] == "[stack-binaries] building prometheus"
    beats = said[1:-1]
    assert beats and all(b.startswith("[stack-binaries] still building") for b in beats), said
    assert "go: downloading github.com/x/y" in beats[0]
    log = (native_stack.CACHE / "logs" / "stack-binaries.log").read_text()
    assert "go: downloading github.com/x/y v1.0.0" in log  # Go's output is kept, not printed


def test_build_action_prints_the_binaries_or_fails_with_the_log(fake_build, capsys: pytest.CaptureFixture[str]):
    """``stack.sh build`` (what CI starts before its install): the binaries' paths on stdout, or exit 1 with the tail
    of the build log."""
    fake_build('printf "OTELCOL_BIN=/o\\nJAEGER_BIN=/j\\n"\n')
    assert native_stack.main(["build", "--background"]) == 0
    assert capsys.readouterr().out.splitlines() == ["OTELCOL_BIN=/o", "JAEGER_BIN=/j"]
    fake_build('echo "go: module example.com/x: not found" >&2; exit 1\n')
    assert native_stack.main(["build"]) == 1
    assert "go: module example.com/x: not found" in capsys.readouterr().err


def test_warm_cache_prints_nothing(fake_build):
    fake_build('printf "OTELCOL_BIN=/o\\n"\n')
    said: list[str] = []
    assert native_stack.binaries(progress=said.append) == {"OTELCOL_BIN": "/o"}
    assert said == []


def test_build_failure_raises_with_the_log_tail(fake_build):
    fake_build('echo "go: module lookup disabled" >&2\nexit 7\n')
    with pytest.raises(native_stack.BuildError, match=r"(?s)failed \(exit 7\).*go: module lookup disabled"):
        native_stack.binaries(progress=lambda line: None)


def test_build_time_limit_is_its_own(fake_build):
    fake_build("sleep 30\n")
    with pytest.raises(native_stack.BuildError, match="not built within 1 s"):
        native_stack.binaries(progress=lambda line: None, timeout=1, heartbeat=0.5)


def test_native_prometheus_config_maps_compose_targets_and_rule_paths():
    ports = native_stack.Ports.free()
    config = native_stack.prometheus_config(ports)
    targets = [t for job in config["scrape_configs"] for g in job["static_configs"] for t in g["targets"]]
    assert targets == [f"127.0.0.1:{ports.collector_metrics}"]
    assert config["rule_files"] == [str(ROOT / "collector" / "rules" / "*.rules.yml")]


def test_unmapped_compose_target_is_an_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(native_stack, "COMPOSE_TARGETS", {})
    with pytest.raises(ValueError, match="scrapes otelcol:8888"):
        native_stack.prometheus_config(native_stack.Ports())


def test_default_ports_do_not_clash():
    """The compose ports for what users reach, Jaeger's own OTLP/health ports moved off the collector's."""
    ports = native_stack.Ports()
    values = [getattr(ports, f) for f in native_stack.Ports.__dataclass_fields__]
    assert len(set(values)) == len(values)
    assert (ports.otlp_grpc, ports.otlp_http, ports.collector_health) == (4317, 4318, 13133)
    assert (ports.prometheus, ports.jaeger_query) == (9090, 16686)
    free = native_stack.Ports.free()
    assert len({getattr(free, f) for f in native_stack.Ports.__dataclass_fields__}) == len(values)


def test_up_refuses_busy_ports_and_status_reports_nothing_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        ports = native_stack.Ports(**{**native_stack.Ports.free().__dict__, "otlp_http": taken})
        assert native_stack._up(tmp_path / "state", ports, timeout=5) == 2
    assert f"otlp_http {taken}" in capsys.readouterr().err
    assert native_stack.main(["status", "--state", str(tmp_path / "state")]) == 3
    assert native_stack.main(["down", "--state", str(tmp_path / "state")]) == 0
    assert "nothing was running" in capsys.readouterr().out


def test_stack_sh_up_status_down(tmp_path: Path, stack_binaries: dict[str, str]):
    """The command users run: up starts detached processes that outlive it and prints their URLs, status sees them
    ready, down stops every one of them."""
    state = tmp_path / "state"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = ["bash", str(ROOT / "scripts" / "stack.sh"), *args, "--state", str(state)]
        # the real build script: the session hook has just built or found the binaries with it
        env = {k: v for k, v in os.environ.items() if k != "LLMTRACE_STACK_BINARIES_SCRIPT"}
        env["PYTHON"] = sys.executable
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)

    up = run("up", "--free-ports")
    assert up.returncode == 0, up.stdout + up.stderr
    record = json.loads((state / "stack.json").read_text())
    ports, pids = record["ports"], record["pids"]
    assert sorted(pids) == ["jaeger", "otelcol", "prometheus"]
    assert f"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{ports['otlp_http']}" in up.stdout
    assert f"LLMTRACE_PROMETHEUS_URL=http://127.0.0.1:{ports['prometheus']}" in up.stdout
    assert "Not here: Grafana" in up.stdout
    try:
        status = run("status")
        assert status.returncode == 0, status.stdout + status.stderr
        # native runs bind loopback only: every socket each process listens on, not just the ports we configure
        for name, pid in pids.items():
            sockets = listening(pid)
            assert sockets and {address for address, _ in sockets} == {"127.0.0.1"}, (name, sockets)
            assert {port for _, port in sockets} <= set(ports.values()), (name, sockets)
        assert [line.split()[0] for line in status.stdout.splitlines() if " ready " in line] == [
            "jaeger",
            "prometheus",
            "otelcol",
        ]
        again = run("up")
        assert again.returncode == 0 and "already running" in again.stderr
    finally:
        down = run("down")
    assert down.returncode == 0 and "stopped: jaeger, prometheus, otelcol" in down.stdout, down.stdout + down.stderr
    assert not [pid for pid in pids.values() if native_stack._alive(pid)]  # gone, or a zombie init has yet to reap
    assert run("status").returncode == 3


def _session(tmp_path: Path, script_body: str, tests: dict[str, str], *args: str) -> str:
    """Run a pytest session over ``tests`` (path under the suite -> source) with the stack conftest and a stand-in
    build script; return its output, having checked that it passed."""
    script = _fake_script(tmp_path, script_body)
    suite = tmp_path / "suite"
    (suite / "stack").mkdir(parents=True)
    (suite / "stack" / "conftest.py").write_text("from tests.stack.conftest import *  # noqa: F403\n")
    for name, source in tests.items():
        (suite / name).parent.mkdir(parents=True, exist_ok=True)
        (suite / name).write_text(source)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LLMTRACE_STACK_BINARIES_SCRIPT": str(script),
        "LLMTRACE_CACHE": str(tmp_path / "cache"),
    }
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(suite), *args, str(suite)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=suite,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    return out


_CORE_ENV = 'printf "OTELCOL_BIN=/o\\nJAEGER_BIN=/j\\nPROMETHEUS_BIN=/p\\nPROMTOOL_BIN=/t\\n"\n'


def test_session_build_runs_behind_other_tests_and_outside_any_timeout(tmp_path: Path):
    """The conftest's session build: started at collection, at the lowest CPU priority, its lines printed between
    tests; the first test that needs the binaries waits for it before its own (here 2 s) clock starts."""
    out = _session(
        tmp_path,
        'echo "[stack-binaries] building otelcol, niceness $(nice)" >&2\nsleep 4\n' + _CORE_ENV,
        {
            "test_a_plain.py": "import time\n\ndef test_plain():\n    time.sleep(1)\n",
            # a test outside the stack conftest's directory: the build's lines print after it too
            "other/test_other.py": "import time\n\ndef test_other():\n    time.sleep(1)\n",
            "stack/test_b_stack.py": "import pytest\n\n@pytest.mark.timeout(2)\n"
            "def test_stack(stack_binaries):\n    assert stack_binaries['OTELCOL_BIN'] == '/o'\n",
        },
        "-q",
    )
    assert "3 passed" in out
    assert "[stack-binaries] building otelcol, niceness 19" in out
    # printed between the first tests (outside the stack directory), not only once the stack test waits
    assert out.index("[stack-binaries] building otelcol") < out.index("[stack-binaries] the stack tests wait")
    # the plain test ran while the build was going: the stack test still had to wait for it
    assert "[stack-binaries] the stack tests wait for the build" in out


def test_scale_stage_builds_while_the_other_stack_tests_run(tmp_path: Path):
    """On a cold machine VictoriaMetrics (the script's --scale) builds after the core binaries: the stack tests start
    as soon as the core is ready, and the scale tests, moved to the end of the session, wait for the rest. The
    stand-in's scale stage finishes only once the stack test has run, so a session that held the stack tests until
    everything was built would fail it."""
    ran = tmp_path / "stack-test-ran"
    out = _session(
        tmp_path,
        'if [ "${2:-}" = --scale ]; then\n'
        f"  for _ in $(seq 600); do [ -e {ran} ] && break; sleep 0.1; done\n"
        f"  [ -e {ran} ] || {{ echo 'the stack test did not run first' >&2; exit 1; }}\n"
        '  echo "[stack-binaries] built victoria-metrics" >&2; echo VICTORIA_METRICS_BIN=/v\n'
        "fi\n" + _CORE_ENV,
        {
            # collected first, run last
            "stack/test_a_scale.py": "import pytest\n\n@pytest.mark.timeout(2)\n"
            "def test_scale(scale_binaries):\n    assert scale_binaries['VICTORIA_METRICS_BIN'] == '/v'\n",
            "stack/test_b_stack.py": "import pathlib, pytest\n\n@pytest.mark.timeout(2)\n"
            "def test_stack(stack_binaries):\n    assert 'VICTORIA_METRICS_BIN' not in stack_binaries\n"
            f"    pathlib.Path({str(ran)!r}).touch()\n",
        },
        "-v",
    )
    assert "2 passed" in out
    assert out.index("test_b_stack.py::test_stack PASSED") < out.index("test_a_scale.py::test_scale PASSED")
