"""`python -m tests.compat.record`: record, with TODAY's code, everything under fixtures/.

What it writes (and what test_previous_release.py replays with the current code):
- fixtures/golden.json: for each command line in GOLDEN_COMMANDS, the sha256 and byte length of
  its output on a fresh simulator; for each scenario, the output its replay must end with;
- fixtures/<scenario>.tar.gz: the files an export left behind, written by today's code:
  - "interrupted": a child process (tests/compat/child.py) killed -9 at a progress point; the
    replay runs the same command again and must end with the bytes of an uninterrupted export;
  - "finished": a complete export; the replay changes the data (sim.change_data) and reruns,
    and must end with what today's code wrote for that rerun.
  State files and the state table of databases hold @DIR@ for the scenario's directory and @API@
  for the simulator's URL; lock files and the cache of ticket contexts are left out.

Deterministic: the data ends at sim.FIXED_END, every change carries its own time, the exporter's
clock is frozen (FIRST_RUN_AT, RERUN_AT), kills land on progress rather than on timing, and the
archives carry no times or owners. Running it twice gives identical files.

Before writing, each fixture is replayed here as the test will replay it (restored into another
directory, real clock): a resumed export that does not reproduce the uninterrupted bytes stops
the recording with the difference.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.compat import sim as simulation
from tests.compat.child import frozen_clock
from tests.compat.helpers import (
    DIR,
    FIXTURES,
    GOLDEN,
    describe_difference,
    env_for,
    expand,
    output_digest,
    pack,
    restore,
    run_cli,
)

REPO = Path(__file__).resolve().parents[2]
# The clock of the exporter while recording: first runs (and the interrupted ones) an hour after
# the data ends; reruns after the data changed (sim.CHANGED_AT) a day later.
FIRST_RUN_AT = simulation.FIXED_END + timedelta(hours=1)
RERUN_AT = simulation.CHANGED_AT + timedelta(days=1)
ENTITY_COMMANDS = (
    "messages",
    "customers",
    "satisfaction-surveys",
    "events",
    "tags",
    "users",
    "teams",
    "views",
    "custom-fields",
    "integrations",
    "macros",
    "rules",
    "account",
)


@dataclass(frozen=True)
class Command:
    """One command line and where its output is: `kind` file, stdout, dir or sqlite."""

    name: str
    dataset: str
    args: tuple[str, ...]
    kind: str
    output: str | None  # relative to @DIR@; None for stdout

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dataset": self.dataset,
            "args": list(self.args),
            "kind": self.kind,
            "output": self.output,
        }


@dataclass(frozen=True)
class Scenario:
    command: Command
    kind: str  # "interrupted" | "finished"
    kill: str | None = None  # child.py's COMPAT_KILL
    kill_db: str | None = None  # child.py's COMPAT_DB, relative to @DIR@
    about: str = ""
    # What the saved state must show where the kill landed (see _state_notes), checked here so
    # that a change of data or kill point cannot quietly make the scenario a different one.
    lands: dict[str, Any] = field(default_factory=dict)


def _file(name: str, dataset: str, *args: str, kind: str = "file") -> Command:
    out = args[args.index("--out") + 1] if "--out" in args else args[args.index("--out-dir") + 1]
    return Command(name, dataset, args, kind, out.removeprefix(f"{DIR}/"))


def golden_commands(small: Any) -> list[Command]:
    """The command lines whose output is recorded, on the small dataset (`small`: its Dataset).
    Filter values are taken from the data, so that each filter selects something."""
    special = small.special
    tricky_ticket = small.ticket(special["ticket_tricky_bodies"][0])
    customer_id = str(tricky_ticket["customer"]["id"])  # three tickets, one without messages
    external_id = next(t["external_id"] for t in small.tickets if t["external_id"])
    many = str(special["ticket_with_many_messages"][0])  # 150 messages: two pages of them
    empty = str(special["tickets_without_messages"][0])
    closed_view = next(v["id"] for v in small.entity_items("views") if v["name"] == "Closed")
    customer_email = next(
        t["customer"]["email"] for t in reversed(small.tickets) if t["customer"]["email"]
    )
    surveyed = str(small.entity_items("satisfaction-surveys")[-1]["ticket_id"])
    d, s = DIR, "small"
    commands = [
        _file("tickets-csv", s, "tickets", "--out", f"{d}/tickets.csv"),
        _file("tickets-jsonl", s, "tickets", "--out", f"{d}/tickets.jsonl"),
        Command(
            "tickets-stdout-csv", s, ("tickets", "--out", "-", "--format", "csv"), "stdout", None
        ),
        Command(
            "tickets-stdout-jsonl",
            s,
            ("tickets", "--out", "-", "--format", "jsonl"),
            "stdout",
            None,
        ),
        _file("tickets-per-ticket", s, "tickets", "--per", "ticket", "--out", f"{d}/conv.jsonl"),
        _file(
            "tickets-per-ticket-customer-id",
            s,
            *("tickets", "--per", "ticket", "--customer-id", customer_id),
            *("--out", f"{d}/conv-customer.jsonl"),
        ),
        _file(
            "tickets-customer-id",
            s,
            *("tickets", "--customer-id", customer_id, "--out", f"{d}/customer.csv"),
        ),
        _file(
            "tickets-view-id", s, "tickets", "--view-id", str(closed_view), "--out", f"{d}/v.csv"
        ),
        _file(
            "tickets-external-id", s, "tickets", "--external-id", external_id, "--out", f"{d}/e.csv"
        ),
        _file(
            "tickets-ticket-id-x2",
            s,
            *("tickets", "--ticket-id", many, "--ticket-id", empty, "--out", f"{d}/two.jsonl"),
        ),
        _file(
            "tickets-since-until",
            s,
            *("tickets", "--since", "2026-01-01", "--until", "2026-06-30", "--out", f"{d}/q.csv"),
        ),
        _file("tickets-since", s, "tickets", "--since", "2026-09-01T12:00", "--out", f"{d}/s.csv"),
        _file("tickets-until", s, "tickets", "--until", "2025-12-31", "--out", f"{d}/u.jsonl"),
        _file("tickets-sqlite", s, "tickets", "--out", f"{d}/tickets.db", kind="sqlite"),
    ]
    for entity in ENTITY_COMMANDS:
        for ext in ("csv", "jsonl"):
            commands.append(_file(f"{entity}-{ext}", s, entity, "--out", f"{d}/{entity}.{ext}"))
    commands += [
        _file(
            "events-type",
            s,
            *("events", "--type", "ticket-created", "--type", "customer-created"),
            *("--out", f"{d}/events-type.csv"),
        ),
        _file(
            "events-object-type",
            s,
            *("events", "--object-type", "Customer", "--out", f"{d}/events-customer.jsonl"),
        ),
        _file("events-since", s, "events", "--since", "2026-09-01", "--out", f"{d}/events-s.csv"),
        _file(
            "events-since-until",
            s,
            *("events", "--since", "2026-01-01", "--until", "2026-03-31"),
            *("--out", f"{d}/events-q.csv"),
        ),
        _file("customers-email", s, "customers", "--email", customer_email, "--out", f"{d}/c.csv"),
        _file(
            "satisfaction-surveys-ticket-id",
            s,
            *("satisfaction-surveys", "--ticket-id", surveyed, "--out", f"{d}/survey.jsonl"),
        ),
        _file("customers-sqlite", s, "customers", "--out", f"{d}/customers.db", kind="sqlite"),
        _file("tags-sqlite", s, "tags", "--out", f"{d}/tags.db", kind="sqlite"),
        _file("get-list", s, "get", "/api/tags", "--out", f"{d}/get-tags.jsonl"),
        _file("get-account", s, "get", "/api/account", "--out", f"{d}/get-account.jsonl"),
        _file("all-csv", s, "all", "--out-dir", f"{d}/all", kind="dir"),
        _file("all-jsonl", s, "all", "--out-dir", f"{d}/all", "--format", "jsonl", kind="dir"),
        _file("all-sqlite", s, "all", "--out-dir", f"{d}/all", "--format", "sqlite", kind="dir"),
    ]
    return commands


def scenarios() -> list[Scenario]:
    d = DIR
    interrupted = [
        Scenario(
            _file("tickets-csv-split", "large", "tickets", "--out", f"{d}/tickets.csv"),
            "interrupted",
            kill="state-before:10",
            lands={
                "split": True,
                "walks_active": ["messages", "messages_desc", "messages_lower", "messages_upper"],
            },
            about="the first run's second phase: tickets done, the message listing split, and "
            "the four message walks each one page in; killed after page 10's rows were synced, "
            "before the state that counts them was saved",
        ),
        Scenario(
            _file("tickets-jsonl", "small", "tickets", "--out", f"{d}/tickets.jsonl"),
            "interrupted",
            kill="state-before:4",
            about="the messages newest first and oldest first; killed with a page synced that "
            "no state vouches for",
        ),
        Scenario(
            _file("tickets-sqlite", "small", "tickets", "--out", f"{d}/tickets.db", kind="sqlite"),
            "interrupted",
            kill="commit-before:3",
            kill_db="tickets.db",
            about="two pages committed; killed at the third page's COMMIT (its rows are lost)",
        ),
        Scenario(
            _file(
                "tickets-per-ticket",
                "small",
                *("tickets", "--per", "ticket", "--out", f"{d}/conversations.jsonl"),
            ),
            "interrupted",
            kill="state-before:4",
            about="the gather phase: three pages staged and counted, a fourth staged (committed "
            "in the staging database) but not counted; nothing emitted yet",
        ),
        Scenario(
            _file(
                "tickets-ticket-id-x4",
                "small",
                *("tickets", "--ticket-id", "4000005", "--ticket-id", "4000009"),
                *("--ticket-id", "4000002", "--ticket-id", "4000021", "--out", f"{d}/four.csv"),
            ),
            "interrupted",
            kill="state-before:4",
            about="a filtered export inside the messages of ticket 4000005 (150 messages, two "
            "pages): its second page synced, not counted",
        ),
        Scenario(
            _file("events", "small", "events", "--out", f"{d}/events.csv"),
            "interrupted",
            kill="state-before:3",
            about="an incremental entity (server-side since): one page counted, a second synced",
        ),
        Scenario(
            _file("customers", "large", "customers", "--out", f"{d}/customers.jsonl"),
            "interrupted",
            kill="state-after:3",
            about="an incremental entity (by updated_datetime): two of three pages saved",
        ),
        Scenario(
            _file("custom-fields", "small", "custom-fields", "--out", f"{d}/custom-fields.csv"),
            "interrupted",
            kill="state-after:3",
            about="a snapshot over four listings: two read into custom-fields.csv.partial, no "
            "custom-fields.csv yet",
        ),
        Scenario(
            _file("all-csv", "large", "all", "--out-dir", f"{d}/all", kind="dir"),
            "interrupted",
            kill="state-before:51",
            about="all in CSV, the nine configuration lists done, inside customers: its first "
            "page counted, its second synced",
        ),
        Scenario(
            _file(
                "all-sqlite",
                "small",
                *("all", "--out-dir", f"{d}/all", "--format", "sqlite"),
                kind="dir",
            ),
            "interrupted",
            kill="commit-before:54",
            kill_db="all/gorgias.db",
            about="all in SQLite, every entity but tickets done, inside the conversation "
            "export: the ticket pages and the first message page committed",
        ),
    ]
    finished = [
        Scenario(
            _file("finished-tickets-csv", "small", "tickets", "--out", f"{d}/tickets.csv"),
            "finished",
        ),
        Scenario(
            _file("finished-tickets-jsonl", "small", "tickets", "--out", f"{d}/tickets.jsonl"),
            "finished",
        ),
        Scenario(
            _file(
                "finished-tickets-sqlite", "small", "tickets", "--out", f"{d}/t.db", kind="sqlite"
            ),
            "finished",
        ),
        Scenario(
            _file(
                "finished-per-ticket",
                "small",
                *("tickets", "--per", "ticket", "--out", f"{d}/conversations.jsonl"),
            ),
            "finished",
        ),
        Scenario(
            _file("finished-all-csv", "small", "all", "--out-dir", f"{d}/all", kind="dir"),
            "finished",
        ),
    ]
    return interrupted + finished


# -- running ----------------------------------------------------------------------------------


def _run(url: str, command: Command, directory: Path) -> dict[str, Any]:
    """Run `command` in this process into `directory`; the digest of its output."""
    result = run_cli(url, list(command.args), directory)
    if result.exit_code != 0:
        raise RuntimeError(f"{command.name}: exit {result.exit_code}: {result.stderr}")
    path = directory / command.output if command.output else None
    return output_digest(command.kind, path, url, directory, result.stdout_bytes)


def _fresh_dir(root: Path, name: str) -> Path:
    directory = root / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def _kill(url: str, scenario: Scenario, directory: Path, requests: Any) -> None:
    """Run the scenario's command in a child that kills itself at the scenario's point."""
    env = {
        **os.environ,
        **env_for(url),
        "COMPAT_NOW": FIRST_RUN_AT.isoformat(),
        "COMPAT_KILL": scenario.kill or "",
    }
    if scenario.kill_db:
        env["COMPAT_DB"] = str(directory / scenario.kill_db)
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.compat.child",
            *expand(list(scenario.command.args), directory),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=120,
        check=False,
    )
    if child.returncode != -signal.SIGKILL:
        raise RuntimeError(
            f"{scenario.command.name}: the child was to be killed at {scenario.kill} but exited "
            f"{child.returncode}: {child.stderr.decode(errors='replace')}"
        )
    print(f"  killed at {scenario.kill}, after {requests()} requests had reached the simulator")


def _settle_databases(directory: Path) -> list[str]:
    """Fold what a killed SQLite writer left beside its databases (a WAL, a hot journal) into
    them, as the next open would, so that the archive holds whole database files: the WAL's
    header carries random salts, and a kept WAL would make the fixture differ every time."""
    leftovers = [
        p
        for p in directory.rglob("*")
        if p.name.endswith(("-wal", "-journal", "-shm")) and ".ticket-index.sqlite" not in p.name
    ]
    for database in sorted({p.with_name(p.name.rsplit("-", 1)[0]) for p in leftovers}):
        with contextlib.closing(sqlite3.connect(database)) as db:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    for path in leftovers:
        if path.exists():
            raise RuntimeError(f"{path} is still there after folding it into its database")
    return sorted(p.name for p in leftovers)


_WALKS = (
    "tickets",
    "tickets_desc",
    "messages",
    "messages_desc",
    "messages_lower",
    "messages_upper",
)


def _state_notes(scenario: Scenario, directory: Path) -> dict[str, Any]:
    """What the saved state says where the kill landed: for the report and the reader."""
    command = scenario.command
    output = directory / command.output if command.output else directory
    notes: dict[str, Any] = {}
    state: dict[str, Any] | None = None
    if command.kind == "sqlite" or scenario.kill_db:
        database = directory / (scenario.kill_db or command.output or "")
        with contextlib.closing(sqlite3.connect(database)) as db:
            rows = list(db.execute("SELECT export, progress FROM _gorgias_export_state"))
        notes["state_rows"] = [export for export, _ in rows]
        state = {"progress": json.loads(rows[0][1])} if rows else None
    else:
        state_file = (
            output / "gorgias-export.state.json"
            if command.kind == "dir"
            else output.with_name(output.name + ".state.json")
        )
        state = json.loads(state_file.read_text(encoding="utf-8"))
        target = output if command.kind == "file" else None
        if target is not None:
            partial = target.with_name(target.name + ".partial")
            written = partial if partial.exists() else target
            notes["file"] = written.name
            notes["file_bytes"] = written.stat().st_size if written.exists() else 0
    progress = (state or {}).get("progress", {})
    if "parts" in progress:  # all: the entity it was in
        notes["done"] = progress.get("done")
        busy = [name for name, part in progress["parts"].items() if part.get("run")]
        notes["inside"] = busy
        progress = progress["parts"][busy[0]] if busy else {}
        ext = "jsonl" if "jsonl" in command.args else "csv"
        busy_file = output / f"{busy[0]}.{ext}" if busy else None
        if busy_file is not None and busy_file.exists() and "sqlite" not in command.args:
            notes["file"] = busy_file.name
            notes["file_bytes"] = busy_file.stat().st_size
    if "output_bytes" in progress:
        notes["state_output_bytes"] = progress["output_bytes"]
    run = progress.get("run") or {}
    if "split_at" in run:
        notes["split_at"] = run["split_at"]
        notes["split"] = bool(run["split_at"])
        notes["walks_active"] = sorted(name for name in _WALKS if not run[name]["done"])
        notes["turn"] = run["turn"]
    if "listing" in run:
        notes["listing"] = run["listing"]
    return notes


def _record_interrupted(
    scenario: Scenario, root: Path, golden: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    command = scenario.command
    with simulation.simulator(command.dataset) as sim:
        clean = _fresh_dir(root, f"{command.name}.clean")
        with frozen_clock(FIRST_RUN_AT.isoformat()):
            expected = _run(sim.url, command, clean)
        same = golden.get(_signature(command))
        if same is not None and same != expected:
            raise RuntimeError(f"{command.name}: two uninterrupted runs differ")
        directory = _fresh_dir(root, command.name)
        sim.reset_stats()
        _kill(sim.url, scenario, directory, lambda: len(sim.requests))
        folded = _settle_databases(directory)
        notes = _state_notes(scenario, directory)
        if folded:
            notes["folded_into_the_database"] = folded
        if "file_bytes" in notes and notes["file_bytes"] < notes.get("state_output_bytes", 0):
            raise RuntimeError(f"{command.name}: the output is shorter than its state: {notes}")
        wrong = {k: notes.get(k) for k, v in scenario.lands.items() if notes.get(k) != v}
        if wrong:
            raise RuntimeError(f"{command.name}: the kill landed elsewhere: {notes}")
        archive = FIXTURES / f"{command.name}.tar.gz"
        files = pack(directory, archive, sim.url)
    # Replayed as the test will: into another directory, against another simulator, real clock.
    with simulation.simulator(command.dataset) as sim:
        replay = _fresh_dir(root, f"{command.name}.replay")
        restore(archive, replay, sim.url)
        resumed = _run(sim.url, command, replay)
    if resumed != expected:
        raise RuntimeError(
            f"{command.name}: today's code, resumed from the fixture, does not write what an "
            f"uninterrupted run writes: {describe_difference(expected, resumed)}"
        )
    print(f"  resumed to the uninterrupted output; {notes}")
    return {
        **command.to_json(),
        "scenario": "interrupted",
        "kill": scenario.kill,
        "about": scenario.about,
        "files": files,
        "at_kill": notes,
        "expect": expected,
    }


def _record_finished(scenario: Scenario, root: Path) -> dict[str, Any]:
    command = scenario.command
    with simulation.simulator(command.dataset) as sim:
        directory = _fresh_dir(root, command.name)
        with frozen_clock(FIRST_RUN_AT.isoformat()):
            first = _run(sim.url, command, directory)
        archive = FIXTURES / f"{command.name}.tar.gz"
        files = pack(directory, archive, sim.url)
    after: list[dict[str, Any]] = []
    for clock in (frozen_clock(RERUN_AT.isoformat()), contextlib.nullcontext()):
        with simulation.simulator(command.dataset) as sim:
            replay = _fresh_dir(root, f"{command.name}.replay")
            restore(archive, replay, sim.url)
            changed = simulation.change_data(sim)
            with clock:
                after.append(_run(sim.url, command, replay))
    if after[0] != after[1]:
        raise RuntimeError(
            f"{command.name}: the rerun's output depends on the clock: "
            f"{describe_difference(after[0], after[1])}"
        )
    if after[0] == first:
        raise RuntimeError(f"{command.name}: the rerun after the changes wrote nothing new")
    print(f"  rerun after the changes recorded ({changed})")
    return {
        **command.to_json(),
        "scenario": "finished",
        "about": "a complete export; the replay applies sim.change_data, reruns, and must end "
        "with `expect`",
        "files": files,
        "first_run": first,
        "expect": after[0],
    }


def _signature(command: Command) -> str:
    return json.dumps([command.dataset, command.args])


def main() -> None:
    started = time.monotonic()
    FIXTURES.mkdir(exist_ok=True)
    for old in FIXTURES.glob("*.tar.gz"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="compat-record-") as scratch:
        root = Path(scratch)
        with simulation.simulator("small") as sim:
            commands = golden_commands(sim.dataset)
            recorded = []
            by_signature: dict[str, dict[str, Any]] = {}
            for command in commands:
                directory = _fresh_dir(root, command.name)
                with frozen_clock(FIRST_RUN_AT.isoformat()):
                    digest = _run(sim.url, command, directory)
                recorded.append({**command.to_json(), "digest": digest})
                by_signature[_signature(command)] = digest
                shutil.rmtree(directory)
            print(f"{len(recorded)} golden commands recorded")
        results = []
        for scenario in scenarios():
            print(f"{scenario.command.name} ({scenario.kind})")
            if scenario.kind == "interrupted":
                results.append(_record_interrupted(scenario, root, by_signature))
            else:
                results.append(_record_finished(scenario, root))
    document = {
        "recorded_with": "gorgias-export 0.1.0 (commit 9450afd), by python -m tests.compat.record",
        "datasets": {
            name: {"seed": seed, "tickets": tickets, "end": simulation.FIXED_END.isoformat()}
            for name, (seed, tickets) in simulation.DATASETS.items()
        },
        "clock": {"first_runs": FIRST_RUN_AT.isoformat(), "reruns": RERUN_AT.isoformat()},
        "commands": recorded,
        "scenarios": results,
    }
    GOLDEN.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    size = sum(p.stat().st_size for p in FIXTURES.iterdir())
    print(f"wrote {GOLDEN.relative_to(REPO)} and {len(results)} archives: {size:,} bytes in all,")
    print(f"in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
