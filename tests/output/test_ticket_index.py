"""The on-disk ticket index: contexts survive a reopen, memory stays bounded, damage is rebuilt."""

from __future__ import annotations

from pathlib import Path

from gorgias_export.output.ticket_index import CACHE_ENTRIES, TicketIndex


def test_contexts_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    index = TicketIndex(path)
    index.put_many([(1, {"ticket_subject": "héllo 👋"}), (2, {"ticket_subject": None})])
    index.close()
    again = TicketIndex(path)
    assert again.get(1) == {"ticket_subject": "héllo 👋"}
    assert again.get(3) is None


def test_memory_is_bounded_whatever_the_number_of_tickets(tmp_path: Path) -> None:
    index = TicketIndex(tmp_path / "index.sqlite")
    index.put_many((i, {"n": i}) for i in range(CACHE_ENTRIES * 3))
    assert len(index._cache) == CACHE_ENTRIES
    assert index.get(0) == {"n": 0}  # evicted from memory, still on disk


def test_a_damaged_index_is_rebuilt_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    index = TicketIndex(path)
    assert index.get(1) is None
    index.put_many([(1, {"ok": True})])
    assert index.get(1) == {"ok": True}


def test_nothing_is_created_until_used(tmp_path: Path) -> None:
    TicketIndex(tmp_path / "index.sqlite").close()
    assert not (tmp_path / "index.sqlite").exists()


def test_get_many_reads_memory_and_disk_alike(tmp_path: Path) -> None:
    index = TicketIndex(tmp_path / "index.sqlite")
    last = CACHE_ENTRIES + 1000  # more than memory holds: the first ones are only on disk
    contexts = {i: {"n": i, "subject": f"s{i} é", "tags": ["a"], "ratio": 0.5} for i in range(last)}
    index.put_many(contexts.items())
    found = index.get_many([0, 1, last - 1, last - 2, 10 * last])
    assert found == {i: contexts[i] for i in (0, 1, last - 1, last - 2)}
    assert index.get_many([]) == {}


def test_entries_written_as_text_by_earlier_versions_are_read(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    index = TicketIndex(path)
    index.put_many([(1, {"x": 1})])
    index._db.execute("UPDATE tickets SET context = ? WHERE id = 1", ('{"old": "text é"}',))
    index._db.commit()
    index.close()
    again = TicketIndex(path)
    assert again.get_many([1]) == {1: {"old": "text é"}} == {1: again.get(1)}
