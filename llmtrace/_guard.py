"""Instrumentation must never break the user's call: internal failures are logged once and swallowed.

Tests flip ``RAISE_INTERNAL_ERRORS`` so our own bugs fail loudly there instead of hiding.
"""

from __future__ import annotations

import logging
import os

__all__ = ["RAISE_INTERNAL_ERRORS", "report_internal_error"]

logger = logging.getLogger("llmtrace")
RAISE_INTERNAL_ERRORS = os.environ.get("LLMTRACE_RAISE_INTERNAL_ERRORS", "").lower() in ("1", "true")
_reported: set[str] = set()


def report_internal_error(where: str) -> None:
    """Call from an ``except`` block: re-raise under tests, else log the first failure per site and go on."""
    if RAISE_INTERNAL_ERRORS:
        raise
    if where not in _reported:
        _reported.add(where)
        logger.warning("llmtrace internal error in %s (further ones are not logged)", where, exc_info=True)
