from __future__ import annotations

from pathlib import Path

from gorgias_export.ticket_index import CACHE_ENTRIES, TicketIndex


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
