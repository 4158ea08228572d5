"""What the deletion pass does to an .xlsx workbook's store (`<out>.rows.sqlite`) of `tickets`:
its conversation rows of deleted or merged-away tickets leave, so that the workbook written at
the run's end no longer shows them.

That store keeps the conversation rows only, not the mirror's raw `tickets` and `messages`
tables (output/mirror.py, raw=False), so the tickets it holds are read from the rows'
`ticket_id`, and each ticket's `messages_count` from the small table the store keeps for this
(`_gorgias_export_ticket_counts`), so that the recount finds a merge no event told of.
Everything else is the mirror's: the same transaction, the same log table, the same re-read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from gorgias_export.output.mirror import COUNTS_TABLE
from gorgias_export.output.mirror_removals import (
    LISTED_TABLE,
    RECOUNTED_TABLE,
    MirrorRemovals,
    Removal,
    _parts,
)

ROWS = "conversations"


class WorkbookRemovals(MirrorRemovals):
    """The tickets of a workbook's store, found through its conversation rows."""

    def present(self, ids: Iterable[int]) -> set[int]:
        return self._ids_in(ROWS, "ticket_id", ids)

    def tickets_of_customer(self, customer_id: int) -> list[int]:
        sql = f"SELECT DISTINCT ticket_id FROM {ROWS} WHERE customer_id = ?"
        return self._ids_where(ROWS, sql, (customer_id,))

    def message_ids(self, ticket_id: int) -> set[int]:
        sql = f"SELECT message_id FROM {ROWS} WHERE ticket_id = ? AND message_id IS NOT NULL"
        return set(self._ids_where(ROWS, sql, (ticket_id,)))

    def drop_messages(self, message_ids: Iterable[int]) -> None:
        wanted = [f"m:{i}" for i in sorted(message_ids)]
        with self._store.guarded():
            db = self._db()
            for part in _parts(wanted):
                marks = ",".join("?" * len(part))
                db.execute(f"DELETE FROM {ROWS} WHERE row_id IN ({marks})", part)

    def remove(self, removals: Sequence[Removal]) -> None:
        super().remove(removals)
        if removals and self._has(COUNTS_TABLE):
            with self._store.guarded():
                db = self._db()
                for part in _parts([r.id for r in removals]):
                    marks = ",".join("?" * len(part))
                    db.execute(f"DELETE FROM {COUNTS_TABLE} WHERE ticket_id IN ({marks})", part)

    def _can_recount(self) -> bool:
        return self._has(COUNTS_TABLE) and self._has(ROWS)

    def mismatch_sql(self) -> str:
        # `+ 0`: as in the mirror's, so that the lookup uses the rows' ticket_id index.
        counted = (
            f"(SELECT count(*) FROM {ROWS} m WHERE m.ticket_id = t.ticket_id + 0 "
            "AND m.message_id IS NOT NULL)"
        )
        recounted = self._has(RECOUNTED_TABLE)
        joined = f"LEFT JOIN {RECOUNTED_TABLE} r ON r.ticket_id = t.ticket_id " if recounted else ""
        not_yet = (
            "AND (r.messages_count IS NULL OR r.messages_count != t.messages_count) "
            if recounted
            else ""
        )
        return (
            f"SELECT t.ticket_id, t.messages_count FROM {COUNTS_TABLE} t {joined}"
            f"WHERE typeof(t.messages_count) = 'integer' AND t.messages_count != {counted} "
            f"{not_yet}ORDER BY t.ticket_id LIMIT ?"
        )

    def unlisted(self) -> list[int]:
        if not self._has(ROWS):
            return []
        sql = (
            f"SELECT DISTINCT ticket_id FROM {ROWS} WHERE ticket_id NOT IN "
            f"(SELECT id FROM {LISTED_TABLE} WHERE kind = ?) ORDER BY ticket_id"
        )
        with self._store.guarded():
            return [row[0] for row in self._db(LISTED_TABLE).execute(sql, (self.kind,))]

    def count(self) -> int:
        if not self._has(ROWS):
            return 0
        with self._store.guarded():
            row: Any = (
                self._db().execute(f"SELECT count(DISTINCT ticket_id) FROM {ROWS}").fetchone()
            )
            return int(row[0])
