"""Pacing to the account's leaky bucket, learned from the call-limit header: the pacer against
a model of the bucket, then a whole run against the simulator's."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest
import requests

from gorgias_export.api.pacing import BucketPacer, parse_call_limit, parse_retry_after
from gorgias_sim import Simulator
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import run_cli
from tests.support.fakes import FakeTime


def test_header_is_read_in_any_case() -> None:
    assert parse_call_limit({"X-Gorgias-Account-Api-Call-Limit": "10/40"}) == (10, 40)
    assert parse_call_limit({"x-gorgias-account-api-call-limit": " 3 / 80 "}) == (3, 80)
    assert parse_call_limit({"X-Gorgias-Account-Api-Call-Limit": "garbage"}) is None
    assert parse_call_limit({}) is None
    assert parse_retry_after({"Retry-after": "7"}) == 7.0
    assert parse_retry_after({"RETRY-AFTER": "x"}) is None


def test_no_wait_before_anything_is_known() -> None:
    time = FakeTime()
    assert BucketPacer(time.clock).reserve() == 0.0


class LeakyBucket:
    """The server side: what the simulator and (per its documentation) Gorgias do."""

    def __init__(self, time: FakeTime, capacity: int, window: float) -> None:
        self.time, self.capacity, self.rate = time, capacity, capacity / window
        self.level, self.at, self.overflows = 0.0, time.now, 0

    def request(self) -> dict[str, str]:
        now = self.time.now
        self.level = max(0.0, self.level - self.rate * (now - self.at))
        self.at = now
        if self.level + 1 > self.capacity:
            self.overflows += 1
        else:
            self.level += 1
        return {"X-Gorgias-Account-Api-Call-Limit": f"{math.ceil(self.level)}/{self.capacity}"}


def run(pacer: BucketPacer, server: LeakyBucket, time: FakeTime, seconds: float) -> int:
    """A client with no latency sending as fast as the pacer lets it; returns requests sent."""
    sent = 0
    end = time.now + seconds
    while time.now < end:
        time.sleep(pacer.reserve())
        pacer.note_response(server.request())
        sent += 1
    return sent


@pytest.mark.parametrize(
    ("capacity", "window"), [(40, 20.0), (80, 20.0), (40, 10.0), (80, 10.0), (40, 2.0)]
)
def test_pacing_uses_the_burst_then_the_learned_drain_without_overflowing(
    capacity: int, window: float
) -> None:
    time = FakeTime()
    server = LeakyBucket(time, capacity, window)
    pacer = BucketPacer(time.clock)
    seconds = 300.0
    sent = run(pacer, server, time, seconds)
    allowed = capacity + capacity / window * seconds  # the burst plus the drain
    assert server.overflows == 0
    assert sent >= 0.97 * allowed
    assert pacer.drain_per_second == pytest.approx(capacity / window, rel=0.1)


def test_a_fresh_bucket_is_spent_at_once() -> None:
    time = FakeTime()
    server = LeakyBucket(time, 40, 20.0)
    pacer = BucketPacer(time.clock)
    waits = []
    for _ in range(39):  # 40 slots, one kept as headroom
        waits.append(pacer.reserve())
        pacer.note_response(server.request())
    assert waits == [0.0] * 39
    assert pacer.room() == 0 and not pacer.limit_known  # the drain is still a guess
    assert pacer.reserve() > 0


def test_the_display_is_told_what_the_bucket_still_takes_and_whether_its_limit_is_known() -> None:
    time = FakeTime()
    server = LeakyBucket(time, 40, 20.0)
    pacer = BucketPacer(time.clock)
    assert pacer.room() == 0  # no header seen: nothing known
    pacer.reserve()
    pacer.note_response(server.request())
    assert pacer.room() == 38  # 40, less the one sent and the one kept as headroom
    run(pacer, server, time, 60.0)
    assert pacer.limit_known and pacer.allowed_rate == pytest.approx(2.0, rel=0.1)
    spaced = BucketPacer(time.clock, max_rate=0.5)
    spaced.reserve()
    spaced.note_response(server.request())
    assert spaced.limit_known and spaced.room() == 0  # --max-rate spaces every request


def test_a_count_past_the_limit_waits_at_most_a_full_bucket() -> None:
    """Issue 12, item 5: a first `100000/40` made the run sleep about 14 hours, saying nothing."""
    time = FakeTime()
    pacer = BucketPacer(time.clock)
    pacer.reserve()
    pacer.note_response({"X-Gorgias-Account-Api-Call-Limit": "100000/40"})
    assert 0 < pacer.reserve() <= 20.0  # a full bucket of 40, draining 2 a second


def test_max_rate_leaves_room_for_other_integrations() -> None:
    time = FakeTime()
    server = LeakyBucket(time, 40, 20.0)
    pacer = BucketPacer(time.clock, max_rate=0.5)
    sent = run(pacer, server, time, 100.0)
    assert sent == pytest.approx(50, abs=2)
    assert pacer.allowed_rate == 0.5


def test_concurrent_bookings_never_overbook() -> None:
    time = FakeTime()
    pacer = BucketPacer(time.clock)
    pacer.note_response({"X-Gorgias-Account-Api-Call-Limit": "39/40"})
    waits: list[float] = []
    lock = threading.Lock()

    def book() -> None:
        wait = pacer.reserve()
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=book) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 39/40 with one slot of headroom: every booking waits, each 0.5 s (one drained slot) apart
    assert sorted(waits) == pytest.approx([0.5 * (i + 1) for i in range(8)])


def test_a_429_means_full_whatever_we_thought() -> None:
    time = FakeTime()
    pacer = BucketPacer(time.clock)
    pacer.note_response({"X-Gorgias-Account-Api-Call-Limit": "0/40"})
    pacer.note_rate_limited(None)
    assert pacer.reserve() > 0


# -- against the simulator's bucket ----------------------------------------------------------


@pytest.mark.sim(seed=4, tickets=150, rate_limit=True)  # 40 per 20 s
def test_pacing_from_the_header_avoids_429s(sim: Simulator, tmp_path: Path) -> None:
    for _ in range(35):  # another integration already used most of the bucket
        requests.get(sim.url + "/account", auth=(EMAIL, SECRET_KEY), timeout=5)
    sim.reset_stats()
    result = run_cli(sim, "tickets", "--out", str(tmp_path / "t.csv"))
    assert result.exit_code == 0, result.stderr
    assert sim.count() > 5  # enough requests to have overflowed the bucket unpaced
    assert sim.rate_limited == 0
