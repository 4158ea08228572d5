"""Reading back what an export wrote."""

from __future__ import annotations

import contextlib
import csv
import json
import sqlite3
import sys
from collections import Counter
from pathlib import Path
from typing import Any

csv.field_size_limit(sys.maxsize)  # bodies of 200 KB are in the data


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def row_ids(rows: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """(ticket_id, message_id) of each row, as strings, counted."""
    return Counter(
        (str(r["ticket_id"]), "" if r["message_id"] in (None, "") else str(r["message_id"]))
        for r in rows
    )


def table_rows(db: Path, table: str) -> dict[str, dict[str, Any]]:
    """Every row of a table of an SQLite output, by its id."""
    with contextlib.closing(sqlite3.connect(db)) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute(f'SELECT * FROM "{table}"').fetchall()
    return {str(dict(row)["id"]): dict(row) for row in rows}
