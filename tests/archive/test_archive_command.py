"""`archive`: the data, the JSONL and the site in one resumable command; reruns write only what
changed; a kill leaves every page whole."""

from __future__ import annotations

import html
import json
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from gorgias_export.archive.site import build_site
from gorgias_export.archive.site_pages import index_page, ticket_href
from gorgias_export.errors import ExitCode
from gorgias_sim import Simulator
from gorgias_sim.data import MESSAGE_ATTACHMENTS, MESSAGE_HTML_ONLY, MESSAGE_INTERNAL_NOTE
from tests.files.helpers import check_directory, no_credentials_reached_uploads
from tests.support.archives import copy_of
from tests.support.cli import REPO, assert_one_line_error, kill_when, run_cli, run_ok

# One simulator, and one archive (`built`, tests/archive/conftest.py) for the tests that only
# read it or change a copy of it.
pytestmark = pytest.mark.sim(seed=5, tickets=60, scope="module")


def pages(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.glob("tickets/*/*.html"))}


def index_rows(out: Path) -> list[list[Any]]:
    text = (out / "index.html").read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="tickets-data">(.*?)</script>', text)
    assert block is not None
    rows: list[list[Any]] = json.loads(block.group(1))
    return rows


def ticket_of_message(sim: Simulator, message_id: int) -> int:
    return int(next(m["ticket_id"] for m in sim.dataset.messages if m["id"] == message_id))


