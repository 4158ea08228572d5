from __future__ import annotations

import pytest

from gorgias_export.pacing import BucketPacer, parse_call_limit, parse_retry_after
from tests.fakes import FakeTime


def test_header_is_read_in_any_case() -> None:
    assert parse_call_limit({"X-Gorgias-Account-Api-Call-Limit": "10/40"}) == (10, 40)
    assert parse_call_limit({"x-gorgias-account-api-call-limit": " 3 / 80 "}) == (3, 80)
    assert parse_call_limit({"X-Gorgias-Account-Api-Call-Limit": "garbage"}) is None
    assert parse_call_limit({}) is None
    assert parse_retry_after({"Retry-after": "7"}) == 7.0
    assert parse_retry_after({"RETRY-AFTER": "x"}) is None


def test_no_wait_before_anything_is_known() -> None:
    time = FakeTime()
    pacer = BucketPacer(time.clock)
    assert pacer.delay_before_request() == 0.0


def test_a_fresh_bucket_allows_the_whole_burst_without_waiting() -> None:
    time = FakeTime()
    pacer = BucketPacer(time.clock)
    pacer.note_response({"X-Gorgias-Account-Api-Call-Limit": "1/40"})
    waits = []
    for _ in range(38):  # 1 used + 38 = 39, one slot of headroom kept
        waits.append(pacer.delay_before_request())
        pacer.note_sent()
    assert waits == [0.0] * 38
    assert pacer.delay_before_request() > 0


@pytest.mark.parametrize(("limit", "drain"), [(40, 2.0), (80, 4.0)])
def test_a_full_bucket_waits_for_exactly_the_drain_of_one_slot(limit: int, drain: float) -> None:
    time = FakeTime()
    pacer = BucketPacer(time.clock)
    pacer.note_response({"X-Gorgias-Account-Api-Call-Limit": f"{limit}/{limit}"})
    # full: two slots must drain (one to get under the limit, one of headroom)
    assert pacer.delay_before_request() == pytest.approx(2 / drain)
    time.sleep(2 / drain)
    assert pacer.delay_before_request() == 0.0


def test_steady_state_is_the_drain_rate() -> None:
    time = FakeTime()
    pacer = BucketPacer(time.clock)
    pacer.note_response({"X-Gorgias-Account-Api-Call-Limit": "39/40"})
    sent_at = []
    for _ in range(20):
        time.sleep(pacer.delay_before_request())
        pacer.note_sent()
        sent_at.append(time.now)
    rate = (len(sent_at) - 1) / (sent_at[-1] - sent_at[0])
    assert rate == pytest.approx(2.0)


def test_a_429_means_full_whatever_we_thought() -> None:
    time = FakeTime()
    pacer = BucketPacer(time.clock)
    pacer.note_response({"X-Gorgias-Account-Api-Call-Limit": "0/40"})
    pacer.note_rate_limited(None)
    assert pacer.delay_before_request() > 0
