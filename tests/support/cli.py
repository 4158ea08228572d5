"""Running the real CLI against the simulator: in this process, or as a child to be killed."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from gorgias_export.cli.app import app
from gorgias_export.errors import ExitCode
from gorgias_sim import RequestRecord, Simulator
from tests.support.account import EMAIL, SECRET_KEY, SECRET_TOKEN

REPO = Path(__file__).resolve().parents[2]  # children run from here, to import `tests`


def env_for(sim: Simulator) -> dict[str, str]:
    return {"GORGIAS_BASE_URL": sim.url, "GORGIAS_EMAIL": EMAIL, "GORGIAS_API_KEY": SECRET_KEY}


def oauth_env_for(sim: Simulator, token: str = SECRET_TOKEN) -> dict[str, str]:
    """An OAuth app's settings: the base URL and a token, no email and no key."""
    return {"GORGIAS_BASE_URL": sim.url, "GORGIAS_ACCESS_TOKEN": token}


def run_cli(sim: Simulator | None, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run `gorgias-export ARGS` in this process; returns click's Result."""
    runner = CliRunner()
    full_env = {**(env_for(sim) if sim else {}), **(env or {})}
    return runner.invoke(app, list(args), env=full_env, catch_exceptions=False)


def run_ok(sim: Simulator | None, *args: str) -> Any:
    """Run `gorgias-export ARGS` in this process and assert it exits 0; returns click's Result."""
    result = run_cli(sim, *args)
    assert result.exit_code == 0, result.stderr
    return result


def assert_one_line_error(result: object, code: ExitCode) -> str:
    """Assert that a run failed with `code` and a one-line message (usage errors may add click's
    usage text), without a traceback; returns stderr."""
    exit_code = result.exit_code  # type: ignore[attr-defined]
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert exit_code == code, stderr
    assert stderr.startswith("gorgias-export: ") or stderr.startswith("Usage:"), stderr
    assert "Traceback" not in stderr
    if code != ExitCode.USAGE:
        assert stderr.count("\n") == 1, stderr
    return stderr


def run_subprocess(
    sim: Simulator, *args: str, prefix: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """Start `python -m gorgias_export ARGS` as a separate process (to be killed), after
    `prefix` (a command such as `nohup` that runs it)."""
    return subprocess.Popen(
        [*prefix, sys.executable, "-m", "gorgias_export", *args],
        env={**os.environ, **env_for(sim)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


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


def interrupt_at_request(
    sim: Simulator,
    out: Path,
    n: int,
    sig: int = signal.SIGKILL,
    command: tuple[str, ...] = ("tickets",),
    prefix: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[bytes]:
    """Run the export in a child process and send it `sig` when the simulator receives request n
    of that run (before answering it)."""
    holder: list[subprocess.Popen[bytes]] = []
    counter = itertools.count(1)
    ready = threading.Event()

    def hook(record: RequestRecord) -> None:
        if next(counter) == n:
            ready.wait(5)
            holder[0].send_signal(sig)

    sim.on_request = hook
    try:
        process = run_subprocess(sim, *command, "--out", str(out), "--quiet", prefix=prefix)
        holder.append(process)
        ready.set()
        stdout, stderr = process.communicate(timeout=60)
    finally:
        sim.on_request = None
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
