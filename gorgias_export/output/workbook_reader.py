"""Reading a `tickets` .xlsx workbook back, streamed, for `verify`: each row's ticket and message
ids, across the continuation sheets, in flat memory.

Read with the standard library (zipfile, and xml.etree's iterparse, each row's element cleared
once read), not openpyxl: openpyxl is a test dependency only, and XlsxWriter only writes. What
output/workbook.py writes: the header on row 1 of every sheet; ids as number cells (`<v>`), or as
inline strings (`t="inlineStr"`) when over 15 digits; an empty cell is left out. A workbook that a
spreadsheet saved again keeps its text in the shared strings part instead (`t="s"`): of that part,
only the strings that can be ids (digits) or the wanted headers are kept, so memory stays small.

Rows are numbered across the sheets (sheet 2's first row after sheet 1's last), as one list.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError, iterparse

from gorgias_export.errors import OutputError

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_COLUMN = re.compile(r"[A-Z]+")
_ID_DIGITS = 30  # a shared string longer than this is no id: not kept

Cells = dict[str, str]  # column letters → the cell's text, of one row


def workbook_rows(path: Path, wanted: tuple[str, ...]) -> Iterator[tuple[int, list[str | None]]]:
    """(row number, the `wanted` columns' texts) for each data row of every sheet, in order;
    a sheet without those columns in its header is refused."""
    try:
        with zipfile.ZipFile(path) as book:
            shared = _shared_needed(book, wanted)
            offset = 0
            for sheet in _sheet_parts(book):
                last = 0
                letters: list[str | None] | None = None
                with book.open(sheet) as part:
                    for number, cells in _rows(part, shared):
                        last = number
                        if letters is None:
                            letters = _header(cells, wanted, path)
                            continue
                        yield offset + number, [cells.get(c) if c else None for c in letters]
                offset += last
    except (OSError, zipfile.BadZipFile, KeyError, ParseError) as exc:
        raise OutputError(
            f"Could not read {path} as an .xlsx workbook ({exc.__class__.__name__}: {exc})."
        ) from None


def _header(cells: Cells, wanted: tuple[str, ...], path: Path) -> list[str | None]:
    by_name = {text: letter for letter, text in cells.items()}
    if any(name not in by_name for name in wanted):
        raise OutputError(
            f"{path} has a sheet that does not begin with the tickets export's header."
        )
    return [by_name[name] for name in wanted]


def _sheet_parts(book: zipfile.ZipFile) -> list[str]:
    """The worksheets' part names, in the workbook's order of sheets."""
    targets: dict[str, str] = {}
    with book.open("xl/_rels/workbook.xml.rels") as rels:
        for _, element in iterparse(rels):
            if element.tag == f"{_PACKAGE_REL}Relationship":
                targets[element.get("Id", "")] = element.get("Target", "")
    parts: list[str] = []
    with book.open("xl/workbook.xml") as workbook:
        for _, element in iterparse(workbook):
            if element.tag == f"{_MAIN}sheet":
                target = targets.get(element.get(f"{_REL}id", ""), "")
                if target:
                    parts.append(_part_name(target))
    return parts


def _part_name(target: str) -> str:
    """A relationship's target, relative to xl/ or absolute from the package's root."""
    if target.startswith("/"):
        return target.lstrip("/")
    return str(PurePosixPath("xl") / target)


def _shared_needed(book: zipfile.ZipFile, wanted: tuple[str, ...]) -> dict[int, str]:
    """The shared strings that could be ids or are the wanted headers, by index (a workbook
    we wrote has none)."""
    kept: dict[int, str] = {}
    try:
        part = book.open("xl/sharedStrings.xml")
    except KeyError:
        return kept
    with part:
        index = 0
        for _, element in iterparse(part):
            if element.tag == f"{_MAIN}si":
                text = _text(element)
                digits = len(text) <= _ID_DIGITS and text.isascii() and text.isdigit()
                if digits or text in wanted:
                    kept[index] = text
                index += 1
                element.clear()
    return kept


def _rows(part: IO[bytes], shared: dict[int, str]) -> Iterator[tuple[int, Cells]]:
    """Each `<row>` of a sheet: its number and its cells' texts; gone from the tree once read
    (the parser keeps adding rows to `<sheetData>`: emptied after each, memory stays flat)."""
    number = 0
    holder: Element | None = None
    for event, element in iterparse(part, events=("start", "end")):
        if event == "start":
            if element.tag == f"{_MAIN}sheetData":
                holder = element
            continue
        if element.tag != f"{_MAIN}row":
            continue
        number = int(element.get("r") or number + 1)
        cells: Cells = {}
        for cell in element.iter(f"{_MAIN}c"):
            found = _COLUMN.match(cell.get("r", ""))
            value = _cell_text(cell, shared)
            if found and value is not None:
                cells[found.group()] = value
        yield number, cells
        element.clear()
        if holder is not None:
            holder.clear()


def _cell_text(cell: Element, shared: dict[int, str]) -> str | None:
    kind = cell.get("t")
    if kind == "inlineStr":
        inline = cell.find(f"{_MAIN}is")
        return None if inline is None else _text(inline)
    value = cell.find(f"{_MAIN}v")
    if value is None or value.text is None:
        return None
    if kind == "s":
        index: Any = value.text
        return shared.get(int(index), "?") if index.isdigit() else "?"
    return value.text


def _text(element: Element) -> str:
    """A string item's text: its `<t>` runs."""
    return "".join(t.text or "" for t in element.iter(f"{_MAIN}t"))
