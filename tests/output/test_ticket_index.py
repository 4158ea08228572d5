"""The on-disk ticket index: contexts survive a reopen, memory stays bounded, damage is rebuilt."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gorgias_export.errors import StateConflict
from gorgias_export.output.conversation_csv import CsvContexts
from gorgias_export.output.ticket_index import (
    CACHE_ENTRIES,
    JsonContexts,
    KnownTickets,
    TicketIndex,
)
from gorgias_export.rows import ticket_context


def test_contexts_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    index = TicketIndex(path, JsonContexts())
    index.put_many([(1, {"ticket_subject": "héllo 👋"}), (2, {"ticket_subject": None})])
    index.close()
    again = TicketIndex(path, JsonContexts())
    assert again.get(1) == {"ticket_subject": "héllo 👋"}
    assert again.get(3) is None


def test_memory_is_bounded_whatever_the_number_of_tickets(tmp_path: Path) -> None:
    index = TicketIndex(tmp_path / "index.sqlite", JsonContexts())
    index.put_many((i, {"n": i}) for i in range(CACHE_ENTRIES * 3))
    assert len(index._cache) == CACHE_ENTRIES
    assert index.get(0) == {"n": 0}  # evicted from memory, still on disk


def test_a_damaged_index_is_rebuilt_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    path.write_bytes(b"SQLite format 3\x00" + b"this is not a database" * 100)
    index = TicketIndex(path, JsonContexts())
    assert index.get(1) is None
    index.put_many([(1, {"ok": True})])
    assert index.get(1) == {"ok": True}


def test_a_file_that_is_not_our_index_is_refused_never_deleted(tmp_path: Path) -> None:
    """Issue 12: a regular file at `<out>.ticket-index.sqlite` was silently deleted."""
    path = tmp_path / "index.sqlite"
    path.write_bytes(b"my notes, not a database\n" * 100)
    with pytest.raises(StateConflict, match="not a gorgias-export ticket index"):
        TicketIndex(path, JsonContexts()).get(1)
    assert path.read_bytes() == b"my notes, not a database\n" * 100


@pytest.mark.parametrize(
    "schema",
    ["CREATE TABLE invoices (id INTEGER, total REAL)", "CREATE TABLE tickets (id, subject)"],
    ids=["other-table", "schema-clash"],
)
def test_a_database_that_is_not_our_index_is_refused_not_blamed_on_space(
    tmp_path: Path, schema: str
) -> None:
    """A schema clash said "free some space"; someone's own database must not be emptied."""
    path = tmp_path / "index.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(schema)
    before = path.read_bytes()
    with pytest.raises(StateConflict, match="not a gorgias-export ticket index") as refused:
        TicketIndex(path, JsonContexts()).put_many([(1, {"ok": True})])
    assert "space" not in refused.value.message
    assert path.read_bytes() == before


def test_nothing_is_created_until_used(tmp_path: Path) -> None:
    TicketIndex(tmp_path / "index.sqlite", JsonContexts()).close()
    assert not (tmp_path / "index.sqlite").exists()


def test_get_many_reads_memory_and_disk_alike(tmp_path: Path) -> None:
    index = TicketIndex(tmp_path / "index.sqlite", JsonContexts())
    last = CACHE_ENTRIES + 1000  # more than memory holds: the first ones are only on disk
    contexts = {i: {"n": i, "subject": f"s{i} é", "tags": ["a"], "ratio": 0.5} for i in range(last)}
    index.put_many(contexts.items())
    found = index.get_many([0, 1, last - 1, last - 2, 10 * last])
    assert found == {i: contexts[i] for i in (0, 1, last - 1, last - 2)}
    assert index.get_many([]) == {}


def test_entries_written_as_text_by_earlier_versions_are_read(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    index = TicketIndex(path, JsonContexts())
    index.put_many([(1, {"x": 1})])
    index._db.execute("UPDATE tickets SET context = ? WHERE id = 1", ('{"old": "text é"}',))
    index._db.commit()
    index.close()
    again = TicketIndex(path, JsonContexts())
    assert again.get_many([1]) == {1: {"old": "text é"}} == {1: again.get(1)}


def test_each_shape_keeps_its_own_table(tmp_path: Path) -> None:
    """A cache written for another output (CSV parts, JSON contexts, bare ids) is never read
    as this one's: a rerun with another shape finds it empty and fetches what it needs."""
    path = tmp_path / "index.sqlite"
    json_index = TicketIndex(path, JsonContexts())
    json_index.put_many([(1, {"ticket_id": 1, "ticket_subject": "a,b"})])
    json_index.close()
    csv_index = TicketIndex(path, CsvContexts())
    assert csv_index.get(1) is None
    kept = csv_index.put_many([(1, {"ticket_id": 1, "ticket_subject": "a,b"})])
    csv_index.close()
    assert TicketIndex(path, CsvContexts()).get(1) == kept[1]
    assert kept[1][0] == "1" and kept[1][1].startswith('"a,b"')
    assert TicketIndex(path, JsonContexts()).get(1) == {"ticket_id": 1, "ticket_subject": "a,b"}
    assert TicketIndex(path, KnownTickets()).get(1) is None


def test_a_cache_from_the_previous_release_is_still_read(tmp_path: Path) -> None:
    """0.1.0 kept JSON contexts as blobs in a `tickets` table: JSON contexts still read them."""
    path = tmp_path / "index.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE tickets (id INTEGER PRIMARY KEY, context TEXT)")
    db.execute("INSERT INTO tickets VALUES (7, ?)", (b'{"ticket_id":7,"ticket_subject":"x"}',))
    db.commit()
    db.close()
    assert TicketIndex(path, JsonContexts()).get(7) == {"ticket_id": 7, "ticket_subject": "x"}


@pytest.mark.parametrize("shape", [JsonContexts(), CsvContexts()], ids=["json", "csv"])
def test_a_ticket_whose_text_holds_a_lone_surrogate_is_kept(
    tmp_path: Path, shape: JsonContexts | CsvContexts
) -> None:
    """Regression (found by the review of the redesign): a broken `\\ud83d` escape in the API's
    JSON (a ticket subject, a customer name) decodes to a lone surrogate, which UTF-8, and so
    SQLite, cannot hold. 0.1.0 stored such a context as ASCII-escaped JSON; the shapes now pack
    it as text (`dumps_text` keeps the surrogate, the CSV part is raw text), and `put_many`
    raises UnicodeEncodeError: the export stops with "Internal error" at that ticket's page, on
    every rerun."""
    path = tmp_path / "index.sqlite"
    context = ticket_context({"id": 1, "subject": "half \ud83d emoji", "status": "open"})
    index = TicketIndex(path, shape)
    kept = index.put_many([(1, context)])  # raises UnicodeEncodeError
    index.close()
    again = TicketIndex(path, shape).get(1)
    assert again is not None
    if isinstance(shape, JsonContexts):
        assert again == context == kept[1]
