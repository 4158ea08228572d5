"""The architecture rules of issue 10, kept: small modules, thin commands, typer and rich only in
the CLI layer, and the simulator apart from the product (not in its wheel, sharing no code)."""

from __future__ import annotations

import ast
import fnmatch
import inspect
import os
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gorgias_export.cli.app import app

REPO = Path(__file__).resolve().parents[1]
PRODUCT = REPO / "gorgias_export"
SIMULATOR = REPO / "gorgias_sim"
MAX_MODULE_LINES = 400
MAX_COMMAND_BODY_LINES = 25
CLI_ONLY = ("typer", "rich", "click")  # click comes with typer; the CLI layer's too


def _modules(package: Path) -> list[Path]:
    return sorted(package.rglob("*.py"))


def _imported(path: Path) -> Iterator[tuple[str, int]]:
    """Every module `path` imports (absolute names; relative ones resolved), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from . import x: relative to this module's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                yield ".".join([*base, *([node.module] if node.module else [])]), node.lineno
            else:
                yield node.module or "", node.lineno


def _where(path: Path, line: int | None = None) -> str:
    return f"{path.relative_to(REPO)}" + (f":{line}" if line else "")


def test_the_package_is_where_these_rules_look() -> None:
    assert len(_modules(PRODUCT)) > 50 and (PRODUCT / "cli" / "app.py").is_file()
    assert len(_modules(SIMULATOR)) > 20


def test_no_module_is_over_400_lines() -> None:
    sizes = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in _modules(PRODUCT)}
    over = [
        f"{_where(path)} ({lines} lines)"
        for path, lines in sizes.items()
        if lines > MAX_MODULE_LINES
    ]
    assert not over, (
        f"over {MAX_MODULE_LINES} lines: {', '.join(over)}; split each along its jobs and add "
        "the new modules to docs/architecture.md's module map"
    )


def _body_lines(command: Any) -> tuple[int, str]:
    """How many lines the body of a command's function spans (its nested plan and work
    included, its docstring not), and where it is."""
    function = inspect.unwrap(command)  # with_connection wraps each command
    source = textwrap.dedent(inspect.getsource(function))
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    body = node.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring: the command's --help
    assert node.end_lineno is not None
    path = Path(inspect.getsourcefile(function) or "?")
    line = inspect.getsourcelines(function)[1]
    return node.end_lineno - body[0].lineno + 1, _where(path, line)


@pytest.mark.parametrize("info", app.registered_commands, ids=lambda info: str(info.name))
def test_no_command_body_is_over_25_lines(info: Any) -> None:
    lines, where = _body_lines(info.callback)
    assert lines <= MAX_COMMAND_BODY_LINES, (
        f"the body of `gorgias-export {info.name}` ({where}) spans {lines} lines (at most "
        f"{MAX_COMMAND_BODY_LINES}): parse the flags, build a job, execute; move the rest to "
        "helpers or the job"
    )


def test_the_command_body_measure_counts_nested_functions() -> None:
    def command() -> None:
        """Help."""

        def plan() -> None:
            pass

        plan()

    assert _body_lines(command)[0] == 4


def _imports_of(paths: list[Path], forbidden: str) -> list[str]:
    """Where any of `paths` imports a module of the top-level package `forbidden`."""
    return [
        f"{_where(path, line)} imports {name}"
        for path in paths
        for name, line in _imported(path)
        if name.split(".")[0] == forbidden
    ]


def test_typer_and_rich_are_imported_only_in_the_cli_layer() -> None:
    core = [path for path in _modules(PRODUCT) if not path.is_relative_to(PRODUCT / "cli")]
    found = [where for package in CLI_ONLY for where in _imports_of(core, package)]
    assert not found, (
        f"only gorgias_export/cli/ may import {', '.join(CLI_ONLY)} (the core reports progress "
        f"through callbacks and events): {'; '.join(found)}"
    )


def test_the_product_imports_nothing_from_the_simulator() -> None:
    found = _imports_of(_modules(PRODUCT), "gorgias_sim")
    assert not found, f"the simulator is not installed with the exporter: {'; '.join(found)}"


def test_the_simulator_imports_nothing_from_the_product() -> None:
    found = _imports_of(_modules(SIMULATOR), "gorgias_export")
    assert not found, (
        f"the simulator must not share the exporter's code (or its assumptions): {'; '.join(found)}"
    )


def _candidate_packages(root: Path) -> Iterator[str]:
    """Every directory setuptools' package finder can see under `root`, as a dotted name
    (pyproject.toml's `packages.find` looks for namespace packages too: any directory whose
    name is an identifier)."""
    for directory, subdirectories, _ in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d.isidentifier())
        relative = Path(directory).relative_to(root)
        if relative.parts:
            yield ".".join(relative.parts)


def test_the_wheel_holds_the_exporter_and_not_the_simulator() -> None:
    """Read from pyproject.toml as setuptools does, without building (fast and offline)."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    assert set(setuptools) == {"packages"}, (
        f"pyproject.toml's [tool.setuptools] has {sorted(setuptools)}: this test only knows "
        "packages.find; check that the simulator stays out of the wheel and update it"
    )
    find = setuptools["packages"]["find"]
    assert set(find) <= {"include", "exclude"}, f"packages.find has {sorted(find)}: update this"
    include, exclude = find.get("include", ["*"]), find.get("exclude", [])
    packaged = [
        name
        for name in _candidate_packages(REPO)
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in include)
        and not any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude)
    ]
    assert "gorgias_export" in packaged and "gorgias_export.cli" in packaged
    strays = [
        name
        for name in packaged
        if name != "gorgias_export" and not name.startswith("gorgias_export.")
    ]
    assert not strays, f"the wheel would hold {strays}: only gorgias_export belongs in it"
    for name, target in config["project"]["scripts"].items():
        assert target.startswith("gorgias_export."), f"the script {name} runs {target}"
