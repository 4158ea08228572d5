"""The simulator as the tests use it: what a correct export of its account holds, and the
cursors the exporter builds by hand."""

from __future__ import annotations

import math
from collections import Counter

from gorgias_sim import RequestRecord, SimConfig, Simulator, cursors
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.fakes import FakeTime


def expected_ids(
    sim: Simulator, since: str | None = None, until: str | None = None
) -> Counter[tuple[str, str]]:
    """The rows a correct export of the simulator's data holds: one per message, plus one per
    ticket without messages. `since`/`until` are normalized UTC strings."""
    from gorgias_export.timeutil import sort_key

    expected: Counter[tuple[str, str]] = Counter()
    for message in sim.dataset.messages:
        key = sort_key(message["created_datetime"])
        if (since and key < since) or (until and key > until):
            continue
        expected[(str(message["ticket_id"]), str(message["id"]))] += 1
    for ticket in sim.dataset.tickets:
        key = sort_key(ticket["created_datetime"])
        if (since and key < since) or (until and key > until):
            continue
        if ticket["messages_count"] == 0:
            expected[(str(ticket["id"]), "")] += 1
    return expected


def floor(sim: Simulator) -> int:
    """The fewest requests a full tickets export can take: ceil(T/100) + ceil(M/100)."""
    return math.ceil(len(sim.dataset.tickets) / 100) + math.ceil(len(sim.dataset.messages) / 100)


# -- the first run's split message listing (meeting.py) -----------------------------------------


def split_sim(tickets: int, seed: int, refuses_hand_built: bool = False) -> Simulator:
    """A simulator for the split: with a TTL it only takes cursors it issued (hand-built ones are
    refused), and a fake clock keeps the ones it issued from expiring during a test."""
    config = SimConfig(
        seed=seed,
        tickets=tickets,
        rate_limit=False,
        email=EMAIL,
        api_key=SECRET_KEY,
        cursor_ttl=3600 if refuses_hand_built else None,
    )
    return Simulator(config, clock=FakeTime()) if refuses_hand_built else Simulator(config)


def is_hand_built(token: str | None) -> bool:
    """A cursor built by the exporter: the simulator's own always name a real item (id > 0)."""
    return token is not None and cursors.decode(token)[2] == 0


def entries(sim: Simulator) -> list[RequestRecord]:
    """The requests that carried a hand-built cursor."""
    return [r for r in sim.requests if is_hand_built(r.query.get("cursor", [None])[0])]
