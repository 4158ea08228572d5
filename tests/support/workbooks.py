"""Reading back an .xlsx workbook an export wrote (with openpyxl, an independent reader)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import openpyxl

# OOXML writes characters XML cannot hold (controls, a lone CR) as _xHHHH_, and a literal
# "_xHHHH_" as "_x005F_xHHHH_"; Excel and LibreOffice decode them, openpyxl leaves them as is.
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def ooxml_text(value: str) -> str:
    return _ESCAPE.sub(lambda match: chr(int(match[1], 16)), value)


def read_sheets(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet's rows (the header first), values as openpyxl reads them, text decoded."""
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return {
            sheet.title: [
                tuple(ooxml_text(v) if isinstance(v, str) else v for v in row)
                for row in sheet.iter_rows(values_only=True)
            ]
            for sheet in book.worksheets
        }
    finally:
        book.close()


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of every sheet, in order, as dictionaries keyed by the first sheet's header."""
    rows: list[dict[str, Any]] = []
    for values in read_sheets(path).values():
        header = values[0]
        rows += [dict(zip(header, row, strict=False)) for row in values[1:]]
    return rows


def cell_types(path: Path) -> set[str]:
    """Every data type openpyxl sees in the workbook's cells ('f' would be a formula)."""
    book = openpyxl.load_workbook(path)  # not read-only: it tells formulas apart
    try:
        return {
            cell.data_type for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
        }
    finally:
        book.close()
