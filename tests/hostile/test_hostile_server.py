"""Against a hostile server (tests/support/hostile.py), in each way it misbehaves: the exit code
and message, no pre-existing file changed, no key in any output, and a clean rerun through the
same server gives the export a clean run gives.

`make test` runs a sample of the modes; `make soak` (GORGIAS_HOSTILE_ALL=1) runs them all.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gorgias_export.api.client import GorgiasClient
from gorgias_export.cli import execute
from gorgias_export.errors import ExitCode
from gorgias_sim import Simulator
from tests.support.account import SECRET_KEY
from tests.support.cli import run_cli
from tests.support.fakes import FakeTime
from tests.support.hostile import HostileProxy

pytestmark = pytest.mark.sim(seed=2, tickets=60)

PERSISTENT = 10**6  # from request `at` on, every request
# mode: (first request spoiled, how many, exit code, words of the message)
CASES = {
    "no_meta": (3, PERSISTENT, ExitCode.API, "list page"),
    "numeric_cursor": (3, PERSISTENT, ExitCode.API, "list page"),
    "empty_end": (3, PERSISTENT, ExitCode.API, "/"),
    "reversed": (4, PERSISTENT, ExitCode.API, "order"),
    "html_200": (2, PERSISTENT, ExitCode.API, "not JSON"),
    "rate_limited": (3, PERSISTENT, ExitCode.API, "429"),
    "gzip_bomb": (3, 1, ExitCode.API, "larger than"),
    "echo_key": (3, PERSISTENT, ExitCode.API, "500"),
    "drip": (3, 1, ExitCode.OK, "Done"),
    "rate_limited_once": (3, 2, ExitCode.OK, "Done"),
}
SAMPLE = ("no_meta", "reversed", "gzip_bomb", "echo_key", "drip", "rate_limited_once")
RUN = tuple(CASES) if os.environ.get("GORGIAS_HOSTILE_ALL") else SAMPLE


@pytest.fixture
def proxy(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[HostileProxy]:
    """The hostile server, and the CLI's client on a clock that moves only when it waits (its
    real budgets, none of their time), with a response deadline of one second."""
    time = FakeTime()
    quick = functools.partial(
        GorgiasClient, sleep=time.sleep, clock=time.clock, response_deadline=1.0
    )
    monkeypatch.setattr(execute, "GorgiasClient", quick)
    with HostileProxy(sim) as hostile:
        yield hostile


def _files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("mode", RUN)
def test_a_hostile_server_loses_nothing_and_leaks_nothing(
    proxy: HostileProxy, clean: bytes, tmp_path: Path, mode: str
) -> None:
    at, times, code, words = CASES[mode]
    work = tmp_path / "work"
    work.mkdir()
    notes = work / "notes.csv"
    notes.write_bytes(b"id,name\n1,mine\n")
    out = work / "tickets.csv"
    proxy.misbehave(mode.removesuffix("_once"), at=at, times=times)
    result = run_cli(None, "tickets", "--out", str(out), env=proxy.env())
    assert proxy.faults >= 1
    assert result.exit_code == code, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert (words in last and last.startswith("gorgias-export: ")) or code == 0, result.stderr
    assert SECRET_KEY not in result.stderr + result.stdout
    assert notes.read_bytes() == b"id,name\n1,mine\n"
    for path, data in _files(work).items():
        assert SECRET_KEY.encode() not in data, path
    proxy.misbehave(None)
    rerun = run_cli(None, "tickets", "--out", str(out), env=proxy.env())
    assert rerun.exit_code == 0, rerun.stderr
    assert out.read_bytes() == clean
    assert notes.read_bytes() == b"id,name\n1,mine\n"
