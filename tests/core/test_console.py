"""The console script on a base install (no ``cli`` extra): one line naming the extra, exit 2, no traceback."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from llmtrace._console import CLI_MODULES
from llmtrace._distribution import DISTRIBUTION


@pytest.mark.parametrize("blocked", ["typer", "rich", "opentelemetry.sdk"])
def test_without_the_cli_extra_the_command_names_it(blocked):
    # None in sys.modules makes every import of the module fail, as on an install without it.
    code = f"import sys; sys.modules[{blocked!r}] = None; from llmtrace._console import main; main()"
    out = subprocess.run([sys.executable, "-c", code, "stats"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr == (
        f"llmtrace: the command needs the 'cli' extra ({blocked} not installed): pip install '{DISTRIBUTION}[cli]'\n"
    )


def test_with_the_extra_the_command_runs():
    code = "import sys; sys.argv = ['llmtrace', '--help']; from llmtrace._console import main; main()"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "stats" in out.stdout


def test_the_cli_modules_are_the_cli_extra():
    """CLI_MODULES covers what pyproject's `cli` extra installs, so the check cannot drift from the extra."""
    from pathlib import Path

    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    extra = pyproject["project"]["optional-dependencies"]["cli"]
    distributions = {re.split(r"[<>=\[ ]", requirement, maxsplit=1)[0] for requirement in extra}
    assert {module.replace(".", "-").removesuffix("-proto-http") + ("-proto-http" if "otlp" in module else "")
            for module in CLI_MODULES} == distributions  # fmt: skip
