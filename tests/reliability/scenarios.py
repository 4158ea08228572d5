"""Each reliability scenario, written once and run at a `Scale`.

Every scenario ends by comparing the finished output with a clean run's: byte for byte where
the data stood still, and as exact row-id multisets where it changed under the export (the
rows' ticket context then depends on when each page was read). Each one leaves its figures in
TALLY and ends with `Workspace.finish()`, the secrets scan.
"""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gorgias_export.errors import ApiError, ConfigError, ExitCode
from gorgias_sim import NOPERM_EMAIL, Faults, RequestRecord, Simulator
from gorgias_sim.faults import KINDS
from tests.reliability.harness import (
    WRONG_KEY,
    ManualClock,
    Scale,
    Workspace,
    assert_resumable,
    clean_export,
    env_for,
    export_in_process,
    in_process_client,
    one_line,
    retire,
    start_simulator,
    state_of,
)
from tests.reliability.tally import TALLY
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.outputs import read_jsonl, row_ids
from tests.support.simulator import entries, expected_ids

# A slow response outlasts the read timeout: real seconds, kept small, with a margin wide
# enough that a loaded machine still sees the timeout before the late answer.
READ_TIMEOUT = 0.3
SLOW_SECONDS = 1.0
LONG_RETRY_AFTER = 120  # a 429 storm's Retry-after, in seconds of the client's fake clock


# -- faults ---------------------------------------------------------------------------------


def _burst_at(sim: Simulator, plan: dict[int, tuple[int, str]]) -> None:
    """At request n of the run (before it is answered), queue `count` faults of `kind`."""
    seen = [0]

    def hook(record: RequestRecord) -> None:
        seen[0] += 1
        if seen[0] in plan:
            count, kind = plan[seen[0]]
            sim.fail_next(count, kind)

    sim.on_request = hook


