"""Reading back an .xlsx workbook an export wrote (with openpyxl, an independent reader)."""

from __future__ import annotations

import re
import zipfile
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
    return read_workbook(path)[0]


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of every sheet, in order, as dictionaries keyed by the header."""
    return rows_of(read_sheets(path))


def rows_of(sheets: dict[str, list[tuple[Any, ...]]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for values in sheets.values():
        header = values[0]
        rows += [dict(zip(header, row, strict=False)) for row in values[1:]]
    return rows


def read_workbook(path: Path) -> tuple[dict[str, list[tuple[Any, ...]]], set[str]]:
    """Every sheet's rows, and every data type openpyxl saw in a cell ('f': a formula)."""
    book = openpyxl.load_workbook(path, read_only=True)
    types: set[str] = set()
    sheets: dict[str, list[tuple[Any, ...]]] = {}
    try:
        for sheet in book.worksheets:
            rows = sheets[sheet.title] = []
            for cells in sheet.iter_rows():
                types.update(cell.data_type for cell in cells if cell.value is not None)
                rows.append(tuple(_decoded(cell.value) for cell in cells))
    finally:
        book.close()
    return sheets, types


def _decoded(value: Any) -> Any:
    return ooxml_text(value) if isinstance(value, str) else value


def cell_types(path: Path) -> set[str]:
    """Every data type openpyxl sees in the workbook's cells ('f' would be a formula)."""
    return read_workbook(path)[1]


def sheets_xml(path: Path) -> dict[str, bytes]:
    """The XML of each worksheet: equal for workbooks with the same rows (cheaper to compare
    than reading them: only the document's dates differ between two runs)."""
    with zipfile.ZipFile(path) as archive:
        return {
            name: archive.read(name)
            for name in archive.namelist()
            if name.startswith("xl/worksheets/") and name.endswith(".xml")
        }
