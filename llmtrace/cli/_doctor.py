"""``doctor``: one line per thing that must be right for data to arrive (settings, SDK versions, the OTLP
exporter, the collector, Prometheus, Jaeger), and exit code 1 when any is not."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from typing import Any

import httpx
import typer

from ..backends import JaegerClient, OTLPTarget, PrometheusClient
from ..config import Settings, load_settings
from ..exceptions import ConfigError
from ._shared import JAEGER_DEFAULT, PROM_DEFAULT, AsJSON, JaegerURL, PromURL, console, emit

__all__ = ["doctor"]

Check = dict[str, Any]


def _settings() -> tuple[Settings, list[Check]]:
    """The ``LLMTRACE_*`` settings as ``instrument()`` would resolve them; a bad one is a failed check (and the
    other checks go on with the defaults, since ``instrument()`` would refuse to start)."""
    try:
        return load_settings(), []
    except ConfigError as exc:
        return Settings(), [{"check": "llmtrace settings", "ok": False, "detail": str(exc)}]


def _sdk_checks(settings: Settings) -> list[Check]:
    """Each provider SDK's installed version against what its instrumentor declares it supports."""
    from packaging.requirements import Requirement

    from ..providers import PROVIDER_MODULES

    checks = []
    for module_name, _, _ in PROVIDER_MODULES.values():
        module = importlib.import_module(module_name)
        for dependency in module.PROVIDER.requires:
            requirement = Requirement(dependency)
            try:
                version = importlib.metadata.version(requirement.name)
            except importlib.metadata.PackageNotFoundError:
                checks.append(
                    {"check": f"{requirement.name} SDK", "ok": True, "detail": "not installed (not instrumented)"}
                )
                continue
            ok = requirement.specifier.contains(version, prereleases=True)
            verdict = "supported" if ok else "unsupported"
            checks.append(
                {
                    "check": f"{requirement.name} SDK",
                    "ok": ok,
                    "detail": f"{version} ({verdict}: needs {requirement.specifier})",
                }
            )
            checks.extend(_self_tracing_checks(module, settings.sdk_spans))
    return checks


def _self_tracing_checks(provider_module: Any, mode: str) -> list[Check]:
    """Whether an installed SDK makes spans of its own calls, and what llmtrace does about it (``sdk_spans``)."""
    from ..sdk_spans import describe

    checks = []
    for target in provider_module.PROVIDER.self_tracing:
        traced, detail = describe(target, mode)
        checks.append({"check": f"{target.sdk} own spans", "ok": True, "traces_itself": traced, "detail": detail})
    return checks


def _otlp_check() -> Check:
    """An empty OTLP export to where the exporter is configured to send (a gRPC handshake for grpc)."""
    target = OTLPTarget.from_env()
    if target is None:
        return {
            "check": "OTLP exporter",
            "ok": False,
            "detail": "OTEL_EXPORTER_OTLP_ENDPOINT is not set: nothing is exported",
        }
    problem = target.probe()
    where = target.endpoint if target.protocol == "grpc" else target.traces_url
    return {
        "check": "OTLP exporter",
        "ok": problem is None,
        "detail": problem or f"{target.protocol} to {where}: accepted",
    }


def _collector_check() -> Check:
    health = os.environ.get("LLMTRACE_COLLECTOR_HEALTH_URL", "http://localhost:13133/")
    try:
        ok = httpx.get(health, timeout=3.0).status_code == 200
        return {"check": "collector health", "ok": ok, "detail": health}
    except httpx.HTTPError as exc:
        return {"check": "collector health", "ok": False, "detail": f"{health}: {exc.__class__.__name__}"}


def _backend_checks(prometheus_url: str, jaeger_url: str) -> list[Check]:
    checks = []
    for name, client in (("Prometheus", PrometheusClient(prometheus_url)), ("Jaeger", JaegerClient(jaeger_url))):
        problem = client.problem()
        detail = problem or (f"{client.url} (as {client.creds.user})" if client.creds.user else client.url)
        checks.append({"check": f"{name} ready", "ok": problem is None, "detail": detail})
    return checks


def _doctor_checks(prometheus_url: str, jaeger_url: str) -> list[Check]:
    settings, problems = _settings()
    return [
        *problems,
        *_sdk_checks(settings),
        _otlp_check(),
        _collector_check(),
        *_backend_checks(prometheus_url, jaeger_url),
    ]


def _print_checks(checks: list[Check]) -> None:
    for c in checks:
        status = "[green]ok  [/]" if c["ok"] else "[red]FAIL[/]"
        console.print(f"{status} {c['check']}: {c['detail']}")


def doctor(
    prometheus_url: PromURL = PROM_DEFAULT, jaeger_url: JaegerURL = JAEGER_DEFAULT, as_json: AsJSON = False
) -> None:
    """Check SDK versions, exporter endpoint, collector health, Prometheus and Jaeger; one line each."""
    checks = _doctor_checks(prometheus_url, jaeger_url)
    emit(as_json, checks, lambda: _print_checks(checks))
    if not all(c["ok"] for c in checks):
        raise typer.Exit(1)
