"""The shared `sim` fixture (conftest.py) builds the simulator its marker describes: every
e2e module's expected values depend on getting exactly the account it asks for."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from gorgias_sim import Faults, Simulator
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.fakes import FakeTime
from tests.support.sim_http import session
from tests.support.simulator import SimSpec

pytestmark = pytest.mark.sim(seed=3, tickets=7, cursor_ttl=9)


def test_the_module_marker_sets_the_account(sim: Simulator) -> None:
    assert (sim.config.seed, sim.config.tickets, sim.config.cursor_ttl) == (3, 7, 9)
    assert (sim.config.email, sim.config.api_key, sim.config.rate_limit) == (
        EMAIL,
        SECRET_KEY,
        False,
    )
    assert len(sim.dataset.tickets) == 7
    assert session(sim).get(f"{sim.url}/account", timeout=5).status_code == 200


@pytest.mark.sim(tickets=5, rate_limit=True)
def test_a_test_marker_replaces_the_modules_whole(sim: Simulator) -> None:
    assert (sim.config.seed, sim.config.tickets, sim.config.cursor_ttl) == (1, 5, None)
    assert sim.config.rate_limit


@pytest.mark.parametrize("sim", [{"seed": 4, "tickets": 6}], indirect=True)
@pytest.mark.sim(tickets=5)
def test_an_indirect_parametrization_wins_over_markers(sim: Simulator) -> None:
    assert (sim.config.seed, sim.config.tickets, sim.config.cursor_ttl) == (4, 6, None)


@pytest.mark.sim(tickets=5, cursor_ttl=60, fake_clock=True)
def test_a_fake_clock_is_the_tests_clock_fixture(sim: Simulator, clock: FakeTime) -> None:
    s, url = session(sim), f"{sim.url}/tickets"
    cursor = s.get(url, params={"limit": 2}, timeout=5).json()["meta"]["next_cursor"]
    assert s.get(url, params={"limit": 2, "cursor": cursor}, timeout=5).status_code == 200
    clock.now += 61  # only the fake clock moved: the cursor expired
    assert s.get(url, params={"limit": 2, "cursor": cursor}, timeout=5).status_code == 400


SHARED: list[Simulator] = []


@pytest.mark.parametrize("attempt", [1, 2])
@pytest.mark.sim(tickets=5, scope="module")
def test_scope_module_shares_one_simulator(sim: Simulator, attempt: int) -> None:
    SHARED.append(sim)
    assert len(SHARED) == attempt and all(shared is sim for shared in SHARED)
    assert requests.get(f"{sim.url}/account", timeout=5).status_code == 401  # still serving


@pytest.mark.parametrize("attempt", [1, 2])
@pytest.mark.sim(tickets=5, faults=Faults(error_5xx=1.0))
def test_each_test_gets_its_own_copy_of_the_options(sim: Simulator, attempt: int) -> None:
    assert sim.config.faults.error_5xx == 1.0
    sim.config.faults.error_5xx = 0.0  # must not reach the next test's simulator


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"tickets": 5, "no_such_option": 1}, TypeError),
        ({"scope": "session"}, pytest.UsageError),
        ({"scope": "module", "fake_clock": True}, pytest.UsageError),
    ],
)
def test_options_it_cannot_honour_fail_at_setup(
    options: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        SimSpec.from_options(options)
