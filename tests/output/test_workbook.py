"""The .xlsx writer on its own: what each value becomes in a cell, long text, many rows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from gorgias_export.errors import OutputError
from gorgias_export.output.workbook import CELL_CHARS, Sheet, cut_text, write_workbook
from tests.support.workbooks import cell_types, read_sheets


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_text_up_to_the_cell_limit_is_kept_whole() -> None:
    text = "é" * CELL_CHARS
    assert cut_text(text) == text
    emoji = "👍" * (CELL_CHARS // 2)  # two UTF-16 units each: exactly full
    assert cut_text(emoji) == emoji


@pytest.mark.parametrize("unit", ["a", "日", "👩‍💻"])
def test_longer_text_is_cut_with_a_marker_saying_how_much(unit: str) -> None:
    text = unit * 50_000
    cut = cut_text(text)
    assert _units(cut) <= CELL_CHARS
    kept, marker = cut.split("… [cut: ")
    assert text.startswith(kept) and _units(kept) > CELL_CHARS - 100  # nearly all of a cell
    assert marker == f"{len(text) - len(kept):,} characters; full text in JSONL or SQLite]"


HOSTILE = (
    '=HYPERLINK("http://evil.example/?x=1","click me")',
    "=1+2",
    "+33612345678",
    "+1 (555) 010-9999",
    "00123",
    "-42",
    "@SUM(A1)",
    "1e5",
    "TRUE",
    "bell\x07 backspace\x08 esc\x1b[31m",
    "a _x0041_ b",
    "CR\r\nLF\rlone",
    "zero\u200bwidth, bom\ufeff, line\u2028sep",
    "👩‍💻 🇫🇷 🏳️‍🌈",
)


def test_every_value_is_text_or_a_number_never_a_formula(tmp_path: Path) -> None:
    columns = ("id", "text", "count", "flag", "tags", "created_datetime")
    rows = [
        (i, text, 12_345_678_901_234_567, i % 2 == 0, ["vip", "=x"], "2024-05-01T10:00:00.250Z")
        for i, text in enumerate(HOSTILE)
    ]
    out = tmp_path / "x.xlsx"
    assert write_workbook(out, Sheet("things", columns, rows), "tags") == len(HOSTILE)
    assert cell_types(out) <= {"s", "n", "d"}
    values = read_sheets(out)["things"]
    assert values[0] == ("id", "text", "count", "flag", "tags", "created_datetime (UTC)")
    for i, (row, text) in enumerate(zip(values[1:], HOSTILE, strict=True)):
        # Excel and LibreOffice keep CR LF as LF only in what they show; the cell holds it all.
        assert row == (
            i,
            text,
            "12345678901234567",  # more digits than a spreadsheet keeps: text
            "true" if i % 2 == 0 else "false",
            '["vip","=x"]',
            datetime(2024, 5, 1, 10, 0, 0, 250_000),
        )


def test_numbers_that_fit_are_numbers_and_unreadable_dates_stay_text(tmp_path: Path) -> None:
    columns = ("id", "score", "sent_datetime")
    rows = [
        (999_999_999_999_999, 4.5, "not a date"),
        (None, None, None),
        (-7, float("nan"), "1850-01-01T00:00:00Z"),
    ]
    out = tmp_path / "x.xlsx"
    write_workbook(out, Sheet("s", columns, rows), "s")
    assert read_sheets(out)["s"][1:] == [
        (999_999_999_999_999, 4.5, "not a date"),
        (None, None, None),
        (-7, "nan", "1850-01-01T00:00:00Z"),  # before 1900: no date cell can hold it
    ]


def test_rows_past_a_sheet_continue_on_the_next_with_the_header(tmp_path: Path) -> None:
    out = tmp_path / "x.xlsx"
    rows = [(n, f"row {n}") for n in range(7)]
    assert write_workbook(out, Sheet("tickets", ("id", "text"), rows), "t", rows_per_sheet=3) == 7
    sheets = read_sheets(out)
    assert list(sheets) == ["tickets", "tickets (2)", "tickets (3)"]
    assert [len(values) for values in sheets.values()] == [4, 4, 2]
    assert all(values[0] == ("id", "text") for values in sheets.values())
    assert [row for values in sheets.values() for row in values[1:]] == rows


def test_a_frozen_filterable_header_and_widths(tmp_path: Path) -> None:
    out = tmp_path / "x.xlsx"
    rows = [(1, "short", "x" * 500, "2024-01-01T00:00:00Z")]
    write_workbook(out, Sheet("s", ("id", "name", "body", "created_datetime"), rows), "s")
    sheet = openpyxl.load_workbook(out)["s"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:D2"
    widths = {key: dim.width for key, dim in sheet.column_dimensions.items()}
    assert widths["C"] <= 61 and widths["B"] < widths["C"] and widths["D"] >= 20


def test_a_workbook_that_cannot_be_written_is_an_output_error(tmp_path: Path) -> None:
    blocked = tmp_path / "x.xlsx"
    blocked.mkdir()  # a directory where the file should go
    with pytest.raises(OutputError, match="Could not write the workbook"):
        write_workbook(blocked, Sheet("s", ("id",), [(1,)]), "s")


def test_xlsxwriter_temporary_files_left_by_a_killed_run_go_at_the_next(tmp_path: Path) -> None:
    """XlsxWriter's temporary files live in `<out>.xlsxtmp/`, whose leftovers (a killed run's)
    the next write removes: only names XlsxWriter makes there; nothing else is touched."""
    out = tmp_path / "t.xlsx"
    scratch = tmp_path / "t.xlsx.xlsxtmp"
    scratch.mkdir()
    (scratch / "tmpab_c1234").write_bytes(b"x" * 100)  # a killed run's sheet rows
    (tmp_path / "tmpzz_z9999").write_text("not XlsxWriter's: beside the output")
    rows = [(n, "text") for n in range(50)]
    write_workbook(out, Sheet("s", ("id", "name"), rows), "s")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.xlsx", "tmpzz_z9999"]
    (scratch).mkdir()
    (scratch / "tmpab_c1234").write_bytes(b"x")
    (scratch / "my notes.txt").write_text("kept")
    write_workbook(out, Sheet("s", ("id", "name"), rows), "s")
    assert [p.name for p in scratch.iterdir()] == ["my notes.txt"]
    assert len(read_sheets(out)["s"]) == 51
