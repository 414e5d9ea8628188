"""The ``llmtrace`` console script: the CLI's own dependencies come with the ``cli`` extra, not the base install.

A base install (``[openai,anthropic]``) still installs the command; without this check it would die with a
``ModuleNotFoundError`` traceback. Instead it says, in one line, which extra to install, and exits 2.
"""

from __future__ import annotations

import importlib.util
import sys

from ._distribution import install_hint

__all__ = ["main"]

# What the CLI imports beyond the base install: the `cli` extra in pyproject.toml.
CLI_MODULES = ("typer", "rich", "httpx", "packaging", "opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http")


def missing_cli_modules() -> list[str]:
    """The CLI modules that cannot be imported here."""
    missing = []
    for name in CLI_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a parent package is missing, or the module is blocked
            found = False
        if not found:
            missing.append(name)
    return missing


def main() -> None:
    """Run the CLI, or say which extra it needs."""
    missing = missing_cli_modules()
    if missing:
        print(
            f"llmtrace: the command needs the 'cli' extra ({', '.join(missing)} not installed): " + install_hint("cli"),
            file=sys.stderr,
        )
        raise SystemExit(2)
    from .cli import main as cli_main

    cli_main()
