"""llmtrace: OpenTelemetry-native tracing and metrics for LLM calls.

Two ways in: ``opentelemetry-instrument python app.py`` (entry points in the ``opentelemetry_instrumentor``
group) or ``llmtrace.instrument()`` in code. Prompts and completions are hashed, never stored, unless
content capture is explicitly enabled.
"""

from ._instrument import instrument, uninstrument
from ._manual import log_call
from ._version import __version__
from .agents import agent, tool, workflow
from .config import Settings
from .context import attributes
from .exceptions import ConfigError

__all__ = [
    "ConfigError",
    "Settings",
    "__version__",
    "agent",
    "attributes",
    "instrument",
    "log_call",
    "tool",
    "uninstrument",
    "workflow",
]
