"""Thin clients for the Prometheus HTTP API and the Jaeger query API, with one error type for the CLI."""

from __future__ import annotations

import json
import os
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from .semconv import Attr

__all__ = [
    "BackendError",
    "Credentials",
    "JaegerClient",
    "LLMSpan",
    "OTLPTarget",
    "PrometheusClient",
    "default_urls",
    "probe_grpc",
    "probe_http",
    "use_credentials",
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


@dataclass(frozen=True)
class Credentials:
    """How to authenticate to one backend of the secure profile: basic auth or a bearer token, and a CA file.

    ``from_env("PROMETHEUS")`` reads ``LLMTRACE_PROMETHEUS_USER`` / ``_PASSWORD`` / ``_TOKEN`` and
    ``LLMTRACE_CA_FILE`` (the CA that signed the backend's certificate; default: the system's trust store).
    """

    user: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    ca_file: str | None = None

    @classmethod
    def from_env(cls, backend: str, env: Mapping[str, str] | None = None) -> Credentials:
        env = os.environ if env is None else env
        prefix = f"LLMTRACE_{backend.upper()}_"
        return cls(
            user=env.get(prefix + "USER") or None,
            password=env.get(prefix + "PASSWORD") or None,
            token=env.get(prefix + "TOKEN") or None,
            ca_file=env.get("LLMTRACE_CA_FILE") or None,
        )

    def request_kwargs(self) -> dict[str, Any]:
        """httpx keyword arguments: auth or an Authorization header, and certificate verification."""
        kwargs: dict[str, Any] = {"verify": _verify(self.ca_file)}
        if self.user is not None:
            kwargs["auth"] = (self.user, self.password or "")
        elif self.token is not None:
            kwargs["headers"] = {"Authorization": f"Bearer {self.token}"}
        return kwargs


def _verify(ca_file: str | None) -> ssl.SSLContext | bool:
    """Certificate verification for httpx: against ``ca_file`` when given, else the system's trust store."""
    if not ca_file:
        return True
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise BackendError(f"CA file {ca_file!r} cannot be used: {exc}") from None


_CONFIGURED: dict[str, Credentials] = {}


def use_credentials(**by_backend: Credentials) -> None:
    """Credentials for clients made from now on (``prometheus=``, ``jaeger=``); the env for backends not named."""
    _CONFIGURED.clear()
    _CONFIGURED.update({name.upper(): creds for name, creds in by_backend.items()})


def _credentials(backend: str) -> Credentials:
    return _CONFIGURED.get(backend) or Credentials.from_env(backend)


_RAISE = object()
_AUTH_HINT = "set LLMTRACE_{0}_USER and LLMTRACE_{0}_PASSWORD (or --{1}-user/--{1}-password)"


def _get(
    name: str, url: str, params: dict[str, Any] | None = None, not_found: Any = _RAISE, creds: Credentials | None = None
) -> Any:
    """The JSON answer; ``not_found`` (when given) stands for an HTTP 404 instead of an error."""
    try:
        response = httpx.get(url, params=params, timeout=_TIMEOUT, **(creds or Credentials()).request_kwargs())
    except httpx.HTTPError as exc:
        raise BackendError(f"{name} unreachable at {url.split('/api')[0]}: {exc.__class__.__name__}: {exc}") from None
    if response.status_code == 404 and not_found is not _RAISE:
        return not_found
    if response.status_code in (401, 403):
        hint = _AUTH_HINT.format(name.upper(), name.lower())
        raise BackendError(
            f"{name} answered HTTP {response.status_code} for {url}: credentials missing or refused: {hint}"
        )
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
    creds: Credentials = field(default_factory=lambda: _credentials("PROMETHEUS"))

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Instant query; raises BackendError on transport or PromQL errors."""
        params = {"query": expr, **({"time": f"{at:.3f}"} if at is not None else {})}
        data = _get("Prometheus", f"{self.url.rstrip('/')}/api/v1/query", params, creds=self.creds)
        if data.get("status") != "success":
            raise BackendError(f"Prometheus rejected the query: {data.get('error', data)}")
        return data["data"]["result"]

    def scalar(self, expr: str, at: float | None = None) -> float | None:
        result = self.query(expr, at)
        return float(result[0]["value"][1]) if result else None

    def by(self, expr: str, labels: tuple[str, ...], at: float | None = None) -> dict[tuple[str, ...], float]:
        return {tuple(r["metric"].get(k, "") for k in labels): float(r["value"][1]) for r in self.query(expr, at)}

    def ready(self) -> bool:
        return self.problem() is None

    def problem(self) -> str | None:
        """None when Prometheus is ready and takes the credentials, else why not, in one line."""
        url = f"{self.url.rstrip('/')}/-/ready"
        try:
            status = httpx.get(url, timeout=_TIMEOUT, **self.creds.request_kwargs()).status_code
        except httpx.HTTPError as exc:
            return f"{url}: {exc.__class__.__name__}: {exc}"
        except BackendError as exc:
            return str(exc)
        if status in (401, 403):
            return (
                f"{url}: HTTP {status}, credentials missing or refused: {_AUTH_HINT.format('PROMETHEUS', 'prometheus')}"
            )
        return None if status == 200 else f"{url}: HTTP {status}"


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
    parent_id: str | None = None  # the span it is a child of, in the same trace (None for a root)


@dataclass
class JaegerClient:
    url: str
    creds: Credentials = field(default_factory=lambda: _credentials("JAEGER"))

    def services(self) -> list[str]:
        data = _get("Jaeger", f"{self.url.rstrip('/')}/api/services", creds=self.creds)
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
        data = _get("Jaeger", f"{self.url.rstrip('/')}/api/traces", params, creds=self.creds)
        return [span for trace in data.get("data") or [] for span in _llm_spans(trace)]

    def trace(self, trace_id: str) -> list[LLMSpan]:
        """Every span of one trace; empty when Jaeger has no such trace (it answers 404 for that)."""
        data = _get("Jaeger", f"{self.url.rstrip('/')}/api/traces/{trace_id}", not_found=None, creds=self.creds)
        return [span for trace in (data or {}).get("data") or [] for span in _llm_spans(trace, only_llm=False)]

    def ready(self) -> bool:
        return self.problem() is None

    def problem(self) -> str | None:
        """None when Jaeger answers the query API with these credentials, else why not, in one line."""
        try:
            self.services()
        except BackendError as exc:
            return str(exc)
        return None


def _llm_spans(trace: dict[str, Any], only_llm: bool = True) -> list[LLMSpan]:
    processes = trace.get("processes") or {}
    spans = []
    for span in trace.get("spans") or []:
        tags = {t["key"]: t["value"] for t in span.get("tags") or []}
        if only_llm and Attr.PROVIDER not in tags:
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
                _parent_id(span),
            )
        )
    return spans


def _parent_id(span: dict[str, Any]) -> str | None:
    """The span's parent in its own trace, from Jaeger's ``references`` (a CHILD_OF reference)."""
    for ref in span.get("references") or []:
        if ref.get("refType") == "CHILD_OF" and ref.get("traceID") == span.get("traceID"):
            return ref.get("spanID")
    return span.get("parentSpanID") or None


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
    certificate: str | None = None  # CA file that verifies the receiver (OTEL_EXPORTER_OTLP_CERTIFICATE)

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
            certificate=env.get("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE") or env.get("OTEL_EXPORTER_OTLP_CERTIFICATE"),
        )

    def probe(self) -> str | None:
        """Try an empty export (HTTP) or the HTTP/2 handshake (gRPC); None if it worked, else why, in one line."""
        if self.protocol == "grpc":
            return probe_grpc(self.endpoint)
        return probe_http(self.traces_url, self.headers, self.certificate)


def _otlp_headers(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    from opentelemetry.util.re import parse_env_headers

    return parse_env_headers(text, liberal=True)


def probe_http(url: str, headers: Mapping[str, str] | None = None, certificate: str | None = None) -> str | None:
    """POST an empty OTLP/HTTP export request to ``url``; an OTLP receiver answers 200 with a protobuf/JSON body."""
    try:
        response = httpx.post(
            url,
            content=b"",  # an empty ExportTraceServiceRequest: valid, and carries no data
            headers={"Content-Type": "application/x-protobuf", **(headers or {})},
            timeout=_PROBE_TIMEOUT,
            verify=_verify(certificate),
        )
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        return f"{url!r} is not an http:// or https:// URL"
    except httpx.ConnectError as exc:
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return f"{url}: its TLS certificate is not trusted (OTEL_EXPORTER_OTLP_CERTIFICATE=<CA file>): {exc}"
        return f"nothing accepts connections at {url} ({exc})"
    except (httpx.RemoteProtocolError, httpx.ReadError):
        return (
            f"{url} did not answer HTTP/1.1: is that the collector's gRPC port? "
            "OTLP/HTTP is usually port 4318, OTLP/gRPC 4317"
        )
    except httpx.TimeoutException:
        return f"{url} did not answer within {_PROBE_TIMEOUT:.0f} s"
    except BackendError as exc:
        return str(exc)
    except httpx.HTTPError as exc:
        return f"{url}: {exc.__class__.__name__}: {exc}"
    kind = response.headers.get("content-type", "").split(";")[0].strip()
    if response.status_code in (401, 403):
        return (
            f"{url} answered HTTP {response.status_code}: the token is missing or refused "
            "(OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer <token>)"
        )
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
