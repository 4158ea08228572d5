"""Build the archive's static site from the mirror, incrementally and atomically.

- `DIR/index.html`: every ticket, with a filter that works from the file system.
- `DIR/tickets/<id // 1000>/<id>.html`: one page per ticket.
- `DIR/site-state.sqlite`: per ticket, the hash of what its page was made from and the page's
  length. A rerun writes only the pages whose inputs changed (a new message, a status, a survey
  score, an attachment fetched since) or whose file is missing or of another length, then the
  index if its bytes changed.

Every file is written to `<name>.tmp` and renamed over its name, so a kill at any moment leaves
each page whole, old or new. The state is committed after the pages it vouches for; a page
written but not yet recorded is written again by the next run (the same bytes). Pages are
derived data: no fsync per page (a full build writes one per ticket). A page a power cut left
short has another length than the state says, and is written again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from gorgias_export.archive.site_data import (
    Attachment,
    Conversation,
    Mirror,
    attachments_of,
    read_manifest,
)
from gorgias_export.archive.site_files import (
    INDEX_NAME,
    STATE_NAME,
    make_parents,
    open_temporary,
    refuse_unowned,
)
from gorgias_export.archive.site_pages import (
    index_frame,
    index_row,
    index_row_json,
    ticket_href,
    ticket_page,
)
from gorgias_export.errors import OutputError

# Bumped when the pages' HTML changes, so that every page is written again.
PAGES_VERSION = 2  # 2: active attachments no longer linked
COMMIT_EVERY = 500


@dataclass
class SiteResult:
    tickets: int = 0
    pages_written: int = 0
    pages_removed: int = 0
    index_written: bool = False
    index_bytes: int = 0


def build_site(
    out_dir: Path, database: Path, on_page: Callable[[int], None] | None = None
) -> SiteResult:
    """Write the pages that changed and the index; `on_page(n)` after the n-th page written."""
    manifest = read_manifest(out_dir)
    mirror = Mirror(database)
    state = _SiteState(out_dir / STATE_NAME)
    index = _IndexWriter(out_dir / INDEX_NAME)
    result = SiteResult()
    try:
        for conversation in mirror.conversations():
            files = [attachments_of(m, manifest) for m in conversation.messages]
            index.add(index_row(conversation.ticket))
            state.seen(conversation.ticket["id"])
            result.tickets += 1
            if _write_page(out_dir, conversation, files, state):
                result.pages_written += 1
                if on_page is not None:
                    on_page(result.pages_written)
        state.commit()  # the pages first: the index links to them
        result.pages_removed = _remove_stale_pages(out_dir, state)
        digest, result.index_bytes = index.finish()
        result.index_written = state.index_changed(digest, out_dir / INDEX_NAME)
        if result.index_written:
            refuse_unowned(out_dir / INDEX_NAME, known=False)
            index.publish()
            state.record_index(digest)
            state.commit()
    finally:
        index.discard()
        state.close()
        mirror.close()
    return result


def _write_page(
    out_dir: Path, conversation: Conversation, files: list[list[Attachment]], state: _SiteState
) -> bool:
    """Write a ticket's page unless the one there was made from the same inputs."""
    ticket_id = conversation.ticket["id"]
    digest = _digest(conversation, files)
    page = out_dir / ticket_href(ticket_id)
    if state.is_current(ticket_id, digest, page):
        return False
    refuse_unowned(page, known=state.lists(ticket_id))
    data = ticket_page(conversation, files).encode("utf-8")
    write_atomically(out_dir, page, data)
    state.record(ticket_id, digest, len(data))
    return True


def _remove_stale_pages(out_dir: Path, state: _SiteState) -> int:
    """Delete the pages of tickets the mirror no longer has (deleted, merged away), and their
    rows. Only files the state lists, at their own path, and only regular files: nothing else
    in DIR is ever removed."""
    removed = 0
    for ticket_id in state.unseen():
        page = out_dir / ticket_href(ticket_id)
        try:
            if stat.S_ISREG(os.lstat(page).st_mode):
                os.unlink(page)
                removed += 1
        except (FileNotFoundError, NotADirectoryError):
            pass
        except OSError as exc:
            raise _write_error(page, exc) from None
        state.forget(ticket_id)
    state.commit()
    return removed


