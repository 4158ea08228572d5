"""`--out x.xlsx`: the simulator's hostile data in a workbook, read back with openpyxl (and with
LibreOffice when it is installed), checked cell by cell against the CSV export of the same data."""

from __future__ import annotations

import csv
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from gorgias_export.errors import ExitCode
from gorgias_export.output import workbook
from gorgias_sim import Simulator
from tests.support.cli import assert_one_line_error, interrupt_at_request, run_cli, run_ok
from tests.support.outputs import read_csv
from tests.support.simulator import SimSpec
from tests.support.workbooks import read_rows, read_sheets, read_workbook, rows_of, sheets_xml

# 60 tickets carry every hostile case of the simulator (a 200 KB body, formulas, SMS numbers).
pytestmark = pytest.mark.sim(seed=2, tickets=60)
CUT = "… [cut: "
UTC_HEADER = " (UTC)"


@dataclass
class Exports:
    """One export of each kind, .xlsx and .csv, of one account; each workbook read once."""

    folder: Path
    read: dict[str, tuple[list[dict[str, Any]], set[str]]] = field(default_factory=dict)

    def workbook(self, command: str) -> tuple[list[dict[str, Any]], set[str]]:
        """The rows of `command`'s workbook, and the data types of its cells."""
        if command not in self.read:
            sheets, types = read_workbook(self.folder / f"{command}.xlsx")
            self.read[command] = rows_of(sheets), types
        return self.read[command]

    def csv(self, command: str) -> list[dict[str, str]]:
        return read_csv(self.folder / f"{command}.csv")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exports]:
    folder = tmp_path_factory.mktemp("hostile")
    with SimSpec.from_options({"seed": 2, "tickets": 60}).build() as sim:
        for command in ("tickets", "customers", "tags", "macros", "voice-calls"):
            for ext in ("xlsx", "csv"):
                run_ok(sim, command, "--out", str(folder / f"{command}.{ext}"))
    yield Exports(folder)


def _same(column: str, in_csv: str, in_xlsx: Any) -> bool:
    """Whether a workbook cell holds what the CSV cell holds: the same text, the same number,
    the same instant (a spreadsheet keeps milliseconds), or the text cut at the cell's limit."""
    if in_xlsx is None:
        return in_csv == ""
    if isinstance(in_xlsx, datetime):
        sent = datetime.fromisoformat(in_csv).astimezone(UTC).replace(tzinfo=None)
        return column.endswith(UTC_HEADER) and abs(sent - in_xlsx) < timedelta(milliseconds=1)
    if isinstance(in_xlsx, int | float):
        return float(in_csv) == in_xlsx and in_csv.lstrip("-").isdigit() == isinstance(in_xlsx, int)
    if CUT in in_xlsx:
        kept = in_xlsx.split(CUT)[0]
        return len(in_csv) > workbook.CELL_CHARS // 2 and in_csv.startswith(kept)
    return bool(in_csv == in_xlsx)


def _assert_same_rows(csv_rows: list[dict[str, str]], xlsx_rows: list[dict[str, Any]]) -> None:
    for in_csv, in_xlsx in zip(csv_rows, xlsx_rows, strict=True):
        for column, value in in_xlsx.items():
            name = column.removesuffix(UTC_HEADER)
            assert _same(column, in_csv[name], value), (name, in_csv[name], value)


def _by_key(rows: list[dict[str, str]], *key: str) -> dict[tuple[str, ...], dict[str, str]]:
    """The last row of each key (a CSV's current version of a changed row)."""
    return {tuple(row[k] for k in key): row for row in rows}


def _xlsx_key(row: dict[str, Any], *key: str) -> tuple[str, ...]:
    return tuple("" if row[k] is None else str(row[k]) for k in key)


def test_conversation_rows_hold_every_hostile_string_and_no_formula(hostile: Exports) -> None:
    xlsx_rows, types = hostile.workbook("tickets")
    csv_rows = hostile.csv("tickets")
    assert len(xlsx_rows) == len(csv_rows) > 300
    csv_by_id = _by_key(csv_rows, "ticket_id", "message_id")
    _assert_same_rows(
        [csv_by_id[_xlsx_key(row, "ticket_id", "message_id")] for row in xlsx_rows], xlsx_rows
    )
    assert types == {"s", "n", "d"}  # no "f": not one formula
    bodies = [row["body"] for row in xlsx_rows if row["body"]]
    assert '=HYPERLINK("http://evil.example/?x=1","click me")' in bodies
    assert "=1+2" in bodies
    assert sum(CUT in body for body in bodies) >= 1  # the 200 KB body, cut with the marker
    phones = [row["message_sender_email"] for row in xlsx_rows]
    assert any(isinstance(p, str) and p.startswith("+1555") for p in phones)  # SMS senders
    assert isinstance(xlsx_rows[0]["ticket_created_datetime (UTC)"], datetime)


