"""The one place the compat tests import the simulator from, and the data they run against.

The simulator is about to move to a top-level `gorgias_sim` package: change the import here.
Everything here is pinned: the dataset ends at FIXED_END, and every change `change_data` makes
carries an explicit time, so that no byte of any output depends on the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gorgias_sim import SimConfig, Simulator, make_dataset

EMAIL = "agent@example.com"
API_KEY = "sk-COMPAT-3c9d1e7a-do-not-leak"

FIXED_END = datetime(2026, 11, 1, tzinfo=UTC)
# When the data changes, for the reruns of finished exports: after the dataset's end and after
# the recorded first runs (FIRST_RUN_AT in record.py), before any real clock that reruns them.
CHANGED_AT = FIXED_END + timedelta(days=1)

# name -> (seed, tickets). Fixtures and golden.json name their dataset.
DATASETS: dict[str, tuple[int, int]] = {
    "small": (11, 20),  # >= 14 tickets: every tricky case of the generator is in it
    "large": (1, 300),  # enough messages for the first run to split the message listing
}


def simulator(dataset: str) -> Simulator:
    """A started simulator serving `dataset` (stop it, or use it as a context manager)."""
    seed, tickets = DATASETS[dataset]
    # 0.1.0 was recorded against a simulator that listed every macro without `archived`: the
    # answer the real API may give too, under which reading archived=true as well adds nothing.
    config = SimConfig(
        seed=seed,
        tickets=tickets,
        rate_limit=False,
        email=EMAIL,
        api_key=API_KEY,
        macros_list_archived=True,
    )
    # The data as 0.1.0 saw it: no hostile markup in the HTML-only e-mail (added for issue 15).
    dataset = make_dataset(seed, tickets, end=FIXED_END, hostile_html=False)
    return Simulator(config, dataset=dataset).start()


def _at(seconds: float) -> datetime:
    return CHANGED_AT + timedelta(seconds=seconds)


def change_data(sim: Simulator) -> dict[str, Any]:
    """The changes made between a finished export and its rerun, all at fixed times after the
    dataset's end; returns what was changed, for messages. The same on every call for the same
    dataset (the generator's random state is part of the dataset)."""
    ds = sim.dataset
    tickets = ds.tickets
    # A new ticket with two messages. Adding a message stamps the ticket's updated_datetime with
    # the clock: pin it.
    new_ticket = ds.add_ticket(messages=2, created=_at(0))
    ds.update_ticket(new_ticket["id"], updated_datetime=_at(1))
    # A new message on an existing ticket, and one on a ticket that had none.
    talked = tickets[len(tickets) // 2]["id"]
    ds.add_message(talked, created=_at(10))
    ds.update_ticket(talked, updated_datetime=_at(11))
    quiet = ds.special["tickets_without_messages"][0]
    ds.add_message(quiet, created=_at(20))
    ds.update_ticket(quiet, updated_datetime=_at(21))
    # A status change without a message.
    closed = next(
        t["id"]
        for t in tickets
        if t["status"] == "open" and t["messages_count"] and t["id"] not in (talked, quiet)
    )
    ds.update_ticket(closed, status="closed", updated_datetime=_at(30))
    # Customers: one changed, one new.
    customer = ds.entity_items("customers")[0]["id"]
    ds.update_customer(customer, note="changed by the compat fixtures", updated_datetime=_at(40))
    ds.add_customer(created=_at(50), email="late.compat@example.com")
    # The newest survey gets a score; an event of its own; a new tag; a macro renamed.
    surveys = ds.entity_items("satisfaction-surveys")
    newest_survey = max(surveys, key=lambda s: (s["created_datetime"], s["id"]))["id"]
    ds.score_survey(newest_survey, 2, scored=_at(60))
    ds.add_event("ticket-deleted", "Ticket", tickets[2]["id"], created=_at(70))
    ds.add_tag("compat-new-tag", color="#123456", created=_at(80))
    macro = ds.entity_items("macros")[0]["id"]
    ds.update_config(
        "macros", macro, name="Renamed by the compat fixtures", updated_datetime=_at(90)
    )
    return {
        "new_ticket": new_ticket["id"],
        "talked": talked,
        "quiet": quiet,
        "closed": closed,
        "customer": customer,
        "survey": newest_survey,
        "macro": macro,
    }
