"""Where a job's deletion pass (exports/removals.py) goes: the SQLite mirror's tables, or the
`<out>.deletions.jsonl` log beside a file. Stdout keeps no state, so it has no pass."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from gorgias_export.api.client import GorgiasClient
from gorgias_export.exports.removals import RemovalPass, RemovalTarget, Rows
from gorgias_export.jobs.targets import DatabaseTarget, FileTarget, Target
from gorgias_export.jobs.xlsx_target import XlsxTarget
from gorgias_export.output.deletions_log import DeletionLog, log_path
from gorgias_export.output.mirror_removals import MirrorRemovals
from gorgias_export.output.staged_removals import StagedRemovals
from gorgias_export.output.staging import ConversationStage
from gorgias_export.output.workbook_removals import WorkbookRemovals


def start_removals(progress: Any) -> None:
    """Before the export: the first pass will read events from now on."""
    RemovalPass.begin(progress.removals, datetime.now().astimezone())


def removal_pass(
    client: GorgiasClient,
    kind: str,
    target: Target,
    progress: Any,
    checkpoint: Callable[[Any], None],
    *,
    rows: Rows | None = None,
    recount: bool = False,
    reconcile: bool = False,
    stage: ConversationStage | None = None,
) -> RemovalPass | None:
    """The pass of `kind` ("ticket", "customer") into this target, saving through the job's
    checkpoint; None for stdout, and after the first run (the second run's pass reads the
    events from the first one's start, so nothing deleted during it is missed)."""
    first = progress.completed_runs <= 1 and not progress.removals.get("phase")
    if first and not reconcile:
        return None
    where: RemovalTarget
    if isinstance(target, DatabaseTarget):
        # A workbook's store of conversation rows has no `tickets` table: its tickets are
        # found through the rows. (Its customers and ticket_summary tables are the mirror's.)
        rows_only = isinstance(target, XlsxTarget) and kind == "ticket" and stage is None
        where = (WorkbookRemovals if rows_only else MirrorRemovals)(target.store, kind)
        if stage is not None:  # --per ticket: ticket_summary rows, found through the stage
            where = StagedRemovals(stage, where, progress.completed_runs + 1)
    elif isinstance(target, FileTarget) and target.output is not None:
        where = DeletionLog(log_path(target.output), progress.removals)
        if stage is not None:  # --per ticket: the run after this one writes merge targets again
            where = StagedRemovals(stage, where, progress.completed_runs + 1)
    else:
        return None
    return RemovalPass(
        client,
        kind,
        where,
        progress.removals,
        lambda: checkpoint(progress),
        rows=rows,
        recount=recount,
        reconcile=reconcile,
    )
