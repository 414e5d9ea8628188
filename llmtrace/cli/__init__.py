"""The ``llmtrace`` command: quick answers from Prometheus and Jaeger, plus ``demo`` and ``doctor``.

Every query command takes ``--prometheus-url`` / ``--jaeger-url`` (defaults: ``LLMTRACE_PROMETHEUS_URL`` /
``LLMTRACE_JAEGER_URL``, then the compose stack's localhost ports) and ``--json`` (stable machine-readable
output). An unreachable or failing backend is one line on stderr and exit code 2.

The secure profile's credentials are options before the command (``llmtrace --ca-file ca.crt stats``) or, better
(not visible in the process list), the ``LLMTRACE_PROMETHEUS_USER`` / ``_PASSWORD``, ``LLMTRACE_JAEGER_USER`` /
``_PASSWORD`` (or ``LLMTRACE_JAEGER_TOKEN`` behind a token proxy) and ``LLMTRACE_CA_FILE`` variables.

One module per job: ``_shared`` (the app, credentials, common options, time window, output and failure),
``_format`` (numbers and times), ``_prometheus`` (``stats``, ``models``), ``_agents`` (``agents``), ``_jaeger``
(``recent``, ``errors``, ``trace``; ``_tree`` draws a trace), ``_doctor`` and ``_demo``. The commands are
registered here, in the order ``--help`` lists them.
"""

from . import _agents, _demo, _doctor, _jaeger, _prometheus
from ._format import fmt_ms, fmt_usd
from ._shared import app, parse_time
from ._shared import console as _console

__all__ = ["app", "fmt_ms", "fmt_usd", "main", "parse_time"]


def _version() -> None:
    """Print the llmtrace version."""
    from .._version import __version__

    _console.print(__version__)


for _command in (
    _prometheus.stats,
    _prometheus.models,
    _agents.agents,
    _jaeger.recent,
    _jaeger.errors,
    _jaeger.trace,
    _doctor.doctor,
    _demo.demo,
):
    app.command()(_command)
app.command("version")(_version)


def main() -> None:
    """Console-script entry point."""
    app()
