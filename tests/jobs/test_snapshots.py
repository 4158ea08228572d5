"""Snapshots, the full reads (a single object, configuration lists, `get`): written beside the
output and moved over it when whole, so each run replaces the last one's; resumable at
every step, and restarted when the API refuses the saved cursor."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from gorgias_sim import Simulator
from tests.support.cli import run_cli, run_ok
from tests.support.fakes import FakeTime
from tests.support.outputs import read_csv, read_jsonl

pytestmark = pytest.mark.sim(seed=11, tickets=250, cursor_ttl=60, fake_clock=True)


def test_account_is_one_row_replaced_on_each_run(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "account.csv"
    run_ok(sim, "account", "--out", str(out))
    run_ok(sim, "account", "--out", str(out))
    rows = read_csv(out)
    assert len(rows) == 1 and rows[0]["domain"] == sim.dataset.account["domain"]
    assert not (tmp_path / "account.csv.partial").exists()


def test_a_configuration_list_is_replaced_by_the_new_snapshot(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "tags.csv"
    run_ok(sim, "tags", "--out", str(out))
    tags = sim.dataset.entity_items("tags")
    sim.dataset.rename_tag(tags[0]["id"], 'renamed, with "quotes"')
    sim.dataset.delete_config("tags", tags[1]["id"])
    sim.dataset.add_tag("brand-new")
    run_ok(sim, "tags", "--out", str(out))
    rows = {row["id"]: row["name"] for row in read_csv(out)}
    assert rows == {str(t["id"]): t["name"] for t in sim.dataset.entity_items("tags")}
    assert rows[str(tags[0]["id"])] == 'renamed, with "quotes"'
    assert not (tmp_path / "tags.csv.partial").exists()


def test_get_whose_cursor_expires_mid_run_starts_its_snapshot_over(
    sim: Simulator, clock: FakeTime, tmp_path: Path
) -> None:
    """get keeps no ids (its listings can be huge), so a refused cursor restarts the snapshot:
    the file is still every item exactly once."""
    clean = tmp_path / "clean.jsonl"
    run_ok(sim, "get", "/api/messages", "--out", str(clean))
    counter = itertools.count(1)

    def expire_everything_at_request_5(record: Any) -> None:
        if next(counter) == 5:
            clock.now += 3600

    sim.on_request = expire_everything_at_request_5
    out = tmp_path / "messages.jsonl"
    result = run_cli(sim, "get", "/api/messages", "--out", str(out))
    sim.on_request = None
    assert result.exit_code == 0, result.stderr
    assert "reading it again from the start" in result.stderr
    assert out.read_bytes() == clean.read_bytes()
    state = json.loads((tmp_path / "messages.jsonl.state.json").read_text())
    assert len(json.dumps(state)) < 2000  # no ids kept, whatever the listing's size


def interrupt_after_finishing_save(monkeypatch: pytest.MonkeyPatch, module: Any) -> None:
    """Ctrl-C right after the state that says "snapshot complete, being moved" is on disk,
    before `<out>.partial` is renamed over `<out>` (triggered by that state write)."""
    real = module.save_state
    fired = itertools.count()

    def save_state(path: Path, identity: dict[str, Any], progress: dict[str, Any]) -> None:
        real(path, identity, progress)
        run = progress.get("run") or {}
        if run.get("finishing") and next(fired) == 0:
            raise KeyboardInterrupt

    monkeypatch.setattr(module, "save_state", save_state)


@pytest.mark.sim(seed=23, tickets=250, cursor_ttl=60, fake_clock=True)
def test_snapshot_resumed_after_its_finishing_save_leaves_no_partial(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resume renames `<out>.partial` over `<out>`, then its final checkpoint opens the sink
    for the first time, on the path `<out>.partial`: O_CREAT makes it again and truncate()
    extends it to the snapshot's length in NUL bytes, a junk file left beside the output."""
    from gorgias_export.jobs import state as entity_job

    out = tmp_path / "tags.csv"
    interrupt_after_finishing_save(monkeypatch, entity_job)
    assert run_cli(sim, "tags", "--out", str(out)).exit_code == 130
    monkeypatch.undo()
    run_ok(sim, "tags", "--out", str(out))
    assert {r["id"] for r in read_csv(out)} == {
        str(t["id"]) for t in sim.dataset.entity_items("tags")
    }
    partial = tmp_path / "tags.csv.partial"
    assert not partial.exists(), f"left behind: {partial.read_bytes()[:16]!r}"


