"""The distribution name: what ``pip install`` takes. The import name stays ``llmtrace``; on the registry, ``llmtrace``
(and ``llmtrace-python``, ``llmtrace-sdk``, ``llmtracer``) belong to unrelated projects. Every install hint, in code and
docs, names this (a test checks), so none can send a user to a stranger's package."""

from __future__ import annotations

__all__ = ["DISTRIBUTION", "install_hint"]

DISTRIBUTION = "llmtrace-otel"


def install_hint(*extras: str) -> str:
    """The pip command that installs llmtrace with ``extras``, e.g. ``pip install 'llmtrace-otel[cli]'``."""
    return f"pip install '{DISTRIBUTION}[{','.join(extras)}]'" if extras else f"pip install {DISTRIBUTION}"
