"""A saved walk position and a saved watermark are checked before a rerun trusts them (issue 12,
Lower 13): a cursor that does not decode as the API's cursors do is refused before it is sent;
a watermark or a run's start later than now is refused, however little later. A cursor the API
itself gave in another form is kept as given and still resumes."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gorgias_export.api.walk import ListingWalk, WalkPage, keyset_cursor
from gorgias_export.errors import ExitCode
from gorgias_export.exports.progress import BadProgress, WalkPosition
from gorgias_sim import Simulator
from tests.support.cli import assert_one_line_error, interrupt_at_request, run_cli

pytestmark = pytest.mark.sim(seed=5, tickets=120)


def _soon(minutes: int = 10) -> str:
    """A time a little after now: within the hour of drift the check used to allow."""
    later = datetime.now(UTC) + timedelta(minutes=minutes)
    return later.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _edit(state: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    document = json.loads(state.read_text())
    edit(document["progress"])
    state.write_text(json.dumps(document))


def _walks_with_cursor(progress: dict[str, Any]) -> list[dict[str, Any]]:
    run = progress["run"]
    walks = [v for v in run.values() if isinstance(v, dict) and v.get("cursor")]
    return [w for w in walks if not (w.get("after") and w["after"][1] == 0)]


@pytest.mark.parametrize(
    ("command", "field"),
    [
        ("tickets", "watermark_messages"),
        ("tickets", "watermark_tickets"),
        ("customers", "watermark"),
    ],
)
def test_a_watermark_a_little_after_now_is_refused_and_nothing_changes(
    sim: Simulator, tmp_path: Path, command: str, field: str
) -> None:
    out = tmp_path / "out.csv"
    assert run_cli(sim, command, "--out", str(out)).exit_code == 0
    state = tmp_path / "out.csv.state.json"
    future = _soon()
    _edit(state, lambda p: p.update({field: future}))
    before = (out.read_bytes(), state.read_bytes())
    sim.reset_stats()
    result = run_cli(sim, command, "--out", str(out))
    message = assert_one_line_error(result, ExitCode.CONFLICT)
    assert f"{field} {future}" in message and "later than this run's start" in message
    assert (out.read_bytes(), state.read_bytes()) == before
    assert not [r for r in sim.requests if r.path != "/api/account"]  # no listing was read


def test_a_run_in_flight_that_started_after_now_is_refused(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    assert interrupt_at_request(sim, out, 6, signal.SIGTERM).returncode == ExitCode.INTERRUPTED
    state = tmp_path / "t.csv.state.json"
    future = _soon(2)
    _edit(state, lambda p: p["run"].update(started_at=future))
    result = run_cli(sim, "tickets", "--out", str(out))
    assert f"started_at {future}" in assert_one_line_error(result, ExitCode.CONFLICT)


def test_a_saved_cursor_that_does_not_decode_is_refused_before_it_is_sent(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "t.csv"
    assert interrupt_at_request(sim, out, 6, signal.SIGTERM).returncode == ExitCode.INTERRUPTED
    state = tmp_path / "t.csv.state.json"
    walks: list[dict[str, Any]] = []

    def garble(progress: dict[str, Any]) -> None:
        walks.extend(_walks_with_cursor(progress))
        assert walks, progress["run"]
        walks[0]["cursor"] = walks[0]["cursor"].rstrip("=") + "x"  # edited by hand

    _edit(state, garble)
    before = (out.read_bytes(), state.read_bytes())
    sim.reset_stats()
    result = run_cli(sim, "tickets", "--out", str(out))
    message = assert_one_line_error(result, ExitCode.CONFLICT)
    assert "cursor" in message and "does not decode" in message
    assert (out.read_bytes(), state.read_bytes()) == before
    assert not [r for r in sim.requests if "cursor" in r.query]


def test_a_cursor_the_api_gave_in_another_form_is_kept_and_resumes(
    sim: Simulator, tmp_path: Path, clean: bytes
) -> None:
    """Whether every real listing uses the documented encoding is unsure (the reference shows
    an older `prev__6__...` form; an earlier simulator wrote compact JSON): a walk saves such a
    cursor unmarked and sends it back unchecked, and a refusal of it is recovered from as any
    expired cursor is."""
    position = WalkPosition()
    old_form = "prev__6__2021-03-03 06:00:00"
    key = ("2021-03-03T06:00:00.000000Z", 9)
    walk = ListingWalk(None, "/tickets", "created_datetime", False, position)  # type: ignore[arg-type]
    walk.advance(WalkPage(items=[{"id": 9}], keys=[key], next_cursor=old_form, last_key=key))
    saved = json.loads(json.dumps(position.to_json()))
    assert "decodes" not in saved and WalkPosition.from_json(saved) == position  # unchecked
    walk.advance(WalkPage(items=[], keys=[], next_cursor=keyset_cursor(key), last_key=None))
    saved = json.loads(json.dumps(position.to_json()))
    assert saved["decodes"] is True and WalkPosition.from_json(saved) == position
    with pytest.raises(BadProgress, match="does not decode"):
        WalkPosition.from_json({**saved, "cursor": old_form})  # not given so: an edit

    # End to end: a resumed walk holding such a cursor is answered 400 by the simulator (whose
    # cursors are the documented ones), enters again after its position and ends as clean.
    out = tmp_path / "t.csv"
    assert interrupt_at_request(sim, out, 6, signal.SIGTERM).returncode == ExitCode.INTERRUPTED
    state = tmp_path / "t.csv.state.json"

    def old_forms(progress: dict[str, Any]) -> None:
        for walk in _walks_with_cursor(progress):
            walk["cursor"] = old_form  # as the API gave it: not marked as decoding
            walk.pop("decodes", None)

    _edit(state, old_forms)
    result = run_cli(sim, "tickets", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == clean


def test_a_long_refused_cursor_is_shown_cut_with_an_ellipsis_not_an_escape() -> None:
    cursor = keyset_cursor(("2025-02-09T00:27:28.000000Z", 12345)).rstrip("=") + "x"
    assert len(cursor) > 40
    with pytest.raises(BadProgress) as refused:
        WalkPosition.from_json({"cursor": cursor, "decodes": True})
    assert f'"{cursor[:39]}…"' in str(refused.value) and "\\u2026" not in str(refused.value)
