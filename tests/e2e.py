"""Helpers for whole runs of the real CLI against the simulator."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from gorgias_export.api.client import GorgiasClient
from gorgias_export.cli.app import app
from gorgias_export.exports.account_walks import AccountWalks
from gorgias_export.exports.conversations import ConversationExport, ConversationRows
from gorgias_export.exports.progress import ExportProgress
from gorgias_export.jobs.lifecycle import JobResult, open_target, run_job
from gorgias_export.jobs.tickets import TicketsJob
from gorgias_export.output.ticket_index import TicketIndex
from gorgias_export.output.writers import RowSink, make_encoder
from gorgias_export.rows import CONVERSATION_COLUMNS, CONVERSATION_CSV_KINDS
from gorgias_sim import RequestRecord, SimConfig, Simulator, cursors
from tests.conftest import EMAIL, SECRET_KEY
from tests.fakes import FakeTime

csv.field_size_limit(sys.maxsize)  # bodies of 200 KB are in the data


def env_for(sim: Simulator) -> dict[str, str]:
    return {"GORGIAS_BASE_URL": sim.url, "GORGIAS_EMAIL": EMAIL, "GORGIAS_API_KEY": SECRET_KEY}


def run_cli(sim: Simulator | None, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run `gorgias-export ARGS` in this process; returns click's Result."""
    runner = CliRunner()
    full_env = {**(env_for(sim) if sim else {}), **(env or {})}
    return runner.invoke(app, list(args), env=full_env, catch_exceptions=False)


def run_subprocess(sim: Simulator, *args: str) -> subprocess.Popen[bytes]:
    """Start `python -m gorgias_export ARGS` as a separate process (to be killed)."""
    return subprocess.Popen(
        [sys.executable, "-m", "gorgias_export", *args],
        env={**os.environ, **env_for(sim)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def row_ids(rows: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """(ticket_id, message_id) of each row, as strings, counted."""
    return Counter(
        (str(r["ticket_id"]), "" if r["message_id"] in (None, "") else str(r["message_id"]))
        for r in rows
    )


def expected_ids(
    sim: Simulator, since: str | None = None, until: str | None = None
) -> Counter[tuple[str, str]]:
    """The rows a correct export of the simulator's data holds: one per message, plus one per
    ticket without messages. `since`/`until` are normalized UTC strings."""
    from gorgias_export.timeutil import sort_key

    expected: Counter[tuple[str, str]] = Counter()
    for message in sim.dataset.messages:
        key = sort_key(message["created_datetime"])
        if (since and key < since) or (until and key > until):
            continue
        expected[(str(message["ticket_id"]), str(message["id"]))] += 1
    for ticket in sim.dataset.tickets:
        key = sort_key(ticket["created_datetime"])
        if (since and key < since) or (until and key > until):
            continue
        if ticket["messages_count"] == 0:
            expected[(str(ticket["id"]), "")] += 1
    return expected


def kill_when(
    sim: Simulator, wanted: Callable[[RequestRecord, list[str]], bool], *args: str
) -> int:
    """Run `gorgias-export ARGS --quiet` in a child and kill -9 it when the simulator receives a
    request for which `wanted(record, paths_so_far)` is true (before answering it); returns the
    child's exit status."""
    holder: list[subprocess.Popen[bytes]] = []
    seen: list[str] = []
    ready = threading.Event()

    def hook(record: RequestRecord) -> None:
        seen.append(record.path)
        if wanted(record, seen):
            ready.wait(5)
            holder[0].send_signal(signal.SIGKILL)

    sim.on_request = hook
    try:
        process = run_subprocess(sim, *args, "--quiet")
        holder.append(process)
        ready.set()
        process.communicate(timeout=120)
    finally:
        sim.on_request = None
    return process.returncode


def floor(sim: Simulator) -> int:
    """The fewest requests a full tickets export can take: ceil(T/100) + ceil(M/100)."""
    return math.ceil(len(sim.dataset.tickets) / 100) + math.ceil(len(sim.dataset.messages) / 100)


# -- the first run's split message listing (meeting.py) -----------------------------------------


def split_sim(tickets: int, seed: int, refuses_hand_built: bool = False) -> Simulator:
    """A simulator for the split: with a TTL it only takes cursors it issued (hand-built ones are
    refused), and a fake clock keeps the ones it issued from expiring during a test."""
    config = SimConfig(
        seed=seed,
        tickets=tickets,
        rate_limit=False,
        email=EMAIL,
        api_key=SECRET_KEY,
        cursor_ttl=3600 if refuses_hand_built else None,
    )
    return Simulator(config, clock=FakeTime()) if refuses_hand_built else Simulator(config)


def is_hand_built(token: str | None) -> bool:
    """A cursor built by the exporter: the simulator's own always name a real item (id > 0)."""
    return token is not None and cursors.decode(token)[2] == 0


def entries(sim: Simulator) -> list[RequestRecord]:
    """The requests that carried a hand-built cursor."""
    return [r for r in sim.requests if is_hand_built(r.query.get("cursor", [None])[0])]


def export_tickets(client: GorgiasClient, out: Path, fmt: str = "csv") -> JobResult:
    """The tickets job into `out`, in this process, through the one lifecycle."""
    job = TicketsJob(fmt)
    target = open_target(job, str(out), None, False, client.settings.base_url, "tickets.csv")
    return run_job(client, job, target)


def conversation_export(
    client: GorgiasClient, out: Path, checkpoint: Callable[[ExportProgress], None]
) -> tuple[ConversationExport, RowSink]:
    """A bare conversation export of the whole account to a CSV file, with its own checkpoint
    (no state file, no lock): for tests that watch what each checkpoint saves."""
    sink = RowSink(make_encoder("csv", CONVERSATION_COLUMNS, CONVERSATION_CSV_KINDS), str(out))
    rows = ConversationRows(sink)
    index = TicketIndex(None, rows.shape)
    export = ConversationExport(client, index, rows, ExportProgress(), checkpoint, AccountWalks())
    return export, sink
