"""CSV and JSONL writers that append whole rows and report the exact byte length written.

The byte length is what makes resume exact: a checkpoint records it after an fsync, and a
rerun cuts the file back to it, dropping any partial row a crash left behind. (SQLite output is
table_sink.py: its TableSink has RowSink's four methods, so the export loops take either.)
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, Protocol

from gorgias_export import fastjson
from gorgias_export.errors import OutputError

FORMATS = ("csv", "jsonl", "sqlite", "xlsx")
_EXTENSIONS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".db": "sqlite",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".xlsx": "xlsx",
}

# Outputs hold customers' personal data (names, emails, messages): created readable by their
# owner only, whatever the umask (README, Security). chmod widens them if they are to be shared.
PRIVATE_MODE = 0o600


def create_private(path: str | os.PathLike[str]) -> None:
    """Create `path` empty with PRIVATE_MODE if it does not exist (for files that another
    library creates, such as an SQLite database, which would otherwise follow the umask).
    Any failure is left to that library to report, as it would without this."""
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))


def format_from_path(path: str) -> str | None:
    """The format an output path's extension names, or None."""
    lowered = path.lower()
    for extension, name in _EXTENSIONS.items():
        if lowered.endswith(extension):
            return name
    return None


class RowEncoder(Protocol):
    def header(self) -> bytes: ...
    def encode(self, row: dict[str, Any]) -> bytes: ...
    def encode_many(self, rows: Sequence[dict[str, Any]]) -> bytes: ...


def _csv_cell(value: Any) -> str:
    # Exact-class checks first: this runs for every cell of every row.
    kind = value.__class__
    if kind is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    if kind is list or kind is dict:
        if not value:
            return "[]" if kind is list else "{}"
        return fastjson.dumps_text(value)
    return str(value)


def _utf8(text: str) -> bytes:
    # A lone surrogate (from a broken \ud83d escape in the API's JSON) cannot be UTF-8 encoded;
    # replace just that character rather than fail the run.
    return text.encode("utf-8", errors="replace")


def _csv_bool(value: Any) -> Any:
    return ("true" if value else "false") if value.__class__ is bool else value


def _csv_json(value: Any) -> Any:
    return _csv_cell(value) if value is not None else None


_CONVERTERS = {"bool": _csv_bool, "json": _csv_json}


def quote_cell(cell: str) -> str:
    """A cell as the csv module writes it (QUOTE_MINIMAL, quotes doubled)."""
    if '"' in cell:
        return '"' + cell.replace('"', '""') + '"'
    if "," in cell or "\n" in cell or "\r" in cell:
        return '"' + cell + '"'
    return cell


def quoted_if_needed(cell: str) -> str:
    """A cell as the csv module writes it: quoted only if it holds a quote, comma or line end."""
    if '"' in cell or "," in cell or "\n" in cell or "\r" in cell:
        return quote_cell(cell)
    return cell


