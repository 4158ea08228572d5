"""The simulator as the tests use it: how `pytest.mark.sim` options build one, what a correct
export of its account holds, and the cursors the exporter builds by hand."""

from __future__ import annotations

import copy
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from gorgias_sim import RequestRecord, SimConfig, Simulator, cursors
from tests.support.account import EMAIL, SECRET_KEY, SECRET_TOKEN

SCOPES = ("function", "module")


@dataclass
class SimSpec:
    """The options of the `sim` fixture, from the closest `pytest.mark.sim(...)` (see conftest).

    `config` holds SimConfig's fields; the rest say how the fixture runs the simulator."""

    config: dict[str, Any] = field(default_factory=dict)
    fake_clock: bool = False  # run on the test's `clock` fixture instead of the real clock
    scope: str = "function"  # "module": one simulator for the module's tests with these options
    get_only: bool = True  # at teardown, check that the simulator received GET requests only

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SimSpec:
        config = copy.deepcopy(dict(options))  # a test may change what it was handed
        spec = cls(
            fake_clock=config.pop("fake_clock", False),
            scope=config.pop("scope", "function"),
            get_only=config.pop("get_only", True),
            config=config,
        )
        if spec.scope not in SCOPES:
            raise pytest.UsageError(f"pytest.mark.sim: scope must be one of {SCOPES}")
        if spec.scope == "module" and spec.fake_clock:
            raise pytest.UsageError("pytest.mark.sim: a fake clock belongs to one test")
        spec.sim_config()  # an unknown option fails here, at setup, with SimConfig's message
        return spec

    @classmethod
    def for_test(cls, request: pytest.FixtureRequest) -> SimSpec:
        """An indirect parametrization of `sim` wins, then the closest marker, whole."""
        options = getattr(request, "param", None)
        if options is None:
            marker = request.node.get_closest_marker("sim")
            if marker is not None and marker.args:
                raise pytest.UsageError("pytest.mark.sim takes keyword options only")
            options = marker.kwargs if marker is not None else {}
        return cls.from_options(options)

    def sim_config(self) -> SimConfig:
        defaults = {
            "rate_limit": False,
            "email": EMAIL,
            "api_key": SECRET_KEY,
            "access_token": SECRET_TOKEN,
        }
        return SimConfig(**{**defaults, **self.config})

    def build(self, clock: Callable[[], float] = time.monotonic) -> Simulator:
        """The simulator, not started yet."""
        return Simulator(self.sim_config(), clock=clock)


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


def is_hand_built(token: str | None) -> bool:
    """A cursor built by the exporter: the simulator's own always name a real item (id > 0)."""
    return token is not None and cursors.decode(token)[2] == 0


def entries(sim: Simulator) -> list[RequestRecord]:
    """The requests that carried a hand-built cursor."""
    return [r for r in sim.requests if is_hand_built(r.query.get("cursor", [None])[0])]
