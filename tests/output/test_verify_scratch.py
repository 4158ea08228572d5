"""The comparison `verify` makes in its scratch database, on hand-made rows: merges of merges,
a merge cycle, duplicates, and the export's time for a state written before it was recorded."""

from __future__ import annotations

from pathlib import Path

from gorgias_export.exports.progress import ExportProgress
from gorgias_export.exports.verify import ExportUnderTest
from gorgias_export.output.verify_scratch import VerifyScratch

T0 = "2024-01-01T00:00:00.000000Z"
AS_OF = "2024-06-01T00:00:00.000000Z"


def _scratch(rows: list[tuple[int, int]], tickets: list[tuple[int, int]]) -> VerifyScratch:
    """Export rows (ticket, message) and account tickets (id, messages_count), all old."""
    scratch = VerifyScratch()
    for line, (ticket_id, message_id) in enumerate(rows, start=1):
        scratch.ticket(ticket_id, line)
        scratch.message(ticket_id, message_id, line)
    scratch.listed([(tid, count, T0, T0) for tid, count in tickets])
    return scratch


def test_the_rows_of_a_merge_of_a_merge_count_for_the_last_target() -> None:
    with _scratch([(1, 10), (2, 20), (3, 30)], [(3, 3)]) as scratch:
        scratch.recorded(1, 2)
        scratch.recorded(2, 3)
        scratch.finish()
        assert scratch.count_mismatches(AS_OF, "fewer", 10).count == 0
        assert scratch.exported_tickets() == 3 and scratch.exported_messages() == 3
        assert scratch.recorded_tickets(10).shown == [(1, "merged into 2"), (2, "merged into 3")]


def test_a_merge_cycle_ends() -> None:
    with _scratch([(1, 10), (2, 20)], []) as scratch:
        scratch.recorded(1, 2)
        scratch.recorded(2, 1)
        scratch.finish()  # returns: the links are followed a bounded number of times
        assert scratch.exported_messages() == 2  # each message counted once, for someone


def test_duplicates_are_named_with_their_row_counts() -> None:
    with _scratch([(1, 10), (1, 10), (2, 10), (2, 20)], [(1, 1), (2, 2)]) as scratch:
        scratch.finish()
        duplicates = scratch.duplicates(10)
        assert duplicates.count == 1 and duplicates.shown == [(10, "3 rows")]


def test_a_state_from_before_last_run_started_is_judged_at_its_newest_row() -> None:
    progress = ExportProgress.from_json(
        {"completed_runs": 1, "watermark_tickets": T0, "watermark_messages": AS_OF}
    )
    export = ExportUnderTest(Path("x.csv"), "csv", "message", progress, "https://a/api")
    assert export.as_of() == AS_OF
