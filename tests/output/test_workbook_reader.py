"""Reading a workbook's id columns back without openpyxl (output/workbook_reader.py): inline
strings and numbers as our writer writes them, and shared strings as a spreadsheet's re-save
writes them; sparse rows; a sheet without the header refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import xlsxwriter

from gorgias_export.errors import OutputError
from gorgias_export.output.workbook_reader import workbook_rows

WANTED = ("ticket_id", "message_id")
LONG = "12345678901234567890"  # over 15 digits: written as text


def _book(path: Path, constant_memory: bool, sheets: list[list[list[object]]]) -> None:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": constant_memory})
    for rows in sheets:
        sheet = book.add_worksheet()
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                if isinstance(value, str):
                    sheet.write_string(r, c, value)
                elif value is not None:
                    sheet.write_number(r, c, value)
    book.close()


@pytest.mark.parametrize("constant_memory", [True, False])  # inline strings, shared strings
def test_ids_come_back_across_sheets(tmp_path: Path, constant_memory: bool) -> None:
    out = tmp_path / "b.xlsx"
    header = ["subject", "message_id", "ticket_id"]
    _book(
        out,
        constant_memory,
        [
            [header, ["hi", 7, 1], ["no messages", None, 2]],
            [header, ["long", LONG, 3], ["bad", "x", 4]],
        ],
    )
    rows = list(workbook_rows(out, WANTED))
    # Of the shared strings, only those that can be ids are kept: "x" comes back as "?", no
    # id either way (verify counts the row as unreadable).
    not_an_id = "x" if constant_memory else "?"
    assert rows == [
        (2, ["1", "7"]),
        (3, ["2", None]),
        (5, ["3", LONG]),  # numbered across the sheets: sheet 2's row 2 follows sheet 1's 3
        (6, ["4", not_an_id]),
    ]


def test_a_sheet_without_the_header_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "b.xlsx"
    _book(out, True, [[["ticket_id", "message_id"], [1, 2]], [["something", "else"]]])
    with pytest.raises(OutputError, match="does not begin with the tickets export's header"):
        list(workbook_rows(out, WANTED))


def test_a_file_that_is_no_workbook_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "b.xlsx"
    out.write_text("ticket_id,message_id\n", encoding="utf-8")
    with pytest.raises(OutputError, match=r"as an \.xlsx workbook"):
        list(workbook_rows(out, WANTED))
