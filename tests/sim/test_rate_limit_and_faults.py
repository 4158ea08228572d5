"""The simulator's leaky bucket and the faults it injects on demand, at random with a seed, or
as an outage; and the web page an unknown account gets."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from gorgias_sim import Faults, SimConfig, Simulator
from tests.support.fakes import FakeTime
from tests.support.sim_http import session

# Each test has a small private simulator (30 tickets): they change its config or its clock.
PRIVATE: dict[str, Any] = {"tickets": 30}


@pytest.mark.sim(**PRIVATE, rate_limit=True, bucket_capacity=3, bucket_window=60.0, fake_clock=True)
def test_leaky_bucket_limits_and_reports(sim: Simulator, clock: FakeTime) -> None:
    s, url = session(sim), f"{sim.url}/account"
    levels = [s.get(url, timeout=5).headers["X-Gorgias-Account-Api-Call-Limit"] for _ in range(3)]
    assert levels == ["1/3", "2/3", "3/3"]
    refused = s.get(url, timeout=5)
    assert refused.status_code == 429
    assert refused.json() == {"error": {"msg": "Too many requests."}}
    assert refused.headers["Retry-after"] == "20"  # one slot drains in 60 s / 3
    assert refused.headers["X-Gorgias-Account-Api-Call-Limit"] == "3/3"
    clock.now += 20
    assert s.get(url, timeout=5).headers["X-Gorgias-Account-Api-Call-Limit"] == "3/3"
    assert sim.rate_limited == 1


@pytest.mark.parametrize("kind", ["5xx", "reset", "truncated", "html_error", "slow", "429"])
# "slow" answers 3 s late against a 0.1 s read timeout: at 0.3 s, a client thread held up for
# a moment on a loaded machine could find the answer already there (the stop wakes the wait).
@pytest.mark.sim(**PRIVATE, faults=Faults(slow_seconds=3.0))
def test_fail_next_produces_each_symptom(sim: Simulator, kind: str) -> None:
    s, url = session(sim), f"{sim.url}/tickets"
    sim.fail_next(1, kind)
    if kind == "reset":
        with pytest.raises(requests.ConnectionError):
            s.get(url, timeout=5)
    elif kind == "truncated":
        with pytest.raises((requests.RequestException, ValueError)):
            s.get(url, timeout=5).json()
    elif kind == "slow":
        with pytest.raises(requests.ReadTimeout):
            s.get(url, timeout=0.1)
    else:
        r = s.get(url, timeout=5)
        expected = {"5xx": 503, "html_error": 502, "429": 429}[kind]
        assert r.status_code == expected
        if kind == "html_error":
            assert r.headers["Content-Type"].startswith("text/html")
        if kind == "429":
            assert r.headers["Retry-after"] == "1"
    assert session(sim).get(url, timeout=5).status_code == 200
    assert sim.faults_injected == {kind: 1}


@pytest.mark.sim(**PRIVATE, fake_clock=True)
def test_outage_alternates_resets_and_503s(sim: Simulator, clock: FakeTime) -> None:
    sim.outage(10)
    url = f"{sim.url}/account"
    with pytest.raises(requests.ConnectionError):
        session(sim).get(url, timeout=5)
    assert session(sim).get(url, timeout=5).status_code == 503
    clock.now += 11
    assert session(sim).get(url, timeout=5).status_code == 200


def test_random_faults_repeat_with_their_seed() -> None:
    def statuses() -> list[int]:  # each time from a new simulator
        config = SimConfig(tickets=30, rate_limit=False, faults=Faults(error_5xx=0.5, seed=7))
        with Simulator(config) as sim:
            s = session(sim)
            return [s.get(f"{sim.url}/account", timeout=5).status_code for _ in range(12)]

    first = statuses()
    assert first == statuses()
    assert 200 in first and any(code >= 500 for code in first)


@pytest.mark.sim(**PRIVATE, faults=Faults(rate_limited=1.0, retry_after=120))
def test_a_429_storm_carries_its_long_retry_after(sim: Simulator) -> None:
    r = session(sim).get(f"{sim.url}/account", timeout=5)
    assert r.status_code == 429 and r.headers["Retry-after"] == "120"
    assert sim.faults_injected == {"429": 1}


@pytest.mark.sim(**PRIVATE, rate_limit=True, bucket_capacity=40)
def test_an_injected_429_reports_the_bucket_full(sim: Simulator) -> None:
    # As when other integrations fill the account's shared bucket: not this client's count.
    sim.fail_next(1, "429")
    r = session(sim).get(f"{sim.url}/account", timeout=5)
    assert r.status_code == 429 and r.headers["X-Gorgias-Account-Api-Call-Limit"] == "40/40"


@pytest.mark.sim(tickets=0, account_exists=False, rate_limit=True)
def test_an_unknown_account_answers_404_with_a_web_page(sim: Simulator) -> None:
    r = session(sim).get(f"{sim.url}/account", timeout=5)
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html")
    assert r.text.startswith("<!DOCTYPE html>")