class CsvEncoder:
    """RFC 4180 rows (CRLF line ends, quoted when needed) in UTF-8.

    `kinds` names the columns that hold booleans ("bool") or lists/objects ("json"); the others
    must hold text, numbers or None, which are written as the csv module writes them. Without
    `kinds`, every cell goes through the general conversion (slower, for rows of unknown shape).

    The lines are built here rather than by the csv module, with the same bytes (tests compare
    the two): its writer looks at each character of each cell, which for message bodies cost
    more than the rest of the row's work. Here a whole line is searched at once (str's fast
    substring search), and only lines that need quotes look at their cells one by one.
    """

    def __init__(self, columns: Sequence[str], kinds: dict[str, str] | None = None) -> None:
        self.columns = tuple(columns)
        self._kinds = kinds
        self._converters = [
            (index, _CONVERTERS[kinds[name]])
            for index, name in enumerate(self.columns)
            if kinds and name in kinds
        ]
        self._commas = len(self.columns) - 1

    def _line(self, cells: list[str]) -> str:
        line = ",".join(cells)
        if not line and not self._commas:
            return '""'  # the csv module's one empty cell, so that the line is not blank
        if '"' in line or "\n" in line or "\r" in line or line.count(",") != self._commas:
            # Most cells need no quotes: test them inline, without a call per cell.
            line = ",".join(
                [
                    quote_cell(cell)
                    if '"' in cell or "," in cell or "\n" in cell or "\r" in cell
                    else cell
                    for cell in cells
                ]
            )
        return line

    def header(self) -> bytes:
        return _utf8(self._line(list(self.columns)) + "\r\n")

    def _cells(self, row: dict[str, Any]) -> list[str]:
        if self._kinds is None:
            get = row.get
            return [_csv_cell(get(name)) for name in self.columns]
        values = list(map(row.get, self.columns))
        for index, convert in self._converters:
            values[index] = convert(values[index])
        return [
            value if value.__class__ is str else "" if value is None else str(value)
            for value in values
        ]

    def encode(self, row: dict[str, Any]) -> bytes:
        return _utf8(self._line(self._cells(row)) + "\r\n")

    def encode_many(self, rows: Sequence[dict[str, Any]]) -> bytes:
        lines = [self._line(self._cells(row)) for row in rows]
        lines.append("")  # every line ends with CRLF
        return _utf8("\r\n".join(lines))


# Valid inside JSON strings, but line breaks to str.splitlines() and many JSONL readers:
# escaping them keeps one object per line for every reader.
_UNICODE_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}
# The same in UTF-8 (whose byte sequences never match across characters).
_UTF8_LINE_BREAKS = {
    raw.encode(): escaped.encode() for raw, escaped in _UNICODE_LINE_BREAKS.items()
}


class JsonlEncoder:
    """One JSON object per line, keys in column order, native types."""

    def __init__(self, columns: Sequence[str] | None = None) -> None:
        self.columns = tuple(columns) if columns else None

    def header(self) -> bytes:
        return b""

    def encode(self, row: dict[str, Any]) -> bytes:
        if self.columns is not None and tuple(row) != self.columns:
            row = {name: row.get(name) for name in self.columns}
        data = fastjson.dumps(row)
        if data is not None:  # the bytes json writes below, several times faster
            for raw_break, escaped_break in _UTF8_LINE_BREAKS.items():
                if raw_break in data:
                    data = data.replace(raw_break, escaped_break)
            return data + b"\n"
        text = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
        for raw, escaped in _UNICODE_LINE_BREAKS.items():
            if raw in text:
                text = text.replace(raw, escaped)
        try:
            return (text + "\n").encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: ASCII escapes keep them exactly
            return (json.dumps(row, separators=(",", ":")) + "\n").encode("ascii")

    def encode_many(self, rows: Sequence[dict[str, Any]]) -> bytes:
        return b"".join(self.encode(row) for row in rows)


def make_encoder(
    fmt: str, columns: Sequence[str], kinds: dict[str, str] | None = None
) -> RowEncoder:
    return CsvEncoder(columns, kinds) if fmt == "csv" else JsonlEncoder(columns)