def test_archive_holds_the_mirror_the_jsonl_and_a_page_per_ticket(
    sim: Simulator, built: Path
) -> None:
    out = built
    ticket_ids = sorted(t["id"] for t in sim.dataset.tickets)
    with sqlite3.connect(out / "data" / "gorgias.db") as db:
        assert [r[0] for r in db.execute("SELECT id FROM tickets ORDER BY id")] == ticket_ids
        message_count = db.execute("SELECT count(*) FROM messages").fetchone()[0]
    assert message_count == len(sim.dataset.messages)
    jsonl = (out / "data" / "jsonl" / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(jsonl) == message_count
    first = json.loads(jsonl[0])
    assert isinstance(first["sender"], dict)  # nested values are objects again, not JSON text
    assert sorted(int(r[0]) for r in index_rows(out)) == ticket_ids
    # Streamed row by row, the index is the page made whole from the same rows.
    assert (out / "index.html").read_text("utf-8") == index_page(index_rows(out))
    assert not [p for p in out.rglob("*.tmp") if p.is_file()]  # .tmp/: the downloads, empty
    assert sorted(pages(out)) == sorted(ticket_href(t) for t in ticket_ids)


def test_a_ticket_page_shows_the_conversation_in_order_with_roles_notes_and_files(
    sim: Simulator, built: Path
) -> None:
    out = built
    note = sim.dataset.special[MESSAGE_INTERNAL_NOTE][0]
    ticket = ticket_of_message(sim, note)
    page = (out / ticket_href(ticket)).read_text(encoding="utf-8")
    messages = sorted(
        (m for m in sim.dataset.messages if m["ticket_id"] == ticket),
        key=lambda m: (m["created_datetime"], m["id"]),
    )
    positions = [page.index(f'id="m{m["id"]}"') for m in messages]
    assert positions == sorted(positions)  # oldest first
    assert re.search(rf'class="message note" id="m{note}"', page)
    assert '<span class="label">internal note</span>' in page
    roles = set(re.findall(r'class="message (agent|customer|note)"', page))
    assert {"agent", "customer"} & roles
    scored = [
        s
        for s in sim.dataset.entity_items("satisfaction-surveys")
        if s["score"] is not None and s["body_text"]
    ]
    survey = max(  # the ticket's latest survey is the one shown
        (s for s in sim.dataset.entity_items("satisfaction-surveys")
         if s["ticket_id"] == scored[0]["ticket_id"]),
        key=lambda s: (s["created_datetime"], s["id"]),
    )  # fmt: skip
    survey_page = (out / ticket_href(survey["ticket_id"])).read_text(encoding="utf-8")
    shown = f"{survey['score']} / 5" + (f": {survey['body_text']}" if survey["body_text"] else "")
    assert f"<th>satisfaction</th><td>{html.escape(shown)}</td>" in survey_page
    with_files = sim.dataset.special[MESSAGE_ATTACHMENTS][0]
    files_page = (out / ticket_href(ticket_of_message(sim, with_files))).read_text("utf-8")
    # This simulator serves no files (its uploads host is a name that never resolves): the
    # attachments step lists them as gone, and the page names them without a link.
    assert '<span class="missing">(gone)</span>' in files_page
    assert 'href="../../files/' not in files_page


def test_attachments_link_to_the_local_files_the_manifest_lists(
    sim: Simulator, built: Path, tmp_path: Path
) -> None:
    out = copy_of(built, tmp_path)
    message = next(m for m in sim.dataset.messages if m["attachments"])
    rows = [
        {"ticket_id": message["ticket_id"], "message_id": message["id"], "name": "a<b>.png",
         "content_type": "image/png", "size": 3, "sha256": "0" * 64,
         "path": "files/ab/a b.png", "status": "ok", "url": "https://uploads.example/1"},
        {"ticket_id": message["ticket_id"], "message_id": message["id"], "name": "gone.pdf",
         "content_type": "application/pdf", "size": None, "sha256": None, "path": None,
         "status": "gone", "url": "https://uploads.example/2"},
        {"ticket_id": message["ticket_id"], "message_id": message["id"], "name": "evil",
         "content_type": "text/plain", "size": 1, "sha256": "1" * 64,
         "path": "../../etc/passwd", "status": "ok", "url": "https://uploads.example/3"},
    ]  # fmt: skip
    with (out / "manifest.jsonl").open("a", encoding="utf-8") as manifest:  # after the step's rows
        manifest.write("".join(json.dumps(r) + "\n" for r in rows) + '{"cut')
    result = build_site(out, out / "data" / "gorgias.db")
    assert result.pages_written == 1  # only the page whose attachments changed
    page = (out / ticket_href(message["ticket_id"])).read_text(encoding="utf-8")
    assert '<a href="../../files/ab/a%20b.png">a&lt;b&gt;.png</a>' in page
    assert 'gone.pdf <span class="missing">(gone)</span>' in page
    assert "etc/passwd" not in page  # a path leaving DIR is shown as text, never linked


@pytest.mark.sim(seed=5, tickets=20)  # its own: the test changes the account
def test_a_rerun_writes_only_the_changed_pages_and_the_index(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "archive"
    run_ok(sim, "archive", "--out-dir", str(out))
    before = {p: (out / p).stat().st_ino for p in pages(out)}
    index_before = (out / "index.html").stat().st_ino
    result = run_ok(sim, "archive", "--out-dir", str(out))
    assert "0 ticket pages written, index unchanged" in result.stderr
    assert {p: (out / p).stat().st_ino for p in pages(out)} == before
    assert (out / "index.html").stat().st_ino == index_before

    changed = sim.dataset.tickets[3]["id"]
    sim.dataset.add_message(changed)
    result = run_ok(sim, "archive", "--out-dir", str(out))
    assert "1 ticket pages written, index written" in result.stderr
    after = {p: (out / p).stat().st_ino for p in pages(out)}
    assert [p for p in after if after[p] != before[p]] == [ticket_href(changed)]


def test_a_kill_while_writing_pages_leaves_each_whole_and_the_rerun_finishes(
    built: Path, tmp_path: Path
) -> None:
    clean = built
    out = copy_of(built, tmp_path)
    for page in out.glob("tickets/*/*.html"):
        page.unlink()
    (out / "index.html").unlink()
    # A child builds the site and kill -9s itself after its 25th page: progress, not time.
    child = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from gorgias_export.archive.site import build_site\n"
        "out = Path(sys.argv[1])\n"
        "def on_page(n):\n"
        "    if n == 25:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "build_site(out, out / 'data' / 'gorgias.db', on_page)\n"
    )
    done = subprocess.run([sys.executable, "-c", child, str(out)], cwd=REPO, timeout=120)
    assert done.returncode == -signal.SIGKILL
    written = pages(out)
    assert 25 <= len(written) < 60
    expected = pages(clean)
    assert all(expected[p] == data for p, data in written.items())  # none cut short
    assert not (out / "index.html").exists()
    result = build_site(out, out / "data" / "gorgias.db")
    assert result.pages_written == 60 - 25  # the 25 recorded are not written again
    assert pages(out) == expected
    assert (out / "index.html").read_bytes() == (clean / "index.html").read_bytes()
    assert not [p for p in out.rglob("*.tmp") if p.is_file()]  # .tmp/: the downloads, empty


def test_a_page_cut_short_outside_a_run_is_written_again(
    sim: Simulator, built: Path, tmp_path: Path
) -> None:
    out = copy_of(built, tmp_path)
    page = out / ticket_href(sim.dataset.tickets[0]["id"])
    whole = page.read_bytes()
    page.write_bytes(whole[:100])  # as a power cut may leave an unsynced page
    assert build_site(out, out / "data" / "gorgias.db").pages_written == 1
    assert page.read_bytes() == whole


def test_the_hostile_body_is_sanitised_in_the_page(sim: Simulator, built: Path) -> None:
    out = built
    message = sim.dataset.special[MESSAGE_HTML_ONLY][0]
    page = (out / ticket_href(ticket_of_message(sim, message))).read_text(encoding="utf-8")
    assert "Hello &amp; welcome" in page
    assert not re.search(r"\son\w+=", page)  # no event handler attribute
    assert not re.search(r"<(script|iframe|form|object|base|link|svg)\b", page.split("</style>")[1])
    assert 'src="http' not in page
    assert "<script" not in page  # ticket pages have no script at all
    assert "script-src 'none'" in page


def test_without_nh3_the_archive_is_refused_before_any_request(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nh3" else real(name, *a)
    )
    before = list(sim.requests)
    result = run_cli(sim, "archive", "--out-dir", str(tmp_path / "archive"))
    stderr = assert_one_line_error(result, ExitCode.CONFIG)
    assert "gorgias-export[archive]" in stderr
    assert sim.requests == before
    assert not (tmp_path / "archive").exists()


def test_an_archive_killed_during_the_export_resumes_to_the_same_archive(
    sim: Simulator, built: Path, tmp_path: Path
) -> None:
    out = tmp_path / "archive"

    def second_page_of_messages(record: Any, paths: list[str]) -> bool:
        return record.path == "/api/messages" and paths.count("/api/messages") == 2

    returncode = kill_when(sim, second_page_of_messages, "archive", "--out-dir", str(out))
    assert returncode == -signal.SIGKILL
    assert not (out / "index.html").exists()  # killed inside the data step
    run_ok(sim, "archive", "--out-dir", str(out))
    assert pages(out) == pages(built)
    assert (out / "index.html").read_bytes() == (built / "index.html").read_bytes()
    for table in ("tickets", "messages", "conversations", "customers"):
        jsonl = Path("data", "jsonl", f"{table}.jsonl")
        # The same rows (their order follows the database's row ids, which a resume may not).
        lines = sorted((out / jsonl).read_bytes().splitlines())
        assert lines == sorted((built / jsonl).read_bytes().splitlines()), table


@pytest.mark.sim(uploads=True, tickets=40)
def test_the_archive_downloads_the_files_and_its_pages_link_to_them(
    sim: Simulator, tmp_path: Path
) -> None:
    """The attachments step runs inside `archive`: every file once with its bytes (the same
    checks as the `attachments` command's), no credentials on the uploads host, and a ticket
    page links each stored file by its path relative to the page."""
    out = tmp_path / "archive"
    run_ok(sim, "archive", "--out-dir", str(out))
    rows = check_directory(out, sim)
    no_credentials_reached_uploads(sim)
    stored = next(r for r in rows if r["status"] == "ok" and r["ticket_id"])
    page = (out / ticket_href(int(stored["ticket_id"]))).read_text(encoding="utf-8")
    depth = "../" * (len(Path(ticket_href(int(stored["ticket_id"]))).parts) - 1)
    assert f'href="{depth}{quote(stored["path"])}"' in page
    assert "(not downloaded)" not in page
    # A rerun with nothing new fetches no file again.
    assert sim.uploads is not None
    fetched = len(sim.uploads.requests)
    sim.reset_stats()
    run_ok(sim, "archive", "--out-dir", str(out))
    assert not [r for r in sim.requests if "/download/" in r.path]
    assert len(sim.uploads.requests) == fetched
