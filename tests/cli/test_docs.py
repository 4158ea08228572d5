"""The README must keep up with the code: every command, column and exit code is documented."""

from __future__ import annotations

import re
from pathlib import Path

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


@pytest.mark.parametrize("command", ["tickets", "customers"])
def test_repair_help_says_an_interrupted_export_s_tail_is_still_cut(command: str) -> None:
    """Review rel12 D4: --repair keeps what was added to a *finished* export; after an
    interrupted one, the bytes past its checkpoint are the crash's unsaved rows, cut as always."""
    result = run_cli(None, command, "--help", env={"COLUMNS": "200"})
    words = " ".join(result.stdout.split("--repair", 1)[1].replace("│", " ").split())
    assert "finished export" in words and "interrupted export" in words
    assert "cut back as without --repair" in words and "CSV and JSONL files only" in words


# The README is for users: at most about 350 lines (issue 10), the detail in docs/.
README_MAX_LINES = 350
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def _prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks, their code spans blanked (a link there is text)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(_CODE_SPAN.sub(lambda m: "`" + "x" * (len(m.group(0)) - 2) + "`", line))
    return lines


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := _HEADING.match(line)):
            slug, n = github_slug(match.group(1)), 1
            while slug in found:  # GitHub numbers a repeated heading's anchor: x, x-1, x-2
                slug, n = f"{github_slug(match.group(1))}-{n}", n + 1
            found.add(slug)
    return found


def relative_links(path: Path) -> list[str]:
    prose = "\n".join(_prose_lines(path.read_text(encoding="utf-8")))
    links = [match.group(1) for match in _LINK.finditer(prose)]  # a link's text may wrap
    return [link for link in links if not re.match(r"^[a-z][a-z0-9+.-]*:", link)]  # no URLs


def broken_links(doc: Path) -> list[str]:
    broken = []
    for link in relative_links(doc):
        target, _, anchor = link.partition("#")
        file = (doc.parent / target).resolve() if target else doc
        if not file.exists():
            broken.append(f"{link}: no file {file}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{link}: no heading #{anchor} in {file.name}")
    return broken


def test_the_readme_is_at_most_350_lines() -> None:
    assert len(README.splitlines()) <= README_MAX_LINES, "move detail to a page of docs/"


def test_slugs_follow_github_s_rules(tmp_path: Path) -> None:
    assert github_slug("One row per ticket: `--per ticket`") == "one-row-per-ticket---per-ticket"
    assert github_slug("Spreadsheets: `.xlsx`") == "spreadsheets-xlsx"
    assert github_slug("`get`: any other endpoint") == "get-any-other-endpoint"
    page = tmp_path / "page.md"
    page.write_text("# Notes\n\n## Tests\n\n```sh\n# not a heading\n```\n\n### Tests\n")
    assert anchors(page) == {"notes", "tests", "tests-1"}


def test_the_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    (tmp_path / "here.md").write_text("## Here\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](here.md#here) [gone](there.md) [no heading](here.md#nowhere) [web](https://x.y)\n"
        "[self](#top) `[in code](nothing.md)` [a wrapped\ntext](here.md#there)\n"
    )
    links = ["here.md#here", "there.md", "here.md#nowhere", "#top", "here.md#there"]
    assert relative_links(page) == links
    assert [problem.split(":")[0] for problem in broken_links(page)] == [
        "there.md",
        "here.md#nowhere",
        "#top",
        "here.md#there",
    ]


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.relative_to(REPO).as_posix())
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(doc: Path) -> None:
    assert not broken_links(doc)


def test_the_link_check_sees_the_readme_s_links() -> None:
    """Guard against a parser that finds nothing and so passes everything."""
    links = relative_links(REPO / "README.md")
    assert "docs/ticket-summary.md" in links and "#output-columns" in links
    assert not any(link.startswith("http") for link in links)
