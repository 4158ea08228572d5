"""The simulator's OAuth side, as gorgias-api.md describes the real one: a Bearer token with its
own bucket of 80 per 20 s, tokens that expire (after N requests here, 24 h there), and 403s that
say why in the real body's shape."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from gorgias_sim import NOPERM_EMAIL, Simulator
from tests.support.fakes import FakeTime
from tests.support.sim_http import session

PRIVATE: dict[str, Any] = {"tickets": 30}
LIMIT = "X-Gorgias-Account-Api-Call-Limit"


def bearer(token: str) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # never route 127.0.0.1 through a proxy from the environment
    s.headers["Authorization"] = f"Bearer {token}"
    return s


@pytest.mark.sim(**PRIVATE, rate_limit=True, fake_clock=True)
def test_a_token_gets_its_own_bucket_of_80(sim: Simulator, clock: FakeTime) -> None:
    token = sim.config.access_token
    assert token
    s, url = bearer(token), f"{sim.url}/account"
    levels = [s.get(url, timeout=5).headers[LIMIT] for _ in range(80)]
    assert levels[0] == "1/80" and levels[-1] == "80/80"
    refused = s.get(url, timeout=5)
    assert refused.status_code == 429 and refused.headers[LIMIT] == "80/80"
    assert refused.headers["Retry-after"] == "1"  # 80 per 20 s drain 4 a second
    # The key's bucket is another one: the agent is not slowed down by the app.
    assert session(sim).get(url, timeout=5).headers[LIMIT] == "1/40"
    clock.now += 10  # 40 drained
    assert s.get(url, timeout=5).headers[LIMIT] == "41/80"
    assert [r.scheme for r in sim.requests[:2]] == ["Bearer", "Bearer"]
    assert sim.requests[81].scheme == "Basic"


@pytest.mark.sim(**PRIVATE)
def test_a_wrong_token_or_none_accepted_is_401(sim: Simulator) -> None:
    url = f"{sim.url}/tickets"
    wrong = bearer("not-the-token").get(url, timeout=5)
    assert wrong.status_code == 401 and wrong.json() == {"error": {"msg": "Unauthorized."}}
    token = sim.config.access_token
    assert token and bearer(token).get(url, timeout=5).status_code == 200
    sim.config.access_token = None  # Basic auth only
    assert bearer(token).get(url, timeout=5).status_code == 401
    assert not sim.requests[-1].authorized


@pytest.mark.sim(**PRIVATE, token_lifetime=3)
def test_a_token_expires_after_its_lifetime_and_a_new_one_works(sim: Simulator) -> None:
    old = sim.config.access_token
    assert old
    url = f"{sim.url}/account"
    assert [bearer(old).get(url, timeout=5).status_code for _ in range(4)] == [200, 200, 200, 401]
    sim.config.access_token = "a-fresh-token"
    assert bearer("a-fresh-token").get(url, timeout=5).status_code == 200
    assert bearer(old).get(url, timeout=5).status_code == 401


@pytest.mark.sim(**PRIVATE)
def test_a_403_says_why_in_the_real_body_shape(sim: Simulator) -> None:
    sim.config.forbidden_reason = "Messaging quota exceeded."
    forbidden = session(sim, NOPERM_EMAIL).get(f"{sim.url}/tickets", timeout=5)
    assert forbidden.status_code == 403
    assert forbidden.json() == {"error": {"msg": "Messaging quota exceeded."}}
