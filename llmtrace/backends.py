"""Thin clients for the Prometheus HTTP API and the Jaeger query API, with one error type for the CLI."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["BackendError", "JaegerClient", "LLMSpan", "PrometheusClient", "default_urls"]

_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class BackendError(RuntimeError):
    """A backend is unreachable or answered with an error; the message is one line for a person."""


def default_urls() -> tuple[str, str]:
    """Prometheus and Jaeger base URLs: env vars, else the docker-compose stack's localhost ports."""
    return (
        os.environ.get("LLMTRACE_PROMETHEUS_URL", "http://localhost:9090"),
        os.environ.get("LLMTRACE_JAEGER_URL", "http://localhost:16686"),
    )


def _get(name: str, url: str, params: dict[str, Any] | None = None) -> Any:
    try:
        response = httpx.get(url, params=params, timeout=_TIMEOUT)
    except httpx.HTTPError as exc:
        raise BackendError(f"{name} unreachable at {url.split('/api')[0]}: {exc.__class__.__name__}: {exc}") from None
    if response.status_code >= 400:
        detail = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        raise BackendError(f"{name} answered HTTP {response.status_code} for {url}: {detail}")
    try:
        return response.json()
    except ValueError:
        raise BackendError(f"{name} at {url} did not answer JSON") from None


@dataclass
class PrometheusClient:
    url: str

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Instant query; raises BackendError on transport or PromQL errors."""
        params = {"query": expr, **({"time": f"{at:.3f}"} if at is not None else {})}
        data = _get("Prometheus", f"{self.url.rstrip('/')}/api/v1/query", params)
        if data.get("status") != "success":
            raise BackendError(f"Prometheus rejected the query: {data.get('error', data)}")
        return data["data"]["result"]

    def scalar(self, expr: str, at: float | None = None) -> float | None:
        result = self.query(expr, at)
        return float(result[0]["value"][1]) if result else None

    def by(self, expr: str, labels: tuple[str, ...], at: float | None = None) -> dict[tuple[str, ...], float]:
        return {tuple(r["metric"].get(k, "") for k in labels): float(r["value"][1]) for r in self.query(expr, at)}

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url.rstrip('/')}/-/ready", timeout=_TIMEOUT).status_code == 200
        except httpx.HTTPError:
            return False


@dataclass
class LLMSpan:
    """The llm.* view of one Jaeger span."""

    trace_id: str
    span_id: str
    start_us: int
    duration_us: int
    name: str
    service: str
    tags: dict[str, Any]


@dataclass
class JaegerClient:
    url: str

    def services(self) -> list[str]:
        data = _get("Jaeger", f"{self.url.rstrip('/')}/api/services")
        return sorted(s for s in data.get("data") or [] if s != "jaeger")

    def search(
        self,
        service: str,
        *,
        start_us: int,
        end_us: int,
        limit: int,
        tags: dict[str, str] | None = None,
        min_duration: str | None = None,
    ) -> list[LLMSpan]:
        params: dict[str, Any] = {"service": service, "start": start_us, "end": end_us, "limit": limit}
        if tags:
            params["tags"] = json.dumps(tags)
        if min_duration:
            params["minDuration"] = min_duration
        data = _get("Jaeger", f"{self.url.rstrip('/')}/api/traces", params)
        return [span for trace in data.get("data") or [] for span in _llm_spans(trace)]

    def trace(self, trace_id: str) -> list[LLMSpan]:
        data = _get("Jaeger", f"{self.url.rstrip('/')}/api/traces/{trace_id}")
        return [span for trace in data.get("data") or [] for span in _llm_spans(trace, only_llm=False)]

    def ready(self) -> bool:
        try:
            self.services()
        except BackendError:
            return False
        return True


def _llm_spans(trace: dict[str, Any], only_llm: bool = True) -> list[LLMSpan]:
    processes = trace.get("processes") or {}
    spans = []
    for span in trace.get("spans") or []:
        tags = {t["key"]: t["value"] for t in span.get("tags") or []}
        if only_llm and "llm.provider" not in tags:
            continue
        service = (processes.get(span.get("processID")) or {}).get("serviceName", "")
        spans.append(
            LLMSpan(
                span["traceID"],
                span["spanID"],
                span["startTime"],
                span["duration"],
                span["operationName"],
                service,
                tags,
            )
        )
    return spans
