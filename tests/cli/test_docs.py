"""The README must keep up with the code: every command, column and exit code is documented."""

from __future__ import annotations

import pytest
import typer.main

from gorgias_export.cli.app import app
from gorgias_export.entity_types import Entity
from gorgias_export.errors import ExitCode
from gorgias_export.resources import ENTITIES
from gorgias_export.rows import CONVERSATION_COLUMNS
from tests.support.cli import REPO, run_cli

README = (REPO / "README.md").read_text(encoding="utf-8")
# The configuration lists and the commands added for issue 11 share one README table; their
# sections, with the columns, are in docs/entities.md.
ENTITY_NOTES = (REPO / "docs" / "entities.md").read_text(encoding="utf-8")
SHARED_TABLE = README.split("### Configuration, phone calls, jobs")[1].split("\n### ")[0]


def _readme_section(command: str) -> str | None:
    heading = f"### `gorgias-export {command}`"
    return README.split(heading)[1].split("\n### ")[0] if heading in README else None


COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_and_a_readme_section(command: str) -> None:
    result = run_cli(None, command, "--help")
    assert result.exit_code == 0 and "Example: gorgias-export" in result.stdout
    if _readme_section(command) is None:
        assert f"`{command}`" in SHARED_TABLE.split("| rerun |")[1]  # a row of the table
        assert f"### `{command}`" in ENTITY_NOTES


@pytest.mark.parametrize("column", CONVERSATION_COLUMNS)
def test_every_column_is_documented(column: str) -> None:
    assert f"`{column}`" in README


@pytest.mark.parametrize("code", list(ExitCode))
def test_every_exit_code_is_documented(code: ExitCode) -> None:
    assert f"| {int(code)} |" in README


def test_version() -> None:
    result = run_cli(None, "--version")
    assert result.exit_code == 0 and result.stdout.startswith("gorgias-export ")


@pytest.mark.parametrize("entity", ENTITIES, ids=lambda entity: entity.name)
def test_every_entity_column_is_documented_in_its_section(entity: Entity) -> None:
    section = _readme_section(entity.name)
    if section is None:
        section = ENTITY_NOTES.split(f"### `{entity.name}`\n")[1].split("\n### ")[0]
    for column in entity.csv_columns:
        assert f"`{column}`" in section


@pytest.mark.parametrize(
    "entity", [e for e in ENTITIES if e.lookback and e.lookback.days], ids=lambda e: e.name
)
def test_a_rerun_s_lookback_in_help_is_the_entity_s_own(entity: Entity) -> None:
    """Regression: the help of every lookback entity said "surveys ... the last 30 days"."""
    assert entity.lookback is not None
    result = run_cli(None, entity.name, "--help", env={"COLUMNS": "200"})
    assert f"the last {entity.lookback.days} days" in result.stdout


def test_get_help_names_only_the_formats_get_writes() -> None:
    """Regression (found by the review of the redesign): 0.1.0's `get --help` said "Output file
    (.jsonl or .ndjson), or - for stdout"; get now shares the entities' --out option, whose help
    offers .csv and .db/.sqlite, which get refuses (flags.jsonl_output: exit 2)."""
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["get", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    out_line = next(line for line in result.stdout.splitlines() if "-o, --out" in line)
    assert ".jsonl" in out_line and ".csv" not in out_line and "SQLite" not in out_line
