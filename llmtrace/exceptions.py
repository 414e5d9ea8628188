"""llmtrace's own exceptions (``classification.py`` sorts the providers' exceptions into error types)."""

from __future__ import annotations

__all__ = ["ConfigError", "IncompleteStreamError"]


class ConfigError(ValueError):
    """A setting has a value llmtrace cannot use; the message names the setting and what it accepts."""


class IncompleteStreamError(Exception):
    """Recorded (never raised to the user) when a stream ends without its terminal event: the connection was cut."""