def fsync_directory(directory: str | os.PathLike[str]) -> None:
    """Make the names in `directory` durable (a new file, a rename); not every filesystem
    allows opening a directory, and then there is nothing more to do."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class OutputFile:
    """An output opened at a known byte offset; rows are appended, `sync()` makes them durable."""

    def __init__(self, stream: BinaryIO, offset: int, durable: bool) -> None:
        self._stream = stream
        self.offset = offset  # bytes in the file that are ours, written or not yet synced
        self._durable = durable

    @classmethod
    def open_at(cls, path: str, offset: int) -> OutputFile:
        """Open `path` for appending after cutting it to `offset` bytes (creating it if needed)."""
        created = not os.path.exists(path)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_MODE)
        if created:  # its name must survive a power cut as surely as its rows (fsync'd later)
            fsync_directory(os.path.dirname(os.path.abspath(path)))
        stream = os.fdopen(fd, "r+b")
        stream.truncate(offset)
        stream.seek(offset)
        return cls(stream, offset, durable=True)

    @classmethod
    def for_stream(cls, stream: BinaryIO) -> OutputFile:
        return cls(stream, 0, durable=False)

    def write(self, data: bytes) -> None:
        self._stream.write(data)
        self.offset += len(data)

    def sync(self) -> int:
        """Flush to the disk (fsync) and return the byte length that is now durable."""
        self._stream.flush()
        if self._durable:
            os.fsync(self._stream.fileno())
        return self.offset

    def cut_back(self, offset: int) -> None:
        """Drop everything after `offset` (rows written after the last checkpoint)."""
        if self._durable:
            self._stream.flush()
            self._stream.truncate(offset)
            self._stream.seek(offset)
            self.offset = offset

    def close(self) -> None:
        if self._durable:
            self._stream.close()
        else:
            self._stream.flush()


class Sink(Protocol):
    """What an export loop writes rows to: a file (RowSink) or a table (table_sink.TableSink)."""

    def write_row(self, row: dict[str, Any]) -> None: ...
    def sync(self) -> int: ...
    def cut_back(self, offset: int) -> None: ...
    def close(self) -> None: ...


class RowSink:
    """Rows to an output file (opened only when the first rows are ready) or to stdout.

    Opening lazily means a run that fails before its first page (bad key, wrong domain) never
    touches an existing file. OS errors become an OutputError that says what to do.
    """

    def __init__(
        self,
        encoder: RowEncoder,
        path: str | None,
        offset: int = 0,
        stream: BinaryIO | None = None,
        before_first_open: Callable[[], None] | None = None,
    ) -> None:
        self._before_first_open = before_first_open
        self._encoder = encoder
        self._path = path
        self._offset = offset
        self._stream = stream
        self._file: OutputFile | None = None
        self._pending: list[bytes] = []  # encoded rows, written together at the next sync

    def _open(self) -> OutputFile:
        if self._file is None:
            if self._before_first_open is not None:
                self._before_first_open()
            if self._path is None:
                assert self._stream is not None
                self._file = OutputFile.for_stream(self._stream)
            else:
                self._file = self._guard(lambda: OutputFile.open_at(str(self._path), self._offset))
            if self._file.offset == 0:
                header = self._encoder.header()
                self._guard(lambda: self._file.write(header) if self._file else None)
        return self._file

    def write_row(self, row: dict[str, Any]) -> None:
        """Queue a row; rows reach the file together at the next `sync` (one page at a time)."""
        self._pending.append(self._encoder.encode(row))

    def write_encoded(self, data: bytes) -> None:
        """Queue a row already encoded in this sink's format."""
        self._pending.append(data)

    def sync(self) -> int:
        """Write and fsync every queued row; the byte length a checkpoint may record."""
        output = self._open()
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._guard(lambda: output.write(data))
        synced: int = self._guard(output.sync)
        return synced

    def cut_back(self, offset: int) -> None:
        """After a failure: drop rows past the last checkpoint, best effort."""
        self._pending.clear()
        if self._file is None:
            self._offset = min(self._offset, offset)  # not opened yet: open it there
        else:
            with contextlib.suppress(OSError):  # the rerun cuts the file back anyway
                self._file.cut_back(offset)

    def close(self) -> None:
        if self._file is not None:
            self._guard(self._file.close)

    def _guard(self, action: Any) -> Any:
        try:
            return action()
        except BrokenPipeError:
            if self._path is not None:
                raise OutputError(f"Could not write {self._path} (broken pipe).") from None
            _silence_stdout()  # so that Python's own flush at exit does not complain again
            raise OutputError(
                "stdout was closed by its reader before the export finished; "
                "the rows already printed are complete."
            ) from None
        except OSError as exc:
            where = self._path or "stdout"
            reason = exc.strerror or exc.__class__.__name__
            raise OutputError(
                f"Could not write {where} ({reason}); fix the path or free some space, "
                "then rerun to continue."
            ) from None


def _silence_stdout() -> None:
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
