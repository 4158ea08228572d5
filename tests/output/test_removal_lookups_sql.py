"""The deletion pass's lookups in a mirror and in a workbook's store: which tickets are held (asked
500 ids at a time), a customer's tickets, a ticket's messages; and nothing, without an error, when
the table is not there yet."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gorgias_export.output.mirror_removals import BATCH, MirrorRemovals
from gorgias_export.output.sqlite_store import SqliteStore
from gorgias_export.output.workbook_removals import WorkbookRemovals

HELD = range(1, 2 * BATCH + 50, 2)  # odd ids, more than two statements' worth


def _database(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE tickets (id INTEGER PRIMARY KEY, customer TEXT)")
    db.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, ticket_id INTEGER)")
    db.execute(
        "CREATE TABLE conversations (row_id TEXT PRIMARY KEY, ticket_id INTEGER, "
        "customer_id INTEGER, message_id INTEGER)"
    )
    db.executemany("INSERT INTO tickets VALUES (?, ?)", [(i, f'{{"id": {i % 7}}}') for i in HELD])
    db.executemany("INSERT INTO messages VALUES (?, ?)", [(10 * i, i) for i in HELD])
    rows = [(f"m:{10 * i + k}", i, i % 7, 10 * i + k) for i in HELD for k in (0, 1)]
    db.executemany("INSERT INTO conversations VALUES (?, ?, ?, ?)", rows)
    db.executemany(
        "INSERT INTO conversations VALUES (?, ?, ?, NULL)", [(f"t:{i}", i, i % 7) for i in HELD]
    )
    db.commit()
    db.close()


def test_the_mirror_and_the_workbook_store_find_the_same_tickets(tmp_path: Path) -> None:
    path = tmp_path / "mirror.db"
    _database(path)
    store = SqliteStore(path)
    asked = range(0, 2 * BATCH + 60)
    customer_3 = sorted(i for i in HELD if i % 7 == 3)
    for lookups in (MirrorRemovals(store, "ticket"), WorkbookRemovals(store, "ticket")):
        assert lookups.present(asked) == set(HELD)
        assert lookups.present([]) == set()
        assert sorted(lookups.tickets_of_customer(3)) == customer_3
        assert lookups.message_ids(5) >= {50}
    assert WorkbookRemovals(store, "ticket").message_ids(5) == {50, 51}
    assert MirrorRemovals(store, "customer").tickets_of_customer(3) == []
    store.close()


def test_no_table_yet_means_nothing_held(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "empty.db")
    for lookups in (MirrorRemovals(store, "ticket"), WorkbookRemovals(store, "ticket")):
        assert lookups.present([1, 2]) == set()
        assert lookups.tickets_of_customer(1) == []
        assert lookups.message_ids(1) == set()
    store.close()
