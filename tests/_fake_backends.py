"""Tiny loopback stand-ins for what the CLI talks to: an OTLP/HTTP receiver, a gRPC-only port, and Jaeger's query API.

Each is a real server on a free port, started as a context manager. The OTLP receiver decodes what it is sent with the
OTLP protobuf definitions, so a test can compare what the demo says it exported with what arrived.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeJaeger", "GrpcOnlyPort", "OTLPReceiver", "closed_port"]


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 with one handler function: (method, path, body) -> (status, type, body)."""

    def __init__(self, handle: Callable[[str, str, bytes], tuple[int, str, bytes]]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                status, kind, body = handle(self.command, self.path, self.rfile.read(length))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> Any:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class OTLPReceiver(_Server):
    """Accepts POST /v1/traces and /v1/metrics like the collector's OTLP/HTTP receiver, counting spans and points.

    ``reject_data``: answer 400 to every non-empty export (an empty one, as ``doctor`` and the demo's check send,
    still gets 200), for an endpoint that is reachable but refuses the data."""

    def __init__(self, reject_data: bool = False) -> None:
        self.spans: list[str] = []
        self.metric_points = 0
        self.reject_data = reject_data
        super().__init__(self._handle)

    def _handle(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        if method != "POST" or path not in ("/v1/traces", "/v1/metrics"):
            return 404, "text/plain", b"404 page not found"
        if body and self.reject_data:
            return 400, "application/json", b'{"code": 3, "message": "rejected by the test"}'
        if path == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(body)
            self.spans += [s.name for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
        else:
            metrics = ExportMetricsServiceRequest.FromString(body)
            for rm in metrics.resource_metrics:
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        kind = metric.WhichOneof("data")
                        self.metric_points += len(getattr(metric, kind).data_points) if kind else 0
        return 200, "application/x-protobuf", b""  # an empty Export*ServiceResponse


class GrpcOnlyPort:
    """A port that speaks HTTP/2 only, as the collector's OTLP/gRPC port (4317) does: it sends the server's SETTINGS
    frame on connect and closes the connection on a request that is not HTTP/2."""

    _SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(self._SETTINGS)
                conn.settimeout(1.0)
                try:
                    conn.recv(65536)
                except OSError:
                    pass

    def __enter__(self) -> GrpcOnlyPort:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self.sock.close()


class FakeJaeger(_Server):
    """Jaeger's query API for ``/api/services`` and ``/api/traces/{id}``, answering as Jaeger v2 does: an unknown
    id is HTTP 404 with a JSON error body."""

    def __init__(self, traces: dict[str, dict[str, Any]]) -> None:
        self.traces = traces
        super().__init__(self._handle)

    def _handle(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        if path == "/api/services":
            return 200, "application/json", json.dumps({"data": ["app"], "total": 1}).encode()
        if path.startswith("/api/traces/"):
            trace = self.traces.get(path.rsplit("/", 1)[1])
            if trace is None:
                error = {
                    "data": None,
                    "total": 0,
                    "limit": 0,
                    "offset": 0,
                    "errors": [{"code": 404, "msg": "trace not found"}],
                }
                return 404, "application/json", json.dumps(error).encode()
            return 200, "application/json", json.dumps({"data": [trace]}).encode()
        return 200, "text/html", b"<!doctype html><title>Jaeger UI</title>"  # the UI answers every other path


def closed_port() -> str:
    """The URL of a loopback port nothing listens on (bound, then released)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
