"""`attachments` killed with -9 at random moments (on progress: requests served by the API or
the uploads host, and halfway through a file's body), then run again until it finishes: every
file is present once with the right bytes, gone ones are listed as gone, no credentials reached
the uploads host, nothing is written outside DIR, and no final name ever holds a partial file.
A file-size limit (a full disk) stops a run with exit 6 and no partial file either."""

from __future__ import annotations

import hashlib
import os
import random
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gorgias_export.errors import ExitCode
from gorgias_sim import RequestRecord, SimConfig, Simulator
from gorgias_sim.uploads import UploadRequest
from tests.files.helpers import check_directory, expected_files, no_credentials_reached_uploads
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import REPO, env_for

SEED = 20261203
KILLS = 6


@pytest.fixture
def files_sim() -> Iterator[Simulator]:
    config = SimConfig(
        seed=7, tickets=100, rate_limit=False, email=EMAIL, api_key=SECRET_KEY, uploads=True
    )
    sim = Simulator(config).start()
    try:
        yield sim
    finally:
        sim.stop()


def _child(sim: Simulator, out: Path, fsize: int | None = None) -> subprocess.Popen[bytes]:
    def preexec() -> None:
        if fsize:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit: EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.Popen(
        [sys.executable, "-m", "gorgias_export", "attachments", "--out-dir", str(out), "-q"],
        env={**os.environ, **env_for(sim)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=preexec,
    )


def _killed_at(sim: Simulator, out: Path, where: str, n: int) -> int:
    """Run once, kill -9 at the nth event `where` ("api", "uploads", "halfway"); exit status."""
    holder: list[subprocess.Popen[bytes]] = []
    ready = threading.Event()
    count = [0]
    lock = threading.Lock()

    def tick() -> None:
        with lock:
            count[0] += 1
            if count[0] != n:
                return
        ready.wait(5)
        holder[0].send_signal(signal.SIGKILL)

    def on_api(record: RequestRecord) -> None:
        if where == "api":
            tick()

    def on_upload(record: UploadRequest, halfway: bool) -> None:
        if (where == "halfway") == halfway and where != "api":
            tick()

    assert sim.uploads is not None
    sim.on_request, sim.uploads.on_request = on_api, on_upload
    try:
        process = _child(sim, out)
        holder.append(process)
        ready.set()
        process.communicate(timeout=120)
    finally:
        sim.on_request, sim.uploads.on_request = None, None
    return process.returncode


def _only_whole_files(out: Path, sim: Simulator) -> None:
    """Whatever a kill left, each file under a final name is a complete one."""
    good = {digest for _, digest in expected_files(sim).values() if digest}
    for top in ("files", "recordings"):
        for root, _, names in os.walk(out / top):
            for name in names:
                data = Path(root, name).read_bytes()
                assert hashlib.sha256(data).hexdigest() in good, Path(root, name)


def _tree(path: Path) -> set[str]:
    return {str(Path(r, n).relative_to(path)) for r, ds, fs in os.walk(path) for n in ds + fs}


def test_kill_9_at_random_moments_then_rerun(files_sim: Simulator, tmp_path: Path) -> None:
    sim = files_sim
    rng = random.Random(SEED)
    (tmp_path / "neighbour").write_text("keep")
    before = _tree(tmp_path)
    out = tmp_path / "backup"
    kills = 0
    for _ in range(KILLS):
        where = rng.choice(("api", "uploads", "halfway"))
        code = _killed_at(sim, out, where, rng.randint(1, 6))
        if code == 0:
            break  # finished before the moment came
        assert code == -signal.SIGKILL
        kills += 1
        _only_whole_files(out, sim)
    assert kills >= 2
    final = _child(sim, out)
    _, stderr = final.communicate(timeout=120)
    assert final.returncode == 0, stderr
    check_directory(out, sim)
    no_credentials_reached_uploads(sim)
    assert {p for p in _tree(tmp_path) - before if not p.startswith("backup")} == set()
    assert (tmp_path / "neighbour").read_text() == "keep"


def test_a_full_disk_stops_with_no_partial_file(files_sim: Simulator, tmp_path: Path) -> None:
    sim = files_sim
    out = tmp_path / "backup"
    # Files are up to 40 KB: the first larger than the limit meets a full disk midway.
    process = _child(sim, out, fsize=30_000)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == ExitCode.IO, stderr
    message = stderr.decode()
    assert message.count("\n") == 1 and "Traceback" not in message, message
    assert "free some space" in message
    _only_whole_files(out, sim)
    assert not [p for p in (out / ".tmp").iterdir()], "a partial download left behind"
    final = _child(sim, out)
    _, stderr = final.communicate(timeout=120)
    assert final.returncode == 0, stderr
    check_directory(out, sim)


@pytest.mark.parametrize("hook", ["checkpoint:1", "checkpoint:2", "state:1", "bytes:40"])
def test_kill_9_between_the_manifests_and_the_state(
    files_sim: Simulator, tmp_path: Path, hook: str
) -> None:
    """At a manifest's sync (rows written, state not saved), inside the state's save, or in the
    middle of a manifest row: the rerun takes it from there, each row once."""
    sim = files_sim
    out = tmp_path / "backup"
    killed = subprocess.run(
        [sys.executable, "-m", "tests.reliability.child", "attachments", "--out-dir", str(out)],
        env={**os.environ, **env_for(sim), "RELIABILITY_HOOK": hook},
        capture_output=True,
        timeout=120,
        cwd=REPO,  # to import `tests`
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    _only_whole_files(out, sim)
    final = _child(sim, out)
    _, stderr = final.communicate(timeout=120)
    assert final.returncode == 0, stderr
    check_directory(out, sim)
