"""The SQLite store: upserts by key, value types, schema growth, state, transactions, refusals."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gorgias_export.errors import ExitCode, OutputError, StateConflict
from gorgias_export.output import sqlite_store
from gorgias_export.output.sqlite_store import STATE_TABLE, SqliteStore
from gorgias_export.output.table_sink import TableSink
from tests.support.cli import REPO

IDENTITY = {"command": "tickets", "format": "sqlite", "since": None}


def rows(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read with a connection of our own, as a user would: only committed data shows."""
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def test_rows_are_upserted_by_key_and_commit_with_the_state(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteStore(path)
    sink = TableSink(store, "tickets", ["id", "status", "subject"])
    sink.write_row({"id": 1, "status": "open", "subject": "a"})
    sink.write_row({"id": 2, "status": "open", "subject": "b"})
    assert sink.sync() == 0
    assert rows(path, "SELECT name FROM sqlite_master WHERE name = 'tickets'") == []  # not yet
    store.save_state("tickets", IDENTITY, {"done": 1})
    sink.write_row({"id": 1, "status": "closed", "subject": "a"})
    sink.sync()
    store.save_state("tickets", IDENTITY, {"done": 2})
    store.close()
    assert rows(path, "SELECT id, status FROM tickets ORDER BY id") == [(1, "closed"), (2, "open")]
    saved = SqliteStore(path).load_state("tickets", IDENTITY)
    assert saved is not None and saved.progress == {"done": 2}


def test_values_nested_as_json_booleans_as_integers_text_kept_exactly(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteStore(path)
    huge = 'Ünïcödé 👩‍👩‍👧 RTL שלום\r\nline two, "quoted"\n' * 5000  # about 200 KB
    sink = TableSink(
        store, "t", ["id", "tags", "meta", "flag", "zip", "body", "note"], json_columns=["meta"]
    )
    sink.write_row(
        {
            "id": 7,
            "tags": [{"name": "vip"}, {"name": "ünï"}],
            "meta": "plain text",
            "flag": True,
            "zip": "007",
            "body": huge,
            "note": None,
        }
    )
    sink.write_row({"id": 8, "tags": [], "meta": None, "flag": False, "zip": 7.5, "body": ""})
    sink.sync()
    store.save_state("t", IDENTITY, {})
    store.close()
    found = rows(path, "SELECT id, tags, meta, flag, zip, body, note FROM t ORDER BY id")
    assert found[0] == (7, '[{"name":"vip"},{"name":"ünï"}]', '"plain text"', 1, "007", huge, None)
    assert found[1] == (8, "[]", None, 0, 7.5, "", None)
    assert len(huge.encode()) > 200_000
    assert json.loads(found[0][1])[1]["name"] == "ünï"


def test_values_sqlite_cannot_bind_are_made_safe(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteStore(path)
    sink = TableSink(store, "t", ["id", "text", "big"])
    sink.write_row({"id": 1, "text": "fine"})
    sink.write_row({"id": 2, "text": "broken \ud83d escape", "big": 2**70})
    sink.sync()
    store.save_state("t", IDENTITY, {})
    store.close()
    assert rows(path, "SELECT id, text, big FROM t ORDER BY id") == [
        (1, "fine", None),
        (2, "broken ? escape", str(2**70)),  # the lone surrogate replaced, as in the CSV
    ]


def test_a_row_without_a_key_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteStore(path)
    sink = TableSink(store, "t", ["id", "x"])
    sink.write_row({"x": "no id"})
    sink.write_row({"id": 3, "x": "kept"})
    sink.sync()
    store.save_state("t", IDENTITY, {})
    store.close()
    assert rows(path, "SELECT id, x FROM t") == [(3, "kept")]


def test_a_text_key_and_new_columns_added_to_an_existing_table(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteStore(path)
    first = TableSink(store, "conv", ["row_id", "a"], key="row_id")
    first.write_row({"row_id": "m:1", "a": 1})
    first.sync()
    store.save_state("conv", IDENTITY, {})
    store.close()
    store = SqliteStore(path)
    grown = TableSink(store, "conv", ["row_id", "a", "b"], key="row_id")
    grown.write_row({"row_id": "m:2", "a": 2, "b": "new"})
    grown.sync()
    store.save_state("conv", IDENTITY, {})
    store.close()
    assert rows(path, "SELECT row_id, a, b FROM conv ORDER BY row_id") == [
        ("m:1", 1, None),
        ("m:2", 2, "new"),
    ]


def test_update_by_a_column_and_delete_by_key_keep_the_order_of_calls(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteStore(path)
    sink = TableSink(store, "conv", ["row_id", "ticket_id", "status"], key="row_id")
    sink.ensure_index("ticket_id")
    sink.update_by("ticket_id", [{"ticket_id": 1, "status": "x"}])  # no table yet: nothing
    for row_id, ticket in (("m:1", 1), ("m:2", 1), ("t:2", 2)):
        sink.write_row({"row_id": row_id, "ticket_id": ticket, "status": "open"})
    sink.update_by("ticket_id", [{"ticket_id": 1, "status": "closed"}])  # after the queued rows
    sink.delete_keys(["t:2"])
    store.save_state("conv", IDENTITY, {})
    store.close()
    assert rows(path, "SELECT row_id, status FROM conv ORDER BY row_id") == [
        ("m:1", "closed"),
        ("m:2", "closed"),
    ]
    assert rows(path, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'conv'")


def test_rollback_leaves_nothing_of_the_transaction(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteStore(path)
    sink = TableSink(store, "t", ["id", "x"])
    sink.write_row({"id": 1, "x": "rolled back, table and all"})
    sink.sync()
    sink.write_row({"id": 2, "x": "queued, never synced"})
    sink.cut_back(0)
    sink.write_row({"id": 3, "x": "kept"})
    sink.sync()  # the table is created again: the rollback took it away
    store.save_state("t", IDENTITY, {"n": 1})
    sink.write_row({"id": 4, "x": "synced, no state saved"})
    sink.sync()
    store.close()  # what no checkpoint vouches for is rolled back
    assert rows(path, "SELECT id FROM t") == [(3,)]
    assert not path.with_name("m.db-wal").exists()  # checkpointed: the .db alone is complete


def test_a_kill_between_rows_and_state_leaves_the_last_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from gorgias_export.output.sqlite_store import SqliteStore
        from gorgias_export.output.table_sink import TableSink
        store = SqliteStore(Path({str(path)!r}))
        sink = TableSink(store, "t", ["id", "x"])
        sink.write_row({{"id": 1, "x": "a"}})
        sink.sync()
        store.save_state("t", {IDENTITY!r}, {{"n": 1}})
        sink.write_row({{"id": 1, "x": "changed"}})
        sink.write_row({{"id": 2, "x": "b"}})
        sink.sync()
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    child = subprocess.run([sys.executable, "-c", script], cwd=REPO, check=False)
    assert child.returncode == -9
    store = SqliteStore(path)
    saved = store.load_state("t", IDENTITY)
    assert saved is not None and saved.progress == {"n": 1}
    store.close()
    assert rows(path, "SELECT id, x FROM t") == [(1, "a")]


def test_prune_deletes_rows_a_later_full_read_did_not_bring(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteStore(path)
    sink = TableSink(store, "tags", ["id", "name"])
    sink.write_row({"id": 9, "name": "written before runs were stamped"})
    sink.sync()
    sink.stamp_run(1)
    for tag in (1, 2, 3):
        sink.write_row({"id": tag, "name": f"tag {tag}"})
    sink.sync()
    store.save_state("tags", IDENTITY, {"run": 1})
    sink.stamp_run(2)
    sink.write_row({"id": 1, "name": "tag 1"})
    sink.write_row({"id": 3, "name": "tag 3, renamed"})
    assert sink.prune_before_run(2) == 2  # tag 2, deleted upstream, and the unstamped one
    store.save_state("tags", IDENTITY, {"run": 2})
    store.close()
    assert rows(path, "SELECT id, name, _export_run FROM tags ORDER BY id") == [
        (1, "tag 1", 2),
        (3, "tag 3, renamed", 2),
    ]


def test_state_round_trip_per_export_key(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteStore(path)
    assert store.load_state("tickets", IDENTITY) is None
    assert not path.exists()  # reading creates nothing
    store.save_state("tickets", IDENTITY, {"a": 1})
    store.save_state("customers", {"command": "customers"}, {"b": 2})
    assert store.load_state("tickets", IDENTITY).progress == {"a": 1}  # type: ignore[union-attr]
    assert store.load_state("all", IDENTITY) is None
    store.close()
    version, written_by = rows(path, f"SELECT format_version, written_by FROM {STATE_TABLE}")[0]
    assert version == 1 and written_by.startswith("gorgias-export ")


@pytest.mark.parametrize(("key", "value"), [("since", "2024-01-01"), ("format", "csv")])
def test_a_state_of_another_export_is_refused_naming_the_difference(
    tmp_path: Path, key: str, value: str
) -> None:
    path = tmp_path / "m.db"
    store = SqliteStore(path)
    store.save_state("tickets", IDENTITY, {})
    with pytest.raises(StateConflict) as caught:
        store.load_state("tickets", {**IDENTITY, key: value})
    assert f"({key} was" in caught.value.message and "--fresh" in caught.value.message
    assert str(path) in caught.value.message


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("progress", "{not json", "corrupt"),
        ("identity", "[]", "corrupt"),
        ("format_version", 99, "newer"),
    ],
)
def test_a_broken_or_newer_state_is_refused(
    tmp_path: Path, column: str, value: Any, expected: str
) -> None:
    path = tmp_path / "m.db"
    store = SqliteStore(path)
    store.save_state("tickets", IDENTITY, {})
    store.close()
    db = sqlite3.connect(path)
    db.execute(f"UPDATE {STATE_TABLE} SET {column} = ?", (value,))
    db.commit()
    db.close()
    with pytest.raises(StateConflict, match=expected):
        SqliteStore(path).load_state("tickets", IDENTITY)


def test_reset_joins_the_next_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteStore(path)
    sink = TableSink(store, "t", ["id"])
    sink.write_row({"id": 1})
    sink.sync()
    store.save_state("tickets", IDENTITY, {"old": True})
    store.save_state("other", IDENTITY, {"kept": True})
    store.reset("tickets", ["t", "missing"])
    assert store.load_state("tickets", IDENTITY) is not None  # nothing done before a write
    sink.write_row({"id": 2})
    sink.sync()  # the first write: the reset runs first, in its transaction
    assert store.load_state("tickets", IDENTITY) is None
    assert rows(path, "SELECT id FROM t") == [(1,)]  # not committed: others see the old rows
    store.rollback()  # the run failed before its first checkpoint: nothing changed
    assert rows(path, "SELECT id FROM t") == [(1,)]
    store.reset("tickets", ["t"])
    store.save_state("tickets", IDENTITY, {"new": True})
    store.close()
    assert rows(path, "SELECT id FROM t") == []
    assert len(rows(path, f"SELECT * FROM {STATE_TABLE}")) == 2


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "tickets.db"
    path.write_bytes(b"ticket_id,message_id\r\n1,2\r\n")
    with pytest.raises(OutputError) as caught:
        SqliteStore(path)
    assert "is not a SQLite database" in caught.value.message
    assert caught.value.exit_code == ExitCode.IO
    assert path.read_bytes() == b"ticket_id,message_id\r\n1,2\r\n"


def test_an_unwritable_place_is_an_output_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "missing" / "m.db")
    sink = TableSink(store, "t", ["id"])
    sink.write_row({"id": 1})
    with pytest.raises(OutputError, match="Could not open"):
        sink.sync()
    store.close()


def test_a_database_locked_by_another_writer_is_an_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_SECONDS", 0.1)
    path = tmp_path / "m.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE x (a)")
    other.execute("BEGIN IMMEDIATE")
    store = SqliteStore(path)
    sink = TableSink(store, "t", ["id"])
    sink.write_row({"id": 1})
    with pytest.raises(OutputError, match="locked by another program"):
        sink.sync()
    other.execute("ROLLBACK")
    other.close()
    store.close()


def test_a_full_disk_is_an_output_error(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    script = textwrap.dedent(
        f"""
        import resource, signal
        from pathlib import Path
        from gorgias_export.errors import OutputError
        from gorgias_export.output.sqlite_store import SqliteStore
        from gorgias_export.output.table_sink import TableSink
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        store = SqliteStore(Path({str(path)!r}))
        sink = TableSink(store, "t", ["id", "body"])
        try:
            for n in range(100):
                sink.write_row({{"id": n, "body": "x" * 10_000}})
                sink.sync()
                store.save_state("t", {{}}, {{"n": n}})
        except OutputError as error:
            print(error.message)
        """
    )
    child = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.startswith(f"Could not write {path}") and "has room" in child.stdout
    store = SqliteStore(path)  # what was committed is whole
    saved = store.load_state("t", {})
    store.close()
    assert saved is not None
    assert len(rows(path, "SELECT id FROM t")) == saved.progress["n"] + 1
