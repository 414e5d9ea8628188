"""Thin clients for the Prometheus HTTP API and the Jaeger query API, with one error type for the CLI."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

__all__ = [
    "BackendError",
    "JaegerClient",
    "LLMSpan",
    "OTLPTarget",
    "PrometheusClient",
    "default_urls",
    "probe_grpc",
    "probe_http",
]

_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class BackendError(RuntimeError):
    """A backend is unreachable or answered with an error; the message is one line for a person."""


def default_urls() -> tuple[str, str]:
    """Prometheus and Jaeger base URLs: env vars, else the docker-compose stack's localhost ports."""
    return (
        os.environ.get("LLMTRACE_PROMETHEUS_URL", "http://localhost:9090"),
        os.environ.get("LLMTRACE_JAEGER_URL", "http://localhost:16686"),
    )


_RAISE = object()


def _get(name: str, url: str, params: dict[str, Any] | None = None, not_found: Any = _RAISE) -> Any:
    """The JSON answer; ``not_found`` (when given) stands for an HTTP 404 instead of an error."""
    try:
        response = httpx.get(url, params=params, timeout=_TIMEOUT)
    except httpx.HTTPError as exc:
        raise BackendError(f"{name} unreachable at {url.split('/api')[0]}: {exc.__class__.__name__}: {exc}") from None
    if response.status_code == 404 and not_found is not _RAISE:
        return not_found
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
        """Every span of one trace; empty when Jaeger has no such trace (it answers 404 for that)."""
        data = _get("Jaeger", f"{self.url.rstrip('/')}/api/traces/{trace_id}", not_found=None)
        return [span for trace in (data or {}).get("data") or [] for span in _llm_spans(trace, only_llm=False)]

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


# -- OTLP: where the exporters send, and whether something there takes an export ------------------------------------

_OTLP_DEFAULT = {"grpc": "http://localhost:4317", "http": "http://localhost:4318"}
_PROBE_TIMEOUT = 3.0
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # + empty SETTINGS


@dataclass(frozen=True)
class OTLPTarget:
    """Where OTLP export goes, read from the standard ``OTEL_EXPORTER_OTLP_*`` variables as the SDK reads them."""

    protocol: str  # grpc, http/protobuf or http/json
    endpoint: str  # the base endpoint as configured (gRPC), or the traces URL's base (HTTP)
    traces_url: str
    metrics_url: str
    headers: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OTLPTarget | None:
        """None when no OTLP endpoint variable is set (nothing is exported)."""
        env = os.environ if env is None else env
        base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
        traces = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
        metrics = env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "").strip()
        if not (base or traces or metrics):
            return None
        protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        protocol = (protocol or "http/protobuf").strip().lower()
        base = base or _OTLP_DEFAULT["grpc" if protocol == "grpc" else "http"]
        return cls(
            protocol=protocol,
            endpoint=base,
            traces_url=traces or f"{base.rstrip('/')}/v1/traces",
            metrics_url=metrics or f"{base.rstrip('/')}/v1/metrics",
            headers=_otlp_headers(
                env.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or env.get("OTEL_EXPORTER_OTLP_HEADERS")
            ),
        )

    def probe(self) -> str | None:
        """Try an empty export (HTTP) or the HTTP/2 handshake (gRPC); None if it worked, else why, in one line."""
        if self.protocol == "grpc":
            return probe_grpc(self.endpoint)
        return probe_http(self.traces_url, self.headers)


def _otlp_headers(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    from opentelemetry.util.re import parse_env_headers

    return parse_env_headers(text, liberal=True)


def probe_http(url: str, headers: Mapping[str, str] | None = None) -> str | None:
    """POST an empty OTLP/HTTP export request to ``url``; an OTLP receiver answers 200 with a protobuf/JSON body."""
    try:
        response = httpx.post(
            url,
            content=b"",  # an empty ExportTraceServiceRequest: valid, and carries no data
            headers={"Content-Type": "application/x-protobuf", **(headers or {})},
            timeout=_PROBE_TIMEOUT,
        )
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        return f"{url!r} is not an http:// or https:// URL"
    except httpx.ConnectError as exc:
        return f"nothing accepts connections at {url} ({exc})"
    except (httpx.RemoteProtocolError, httpx.ReadError):
        return (
            f"{url} did not answer HTTP/1.1: is that the collector's gRPC port? "
            "OTLP/HTTP is usually port 4318, OTLP/gRPC 4317"
        )
    except httpx.TimeoutException:
        return f"{url} did not answer within {_PROBE_TIMEOUT:.0f} s"
    except httpx.HTTPError as exc:
        return f"{url}: {exc.__class__.__name__}: {exc}"
    kind = response.headers.get("content-type", "").split(";")[0].strip()
    if response.status_code != 200:
        return f"{url} answered HTTP {response.status_code} to an empty OTLP export: not an OTLP/HTTP receiver"
    if kind not in ("application/x-protobuf", "application/json"):
        return f"{url} answered 200 with {kind or 'no content type'}: not an OTLP/HTTP receiver"
    return None


def probe_grpc(endpoint: str) -> str | None:
    """Open the HTTP/2 connection gRPC runs on: a gRPC server answers the client preface with a SETTINGS frame."""
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    if parts.scheme == "https":
        return None  # TLS: the handshake cannot be tried without a gRPC client; nothing to say against it
    try:
        host, port = parts.hostname or "localhost", parts.port or 4317
    except ValueError:
        return f"{endpoint!r} is not a host:port or URL"
    try:
        with socket.create_connection((host, port), timeout=_PROBE_TIMEOUT) as sock:
            sock.sendall(_H2_PREFACE)
            head = sock.recv(9)
    except OSError as exc:
        return f"nothing accepts connections at {host}:{port} ({exc})"
    if head[:1].isalpha() or head[:1] == b"<":  # text: an HTTP/1 status line or error page, not an HTTP/2 frame
        return (
            f"{host}:{port} answered HTTP/1, not gRPC: is that the OTLP/HTTP port? "
            "OTLP/gRPC is usually port 4317 (or set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf)"
        )
    if len(head) < 9 or head[3] != 0x04:  # frame type 4: SETTINGS
        return f"{host}:{port} did not answer the HTTP/2 handshake: not a gRPC endpoint"
    return None
