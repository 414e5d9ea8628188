"""The distribution name (``llmtrace-otel``; ``llmtrace`` on the registry is an unrelated project) is the one that
pyproject builds and every install hint names, in the docs and in the code, so none can send a user elsewhere."""

from __future__ import annotations

import importlib.metadata
import re
import shlex
from pathlib import Path

import pytest

from llmtrace._distribution import DISTRIBUTION, install_hint

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
ROOT = Path(__file__).resolve().parents[2]
# Where install hints live: docs, the CI and helper scripts, benchmarks, examples, and the package's own messages.
HINT_FILES = sorted(
    {
        ROOT / "README.md",
        ROOT / ".ci" / "run",
        *ROOT.glob("docs/**/*.md"),
        *ROOT.glob("benchmarks/*.md"),
        *ROOT.glob("benchmarks/*.sh"),
        *ROOT.glob("scripts/*"),
        *ROOT.glob("examples/**/*.py"),
        *ROOT.glob("llmtrace/**/*.py"),
    }
)
PIP_INSTALL = re.compile(r"pip3? install ([^`\n]*)")
PROJECT_NAME = re.compile(r"^llmtrace([-_.].*)?$|^llmtracer$", re.IGNORECASE)  # names someone may take for ours


def _requirements(args: str) -> list[str]:
    """The requirement arguments of one ``pip install ...`` (options and their values dropped)."""
    try:
        words = shlex.split(args.split("#")[0].split("&&")[0].split(";")[0], posix=True)
    except ValueError:
        words = args.split()
    found, skip = [], False
    for word in words:
        if skip or word.startswith("-"):
            skip = word in ("-r", "-c", "-t", "--target", "-i", "--index-url")
            continue
        found.append(word)
    return found


def _hints() -> list[tuple[str, str]]:
    hints = []
    for path in HINT_FILES:
        if path.is_file():
            for args in PIP_INSTALL.findall(path.read_text(errors="replace")):
                hints += [(str(path.relative_to(ROOT)), req) for req in _requirements(args)]
    return hints


def test_pyproject_builds_the_distribution_and_its_extras_refer_to_it():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION
    self_refs = [r for reqs in project["optional-dependencies"].values() for r in reqs if r.startswith("llmtrace")]
    assert self_refs and all(r.startswith(f"{DISTRIBUTION}[") for r in self_refs), self_refs


def _name(requirement: str) -> str:
    return requirement.split("[")[0].strip("'\"")


def test_every_install_hint_names_the_distribution_or_a_checkout():
    hints = _hints()
    ours = [(where, req) for where, req in hints if req.startswith(".") or PROJECT_NAME.match(_name(req))]
    wrong = [(where, req) for where, req in ours if not (req.startswith(".") or _name(req) == DISTRIBUTION)]
    assert not wrong, f"install hints that do not name {DISTRIBUTION} or a checkout: {wrong}"
    assert any(_name(req) == DISTRIBUTION for where, req in hints if where == "README.md"), "README names no release"
    assert any(req.startswith(".") for where, req in hints if where == "README.md"), "README says no checkout install"


STRANGERS = ["pip install 'llmtrace[openai]'", "pip install -q llmtrace", "pip3 install llmtracer"]


@pytest.mark.parametrize("text", STRANGERS)
def test_hint_check_catches_a_stranger_s_name(text: str):
    (req,) = _requirements(PIP_INSTALL.findall(text)[0])
    assert PROJECT_NAME.match(_name(req)) and _name(req) != DISTRIBUTION


def test_installed_metadata_is_the_distribution():
    """The venv's llmtrace comes from this distribution (its instrumentors are its entry points)."""
    entry_points = importlib.metadata.distribution(DISTRIBUTION).entry_points
    assert {ep.name for ep in entry_points if ep.group == "opentelemetry_instrumentor"} >= {"llmtrace_openai"}
    assert install_hint("cli") == f"pip install '{DISTRIBUTION}[cli]'"


def test_console_script_hint_names_the_distribution():
    """The `llmtrace` command without the cli extra says what to install (tests/core/test_console.py runs it)."""
    import inspect

    from llmtrace import _console

    # the hint comes from install_hint (named after DISTRIBUTION), not from the installed metadata: a stale
    # pre-rename install must not make it name the stranger's package
    assert 'install_hint("cli")' in inspect.getsource(_console.main)
