"""Shared fixtures: a clean environment, settings for a fake account, and the simulator."""

from __future__ import annotations

import functools
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gorgias_export.api.client import GorgiasClient
from gorgias_export.cli import execute
from gorgias_export.config import Secret, Settings
from gorgias_sim import Simulator
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import run_cli
from tests.support.fakes import FakeTime
from tests.support.simulator import SimSpec


def pytest_configure(config: pytest.Config) -> None:
    """Children get the default SIGINT and SIGHUP, however the suite was started.

    A suite started in the background by a script (`make test &`) or by `nohup` has SIGINT or
    SIGHUP ignored, and an ignored signal stays ignored across exec: the tests that interrupt a
    child export with them would find it running on. A handler of ours is reset to the default
    across exec. SIGINT gets Python's usual one; SIGHUP one that still ignores it here, as the
    suite's starter asked."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
        signal.signal(signal.SIGHUP, lambda signum, frame: None)


@pytest.fixture(autouse=True)
def _clean_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """No test sees the developer's GORGIAS_* variables or their .env."""
    import os

    for name in list(os.environ):
        if name.startswith("GORGIAS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    yield


@pytest.fixture
def settings() -> Settings:
    return Settings(
        base_url="https://acme.gorgias.com/api", email=EMAIL, api_key=Secret(SECRET_KEY)
    )


@pytest.fixture
def clock() -> FakeTime:
    """The clock a `fake_clock=True` simulator runs on: move `clock.now` to age its cursors."""
    return FakeTime()


@pytest.fixture
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    """A running simulator of the fake account, built as the closest marker says:

        pytestmark = pytest.mark.sim(seed=5, tickets=300, cursor_ttl=60, fake_clock=True)

    Options are SimConfig's fields (here `rate_limit` defaults to False, and the credentials
    are EMAIL and SECRET_KEY, the access token SECRET_TOKEN), plus
        fake_clock=True  it runs on the `clock` fixture, which the test can move;
        scope="module"   one simulator for the module's tests with the same options: only for
                         tests that change neither its data nor its config;
        get_only=False   no check, at teardown, that it only ever received GET requests.
    A test's marker replaces its module's whole; `parametrize("sim", [{...}], indirect=True)`
    replaces both. Without any, it is a 200-ticket account of seed 1."""
    spec = SimSpec.for_test(request)
    if spec.scope == "module":
        shared: dict[str, tuple[SimSpec, Simulator]] = request.getfixturevalue("_module_sims")
        if repr(spec) not in shared:
            shared[repr(spec)] = (spec, spec.build().start())
        yield shared[repr(spec)][1]
        return
    clock = request.getfixturevalue("clock") if spec.fake_clock else time.monotonic
    with spec.build(clock) as simulator:
        yield simulator
        if spec.get_only:
            assert simulator.non_get_requests == []  # the exporter only ever reads


@pytest.fixture(scope="module")
def _module_sims() -> Iterator[dict[str, tuple[SimSpec, Simulator]]]:
    """The simulators `scope="module"` shares, stopped and checked after the module's tests."""
    shared: dict[str, tuple[SimSpec, Simulator]] = {}
    yield shared
    for _, simulator in shared.values():
        simulator.stop()
    for spec, simulator in shared.values():
        if spec.get_only:
            assert simulator.non_get_requests == []


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's client with a retry budget of seconds, its waits not waited: a page that stays
    malformed gives up after a few seconds instead of 10 minutes."""
    quick = functools.partial(
        GorgiasClient, retry_budget=5.0, first_contact_budget=5.0, sleep=lambda seconds: None
    )
    monkeypatch.setattr(execute, "GorgiasClient", quick)


@pytest.fixture
def clean(sim: Simulator, tmp_path: Path) -> bytes:
    """The bytes of an uninterrupted `tickets` export, to compare every interrupted or faulted
    one with (the simulator's request counts are reset after it)."""

    out = tmp_path / "clean" / "tickets.csv"
    out.parent.mkdir()
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    sim.reset_stats()
    return out.read_bytes()