def test_conversation_rows_are_in_ticket_then_message_order(hostile: Exports) -> None:
    rows, _ = hostile.workbook("tickets")

    def order(row: dict[str, Any]) -> tuple[Any, ...]:
        message = row["message_created_datetime (UTC)"]
        return (
            row["ticket_created_datetime (UTC)"],
            row["ticket_id"],
            message is not None,
            message or datetime.min,
            row["message_id"] or 0,
        )

    assert [order(row) for row in rows] == sorted(order(row) for row in rows)


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        ("customers", None),
        ("tags", "=SUM(A1:A9)"),
        ("macros", '=HYPERLINK("http://evil.example")'),
        ("voice-calls", "+1720555"),
    ],
)
def test_entity_rows_are_the_current_csv_rows(
    hostile: Exports, command: str, needle: str | None
) -> None:
    xlsx_rows, types = hostile.workbook(command)
    csv_by_id = _by_key(hostile.csv(command), "id")
    assert len(xlsx_rows) == len(csv_by_id) > 0  # one row per id
    _assert_same_rows([csv_by_id[_xlsx_key(row, "id")] for row in xlsx_rows], xlsx_rows)
    assert types <= {"s", "n", "d"}
    if needle is not None:
        texts = [v for row in xlsx_rows for v in row.values() if isinstance(v, str)]
        assert any(text.startswith(needle) for text in texts)


