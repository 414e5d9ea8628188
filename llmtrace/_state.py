"""Process-wide llmtrace state: the active Recorder (shared by instrumentors and ``log_call``)."""

from __future__ import annotations

import threading
from typing import Any

from .call import Recorder
from .config import Settings, load_settings

__all__ = ["get_recorder", "set_recorder"]

_recorder: Recorder | None = None
_lock = threading.Lock()


def set_recorder(recorder: Recorder | None) -> None:
    global _recorder
    with _lock:
        _recorder = recorder


def get_recorder(settings: Settings | None = None, **providers: Any) -> Recorder:
    """The active recorder, or a default one built from env settings and the global OTel providers."""
    global _recorder
    with _lock:
        if _recorder is None:
            _recorder = Recorder(settings or load_settings(), **providers)
        return _recorder
