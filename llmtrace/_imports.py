"""Patch SDKs when they are imported, not before: ``instrument()`` must not import what the app never uses.

Importing every installed SDK up front cost ~4 s and ~6,800 modules (litellm alone also tries to download its
model cost map at import). A module already imported is patched at once; any other is patched right after its
import finishes, through wrapt's post-import hooks, before the importing statement binds any name from it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import wrapt

from ._guard import report_internal_error

__all__ = ["when_imported"]


def when_imported(module: str, action: Callable[[], None]) -> None:
    """Run ``action`` now if ``module`` is imported, else right after it is (errors reported, never raised)."""
    if module in sys.modules:
        action()
        return

    def hook(_module: object) -> None:
        try:
            action()
        except Exception:
            report_internal_error(f"when_imported:{module}")

    wrapt.register_post_import_hook(hook, module)
