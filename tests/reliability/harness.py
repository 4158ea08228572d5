"""What every scenario shares: simulators, child runs, clean references, invariants, secrets.

Every export runs with the recognisable key from tests/conftest.py. A `Workspace` keeps every
byte a run printed or logged, and `finish()` searches those and every file the runs left
(output, state, index, lock) for the key and for the Basic-auth token made from it.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import logging
import os
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gorgias_export.api.client import GorgiasClient
from gorgias_export.config import Secret, Settings
from gorgias_sim import RequestRecord, SimConfig, Simulator
from tests.reliability.tally import TALLY
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.exports import export_tickets
from tests.support.fakes import FakeTime as ManualClock

REPO = Path(__file__).resolve().parents[2]
WRONG_KEY = "sk-WRONG-0b7e4d21-do-not-leak"  # the bad-input table's wrong key: no leak either
SECRETS = tuple(
    secret
    for key in (SECRET_KEY, WRONG_KEY)
    for secret in (key.encode(), base64.b64encode(f"{EMAIL}:{key}".encode()))
)
CHILD_TIMEOUT = 180.0  # seconds; only the runs that really wait out an outage come near it


@dataclass(frozen=True)
class Scale:
    """How hard a scenario pushes: `SAMPLE` for `make test`, `SOAK` for `make soak`."""

    name: str
    seed: int
    tickets: int  # data of the kill, disk and data-change scenarios
    kills: int  # kill -9s over the kill scenario
    fault_tickets: int  # data of the single-kind fault runs
    burst: int  # faults in a row, per burst
    bursts: int  # bursts per fault kind
    mixed_tickets: int  # data of the mixed-fault run
    mixed_rate: float  # chance of a random fault per request (plus one of each kind, forced)
    real_outage: float  # seconds of a real outage waited out by a child process; 0: skip
    change_rounds: int  # incremental rounds while the data changes
    change_kills: int  # kill -9s per data-change round
    disk_limits: int  # file-size limits tried
    every_bad_input: bool  # also the table rows that tests/cli and tests/jobs already run
    slow_giveups: bool  # real 60-second give-ups on an unreachable host and a DNS failure


SAMPLE = Scale(
    name="sample",
    seed=20240501,
    tickets=300,
    kills=8,
    fault_tickets=300,
    burst=4,
    bursts=1,
    mixed_tickets=1000,
    mixed_rate=0.1,
    real_outage=0.0,
    change_rounds=1,
    change_kills=1,
    disk_limits=2,
    every_bad_input=False,
    slow_giveups=False,
)


def soak_scale(seed: int) -> Scale:
    return Scale(
        name="soak",
        seed=seed,
        tickets=2000,
        kills=150,
        fault_tickets=1500,
        burst=12,
        bursts=3,
        mixed_tickets=3000,
        mixed_rate=0.16,
        real_outage=6.0,
        change_rounds=4,
        change_kills=4,
        disk_limits=12,
        every_bad_input=True,
        slow_giveups=True,
    )


def start_simulator(
    scale: Scale, tickets: int, clock: Callable[[], float] | None = None, **config: Any
) -> Simulator:
    cfg = SimConfig(
        seed=scale.seed % 10_000,
        tickets=tickets,
        rate_limit=False,
        email=EMAIL,
        api_key=SECRET_KEY,
        **config,
    )
    return Simulator(cfg, clock=clock).start() if clock else Simulator(cfg).start()


def retire(sim: Simulator) -> None:
    """Stop a simulator, adding its figures; every request it saw must have been a GET."""
    sim.stop()
    assert sim.non_get_requests == [], sim.non_get_requests
    TALLY.requests += sim.count()
    TALLY.add_faults(sim.faults_injected)


def settings_for(sim: Simulator) -> Settings:
    return Settings(base_url=sim.url, email=EMAIL, api_key=Secret(SECRET_KEY))


def env_for(sim: Simulator | None) -> dict[str, str]:
    base = {"GORGIAS_EMAIL": EMAIL, "GORGIAS_API_KEY": SECRET_KEY}
    return {**base, "GORGIAS_BASE_URL": sim.url} if sim else base


class Workspace:
    """A scenario's directory, and every byte its runs printed, for the secrets scan."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cwd = root / "cwd"  # runs start here: no stray .env, relative paths land here
        self.cwd.mkdir(parents=True, exist_ok=True)
        self.printed: list[bytes] = []

    def path(self, name: str) -> Path:
        return self.root / name

    def child(
        self,
        args: Sequence[str],
        env: dict[str, str],
        hook: str | None = None,
        fsize_limit: int | None = None,
        on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run the real CLI in a child process; its output is kept for the secrets scan."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("GORGIAS_")}
        full_env.update(env, PYTHONPATH=str(REPO), COLUMNS="100")
        module = "gorgias_export"
        if hook:
            full_env["RELIABILITY_HOOK"] = hook
            module = "tests.reliability.child"
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=self.cwd,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_as_from_a_terminal(fsize_limit),
        )
        if on_start:
            on_start(process)
        try:
            stdout, stderr = process.communicate(timeout=CHILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            raise AssertionError(
                f"{args} still running after {CHILD_TIMEOUT} s: {stderr[-2000:]!r}"
            ) from None
        self.printed += [stdout, stderr]
        TALLY.runs += 1
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def export(
        self,
        sim: Simulator,
        out: Path,
        *extra: str,
        hook: str | None = None,
        signal_at_request: tuple[int, int] | None = None,
        fsize_limit: int | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """`gorgias-export tickets --out OUT --verbose` against `sim`; `signal_at_request`
        (n, sig) sends `sig` when the simulator receives the run's nth request."""
        args = ["tickets", "--out", str(out), "--verbose", *extra]
        if signal_at_request is None:
            return self.child(args, env_for(sim), hook=hook, fsize_limit=fsize_limit)
        with signal_at(sim, *signal_at_request) as started:
            return self.child(args, env_for(sim), hook=hook, on_start=started)

    @contextlib.contextmanager
    def logs(self) -> Iterator[None]:
        """Keep what in-process runs log at DEBUG (unredacted: the core must never log the key)."""
        logger = logging.getLogger("gorgias_export")
        lines: list[str] = []
        handler = _ListHandler(lines)
        level, propagate = logger.level, logger.propagate
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
            self.printed.append("\n".join(lines).encode())

    def finish(self) -> int:
        """Search every printed byte and every file left behind for the key; count the bytes."""
        blobs = list(self.printed)
        blobs += [p.read_bytes() for p in sorted(self.root.rglob("*")) if p.is_file()]
        scanned = 0
        for blob in blobs:
            for secret in SECRETS:
                assert secret not in blob, "the API key leaked"
            scanned += len(blob)
        TALLY.bytes_scanned += scanned
        return scanned


class _ListHandler(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _as_from_a_terminal(fsize_limit: int | None) -> Callable[[], None]:
    """The child's signals as a user's shell leaves them: a suite started in the background
    (nohup, `&` in a script) ignores SIGINT, and its children would then never stop at a
    Ctrl-C; optionally, a file size limit."""

    def preexec() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if fsize_limit:
            # Ignored, SIGXFSZ no longer kills the process: a write past the limit fails with
            # EFBIG.
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_limit, fsize_limit))

    return preexec


@contextlib.contextmanager
def signal_at(
    sim: Simulator, n: int, sig: int
) -> Iterator[Callable[[subprocess.Popen[bytes]], None]]:
    """Send `sig` to the child when the simulator receives request n (before answering it)."""
    holder: list[subprocess.Popen[bytes]] = []
    started = threading.Event()
    counter = itertools.count(1)
    previous = sim.on_request

    def hook(record: RequestRecord) -> None:
        if previous:
            previous(record)
        if next(counter) == n and started.wait(10):
            holder[0].send_signal(sig)

    def on_start(process: subprocess.Popen[bytes]) -> None:
        holder.append(process)
        started.set()

    sim.on_request = hook
    try:
        yield on_start
    finally:
        sim.on_request = previous


def in_process_client(
    sim: Simulator,
    clock: ManualClock,
    read_timeout: float = 5.0,
    first_contact_budget: float = 60.0,
    retry_budget: float = 600.0,
) -> GorgiasClient:
    """The real client with the real budgets, but a clock that moves only when it sleeps."""
    return GorgiasClient(
        settings_for(sim),
        sleep=clock.sleep,
        clock=clock,
        read_timeout=read_timeout,
        first_contact_budget=first_contact_budget,
        retry_budget=retry_budget,
    )


def export_in_process(ws: Workspace, client: GorgiasClient, out: Path) -> bytes:
    with ws.logs():
        result = export_tickets(client, out, _fmt(out))
    TALLY.runs += 1
    assert result.status.complete
    return out.read_bytes()


def clean_export(ws: Workspace, sim: Simulator, name: str = "clean.csv") -> bytes:
    """The reference: an uninterrupted, fault-free export of the simulator's data as it is."""
    out = ws.path(name)
    return export_in_process(ws, GorgiasClient(settings_for(sim)), out)


def _fmt(out: Path) -> str:
    return "jsonl" if out.suffix == ".jsonl" else "csv"


def state_of(out: Path) -> dict[str, Any] | None:
    path = out.with_name(out.name + ".state.json")
    if not path.exists():
        return None
    document: dict[str, Any] = json.loads(path.read_bytes())  # atomic: never torn
    return document


def assert_resumable(out: Path, clean: bytes) -> None:
    """After any failure: the state is whole, and what it vouches for is the clean file's start."""
    state = state_of(out)
    if state is None:
        assert not out.exists() or out.stat().st_size == 0, "output without state"
        return
    vouched = state["progress"]["output_bytes"]
    data = out.read_bytes() if out.exists() else b""
    assert len(data) >= vouched, "output shorter than its state"
    assert data[:vouched] == clean[:vouched], "checkpointed bytes differ from the clean run's"


def one_line(stderr: bytes) -> str:
    """The run's final message: one line, never a traceback."""
    text = stderr.decode("utf-8", "replace")
    assert "Traceback" not in text, text
    lines = text.splitlines()
    assert lines, "no message"
    assert lines[-1].startswith("gorgias-export: "), text[-500:]
    return lines[-1]
