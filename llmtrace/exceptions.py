"""llmtrace's own exceptions (``errors.py`` is the classification of the providers' exceptions)."""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A setting has a value llmtrace cannot use; the message names the setting and what it accepts."""
