"""An .xlsx workbook written in one pass from rows, with XlsxWriter in constant-memory mode.

Why XlsxWriter: it is maintained, pure Python, and its `constant_memory` mode writes each row
to a temporary file as soon as the next one starts, so a million rows take the memory of one
(openpyxl's write-only mode is similar but slower; pandas would hold everything).

What a spreadsheet user must be able to trust, whatever the data:
- every value is a string or a number, never a formula: strings go through `write_string`
  (no type guessing), so `=HYPERLINK(...)` stays text, and so does text a spreadsheet would
  read as a number (`+33 6…`, `00123`); integers of more than 15 digits, which a spreadsheet
  would round, are written as text too;
- datetimes are date cells in UTC (the header says so), or text when they cannot be one;
- a string longer than a cell holds is cut, with a marker saying how much and where the whole
  text is;
- more rows than a sheet holds continue on the next sheet.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from gorgias_export.errors import ConfigError, OutputError
from gorgias_export.fastjson import dumps_text
from gorgias_export.output.xlsx_scratch import scratch_dir, scratch_path

SHEET_ROWS = 1_048_576  # rows in a sheet, the header's included
CELL_CHARS = 32_767  # characters in a cell, counted in UTF-16 code units
MARKER_ROOM = 80  # what the cut marker may take of them
# Integers a spreadsheet holds exactly (it keeps 15 significant digits).
EXACT_DIGITS = 15
DATETIME_SUFFIX = "_datetime"
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
# Column widths are guessed from the header and the first rows, within these bounds.
WIDTH_SAMPLE = 200
MIN_WIDTH, MAX_WIDTH, DATE_WIDTH = 6, 60, 20
# Where the workbook's owner is written (a custom document property), so that --fresh can tell
# one of our workbooks from someone else's.
MARKER_PROPERTY = "gorgias-export"
INSTALL_HINT = "pip install 'gorgias-export[xlsx]' (or pip install XlsxWriter)"


def require_xlsxwriter() -> None:
    """Refuse .xlsx output at once, before any request, when XlsxWriter is not installed."""
    try:
        import xlsxwriter  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"Writing .xlsx needs the optional XlsxWriter library; install it with {INSTALL_HINT}."
        ) from None


@dataclass(frozen=True)
class Sheet:
    """What goes in a workbook: a title (the sheet's name), the columns and the rows."""

    title: str
    columns: tuple[str, ...]
    rows: Iterable[Sequence[Any]]


def header(column: str) -> str:
    return f"{column} (UTC)" if column.endswith(DATETIME_SUFFIX) else column


def cut_text(text: str) -> str:
    """`text`, cut to what a cell holds, with a visible marker saying how much was left out."""
    if len(text) <= CELL_CHARS // 2 or _units(text) <= CELL_CHARS:
        return text
    budget = CELL_CHARS - MARKER_ROOM
    keep = budget
    excess = _units(text[:keep]) - budget
    while excess > 0:
        # A character is one or two units: dropping half the excess in characters never
        # drops more than the excess, and at least halves it (15 steps at most).
        keep -= (excess + 1) // 2
        excess = _units(text[:keep]) - budget
    cut = len(text) - keep
    return f"{text[:keep]}… [cut: {cut:,} characters; full text in JSONL or SQLite]"


def _units(text: str) -> int:
    """Length in UTF-16 code units, as a spreadsheet counts: an emoji is two."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _clean(text: str) -> str:
    """Lone surrogates (from a broken escape in the API's JSON) cannot be written as UTF-8:
    replaced, as in the CSV output."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def as_datetime(value: Any) -> datetime | None:
    """A datetime a date cell can hold (naive, in UTC, from 1900 on), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed if 1900 <= parsed.year <= 9999 else None


class _Cells:
    """Writes one value into one cell, by its type: never through XlsxWriter's guessing."""

    def __init__(self, book: Any) -> None:
        self._date = book.add_format({"num_format": DATE_FORMAT})

    def put(self, sheet: Any, row: int, col: int, value: Any, is_datetime: bool) -> None:
        kind = value.__class__
        if value is None or value == "":
            return
        if is_datetime:
            moment = as_datetime(value)
            if moment is not None:
                sheet.write_datetime(row, col, moment, self._date)
                return
        if kind is str:
            sheet.write_string(row, col, cut_text(_clean(value)))
        elif kind is bool:
            sheet.write_string(row, col, "true" if value else "false")
        elif kind is int:
            if len(str(abs(value))) <= EXACT_DIGITS:
                sheet.write_number(row, col, value)
            else:
                sheet.write_string(row, col, str(value))
        elif kind is float:
            if math.isfinite(value):
                sheet.write_number(row, col, value)
            else:
                sheet.write_string(row, col, repr(value))
        elif kind is list or kind is dict:
            sheet.write_string(row, col, cut_text(_clean(dumps_text(value))))
        else:
            sheet.write_string(row, col, cut_text(_clean(str(value))))


def write_workbook(
    path: Path,
    sheet: Sheet,
    owner: str,
    rows_per_sheet: int | None = None,
    scratch: Path | None = None,
) -> int:
    """Write `sheet` to `path` (replacing it), continued on more sheets past `rows_per_sheet`
    rows each (a sheet's capacity, less the header), and make it durable; returns the number
    of rows. XlsxWriter's temporary files go in `scratch` (default `<path>.xlsxtmp/`)."""
    with scratch_dir(scratch or scratch_path(path)) as tmpdir:
        return _write_workbook(path, sheet, owner, rows_per_sheet or SHEET_ROWS - 1, tmpdir)


def _write_workbook(path: Path, sheet: Sheet, owner: str, rows_per_sheet: int, tmpdir: Path) -> int:
    import xlsxwriter
    from xlsxwriter.exceptions import FileCreateError, FileSizeError, XlsxWriterException

    options = {
        "constant_memory": True,  # each row goes to a temporary file as the next one starts
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "tmpdir": str(tmpdir),  # as big as the sheet: on the output's disk (xlsx_scratch.py)
    }
    try:
        book = xlsxwriter.Workbook(str(path), options)
        book.set_custom_property(MARKER_PROPERTY, owner)
        count = _write_sheets(book, sheet, rows_per_sheet)
        book.close()
        _fsync(path)
    except (FileCreateError, OSError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
        raise OutputError(
            f"Could not write the workbook {path} ({reason}); free some space or fix the "
            "directory's permissions, then rerun to write it."
        ) from None
    except FileSizeError:
        raise OutputError(
            f"The workbook {path} would be over 4 GB, more than an .xlsx file can hold; export "
            "to JSONL or SQLite instead."
        ) from None
    except XlsxWriterException as exc:
        raise OutputError(
            f"Could not write the workbook {path} ({exc.__class__.__name__}: {exc}); export to "
            "JSONL or SQLite instead, or report it."
        ) from None
    return count


def _write_sheets(book: Any, sheet: Sheet, rows_per_sheet: int) -> int:
    rows = iter(sheet.rows)
    first = list(islice(rows, WIDTH_SAMPLE))
    widths = _widths(sheet.columns, first)
    dated = [column.endswith(DATETIME_SUFFIX) for column in sheet.columns]
    cells = _Cells(book)
    chained: Iterator[Sequence[Any]] = _chain(first, rows)
    count, number = 0, 1
    while True:
        name = sheet.title if number == 1 else f"{sheet.title} ({number})"
        page = book.add_worksheet(name[:31])
        written = _write_page(page, sheet.columns, widths, dated, cells, chained, rows_per_sheet)
        count += written
        if written < rows_per_sheet:
            return count
        number += 1


def _write_page(
    page: Any,
    columns: Sequence[str],
    widths: Sequence[float],
    dated: Sequence[bool],
    cells: _Cells,
    rows: Iterator[Sequence[Any]],
    limit: int,
) -> int:
    for col, width in enumerate(widths):
        page.set_column(col, col, width)
    for col, column in enumerate(columns):
        page.write_string(0, col, header(column))
    page.freeze_panes(1, 0)
    written = 0
    put = cells.put
    for values in islice(rows, limit):
        written += 1
        for col, value in enumerate(values):
            put(page, written, col, value, dated[col])
    page.autofilter(0, 0, written, max(len(columns) - 1, 0))
    return written


def _chain(first: list[Sequence[Any]], rest: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    yield from first
    yield from rest


def _widths(columns: Sequence[str], sample: Sequence[Sequence[Any]]) -> list[float]:
    """Wide enough for the header and the first rows' first lines, within bounds."""
    widths = []
    for col, column in enumerate(columns):
        if column.endswith(DATETIME_SUFFIX):
            widths.append(max(DATE_WIDTH, len(header(column)) * 0.9))
            continue
        longest = len(column)
        for values in sample:
            value = values[col] if col < len(values) else None
            if value is not None:
                text = value if isinstance(value, str) else str(value)
                longest = max(longest, len(text.split("\n", 1)[0][:MAX_WIDTH]))
        widths.append(float(min(MAX_WIDTH, max(MIN_WIDTH, longest + 2))))
    return widths


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
