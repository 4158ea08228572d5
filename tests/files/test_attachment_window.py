"""`attachments --since/--until`: only the files of what was created in the window."""

from __future__ import annotations

from pathlib import Path

import pytest

from gorgias_export.timeutil import sort_key
from gorgias_sim import Simulator
from tests.files.helpers import manifest
from tests.support.cli import run_ok

pytestmark = pytest.mark.sim(uploads=True, tickets=120)


def test_only_the_window_s_files(sim: Simulator, tmp_path: Path) -> None:
    messages = sim.dataset.messages
    with_files = sorted(sort_key(m["created_datetime"]) for m in messages if m.get("attachments"))
    since = with_files[len(with_files) // 3]
    until = with_files[2 * len(with_files) // 3]
    out = tmp_path / "window"
    run_ok(sim, "attachments", "--out-dir", str(out), "--since", since, "--until", until)
    rows = manifest(out)
    wanted = {
        a["url"]
        for m in sim.dataset.messages
        for a in m.get("attachments") or []
        if since <= sort_key(m["created_datetime"]) <= until
    }
    wanted |= {
        r["url"]
        for r in sim.dataset.entity_items("phone/voice-call-recordings")
        if r["url"] and since <= sort_key(r["created_datetime"]) <= until
    }
    assert {r["url"] for r in rows if r["url"]} == wanted
    assert len(wanted) >= 3