def test_the_workbook_is_readable_by_libreoffice(hostile: Exports, tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip(
            "LibreOffice is not installed (apt-get install libreoffice-calc-nogui); "
            "the openpyxl tests still ran"
        )
    source = hostile.folder / "tickets.xlsx"
    profile = tmp_path / "profile"  # its own profile: no lock shared with another run
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1",  # comma, quote, UTF-8, from line 1
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with (tmp_path / "tickets.csv").open(newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    rows, _ = hostile.workbook("tickets")
    assert len(lines) == len(rows) + 1
    assert lines[0][0] == "ticket_id"
    cells = {cell for line in lines for cell in line}
    assert '=HYPERLINK("http://evil.example/?x=1","click me")' in cells  # text, not run
    assert any(cell.startswith("+1555") for cell in cells)
    assert "Thanks so much!! 🙏😀 👩‍💻 is on it 👨‍👩‍👧‍👦 🇫🇷🇯🇵 🏳️‍🌈 👍🏽" in cells


@pytest.mark.sim(seed=2, tickets=15)  # small: this test is about files, not data
def test_a_rerun_adds_changes_without_duplicates(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    run_ok(sim, "tickets", "--out", str(out))
    ticket = sim.dataset.tickets[5]
    sim.dataset.add_message(ticket["id"])
    sim.dataset.update_ticket(ticket["id"], status="closed")
    sim.dataset.add_ticket(messages=2)
    run_ok(sim, "tickets", "--out", str(out))
    fresh = tmp_path / "fresh.xlsx"
    run_ok(sim, "tickets", "--out", str(fresh))
    assert sheets_xml(out) == sheets_xml(fresh)


@pytest.mark.sim(seed=2, tickets=15)  # small: this test is about files, not data
def test_kill_9_mid_run_then_rerun_gives_the_clean_workbook(sim: Simulator, tmp_path: Path) -> None:
    clean = tmp_path / "clean.xlsx"
    run_ok(sim, "tickets", "--out", str(clean))
    out = tmp_path / "t.xlsx"
    killed = interrupt_at_request(sim, out, 4)  # pages 1-3 are committed in the store
    assert killed.returncode == -signal.SIGKILL
    assert not out.exists()  # the workbook comes at the end
    run_ok(sim, "tickets", "--out", str(out))
    assert sheets_xml(out) == sheets_xml(clean)


class _Killed(KeyboardInterrupt):
    """Stands for a kill at that very moment: nothing after it runs (Ctrl-C cleans up nothing
    on this path: the store keeps what it committed, exactly as after kill -9)."""


@pytest.mark.sim(seed=2, tickets=15)  # small: this test is about files, not data
@pytest.mark.parametrize("moment", ["writing", "renaming"])
def test_an_interrupted_publish_leaves_the_old_workbook_then_a_rerun_the_new(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    out = tmp_path / "t.xlsx"
    run_ok(sim, "tickets", "--out", str(out))
    old = out.read_bytes()
    sim.dataset.add_ticket(messages=3)
    from gorgias_export.jobs import xlsx_target

    if moment == "writing":

        def half_written(path: Path, *args: object, **kwargs: object) -> int:
            path.write_bytes(old[: len(old) // 2])
            raise _Killed

        monkeypatch.setattr(xlsx_target, "write_workbook", half_written)
    else:

        def no_rename(*args: object) -> None:
            raise _Killed

        monkeypatch.setattr(xlsx_target.os, "replace", no_rename)
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == ExitCode.INTERRUPTED
    assert out.read_bytes() == old
    monkeypatch.undo()
    run_ok(sim, "tickets", "--out", str(out))
    fresh = tmp_path / "fresh.xlsx"
    run_ok(sim, "tickets", "--out", str(fresh))
    assert sheets_xml(out) == sheets_xml(fresh)
    assert not (tmp_path / "t.xlsx.partial").exists()


def test_a_foreign_file_is_refused_and_left_as_it_was(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "budget.xlsx"
    theirs = openpyxl.Workbook()
    theirs.active["A1"] = "my precious budget"
    theirs.save(out)
    before = out.read_bytes()
    result = run_cli(sim, "tickets", "--out", str(out))
    assert "--fresh" not in assert_one_line_error(result, ExitCode.CONFLICT)
    result = run_cli(sim, "customers", "--out", str(out), "--fresh")
    assert "--overwrite" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert out.read_bytes() == before
    run_ok(sim, "customers", "--out", str(out), "--fresh", "--overwrite")
    assert read_sheets(out)["customers"][0][0] == "id"


def test_an_edited_workbook_is_not_overwritten(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    run_ok(sim, "tags", "--out", str(out))
    edited = openpyxl.load_workbook(out)
    edited.active["B2"] = "my note"
    edited.save(out)
    before = out.read_bytes()
    result = run_cli(sim, "tags", "--out", str(out))
    assert "edited" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert out.read_bytes() == before


def test_our_workbook_without_its_store_needs_fresh(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    run_ok(sim, "tags", "--out", str(out))
    (tmp_path / "t.xlsx.rows.sqlite").unlink()
    result = run_cli(sim, "tags", "--out", str(out))
    assert "--fresh" in assert_one_line_error(result, ExitCode.CONFLICT)
    run_ok(sim, "tags", "--out", str(out), "--fresh")
    assert len(read_rows(out)) == len(sim.dataset.entities.config["tags"].items)


def test_rows_past_a_sheet_continue_on_the_next(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = tmp_path / "whole.xlsx"
    run_ok(sim, "customers", "--out", str(whole))
    monkeypatch.setattr(workbook, "SHEET_ROWS", 11)  # 10 rows and the header
    split = tmp_path / "split.xlsx"
    run_ok(sim, "customers", "--out", str(split))
    sheets = read_sheets(split)
    rows = read_rows(whole)
    assert list(sheets)[:3] == ["customers", "customers (2)", "customers (3)"]
    assert len(sheets) == -(-len(rows) // 10) > 3
    assert all(len(values) == 11 for values in list(sheets.values())[:-1])
    assert rows_of(sheets) == rows


def test_without_xlsxwriter_one_line_says_what_to_install(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "xlsxwriter", None)  # import fails as if not installed
    result = run_cli(sim, "tickets", "--out", str(tmp_path / "t.xlsx"))
    assert "pip install" in assert_one_line_error(result, ExitCode.CONFIG)
    assert sim.requests == []  # refused before any request


def test_stdout_refuses_xlsx(sim: Simulator) -> None:
    result = run_cli(sim, "tickets", "--out", "-", "--format", "xlsx")
    assert "file" in assert_one_line_error(result, ExitCode.USAGE)


@pytest.mark.sim(seed=2, tickets=15)  # small: this test is about files, not data
def test_all_writes_a_workbook_per_entity(sim: Simulator, tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    run_ok(sim, "all", "--out-dir", str(backup), "--format", "xlsx")
    books = sorted(path.name for path in backup.glob("*.xlsx"))
    assert len(books) == 19 and "tickets.xlsx" in books
    tags = read_rows(backup / "tags.xlsx")
    assert len(tags) == len(sim.dataset.entities.config["tags"].items)
    before = sheets_xml(backup / "tickets.xlsx")
    run_ok(sim, "all", "--out-dir", str(backup), "--format", "xlsx")  # a rerun: the same rows
    assert sheets_xml(backup / "tickets.xlsx") == before
    (backup / "jobs.xlsx").write_bytes(b"someone else's file")
    sim.reset_stats()
    result = run_cli(sim, "all", "--out-dir", str(backup), "--format", "xlsx")
    assert "jobs.xlsx" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert sim.requests == []  # refused before the first entity's requests


def test_one_row_per_ticket_in_a_workbook_is_the_csv_summary(
    sim: Simulator, tmp_path: Path
) -> None:
    book, text = tmp_path / "summary.xlsx", tmp_path / "summary.csv"
    run_ok(sim, "tickets", "--per", "ticket", "--out", str(book))
    run_ok(sim, "tickets", "--per", "ticket", "--out", str(text))
    sheets, types = read_workbook(book)
    xlsx_rows = rows_of(sheets)
    csv_by_id = _by_key(read_csv(text), "ticket_id")
    assert len(xlsx_rows) == len(csv_by_id) == len(sim.dataset.tickets)
    _assert_same_rows([csv_by_id[_xlsx_key(row, "ticket_id")] for row in xlsx_rows], xlsx_rows)
    assert types <= {"s", "n", "d"}
    created = [row["created_datetime (UTC)"] for row in xlsx_rows]
    assert created == sorted(created)


def test_verify_refuses_a_workbook_no_store_vouches_for(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    out.write_bytes(b"PK")  # no t.xlsx.rows.sqlite beside it: refused before reading it
    result = run_cli(sim, "verify", str(out))
    assert "is not a gorgias-export tickets export" in assert_one_line_error(
        result, ExitCode.CONFLICT
    )
