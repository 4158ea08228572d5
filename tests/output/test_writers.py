"""CSV and JSONL writers: hostile text round-trips, byte offsets, nothing created early, and
hand-built CSV lines byte for byte the csv module's."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from gorgias_export.errors import OutputError
from gorgias_export.output.writers import (
    CsvEncoder,
    JsonlEncoder,
    OutputFile,
    RowSink,
    format_from_path,
)

HOSTILE = [
    "plain",
    'quotes " and "" doubled',
    "commas, everywhere,",
    "line\nbreaks\r\nand a lone\rCR",
    "=SUM(A1:A2)",
    "+1 555",
    "-minus",
    "@mention",
    "tab\there",
    "unicode breaks \u2028 \u2029 \x85 \x0b \x0c end",
    "日本語のテキスト",
    "العربية",
    "Русский",
    "हिन्दी",
    "emoji 👩‍💻 🇫🇷 😀",
    "",
    "x" * 200_000,
]
COLUMNS = ("id", "text", "flag", "tags", "missing")


def rows() -> list[dict[str, Any]]:
    return [
        {"id": i, "text": text, "flag": i % 2 == 0, "tags": [text[:5], "b"], "missing": None}
        for i, text in enumerate(HOSTILE)
    ]


def test_csv_round_trips_every_hostile_field(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    sink = RowSink(CsvEncoder(COLUMNS), str(path))
    for row in rows():
        sink.write_row(row)
    sink.sync()
    sink.close()
    csv.field_size_limit(sys.maxsize)  # the default 128 KiB cap would refuse the 200 KB body
    with path.open(newline="", encoding="utf-8") as handle:
        read = list(csv.DictReader(handle))
    assert [r["text"] for r in read] == HOSTILE
    assert read[0]["flag"] == "true" and read[1]["flag"] == "false"
    assert json.loads(read[HOSTILE.index("日本語のテキスト")]["tags"]) == ["日本語のテ", "b"]
    assert read[0]["missing"] == ""
    assert path.read_bytes().startswith(b"id,text,flag,tags,missing\r\n")


def test_jsonl_round_trips_with_native_types(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    sink = RowSink(JsonlEncoder(COLUMNS), str(path))
    for row in rows():
        sink.write_row(row)
    sink.sync()
    lines = path.read_bytes().decode().splitlines(keepends=True)
    assert all(line.endswith("\n") for line in lines)
    lines = [line[:-1] for line in lines] + [""]
    assert len(lines) == len(HOSTILE) + 1
    assert [json.loads(line) for line in lines[:-1]] == rows()


def test_a_lone_surrogate_does_not_stop_the_run() -> None:
    broken = {"id": 1, "text": "half \ud83d emoji"}
    assert json.loads(JsonlEncoder().encode(broken)) == broken
    assert "half" in CsvEncoder(("id", "text")).encode_many([broken]).decode()


def test_offsets_count_bytes_and_reopening_cuts_back(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    output = OutputFile.open_at(str(path), 0)
    output.write("é,1\r\n".encode())
    durable = output.sync()
    output.write(b"partial ro")
    output.close()
    assert durable == 6 and path.stat().st_size == 16
    OutputFile.open_at(str(path), durable).close()
    assert path.read_bytes() == "é,1\r\n".encode()


def test_nothing_is_created_until_rows_are_ready(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    opened: list[bool] = []
    sink = RowSink(CsvEncoder(COLUMNS), str(path), before_first_open=lambda: opened.append(True))
    assert not path.exists() and not opened
    sink.write_row(rows()[0])
    assert not path.exists()  # queued until the page is complete
    sink.sync()
    assert opened == [True] and path.exists()


def test_write_errors_become_an_output_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    sink = RowSink(CsvEncoder(COLUMNS), str(blocker / "out.csv"))  # parent is a file
    sink.write_row(rows()[0])
    with pytest.raises(OutputError, match="Could not write"):
        sink.sync()


def test_stdout_sink_writes_header_and_rows() -> None:
    buffer = io.BytesIO()
    sink = RowSink(CsvEncoder(("id",)), None, stream=buffer)
    sink.write_row({"id": 1})
    sink.sync()
    assert buffer.getvalue() == b"id\r\n1\r\n"


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("a.csv", "csv"),
        ("A.CSV", "csv"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.txt", None),
    ],
)
def test_format_from_extension(path: str, fmt: str | None) -> None:
    assert format_from_path(path) == fmt


def test_typed_csv_columns_encode_exactly_like_the_general_path() -> None:
    from gorgias_export.rows import CONVERSATION_COLUMNS, CONVERSATION_CSV_KINDS

    row = dict.fromkeys(CONVERSATION_COLUMNS)
    row.update(
        ticket_id=7,
        message_id=9,
        ticket_spam=False,
        message_public=True,
        ticket_tags=["a,b", "ü"],
        attachment_names=[],
        attachment_urls=None,
        body='line\n"quoted", =1',
        ticket_subject="é",
    )
    typed = CsvEncoder(CONVERSATION_COLUMNS, CONVERSATION_CSV_KINDS).encode_many([row, row])
    general = CsvEncoder(CONVERSATION_COLUMNS).encode_many([row, row])
    assert typed == general
    assert b",false," in typed and b'"[""a,b"",""\xc3\xbc""]"' in typed


# Cells the hand-built CSV lines must write exactly as the csv module does.
TRICKY_CELLS: list[Any] = [
    *HOSTILE[:-1],
    None,
    0,
    -12,
    2**70,
    1.5,
    1e-07,
    float("nan"),
    True,
    False,
    ["a", 1, None],
    {"k": "v,w"},
    ["x", 1.5, float("inf")],
    [2**70],
    ["\u2028", "日本"],
    '"',
    ",",
    "\r",
    "\n",
    " ",
    "\x00nul",
    "half \ud83d emoji",
    "'single'",
]


def _csv_module_bytes(columns: tuple[str, ...], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([list(columns), *rows])
    return buffer.getvalue().encode("utf-8", errors="replace")


def _general_cell(value: Any) -> Any:
    """The general path's conversion, as it was written against json and the csv module."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return (
            json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            if value
            else ("[]" if isinstance(value, list) else "{}")
        )
    return value


@pytest.mark.parametrize("width", [1, 2, 5])
@pytest.mark.parametrize("typed", [True, False])
def test_csv_lines_are_byte_for_byte_the_csv_modules(width: int, typed: bool) -> None:
    columns = tuple(f"c{i}" for i in range(width))
    # Every cell in every position, and rows of several tricky cells at once.
    grid = [
        [TRICKY_CELLS[(start + i * 7) % len(TRICKY_CELLS)] for i in range(width)]
        for start in range(len(TRICKY_CELLS))
    ]
    # Typed with no bool or json column: every cell is written as the csv module writes it.
    encoder = CsvEncoder(columns, {}) if typed else CsvEncoder(columns)
    expected = grid if typed else [[_general_cell(cell) for cell in row] for row in grid]
    encoded = encoder.header() + encoder.encode_many(
        [dict(zip(columns, r, strict=True)) for r in grid]
    )
    assert encoded == _csv_module_bytes(columns, expected)


def test_one_empty_cell_is_quoted_as_the_csv_module_does() -> None:
    encoder = CsvEncoder(("id",), {})
    assert encoder.encode_many([{"id": ""}, {"id": None}, {}]) == b'""\r\n""\r\n""\r\n'
