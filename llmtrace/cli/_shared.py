"""What every command shares: the Typer app, the backend credentials given before the command, the common options,
the ``--from``/``--to`` window, ``--json`` output, and the one-line-on-stderr, exit-2 failure."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from ..backends import BackendError, Credentials, default_urls, use_credentials

__all__ = [
    "JAEGER_DEFAULT",
    "PROM_DEFAULT",
    "AsJSON",
    "From",
    "JaegerURL",
    "Opt",
    "PromURL",
    "To",
    "app",
    "backend_errors",
    "console",
    "emit",
    "fail",
    "parse_time",
    "window",
]

app = typer.Typer(add_completion=False, no_args_is_help=True, help="OpenTelemetry-native tracing for LLM calls.")
console = Console(width=None if Console().is_terminal else 160)
PROM_DEFAULT, JAEGER_DEFAULT = default_urls()

PromURL = Annotated[str, typer.Option("--prometheus-url", help="Prometheus base URL")]
JaegerURL = Annotated[str, typer.Option("--jaeger-url", help="Jaeger query base URL")]
AsJSON = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
From = Annotated[str, typer.Option("--from", help="Window start: 24h / 7d / 30m ago, ISO time or unix seconds")]
To = Annotated[str, typer.Option("--to", help="Window end: now, a duration ago, ISO time or unix seconds")]
Opt = Annotated[str | None, typer.Option()]


def _secret(help_: str) -> Any:
    return typer.Option(help=help_, show_default=False)


@app.callback()
def _credentials(
    prometheus_user: Annotated[str | None, _secret("Prometheus basic-auth user [env LLMTRACE_PROMETHEUS_USER]")] = None,
    prometheus_password: Annotated[str | None, _secret("[env LLMTRACE_PROMETHEUS_PASSWORD]")] = None,
    jaeger_user: Annotated[str | None, _secret("Jaeger basic-auth user [env LLMTRACE_JAEGER_USER]")] = None,
    jaeger_password: Annotated[str | None, _secret("[env LLMTRACE_JAEGER_PASSWORD]")] = None,
    jaeger_token: Annotated[str | None, _secret("Bearer token for Jaeger [env LLMTRACE_JAEGER_TOKEN]")] = None,
    ca_file: Annotated[str | None, _secret("CA certificate of the backends [env LLMTRACE_CA_FILE]")] = None,
) -> None:
    """OpenTelemetry-native tracing for LLM calls."""
    given = {"ca_file": ca_file}
    prometheus = {"user": prometheus_user, "password": prometheus_password, **given}
    jaeger = {"user": jaeger_user, "password": jaeger_password, "token": jaeger_token, **given}
    use_credentials(
        prometheus=replace(
            Credentials.from_env("PROMETHEUS"), **{k: v for k, v in prometheus.items() if v is not None}
        ),
        jaeger=replace(Credentials.from_env("JAEGER"), **{k: v for k, v in jaeger.items() if v is not None}),
    )


def parse_time(text: str, now: float) -> float:
    """``now``, a duration ago (``30m``, ``24h``, ``7d``, ``90s``), an ISO timestamp, or unix seconds."""
    text = text.strip()
    if text == "now":
        return now
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    if text[-1:] in units and text[:-1].replace(".", "", 1).isdigit():
        return now - float(text[:-1]) * units[text[-1]]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a time (use 24h, 7d, now, ISO 8601 or unix seconds)") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def window(from_: str, to: str) -> tuple[float, float, int]:
    """``--from``/``--to`` as (start, end, whole seconds between them)."""
    now = time.time()
    start, end = parse_time(from_, now), parse_time(to, now)
    if end <= start:
        raise typer.BadParameter("--from must be before --to")
    return start, end, max(1, round(end - start))


def emit(as_json: bool, payload: Any, render: Callable[[], None]) -> None:
    """``payload`` as sorted JSON under ``--json``, else the command's table."""
    if as_json:
        typer.echo(json.dumps(payload, indent=2, sort_keys=True))
    else:
        render()


def fail(message: str) -> NoReturn:
    """One line on stderr and exit code 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def backend_errors(fn: Callable[..., None]) -> Callable[..., None]:
    """Backend failures become one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except BackendError as exc:
            fail(str(exc))

    return wrapper
