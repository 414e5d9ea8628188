"""The package's import structure: no cycles (module-level or deferred), every module importable alone, and the
public surface exactly ``__all__``."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import llmtrace

PACKAGE = Path(llmtrace.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> set[str]:
    """Package modules ``module`` imports anywhere (module level or inside functions), except under TYPE_CHECKING."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in MODULES}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            submodules = {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES}
            found |= submodules
            if len(submodules) < len(node.names) and base in MODULES:
                found.add(base)  # names from the module itself (a package root: its __init__)
    return found - {module}


def test_no_import_cycles():
    graph = {module: _imports(module, path) for module, path in MODULES.items()}
    cycles = []

    def visit(node: str, path: list[str], done: set[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in path:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in done:
                visit(nxt, [*path, nxt], done)
        done.add(node)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module], done)
    assert cycles == []


def _import_alone(module: str) -> tuple[str, str]:
    out = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)
    return module, out.stderr[-2000:] if out.returncode else ""


@pytest.mark.timeout(600)
def test_every_module_imports_alone_in_a_fresh_interpreter():
    with ThreadPoolExecutor(4) as pool:
        failures = {m: err for m, err in pool.map(_import_alone, sorted(MODULES)) if err}
    assert failures == {}


@pytest.mark.parametrize("package", ["llmtrace", "llmtrace.cli"])
def test_public_names_are_exactly_all(package):
    module = importlib.import_module(package)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(module.__all__) - {"__version__"}
    assert module.__all__ == sorted(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None
