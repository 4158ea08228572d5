"""Outputs are created 0600 (issue 12, Lower 13): they hold customers' personal data, and the
umask of a cron job is often 022. A SQLite database damaged where the run would not write is
refused, not written to with exit 0."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from gorgias_export.errors import ExitCode
from gorgias_sim import Simulator
from tests.support.cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.sim(seed=2, tickets=40)


def test_every_file_an_export_creates_is_private(sim: Simulator, tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        for args in (
            ("tickets", "--out", str(tmp_path / "t.csv")),
            ("tickets", "--out", str(tmp_path / "lines.jsonl"), "--per", "ticket"),
            ("tickets", "--out", str(tmp_path / "m.db")),
            ("tags", "--out", str(tmp_path / "tags.jsonl")),
            ("all", "--out-dir", str(tmp_path / "all")),
        ):
            result = run_cli(sim, *args)
            assert result.exit_code == 0, result.stderr
    finally:
        os.umask(previous)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) > 25
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {
        p.name: "0o600" for p in files
    }


def test_a_mirror_damaged_in_pages_the_run_does_not_touch_is_refused(
    sim: Simulator, tmp_path: Path
) -> None:
    db = tmp_path / "m.db"
    assert run_cli(sim, "tickets", "--out", str(db)).exit_code == 0
    with sqlite3.connect(db) as connection:  # a table no run writes, spread over many pages
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        connection.executemany(
            "INSERT INTO notes VALUES (?, ?)", [(i, "x" * 500) for i in range(2000)]
        )
        connection.execute("CREATE INDEX notes_text ON notes (text)")
        root = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'notes_text'"
        ).fetchone()[0]
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    connection.close()  # the last connection out moves the WAL into the file
    assert not db.with_name("m.db-wal").exists()
    data = bytearray(db.read_bytes())
    start = (root - 1) * page_size  # the index's root page: a b-tree page turned to noise
    data[start + 8 : start + page_size] = os.urandom(page_size - 8)
    db.write_bytes(bytes(data))
    before = db.read_bytes()
    result = run_cli(sim, "tickets", "--out", str(db))
    assert "damaged" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert db.read_bytes() == before