@pytest.mark.sim(seed=23, tickets=250, cursor_ttl=60, fake_clock=True)
def test_snapshot_output_survives_a_failed_final_save_after_a_finishing_resume(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same junk `<out>.partial` (NUL bytes) becomes the output: resume 1 renames the real
    snapshot into place, recreates `.partial` as NULs, then its last state save fails (disk
    full, exit 6); resume 2 still sees "finishing" and renames the NUL file over `tags.csv`."""
    from gorgias_export.errors import OutputError
    from gorgias_export.jobs import state as entity_job

    out = tmp_path / "tags.csv"
    interrupt_after_finishing_save(monkeypatch, entity_job)
    assert run_cli(sim, "tags", "--out", str(out)).exit_code == 130
    monkeypatch.undo()

    real = getattr(entity_job, "save_state")  # noqa: B009

    def full_disk_at_the_end(
        path: Path, identity: dict[str, Any], progress: dict[str, Any]
    ) -> None:
        if progress.get("run") is None:
            raise OutputError("Could not save progress (No space left on device).")
        real(path, identity, progress)

    monkeypatch.setattr(entity_job, "save_state", full_disk_at_the_end)
    assert run_cli(sim, "tags", "--out", str(out)).exit_code == 6
    monkeypatch.undo()
    assert b"\x00" not in out.read_bytes()  # holds after the failed run already
    run_ok(sim, "tags", "--out", str(out))
    data = out.read_bytes()
    assert b"\x00" not in data, f"tags.csv is {data[:16]!r}..."
    assert {r["id"] for r in read_csv(out)} == {
        str(t["id"]) for t in sim.dataset.entity_items("tags")
    }


@pytest.mark.sim(seed=23, tickets=250, cursor_ttl=60, fake_clock=True)
def test_get_of_an_object_without_id_resumed_after_its_checkpoint_writes_it_once(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`get /api/account`: the object has no `id`, so nothing records that it was written; a
    Ctrl-C after the checkpoint that counts it (before the snapshot is sealed) and a rerun give
    a file with the account twice."""
    from gorgias_export.jobs import state as entity_job

    real = getattr(entity_job, "save_state")  # noqa: B009
    fired = itertools.count()

    def save_state(path: Path, identity: dict[str, Any], progress: dict[str, Any]) -> None:
        real(path, identity, progress)
        run = progress.get("run") or {}
        counted = run and not run.get("finishing") and progress["output_bytes"] > 0
        if counted and next(fired) == 0:
            raise KeyboardInterrupt

    out = tmp_path / "account.jsonl"
    monkeypatch.setattr(entity_job, "save_state", save_state)
    assert run_cli(sim, "get", "/api/account", "--out", str(out)).exit_code == 130
    monkeypatch.undo()
    run_ok(sim, "get", "/api/account", "--out", str(out))
    assert len(read_jsonl(out)) == 1


@pytest.mark.sim(seed=23, tickets=250, cursor_ttl=60, fake_clock=True)
def test_get_state_does_not_grow_with_every_page_read(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full read keeps the id of every object it wrote in the state (`run.recent`, never
    pruned) and saves the state after every page: for `get /api/tickets` on a million tickets
    that is a state of tens of MB rewritten and fsynced 10,000 times (quadratic bytes)."""
    from gorgias_export.jobs import state as entity_job

    real = getattr(entity_job, "save_state")  # noqa: B009
    sizes: list[int] = []

    def save_state(path: Path, identity: dict[str, Any], progress: dict[str, Any]) -> None:
        real(path, identity, progress)
        if progress.get("run") and progress["output_bytes"] > 0:
            sizes.append(path.stat().st_size)

    monkeypatch.setattr(entity_job, "save_state", save_state)
    run_ok(sim, "get", "/api/messages", "--out", str(tmp_path / "messages.jsonl"))
    assert len(sizes) >= 8
    assert sizes[-1] < 2 * sizes[0], f"state bytes per checkpoint: {sizes}"
