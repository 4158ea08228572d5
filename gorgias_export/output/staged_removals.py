"""The deletion pass of `tickets --per ticket`: deleted tickets leave the staging database (so
no later line brings them back) and are logged in `<out>.deletions.jsonl`, or, into SQLite, leave
its `ticket_summary` table; a merge target is staged again with every message it now holds, and
the next run writes its line (or upserts its row) again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gorgias_export.output.deletions_log import DeletionLog
from gorgias_export.output.mirror_removals import MirrorRemovals, Removal
from gorgias_export.output.staging import ConversationStage


class StagedRemovals:
    def __init__(
        self, stage: ConversationStage, log: DeletionLog | MirrorRemovals, next_run: int
    ) -> None:
        self._stage = stage
        self._log = log
        self._next_run = next_run

    def present(self, ids: Sequence[int]) -> set[int]:
        return set(ids)  # the log records every removal, staged or not

    def remove(self, removals: Sequence[Removal]) -> None:
        self._stage.forget([r.id for r in removals])
        self._log.remove(removals)

    def restage(self, ticket: dict[str, Any], messages: list[dict[str, Any]]) -> None:
        self._stage.restage(ticket, messages, self._next_run)

    def sync(self) -> None:
        """The stage, then the log, both before the state that counts them."""
        self._stage.commit()
        if isinstance(self._log, DeletionLog):  # a database's rows go with its checkpoint
            self._log.sync()