class _IndexWriter:
    """The index, streamed to `index.html.tmp` row by row and hashed on the way (memory stays
    flat at any account size); renamed over `index.html` only if its bytes changed."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._temporary = path.with_name(path.name + ".tmp")
        self._head, self._tail = index_frame()
        self._hash = hashlib.sha256()
        self._size = 0
        self._rows = 0
        self._handle = self._open()
        self._write(self._head)

    def _open(self) -> BinaryIO:
        try:  # closed by finish() or discard()
            return os.fdopen(open_temporary(self._temporary), "wb")
        except OSError as exc:
            raise _write_error(self._temporary, exc) from None

    def _write(self, text: str) -> None:
        data = text.encode("utf-8")
        self._hash.update(data)
        self._size += len(data)
        try:
            self._handle.write(data)
        except OSError as exc:
            raise _write_error(self._temporary, exc) from None

    def add(self, row: list[Any]) -> None:
        self._write(("," if self._rows else "") + index_row_json(row))
        self._rows += 1

    def finish(self) -> tuple[str, int]:
        """Close the file; its sha256 and length."""
        self._write(self._tail)
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
        except OSError as exc:
            raise _write_error(self._temporary, exc) from None
        return self._hash.hexdigest(), self._size

    def publish(self) -> None:
        try:
            os.replace(self._temporary, self._path)
        except OSError as exc:
            raise _write_error(self._path, exc) from None

    def discard(self) -> None:
        """Whatever was not published goes (an unchanged index, or a run that failed)."""
        self._handle.close()
        self._temporary.unlink(missing_ok=True)


def _digest(conversation: Conversation, files: list[list[Attachment]]) -> str:
    payload = [
        PAGES_VERSION,
        conversation.ticket,
        conversation.messages,
        conversation.survey,
        [[vars(f) for f in per_message] for per_message in files],
    ]
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


def write_atomically(out_dir: Path, path: Path, data: bytes, durable: bool = False) -> None:
    """`path` (inside `out_dir`) holds `data` whole, or what it held before: never a part.
    Its directories must be real ones and its temporary file is created anew (site_files)."""
    temporary = path.with_name(path.name + ".tmp")
    make_parents(out_dir, path)
    try:
        with os.fdopen(open_temporary(temporary), "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        raise _write_error(path, exc) from None


def _write_error(path: Path, exc: OSError) -> OutputError:
    return OutputError(
        f"Could not write {path} ({exc.strerror or exc.__class__.__name__}); "
        "free some space or check permissions, then run again."
    )


class _SiteState:
    """Which page was made from what: ticket id → (hash of inputs, page length)."""

    def __init__(self, path: Path) -> None:
        try:
            self._db = sqlite3.connect(path)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS pages "
                "(ticket_id INTEGER PRIMARY KEY, digest TEXT NOT NULL, size INTEGER NOT NULL)"
            )
            self._db.execute("CREATE TABLE IF NOT EXISTS site (key TEXT PRIMARY KEY, value TEXT)")
            # This run's ticket ids, on disk rather than in memory (a million tickets).
            self._db.execute("CREATE TEMP TABLE seen_tickets (ticket_id INTEGER PRIMARY KEY)")
        except sqlite3.DatabaseError as exc:
            raise OutputError(
                f"{path} is not the archive's site state ({exc}); delete it to rebuild every page."
            ) from None
        self._pending = 0

    def is_current(self, ticket_id: int, digest: str, page: Path) -> bool:
        row = self._db.execute(
            "SELECT digest, size FROM pages WHERE ticket_id = ?", (ticket_id,)
        ).fetchone()
        if row is None or row[0] != digest:
            return False
        try:
            return bool(page.stat().st_size == row[1])
        except FileNotFoundError:
            return False

    def lists(self, ticket_id: int) -> bool:
        """The state has a row for this ticket's page: the file at its path is ours."""
        found = self._db.execute("SELECT 1 FROM pages WHERE ticket_id = ?", (ticket_id,))
        return found.fetchone() is not None

    def seen(self, ticket_id: int) -> None:
        self._db.execute("INSERT OR IGNORE INTO temp.seen_tickets VALUES (?)", (ticket_id,))

    def unseen(self) -> list[int]:
        """Tickets with a page that this run's mirror no longer holds."""
        rows = self._db.execute(
            "SELECT ticket_id FROM pages WHERE ticket_id NOT IN "
            "(SELECT ticket_id FROM temp.seen_tickets) ORDER BY ticket_id"
        )
        return [int(row[0]) for row in rows]

    def forget(self, ticket_id: int) -> None:
        self._db.execute("DELETE FROM pages WHERE ticket_id = ?", (ticket_id,))

    def record(self, ticket_id: int, digest: str, size: int) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO pages (ticket_id, digest, size) VALUES (?, ?, ?)",
            (ticket_id, digest, size),
        )
        self._pending += 1
        if self._pending >= COMMIT_EVERY:
            self.commit()

    def index_changed(self, digest: str, path: Path) -> bool:
        row = self._db.execute("SELECT value FROM site WHERE key = 'index'").fetchone()
        return row is None or row[0] != digest or not path.is_file()

    def record_index(self, digest: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO site (key, value) VALUES ('index', ?)", (digest,))

    def commit(self) -> None:
        self._db.commit()
        self._pending = 0

    def close(self) -> None:
        self._db.close()
