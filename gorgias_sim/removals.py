"""Tickets and customers deleted or merged while the simulator serves, with the events the real
API records for them (shapes as generate_events.py gives the historical ones: `object_id` is the
object that went away, and a merge's `data.merged_into` names the one that absorbed it).

The Dataset's methods (delete_ticket, merge_tickets, delete_customer, merge_customers) call these
under its lock. What the real API does beyond the documented part is a plausible guess, kept in
one place so that it is easy to change:
- a deleted ticket leaves every listing with its messages; its single GET answers 404;
- a merged ticket's messages move to the target (their `ticket_id` and `uri` change, their
  `created_datetime` does not), and the target's messages_count, activity datetimes and
  updated_datetime change;
- a deleted customer takes their tickets with them (a GDPR erasure), each with its own
  ticket-deleted event;
- a merged customer's tickets move to the target customer, which is updated; the source leaves.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import TYPE_CHECKING

from .records import Obj, brief, dt
from .timefmt import now_us, parse_us

if TYPE_CHECKING:  # data.py imports this module
    from .data import Dataset


def delete_ticket(ds: Dataset, ticket_id: int, user_id: int | None) -> Obj:
    tk = _ticket(ds, ticket_id)
    for key in ds._keys_by_ticket.pop(ticket_id, []):
        msg = ds._messages_by_id.pop(key[1])
        ds.messages.remove(msg)
        _discard(ds._message_keys, key)
    _drop_ticket(ds, tk)
    ds.entities.add_event(now_us(), "ticket-deleted", "Ticket", ticket_id, user_id)
    return tk


def merge_tickets(ds: Dataset, source_id: int, target_id: int, user_id: int | None) -> Obj:
    if source_id == target_id:
        raise ValueError("a ticket cannot be merged into itself")
    source, target = _ticket(ds, source_id), _ticket(ds, target_id)
    moved = ds._keys_by_ticket.pop(source_id, [])
    keys = ds._keys_by_ticket.setdefault(target_id, [])
    for key in moved:
        msg = ds._messages_by_id[key[1]]
        msg["ticket_id"] = target_id
        msg["uri"] = f"/api/tickets/{target_id}/messages/{msg['id']}/"
        insort(keys, key)
    _drop_ticket(ds, source)
    now = now_us()
    changes: Obj = {"messages_count": len(keys), "updated_datetime": dt(now)}
    for field in ("last_message_datetime", "last_received_message_datetime"):
        latest = max((v for v in (source[field], target[field]) if v), key=parse_us, default=None)
        changes[field] = latest
    ds._reindex_ticket(target, changes)
    into = (("merged_into", target_id),)
    ds.entities.add_event(now, "ticket-merged", "Ticket", source_id, user_id, into)
    return target


def delete_customer(ds: Dataset, customer_id: int, user_id: int | None) -> Obj:
    customer = _customer(ds, customer_id)
    for tk in [t for t in ds.tickets if t["customer"]["id"] == customer_id]:
        delete_ticket(ds, tk["id"], user_id)
    ds.entities.customers.remove(customer_id)
    _forget_in_factory(ds, customer_id, None)
    ds.entities.add_event(now_us(), "customer-deleted", "Customer", customer_id, user_id)
    return customer


def merge_customers(ds: Dataset, source_id: int, target_id: int, user_id: int | None) -> Obj:
    if source_id == target_id:
        raise ValueError("a customer cannot be merged into itself")
    _customer(ds, source_id)
    target = _customer(ds, target_id)
    now = now_us()
    for tk in [t for t in ds.tickets if t["customer"]["id"] == source_id]:
        ds._reindex_ticket(tk, {"customer": brief(target), "updated_datetime": dt(now)})
    ds.entities.customers.remove(source_id)
    _forget_in_factory(ds, source_id, target)
    # The target's update and the merge, in that order (customer-updated is the store's).
    target = ds.entities.update_customer(target_id, {"updated_datetime": dt(now)})
    into = (("merged_into", target_id),)
    ds.entities.add_event(now, "customer-merged", "Customer", source_id, user_id, into)
    return target


def _ticket(ds: Dataset, ticket_id: int) -> Obj:
    tk = ds.ticket(ticket_id)
    if tk is None:
        raise KeyError(f"no ticket {ticket_id}")
    return tk


def _customer(ds: Dataset, customer_id: int) -> Obj:
    c = ds.customer(customer_id)
    if c is None:
        raise KeyError(f"no customer {customer_id}")
    return c


def _drop_ticket(ds: Dataset, tk: Obj) -> None:
    """The ticket leaves the lists and indexes (its messages are the caller's)."""
    for field, keys in ds._ticket_keys.items():
        _discard(keys, (parse_us(tk[field]), tk["id"]))
    del ds._tickets_by_id[tk["id"]]
    ds.tickets.remove(tk)
    ds.entities.retag(tk["tags"], [])


def _forget_in_factory(ds: Dataset, customer_id: int, instead: Obj | None) -> None:
    """New tickets must not pick a customer that is gone. The factory's list keeps its length,
    since it numbers new customers by it: the slot takes the merge target, or another customer."""
    people = ds._factory.customers
    others = [c for c in people if c["id"] != customer_id and ds.customer(c["id"]) is not None]
    for i, c in enumerate(people):
        if c["id"] == customer_id:
            stand_in = instead or (others[0] if others else None)
            if stand_in is not None:
                people[i] = stand_in


def _discard(keys: list[tuple[int, int]], key: tuple[int, int]) -> None:
    i = bisect_left(keys, key)
    if i < len(keys) and keys[i] == key:
        del keys[i]
