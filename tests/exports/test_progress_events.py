"""The progress events a run sends: a share done that only grows and reaches 1 at the end,
stated once the run's size is known (never guessed); phases named; `all` says where it is."""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import pytest

from gorgias_export.api.client import GorgiasClient
from gorgias_export.config import Secret, Settings
from gorgias_export.exports.status import ExportStatus, Status
from gorgias_export.jobs.all import AllJob, run_all
from gorgias_export.jobs.lifecycle import open_target, run_job
from gorgias_export.jobs.tickets import TicketsJob
from gorgias_sim import Simulator
from tests.support.account import EMAIL, SECRET_KEY

pytestmark = pytest.mark.sim(seed=13, tickets=700)


def client_for(sim: Simulator) -> GorgiasClient:
    return GorgiasClient(Settings(base_url=sim.url, email=EMAIL, api_key=Secret(SECRET_KEY)))


def tickets_run(sim: Simulator, out: Path, per: str = "message") -> list[Status]:
    statuses: list[Status] = []
    client = client_for(sim)
    job = TicketsJob(out.suffix[1:], per=per)
    target = open_target(job, str(out), None, False, client.settings.base_url, "tickets.csv")
    run_job(client, job, target, statuses.append)
    client.close()
    return statuses


def assert_the_share_only_grows(statuses: list[Status]) -> None:
    shares = [s.fraction or 0.0 for s in statuses]
    assert all(a <= b for a, b in pairwise(shares)), shares
    assert all(s.fraction is None or s.fraction < 1 for s in statuses if not s.complete)
    assert statuses[-1].complete and statuses[-1].fraction == 1.0


def test_a_first_export_states_its_size_once_every_ticket_is_listed(
    sim: Simulator, tmp_path: Path
) -> None:
    statuses = tickets_run(sim, tmp_path / "tickets.csv")
    assert {s.phase for s in statuses[:-1]} == {"reading"}
    planned = [s.planned for s in statuses if s.planned is not None]
    unknown = [s for s in statuses if s.planned is None and not s.complete]
    assert unknown and statuses.index(unknown[-1]) < len(statuses) - len(planned)
    # Once known it does not move: the floor of the listings, plus the meeting pages.
    tickets, messages = len(sim.dataset.tickets), len(sim.dataset.messages)
    assert set(planned) == {math.ceil(tickets / 100) + math.ceil(messages / 100) + 2}
    assert_the_share_only_grows(statuses)
    last = statuses[-2]
    assert last.done == sim.count() and last.done <= planned[-1]
    assert last.fraction is not None and last.fraction >= 0.9  # the estimate was not far off


def test_a_rerun_does_not_guess_its_size(sim: Simulator, tmp_path: Path) -> None:
    tickets_run(sim, tmp_path / "tickets.csv")
    sim.dataset.add_message(sim.dataset.tickets[3]["id"])
    statuses = tickets_run(sim, tmp_path / "tickets.csv")
    assert all(s.planned is None for s in statuses)
    assert_the_share_only_grows(statuses)


def test_per_ticket_gathers_then_writes_with_its_counts(sim: Simulator, tmp_path: Path) -> None:
    """`--per ticket` showed `0 messages` all through its gathering."""
    statuses = tickets_run(sim, tmp_path / "conversations.jsonl", per="ticket")
    phases = [s.phase for s in statuses[:-1]]
    first_write = phases.index("writing")
    assert set(phases[:first_write]) == {"gathering"} and set(phases[first_write:]) == {"writing"}
    gathered = statuses[first_write - 1]
    assert isinstance(gathered, ExportStatus)
    assert gathered.messages_read == len(sim.dataset.messages)
    assert f"{len(sim.dataset.messages):,} messages" in gathered.counts()
    writing = [s for s in statuses[first_write:-1] if isinstance(s, ExportStatus)]
    assert {s.planned for s in writing} == {len(sim.dataset.tickets)}
    assert writing[-1].done == writing[-1].message_rows == len(sim.dataset.tickets)
    assert_the_share_only_grows(statuses[first_write:])


@pytest.mark.sim(seed=13, tickets=60)
def test_all_says_which_entity_it_is_on(sim: Simulator, tmp_path: Path) -> None:
    statuses: list[Status] = []
    client = client_for(sim)
    result = run_all(client, AllJob(str(tmp_path / "backup"), "csv"), statuses.append)
    client.close()
    steps = [s.step for s in statuses]
    total = len(result.outcomes)
    assert steps[0] == (1, total) and steps[-1] == (total, total)
    assert all(a is not None and b is not None and a <= b for a, b in pairwise(steps))
    for status in statuses:  # never 100% while still reading
        assert status.complete or status.fraction is None or status.fraction < 1
    names = {s.subject for s in statuses}
    assert {"tickets", "customers", "tags"} <= names