def fault_kinds(scale: Scale, ws: Workspace) -> None:
    """Bursts of each kind of fault, at first contact and mid-run: each run ends in the clean
    file, retried within the real budgets (60 s before the first success, 600 s after)."""
    rng = random.Random(scale.seed)
    sim = start_simulator(scale, scale.fault_tickets)
    try:
        clean = clean_export(ws, sim)
        pages = sim.count()
        for kind in KINDS:
            sim.config.faults = Faults(slow_seconds=SLOW_SECONDS, retry_after=LONG_RETRY_AFTER)
            # A long Retry-after outlasts the 60 s first-contact budget, and 600 s bounds a
            # storm mid-run; backoff doubles to 30 s, so 4 in a row fit before a first success.
            burst = min(scale.burst, 4) if kind == "429" else scale.burst
            plan = {} if kind == "429" else {1: (min(scale.burst, 4), kind)}
            # Request numbers count retries too: each burst starts after the last one ended,
            # so that bursts never merge into one longer than the budgets allow.
            at = 1 + len(plan) * min(scale.burst, 4)
            for _ in range(scale.bursts):
                at += rng.randint(1, max(1, (pages - 1) // scale.bursts))
                plan[at] = (burst, kind)
                at += burst
            before = sim.faults_injected.get(kind, 0)
            _burst_at(sim, plan)
            clock = ManualClock()
            client = in_process_client(sim, clock, read_timeout=READ_TIMEOUT)
            out = ws.path(f"faults-{kind}.csv")
            assert export_in_process(ws, client, out) == clean, kind
            sim.on_request = None
            injected = sim.faults_injected.get(kind, 0) - before
            assert injected == sum(count for count, _ in plan.values()), kind
            assert client.stats.retries >= injected, kind
            if kind == "429":
                assert sum(1 for s in clock.sleeps if s >= LONG_RETRY_AFTER) >= injected
    finally:
        sim.on_request = None
        retire(sim)
    ws.finish()


@dataclass
class _MixedPlan:
    """Random faults at a rate, and each kind forced once if chance has not brought it yet."""

    sim: Simulator
    seen: int = 0
    forced: list[str] = field(default_factory=list)

    def __call__(self, record: RequestRecord) -> None:
        self.seen += 1
        if self.seen % 7:
            return
        missing = [k for k in KINDS if not self.sim.faults_injected.get(k) and k not in self.forced]
        if missing:
            self.forced.append(missing[0])
            self.sim.fail_next(1, missing[0])


def mixed_faults(scale: Scale, ws: Workspace) -> None:
    """Every kind of fault in one run, at up to 20% of requests: the clean file all the same."""
    sim = start_simulator(scale, scale.mixed_tickets)
    try:
        clean = clean_export(ws, sim)
        share = scale.mixed_rate / 6
        sim.config.faults = Faults(
            error_5xx=share,
            reset=share,
            truncated=share,
            html_error=share,
            slow=share,
            rate_limited=share,
            slow_seconds=SLOW_SECONDS,
            retry_after=20,
            seed=scale.seed,
        )
        before_requests = sim.count()
        sim.on_request = _MixedPlan(sim)
        client = in_process_client(sim, ManualClock(), read_timeout=READ_TIMEOUT)
        assert export_in_process(ws, client, ws.path("mixed.csv")) == clean
        faults = sim.faults_injected
        assert set(faults) == set(KINDS), faults
        requests = sim.count() - before_requests
        forced = sim.on_request.forced if isinstance(sim.on_request, _MixedPlan) else []
        print(f"mixed: {faults} over {requests} requests, forced {forced}")
    finally:
        sim.on_request = None
        retire(sim)
    ws.finish()


def outage(scale: Scale, ws: Workspace) -> None:
    """Several seconds in which every request fails (resets and 503s), mid-run: waited out.

    In-process, the simulator's outage runs on the client's fake clock, so it lasts exactly as
    long as the client sleeps; at soak scale a child process also waits out a real one."""
    clock = ManualClock()
    sim = start_simulator(scale, scale.fault_tickets, clock=clock)
    try:
        clean = clean_export(ws, sim)
        seen = [0]

        def outage_at_request_3(record: RequestRecord) -> None:
            seen[0] += 1
            if seen[0] == 3:
                sim.outage(8.0)

        sim.on_request = outage_at_request_3
        client = in_process_client(sim, clock)
        assert export_in_process(ws, client, ws.path("outage.csv")) == clean
        assert sum(clock.sleeps) >= 8.0
        assert {"reset", "5xx"} <= set(sim.faults_injected)
    finally:
        sim.on_request = None
        retire(sim)
    if scale.real_outage:
        _real_outage(scale, ws)
    ws.finish()


def _real_outage(scale: Scale, ws: Workspace) -> None:
    sim = start_simulator(scale, scale.tickets)
    try:
        clean = clean_export(ws, sim, "clean-real-outage.csv")
        seen = [0]

        def outage_at_request_4(record: RequestRecord) -> None:
            seen[0] += 1
            if seen[0] == 4:
                sim.outage(scale.real_outage)

        sim.on_request = outage_at_request_4
        out = ws.path("real-outage.csv")
        started = time.monotonic()
        result = ws.export(sim, out)
        assert result.returncode == 0, result.stderr[-2000:]
        assert time.monotonic() - started >= scale.real_outage
        assert b"retrying" in result.stderr
        assert out.read_bytes() == clean
    finally:
        sim.on_request = None
        retire(sim)


def giveups_in_process(scale: Scale, ws: Workspace) -> None:
    """An unreachable host and a DNS failure give up within the 60 s first-contact budget
    (counted on the client's clock; `make soak` also runs both for real)."""
    for url in (_closed_port_url(), "https://gorgias-export-test.invalid/api"):
        clock = ManualClock()
        sim_like = _Unstarted(url)
        client = in_process_client(sim_like, clock)  # type: ignore[arg-type]
        try:
            with ws.logs():
                export_in_process(ws, client, ws.path("giveup.csv"))
        except ConfigError as error:  # a name that does not exist: at once (issue 12)
            assert "does not exist" in error.message and url.endswith(".invalid/api")
            ws.printed.append(error.message.encode())
        except ApiError as error:
            assert "Could not reach the API" in error.message
            ws.printed.append(error.message.encode())
            assert 0 < clock.now - 1000.0 <= 60.0
        else:
            raise AssertionError(f"{url} was reachable")
        assert not ws.path("giveup.csv").exists()
        TALLY.bad_inputs += 1
    ws.finish()


@dataclass
class _Unstarted:
    """Just enough of a Simulator for `settings_for`: a URL nothing answers."""

    url: str


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"  # closed again: connections are refused


# -- kills, interrupts, crashes, expired cursors ------------------------------------------------

# Where a run is stopped. The first pass takes each in turn, then they are drawn at random.
STOPS = ("request", "bytes", "checkpoint", "state", "sigint", "crash", "sigterm")
_WEIGHTS = (30, 25, 20, 15, 4, 3, 3)


def _stop(rng: random.Random, stop: str, clean: bytes) -> dict[str, object]:
    """Arguments of Workspace.export that stop a run at a random point of its progress."""
    if stop in ("request", "sigint", "sigterm"):
        sig = {"request": signal.SIGKILL, "sigint": signal.SIGINT, "sigterm": signal.SIGTERM}
        return {"signal_at_request": (rng.randint(1, 10), sig[stop])}
    if stop == "bytes":
        return {"hook": f"bytes:{rng.randint(1, max(2, len(clean) // 5))}"}
    return {"hook": f"{stop}:{rng.randint(1, 6)}"}


def _check_stopped(
    stop: str, result: subprocess.CompletedProcess[bytes], clean: bytes, out: Path
) -> None:
    if stop in ("sigint", "sigterm"):
        assert result.returncode == ExitCode.INTERRUPTED, result.stderr[-2000:]
        assert "progress is saved" in one_line(result.stderr)
        partial = out.read_bytes() if out.exists() else b""
        assert clean.startswith(partial), "Ctrl-C left more than whole, checkpointed rows"
        TALLY.interrupts += 1
    elif stop == "crash":
        assert result.returncode == ExitCode.INTERNAL, result.stderr[-2000:]
        assert "Internal error (RuntimeError)" in one_line(result.stderr)
        TALLY.crashes += 1
    else:
        assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
        TALLY.kills += 1
    assert_resumable(out, clean)


def kills(scale: Scale, ws: Workspace) -> None:
    """kill -9 during requests, mid-row, between the rows and their checkpoint and inside the
    state write; Ctrl-C, SIGTERM and crashes between them. Rerun after each: the finished file
    is the clean one, byte for byte. Against two APIs, since which one is real is unsure:
    - one whose cursors expire and which refuses hand-built ones (the first run reads from
      the ends only); sometimes every saved cursor expired before the rerun;
    - one with stateless keyset cursors, which takes hand-built ones (the first run also reads
      the messages from a split point in the middle, four walks at once)."""
    rng = random.Random(scale.seed)
    target = TALLY.kills + scale.kills
    # The second API goes on through the list of stops where the first left off.
    stops = _kills_against(scale, ws, rng, target - scale.kills // 2, expiring=True, stops=0)
    _kills_against(scale, ws, rng, target, expiring=False, stops=stops)
    ws.finish()


def _kills_against(
    scale: Scale, ws: Workspace, rng: random.Random, target: int, expiring: bool, stops: int
) -> int:
    """Kill runs until the tally reaches `target`; returns how many stops were made so far."""
    clock = ManualClock()
    sim = start_simulator(scale, scale.tickets, clock=clock, cursor_ttl=60 if expiring else None)
    mode = "expiring" if expiring else "stateless"
    try:
        clean = clean_export(ws, sim, f"clean-{mode}.csv")
        exports, recoveries, first_stop = 0, 0, stops
        while TALLY.kills < target:
            # Bounded: each export is stopped several times, so this many cannot fall short.
            assert exports < 10 * scale.kills, f"only {TALLY.kills} kills in {exports} exports"
            out = ws.path(f"killed-{mode}-{exports}.csv")
            exports += 1
            while True:
                stop = STOPS[stops] if stops < len(STOPS) else rng.choices(STOPS, _WEIGHTS)[0]
                if expiring and state_of(out) and (stops == 2 or rng.random() < 0.2):
                    clock.now += 3600  # an hour later: every cursor the runs saw has expired
                    TALLY.cursor_expiries += 1
                result = ws.export(sim, out, **_stop(rng, stop, clean))  # type: ignore[arg-type]
                recoveries += result.stderr.count(b"Re-reading")
                if result.returncode == 0:  # finished before the stop point came
                    break
                stops += 1
                _check_stopped(stop, result, clean, out)
                if TALLY.kills >= target:
                    finished = ws.export(sim, out)
                    assert finished.returncode == 0, finished.stderr[-2000:]
                    break
            assert out.read_bytes() == clean, f"{out.name} differs from the clean export"
        if expiring:
            assert recoveries >= 1, "no rerun had to recover from an expired cursor"
        else:
            assert entries(sim), "the messages were not split"
        assert stops > first_stop, "no run was stopped"
    finally:
        retire(sim)
    return stops


# -- data changing under the export --------------------------------------------------------------


def _changes(sim: Simulator, rng: random.Random, every: int) -> Callable[[RequestRecord], None]:
    """Every `every` requests: a new ticket (0-3 messages), a reply on any ticket, or an update."""
    seen = [0]
    ds = sim.dataset

    def change(record: RequestRecord) -> None:
        seen[0] += 1
        if seen[0] % every:
            return
        draw = rng.random()
        if draw < 0.3:
            ds.add_ticket(messages=rng.randint(0, 3))
        elif draw < 0.7:
            ds.add_message(rng.choice(ds.tickets)["id"])
        else:
            ds.update_ticket(rng.choice(ds.tickets)["id"], status=rng.choice(["open", "closed"]))
        TALLY.data_changes += 1

    return change


def _run_to_completion(
    ws: Workspace, sim: Simulator, out: Path, rng: random.Random, kills: int
) -> None:
    for _ in range(kills):
        result = ws.export(sim, out, signal_at_request=(rng.randint(1, 8), signal.SIGKILL))
        if result.returncode == 0:
            return
        assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
        TALLY.kills += 1
    result = ws.export(sim, out)
    assert result.returncode == 0, result.stderr[-2000:]


def data_changing(scale: Scale, ws: Workspace) -> None:
    """Tickets and messages added and tickets updated while exports run (and are killed):
    every row that existed when a run started is in the file after it, none twice, none made up;
    the next incremental run brings the file to exactly the account's rows."""
    rng = random.Random(scale.seed + 1)
    sim = start_simulator(scale, scale.tickets)
    out = ws.path("changing.jsonl")
    try:
        previous = b""
        for _ in range(1 + scale.change_rounds):  # the backfill, then incremental runs
            before = expected_ids(sim)
            sim.on_request = _changes(sim, rng, every=1)
            _run_to_completion(ws, sim, out, rng, scale.change_kills)
            sim.on_request = None
            data = out.read_bytes()
            assert data.startswith(previous), "a rerun rewrote rows it had written before"
            previous = data
            got = row_ids(read_jsonl(out))  # parses every line: no partial row
            assert max(got.values()) == 1, "a row was written twice"
            assert not before - got, f"rows lost: {sorted(before - got)[:5]}"
            assert not got - expected_ids(sim), "rows that the account never had"
        result = ws.export(sim, out)  # quiet now: the next run picks up everything that arrived
        assert result.returncode == 0, result.stderr[-2000:]
        assert row_ids(read_jsonl(out)) == expected_ids(sim)
    finally:
        sim.on_request = None
        retire(sim)
    ws.finish()


# -- disk full -------------------------------------------------------------------------------


def disk_full(scale: Scale, ws: Workspace) -> None:
    """A file-size limit (`ulimit -f`) stops the run with one clear line and exit 6; the state
    vouches only for whole rows, and the rerun with room again ends in the clean file."""
    rng = random.Random(scale.seed + 2)
    sim = start_simulator(scale, scale.tickets)
    try:
        clean = clean_export(ws, sim)
        limits = [len(clean) // 3, 2048] + [
            rng.randint(1024, len(clean)) for _ in range(scale.disk_limits - 2)
        ]
        for n, limit in enumerate(limits[: scale.disk_limits]):
            out = ws.path(f"full-{n}.csv")
            result = ws.export(sim, out, fsize_limit=limit)
            if limit < len(clean):  # the export cannot fit: the limit must have stopped it
                assert result.returncode == ExitCode.IO, (limit, result.stderr[-2000:])
            if result.returncode != 0:
                assert result.returncode == ExitCode.IO, (limit, result.stderr[-2000:])
                message = one_line(result.stderr)
                # the output, or the ticket index beside it (SQLite says "disk I/O error")
                assert "File too large" in message or "ticket index" in message, message
                TALLY.write_failures += 1
                assert_resumable(out, clean)
                rerun = ws.export(sim, out)
                assert rerun.returncode == 0, rerun.stderr[-2000:]
            assert out.read_bytes() == clean, limit
    finally:
        retire(sim)
    ws.finish()


# -- bad input -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadInput:
    """One row of the table: what to run, the exit code and a phrase of the one-line message."""

    name: str
    args: tuple[str, ...]
    code: ExitCode | tuple[ExitCode, ...]  # a tuple: any of these (with any of the needles)
    needle: str | tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    # GORGIAS_BASE_URL: "ok" a working simulator, "unknown" one for a subdomain that does not
    # exist, "closed" a port nobody listens on, "" not set
    api: str = "ok"
    setup: str = ""  # "export": a finished export of t.csv first; "file": a plain file `a-file`
    edit_state: dict[str, object] = field(default_factory=dict)  # then changed like this
    # The test_* in tests/cli/test_bad_input.py or tests/jobs/test_refusals.py that already runs
    # this case.
    covered_by: str = ""
    slow: bool = False  # waits out the real 60-second first-contact budget


TABLE = (
    BadInput(
        "wrong key (401)",
        ("--out", "t.csv"),
        ExitCode.AUTH,
        "401",
        env={"GORGIAS_API_KEY": WRONG_KEY},
        covered_by="a_wrong_key_exits_4_and_creates_nothing",
    ),
    BadInput(
        "user without permission (403)",
        ("--out", "t.csv"),
        ExitCode.AUTH,
        "403",
        env={"GORGIAS_EMAIL": NOPERM_EMAIL},
        covered_by="a_user_without_permission_exits_4",
    ),
    BadInput(
        "unknown subdomain (404 web page)",
        ("--out", "t.csv"),
        ExitCode.CONFIG,
        "GORGIAS_DOMAIN",
        api="unknown",
    ),
    BadInput(
        "malformed domain acme.evil.com/x",
        ("--out", "t.csv", "--domain", "acme.evil.com/x"),
        ExitCode.CONFIG,
        "subdomain",
        api="",
        covered_by="malformed_domains_are_refused_before_any_request",
    ),
    BadInput(
        "malformed domain acme@evil",
        ("--out", "t.csv", "--domain", "acme@evil"),
        ExitCode.CONFIG,
        "subdomain",
        api="",
        covered_by="malformed_domains_are_refused_before_any_request",
    ),
    BadInput(
        "unreachable host",
        ("--out", "t.csv"),
        ExitCode.API,
        "Could not reach the API",
        api="closed",
        slow=True,
    ),
    BadInput(
        "DNS failure",
        ("--out", "t.csv"),
        # A name that does not exist fails at once (issue 12); a resolver that cannot be
        # reached (no network at all) is retried for the first-contact minute.
        (ExitCode.CONFIG, ExitCode.API),
        ("does not exist", "Could not reach the API"),
        env={"GORGIAS_BASE_URL": "https://gorgias-export-test.invalid/api"},
        api="",
        slow=True,
    ),
    BadInput(
        "plain http to a remote host",
        ("--out", "t.csv"),
        ExitCode.CONFIG,
        "https",
        api="",
        env={"GORGIAS_BASE_URL": "http://example.com/api"},
        covered_by="plain_http_to_a_remote_host_is_refused",
    ),
    BadInput(
        "missing settings",
        ("--out", "t.csv"),
        ExitCode.CONFIG,
        "GORGIAS_DOMAIN",
        api="",
        env={"GORGIAS_EMAIL": "", "GORGIAS_API_KEY": ""},
        covered_by="missing_settings_name_what_and_where",
    ),
    BadInput(
        "bad date",
        ("--out", "t.csv", "--since", "last tuesday"),
        ExitCode.USAGE,
        "YYYY-MM-DD",
        covered_by="usage_errors_exit_2",
    ),
    BadInput(
        "--since after --until",
        ("--out", "t.csv", "--since", "2024-05-01", "--until", "2024-04-01"),
        ExitCode.USAGE,
        "after --until",
        covered_by="usage_errors_exit_2",
    ),
    BadInput(
        "unknown format",
        ("--out", "t.csv", "--format", "xml"),
        ExitCode.USAGE,
        "xml",
        covered_by="an_unknown_format_is_a_usage_error",
    ),
    BadInput(
        "unknown extension",
        ("--out", "t.xlsx"),
        ExitCode.USAGE,
        "--format csv|jsonl",
        covered_by="usage_errors_exit_2",
    ),
    BadInput(
        "output in a missing directory",
        ("--out", "missing/t.csv"),
        ExitCode.IO,
        "does not exist",
        covered_by="output_path_problems_exit_6",
    ),
    BadInput(
        "output under a file (read-only stand-in)",
        ("--out", "a-file/t.csv"),
        ExitCode.IO,
        "not a directory",
        setup="file",
        covered_by="output_path_problems_exit_6",
    ),
    BadInput(
        "state under a file",
        ("--out", "t.csv", "--state", "a-file/s.json"),
        ExitCode.IO,
        "not a directory",
        setup="file",
    ),
    BadInput(
        "output is a directory",
        ("--out", "."),
        ExitCode.IO,
        "is a directory",
        covered_by="output_path_problems_exit_6",
    ),
    BadInput(
        "state file corrupt",
        ("--out", "t.csv"),
        ExitCode.CONFLICT,
        "corrupt",
        setup="export",
        edit_state={"progress": {"seen": []}},
        covered_by="a_state_with_wrong_types_is_refused_not_a_crash",
    ),
    BadInput(
        "state file truncated",
        ("--out", "t.csv"),
        ExitCode.CONFLICT,
        "corrupt",
        setup="export",
        edit_state={"truncate": True},
        covered_by="a_state_from_another_export_or_a_corrupt_one_is_refused",
    ),
    BadInput(
        "state file from another export",
        ("--out", "t.csv", "--since", "2020-01-01"),
        ExitCode.CONFLICT,
        "different export",
        setup="export",
        covered_by="a_state_from_another_export_or_a_corrupt_one_is_refused",
    ),
    BadInput(
        "state file from a future version",
        ("--out", "t.csv"),
        ExitCode.CONFLICT,
        "newer",
        setup="export",
        edit_state={"format_version": 99},
    ),
    BadInput(
        "output exists without state",
        ("--out", "a-file", "--format", "csv"),
        ExitCode.CONFLICT,
        "--fresh",
        setup="file",
        covered_by="an_existing_output_without_state_is_never_overwritten",
    ),
)
# "two runs at once" needs a second process while the first runs: see `two_runs_at_once`.


def _prepare(case: BadInput, scale: Scale, root: Path, ws: Workspace) -> None:
    root.mkdir()
    if case.setup == "file":
        (root / "a-file").write_text("precious, not ours\n")
    if case.setup == "export":
        sim = start_simulator(scale, 30)
        try:
            ws.cwd = root
            result = ws.export(sim, root / "t.csv", "--quiet")
            assert result.returncode == 0, result.stderr
        finally:
            retire(sim)
        state = root / "t.csv.state.json"
        if case.edit_state.get("truncate"):
            state.write_bytes(state.read_bytes()[:200])
        elif case.edit_state:
            document = json.loads(state.read_bytes())
            for key, value in case.edit_state.items():
                if isinstance(value, dict):
                    document[key].update(value)
                else:
                    document[key] = value
            state.write_text(json.dumps(document, indent=1))


def _snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def bad_input(scale: Scale, ws: Workspace, case: BadInput) -> None:
    """Run one row of the table twice (plain, then --verbose): the exit code, one line without
    a traceback, and every file that was there before still byte for byte the same."""
    root = ws.path("bad-" + "".join(c if c.isalnum() else "-" for c in case.name))
    _prepare(case, scale, root, ws)
    ws.cwd = root
    sim = None
    env = {"GORGIAS_EMAIL": EMAIL, "GORGIAS_API_KEY": SECRET_KEY}
    if case.api in ("ok", "unknown"):
        sim = start_simulator(scale, 30, account_exists=case.api == "ok")
        env["GORGIAS_BASE_URL"] = sim.url
    elif case.api == "closed":
        env["GORGIAS_BASE_URL"] = _closed_port_url()
    env.update(case.env)
    try:
        for extra in ((), ("--verbose",)):
            before = _snapshot(root)
            started = time.monotonic()
            result = ws.child(["tickets", *case.args, *extra], env)
            codes = case.code if isinstance(case.code, tuple) else (case.code,)
            assert result.returncode in codes, (case.name, result.stderr[-2000:])
            message = one_line(result.stderr)
            needles = case.needle if isinstance(case.needle, tuple) else (case.needle,)
            assert any(needle in message for needle in needles), (case.name, message)
            if not extra:
                assert result.stderr.count(b"\n") == 1, (case.name, result.stderr)
            if case.slow:
                assert time.monotonic() - started < 70, "gave up later than within a minute"
            after = _snapshot(root)
            for path, data in before.items():
                assert after.get(path) == data, f"{case.name}: {path.name} was clobbered"
            made = set(after) - set(before)
            assert not made, f"{case.name}: made {made}"  # not even a lock file
            TALLY.bad_inputs += 1
    finally:
        if sim is not None:
            retire(sim)
    ws.cwd = ws.root / "cwd"


def bad_inputs(scale: Scale, ws: Workspace) -> None:
    """The table: at sample scale only the rows no other test runs, at soak scale all of them."""
    for case in TABLE:
        if (case.covered_by and not scale.every_bad_input) or (
            case.slow and not scale.slow_giveups
        ):
            continue
        bad_input(scale, ws, case)
    two_runs_at_once(scale, ws)
    ws.finish()


def two_runs_at_once(scale: Scale, ws: Workspace) -> None:
    """A second real process on the same export while the first runs: exit 7 at once, and the
    first finishes untouched."""
    sim = start_simulator(scale, 300)
    try:
        clean = clean_export(ws, sim, "clean-two.csv")
        out = ws.path("two.csv")
        second: list[subprocess.CompletedProcess[bytes]] = []
        seen = [0]

        def start_a_second_run(record: RequestRecord) -> None:
            seen[0] += 1
            if seen[0] == 4:  # the first run holds the lock and has written rows
                second.append(ws.child(["tickets", "--out", str(out)], env_for(sim)))

        sim.on_request = start_a_second_run
        first = ws.export(sim, out)
        sim.on_request = None
        assert first.returncode == 0, first.stderr[-2000:]
        assert second and second[0].returncode == ExitCode.CONFLICT, second
        assert "Another gorgias-export run" in one_line(second[0].stderr)
        assert second[0].stderr.count(b"\n") == 1
        assert out.read_bytes() == clean
        TALLY.bad_inputs += 1
    finally:
        sim.on_request = None
        retire(sim)
