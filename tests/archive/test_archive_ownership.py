"""`archive` never replaces a file it did not write, nor writes through a link planted in DIR."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from gorgias_export.archive.jsonl_dump import dump_tables
from gorgias_export.archive.site import build_site
from gorgias_export.archive.site_pages import ticket_href
from gorgias_export.errors import ExitCode, OutputError, StateConflict
from gorgias_sim import Simulator
from tests.support.cli import assert_one_line_error, run_cli, run_ok

pytestmark = pytest.mark.sim(seed=7, tickets=8, scope="module")


@pytest.mark.parametrize("planted", ["index.html", "tickets/0/1.html"])
def test_a_site_no_archive_wrote_is_refused_before_any_request(
    sim: Simulator, tmp_path: Path, planted: str
) -> None:
    out = tmp_path / "archive"
    mine = out / planted
    mine.parent.mkdir(parents=True)
    mine.write_text("MINE")
    before = len(sim.requests)
    result = run_cli(sim, "archive", "--out-dir", str(out))
    stderr = assert_one_line_error(result, ExitCode.CONFLICT)
    assert planted.split("/")[0] in stderr
    assert len(sim.requests) == before
    assert mine.read_text() == "MINE"


def test_a_page_the_site_state_does_not_know_is_refused_not_replaced(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "archive"
    run_ok(sim, "archive", "--out-dir", str(out))
    ticket = sim.dataset.tickets[0]["id"]
    with sqlite3.connect(out / "site-state.sqlite") as db:
        db.execute("DELETE FROM pages WHERE ticket_id = ?", (ticket,))
    page = out / ticket_href(ticket)
    page.write_text("MINE")
    with pytest.raises(StateConflict, match=str(page)):
        build_site(out, out / "data" / "gorgias.db")
    assert page.read_text() == "MINE"
    # An index someone else wrote over ours is refused too.
    (out / "index.html").write_text("MINE")
    result = run_cli(sim, "archive", "--out-dir", str(out))
    assert "index.html" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert (out / "index.html").read_text() == "MINE"


def test_no_write_goes_through_a_link_planted_in_dir(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "archive"
    run_ok(sim, "archive", "--out-dir", str(out))
    database = out / "data" / "gorgias.db"
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("VICTIM")
    ticket = sim.dataset.tickets[0]["id"]
    page = out / ticket_href(ticket)

    # A page's directory replaced by a link to elsewhere.
    shutil.move(page.parent, tmp_path / "moved")
    page.parent.symlink_to(outside, target_is_directory=True)
    with pytest.raises(OutputError, match="link"):
        build_site(out, database)
    assert list(outside.iterdir()) == []
    page.parent.unlink()
    shutil.move(tmp_path / "moved", page.parent)

    # A page's temporary file, the index's and a JSONL file's, each a link to a victim.
    page.unlink()
    temporaries = [
        page.with_name(page.name + ".tmp"),
        out / "index.html.tmp",
        out / "data" / "jsonl" / "tickets.jsonl.tmp",
    ]
    for temporary in temporaries:
        temporary.symlink_to(victim)
        with pytest.raises(OutputError):
            if "jsonl" in temporary.name:
                dump_tables(database, out / "data" / "jsonl")
            else:
                (out / "index.html").unlink(missing_ok=True)
                build_site(out, database)
        assert victim.read_text() == "VICTIM"
        temporary.unlink()
    # A link at DIR's top level is refused before any request.
    shutil.rmtree(out / "tickets")
    (out / "tickets").symlink_to(outside, target_is_directory=True)
    result = run_cli(sim, "archive", "--out-dir", str(out))
    assert "link" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert list(outside.iterdir()) == []
    assert victim.read_text() == "VICTIM"


@pytest.mark.sim(seed=7, tickets=8)  # its own: the test changes the account
def test_the_page_of_a_deleted_ticket_goes_and_nothing_else(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "archive"
    run_ok(sim, "archive", "--out-dir", str(out))
    deleted = sim.dataset.tickets[2]["id"]
    page = out / ticket_href(deleted)
    assert page.is_file()
    unlisted = page.with_name("notes.txt")  # in the same folder, not the site state's
    unlisted.write_text("MINE")
    sim.dataset.delete_ticket(deleted)
    run_ok(sim, "archive", "--out-dir", str(out))
    assert not page.exists()
    assert unlisted.read_text() == "MINE"
    assert f'"{ticket_href(deleted)}"' not in (out / "index.html").read_text(encoding="utf-8")
    with sqlite3.connect(out / "site-state.sqlite") as db:
        assert not db.execute("SELECT 1 FROM pages WHERE ticket_id = ?", (deleted,)).fetchall()
    kept = sim.dataset.tickets[0]["id"]
    assert (out / ticket_href(kept)).is_file()


@pytest.mark.sim(seed=7, tickets=8)  # its own: the test changes the account
def test_text_that_looks_like_json_stays_text(sim: Simulator, tmp_path: Path) -> None:
    ticket = sim.dataset.tickets[1]["id"]
    sim.dataset.update_ticket(ticket, subject="[]")
    message = sim.dataset.add_message(ticket)
    with sim.dataset.lock:
        message.update(body_text='{"order": "A-1"}', body_html=None, stripped_text=None)
    out = tmp_path / "archive"
    run_ok(sim, "archive", "--out-dir", str(out))
    page = (out / ticket_href(ticket)).read_text(encoding="utf-8")
    assert "<h1>[]</h1>" in page
    assert '<div class="plain">{&quot;order&quot;: &quot;A-1&quot;}</div>' in page
    jsonl = out / "data" / "jsonl"
    tickets = [json.loads(line) for line in (jsonl / "tickets.jsonl").read_text().splitlines()]
    assert next(t for t in tickets if t["id"] == ticket)["subject"] == "[]"
    messages = [json.loads(line) for line in (jsonl / "messages.jsonl").read_text().splitlines()]
    shown = next(m for m in messages if m["id"] == message["id"])
    assert shown["body_text"] == '{"order": "A-1"}'
    assert isinstance(shown["sender"], dict)  # a nested value: an object again
    customer = json.loads((jsonl / "customers.jsonl").read_text().splitlines()[0])
    assert isinstance(customer["channels"], list)  # an entity table's nested field too
