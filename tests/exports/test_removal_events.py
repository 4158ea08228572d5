"""Which objects a removal event names, whatever its undocumented `data` looks like, and when
a pass reconciles on its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gorgias_export.api.client import Forbidden
from gorgias_export.errors import TokenExpired, UsageError
from gorgias_export.exports import removals
from gorgias_export.exports.removal_lookups import event_objects
from gorgias_export.exports.removals import RemovalPass
from gorgias_export.output.deletions_log import DeletionLog


def merged(data: Any, object_id: Any = 11) -> dict[str, Any]:
    return {"id": 1, "type": "ticket-merged", "object_type": "Ticket", "object_id": object_id,
            "data": data}  # fmt: skip


@pytest.mark.parametrize(
    "data",
    [
        {"merged_into": 22},
        {"merged_into": "22"},
        {"target_id": 22},
        {"target": {"id": 22, "subject": "x"}},
        {"into": 22, "extra": [1, 2]},
    ],
)
def test_a_merge_names_its_source_and_target_in_the_plausible_shapes(data: Any) -> None:
    assert event_objects(merged(data), "Ticket") == (11, 22, {11, 22})


def test_a_merge_told_from_the_target_s_side_names_both_without_a_target() -> None:
    subject, target, named = event_objects(merged({"source_id": 11}, object_id=22), "Ticket")
    assert (subject, target, named) == (22, None, {11, 22})


@pytest.mark.parametrize("data", [None, [], "x", {"merged_into": True}, {"merged_into": -4}])
def test_an_odd_payload_still_names_the_event_s_object(data: Any) -> None:
    assert event_objects(merged(data), "Ticket") == (11, None, {11})


def test_an_event_about_another_kind_of_object_names_nothing() -> None:
    assert event_objects(merged({"merged_into": 22}), "Customer") == (None, None, set())


class FakeMirror(removals.MirrorRemovals):
    def __init__(self, rows: int) -> None:
        self.rows = rows

    def count(self) -> int:
        return self.rows


@pytest.mark.parametrize(
    ("rows", "runs", "asked", "due"),
    [
        (5_000, 8, False, False),
        (5_000, 9, False, True),  # the 10th pass
        (50_000, 9, False, True),  # 500 requests: still cheap
        (50_001, 9, False, False),  # 501: only when asked
        (50_001, 3, True, True),
    ],
)
def test_a_pass_reconciles_every_tenth_time_while_cheap(
    rows: int, runs: int, asked: bool, due: bool
) -> None:
    state: dict[str, Any] = {"runs": runs}
    found = RemovalPass(None, "ticket", FakeMirror(rows), state, lambda: None, reconcile=asked)  # type: ignore[arg-type]
    assert found._reconcile_due() is due


class RefusingClient:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def fetch_page(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [Forbidden("may not read /events (403)"), UsageError("400 on GET /events")],
)
def test_events_the_key_may_not_read_do_not_fail_the_finished_export(
    error: Exception, tmp_path: Path
) -> None:
    state: dict[str, Any] = {"since": "2026-01-01T00:00:00.000000Z", "runs": 1}
    saves: list[dict[str, Any]] = []
    log = DeletionLog(tmp_path / "t.csv.deletions.jsonl", state)
    client = RefusingClient(error)
    RemovalPass(client, "ticket", log, state, lambda: saves.append(dict(state))).run()  # type: ignore[arg-type]
    assert state["phase"] is None and state["runs"] == 2
    assert saves[-1]["phase"] is None


def test_an_expired_token_still_stops_the_run(tmp_path: Path) -> None:
    state: dict[str, Any] = {"since": "2026-01-01T00:00:00.000000Z"}
    log = DeletionLog(tmp_path / "t.csv.deletions.jsonl", state)
    client = RefusingClient(TokenExpired("expired"))
    with pytest.raises(TokenExpired):
        RemovalPass(client, "ticket", log, state, lambda: None).run()  # type: ignore[arg-type]
