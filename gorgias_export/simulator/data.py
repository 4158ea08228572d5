"""The simulated account's data, its sort indexes, and the changes tests make while it is served.

Special cases are listed in `Dataset.special`, keyed by the constants in generate.py (re-exported
here): for example `ds.special[TICKETS_WITHOUT_MESSAGES]` is a list of ticket ids and
`ds.special[MESSAGE_HUGE_BODY]` a list of one message id. Ids depend on the seed and the ticket
count, so look them up there rather than hard-coding them. Every dataset of at least
MIN_TICKETS_FOR_SPECIALS (14) tickets holds every case:

| key | ids of | what |
|---|---|---|
| tickets_without_messages | tickets | three tickets with messages_count 0 |
| ticket_with_many_messages | tickets | one ticket with 150 messages spread over two years |
| ticket_null_subject / ticket_null_customer_email | tickets | subject null / customer email null |
| ticket_tricky_customer_name | tickets | customer name `Bob O'Brien, "Bobby" Jr.` |
| ticket_spam / ticket_trashed | tickets | spam true / trashed_datetime set |
| ticket_tricky_bodies | tickets | the ticket holding messages_tricky_bodies and the four after it |
| messages_tricky_bodies | messages | one per texts.TRICKY_BODIES entry, in that order |
| message_html_only | messages | body_text and stripped_text null, body_html with entities |
| message_stripped_only | messages | body_text null, stripped_text set |
| message_huge_body | messages | body_text of 200,000 characters |
| message_null_sender_name | messages | sender name null (and its ticket's customer name) |
| message_internal_note / message_attachments | messages | public false / attachments list |
| message_null_sent_datetime / message_empty_body | messages | sent_datetime null / body_text "" |

Random tickets add more of the same (null subjects, spam, trashed, notes, attachments, odd text).
Datetimes: many share the exact same value (tie-break on id) and many have no microseconds.
"""

from __future__ import annotations

import gc
import random
import threading
from bisect import bisect_left, insort
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from .generate import (
    MESSAGE_ATTACHMENTS,
    MESSAGE_EMPTY_BODY,
    MESSAGE_HTML_ONLY,
    MESSAGE_HUGE_BODY,
    MESSAGE_INTERNAL_NOTE,
    MESSAGE_NULL_SENDER_NAME,
    MESSAGE_NULL_SENT,
    MESSAGE_STRIPPED_ONLY,
    MESSAGES_TRICKY_BODIES,
    MIN_TICKETS_FOR_SPECIALS,
    SPAN,
    TICKET_NULL_CUSTOMER_EMAIL,
    TICKET_NULL_SUBJECT,
    TICKET_SPAM,
    TICKET_TRASHED,
    TICKET_TRICKY_BODIES,
    TICKET_TRICKY_CUSTOMER_NAME,
    TICKET_WITH_MANY_MESSAGES,
    TICKETS_WITHOUT_MESSAGES,
    Factory,
    generate,
)
from .records import Obj, dt, excerpt
from .timefmt import EPOCH, HOUR, now_us, parse_us, to_us

__all__ = [
    "MESSAGES_TRICKY_BODIES",
    "MESSAGE_ATTACHMENTS",
    "MESSAGE_EMPTY_BODY",
    "MESSAGE_HTML_ONLY",
    "MESSAGE_HUGE_BODY",
    "MESSAGE_INTERNAL_NOTE",
    "MESSAGE_NULL_SENDER_NAME",
    "MESSAGE_NULL_SENT",
    "MESSAGE_STRIPPED_ONLY",
    "MIN_TICKETS_FOR_SPECIALS",
    "TICKETS_WITHOUT_MESSAGES",
    "TICKET_NULL_CUSTOMER_EMAIL",
    "TICKET_NULL_SUBJECT",
    "TICKET_SPAM",
    "TICKET_TRASHED",
    "TICKET_TRICKY_BODIES",
    "TICKET_TRICKY_CUSTOMER_NAME",
    "TICKET_WITH_MANY_MESSAGES",
    "Dataset",
    "Key",
    "make_dataset",
]

Key = tuple[int, int]  # (sort datetime in microseconds, id): the keyset order, ties broken by id
TICKET_SORT_FIELDS = ("created_datetime", "updated_datetime")


def sort_key(item: Obj, field: str) -> Key:
    return (parse_us(item[field]), item["id"])


def _discard(keys: list[Key], key: Key) -> None:
    i = bisect_left(keys, key)
    if i < len(keys) and keys[i] == key:
        del keys[i]


class Dataset:
    """Tickets and messages (each list in id order) with lookups and sorted keys for paging.

    Hold `lock` while reading several things that must agree; change data only through the
    methods, which keep the indexes right.
    """

    def __init__(
        self,
        tickets: list[Obj],
        messages: list[Obj],
        account: Obj,
        *,
        customers: dict[int, Obj] | None = None,
        special: dict[str, list[int]] | None = None,
        factory: Factory | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.tickets = sorted(tickets, key=lambda t: int(t["id"]))
        self.messages = sorted(messages, key=lambda m: int(m["id"]))
        self.account = account
        self.customers: dict[int, Obj] = customers or {}
        self.special: dict[str, list[int]] = special or {}
        self._factory = factory or Factory.seeded(random.Random(0), now_us() - SPAN)
        self._tickets_by_id = {t["id"]: t for t in self.tickets}
        self._messages_by_id = {m["id"]: m for m in self.messages}
        self._ticket_keys = {
            f: sorted(sort_key(t, f) for t in self.tickets) for f in TICKET_SORT_FIELDS
        }
        self._message_keys = sorted(sort_key(m, "created_datetime") for m in self.messages)
        self._keys_by_ticket: dict[int, list[Key]] = {}
        for key in self._message_keys:
            ticket_id = self._messages_by_id[key[1]]["ticket_id"]
            self._keys_by_ticket.setdefault(ticket_id, []).append(key)

    # Lookups; callers that combine several should hold `lock`.

    def ticket(self, ticket_id: int) -> Obj | None:
        return self._tickets_by_id.get(ticket_id)

    def message(self, message_id: int) -> Obj | None:
        return self._messages_by_id.get(message_id)

    def customer(self, customer_id: int) -> Obj | None:
        return self.customers.get(customer_id)

    def tickets_by_ids(self, ids: Iterable[int]) -> list[Obj]:
        """The tickets with these ids, which must exist (ids taken from the indexes)."""
        return [self._tickets_by_id[i] for i in ids]

    def messages_by_ids(self, ids: Iterable[int]) -> list[Obj]:
        return [self._messages_by_id[i] for i in ids]

    def messages_of(self, ticket_id: int) -> list[Obj]:
        """A ticket's messages in (created_datetime, id) order."""
        with self.lock:
            return [self._messages_by_id[k[1]] for k in self._keys_by_ticket.get(ticket_id, [])]

    def ticket_keys(self, field: str) -> list[Key]:
        """Sorted keys of every ticket on `field`; the live list, so read it under `lock`."""
        return self._ticket_keys[field]

    def message_keys(self, ticket_id: int | None = None) -> list[Key]:
        """Sorted created_datetime keys of every message, or of one ticket's; read under `lock`."""
        if ticket_id is None:
            return self._message_keys
        return self._keys_by_ticket.get(ticket_id, [])

    # Mutations, as tests make them while an export runs.

    def add_ticket(self, messages: int = 1, created: datetime | None = None) -> Obj:
        """A new open ticket (created now by default) with `messages` new messages a ms apart."""
        if messages < 0:
            raise ValueError("messages must not be negative")
        with self.lock:
            when = now_us() if created is None else to_us(created)
            known = len(self._factory.customers)
            tid = (self.tickets[-1]["id"] if self.tickets else 4_000_000) + 1
            tk = self._factory.new_ticket(tid, when)
            for c in self._factory.customers[known:]:
                self.customers[c["id"]] = c
            tk.update(status="open", excerpt="")
            self.tickets.append(tk)
            self._tickets_by_id[tid] = tk
            for field in TICKET_SORT_FIELDS:
                insort(self._ticket_keys[field], sort_key(tk, field))
            for i in range(messages):
                self._add_message(tk, when + i * 1000)
            return tk

    def add_message(self, ticket_id: int, created: datetime | None = None) -> Obj:
        """A new message (created now by default); bumps its ticket as the real API appears to."""
        with self.lock:
            tk = self._tickets_by_id.get(ticket_id)
            if tk is None:
                raise KeyError(f"no ticket {ticket_id}")
            return self._add_message(tk, now_us() if created is None else to_us(created))

    def update_ticket(self, ticket_id: int, **fields: Any) -> Obj:
        """Set fields (datetime values become API strings); updated_datetime is now unless given."""
        if "id" in fields:
            raise ValueError("a ticket's id cannot change")
        for name, value in fields.items():
            if isinstance(value, datetime):
                fields[name] = dt(to_us(value))
        with self.lock:
            tk = self._tickets_by_id.get(ticket_id)
            if tk is None:
                raise KeyError(f"no ticket {ticket_id}")
            self._reindex_ticket(tk, {"updated_datetime": dt(now_us()), **fields})
            return tk

    def _add_message(self, tk: Obj, created: int) -> Obj:
        keys = self._keys_by_ticket.setdefault(tk["id"], [])
        last = self._messages_by_id[keys[-1][1]] if keys else None
        prev_agent = bool(last and last["from_agent"] and last["public"])
        mid = (self.messages[-1]["id"] if self.messages else 90_000_000) + 1
        msg = self._factory.new_message(tk, mid, created, seq=len(keys), prev_agent=prev_agent)
        self.messages.append(msg)
        self._messages_by_id[mid] = msg
        key = (created, mid)
        insort(self._message_keys, key)
        insort(keys, key)
        changes: Obj = {
            "messages_count": len(keys),
            "last_message_datetime": dt(max(created, _us_or(tk["last_message_datetime"]))),
            "updated_datetime": dt(max(now_us(), created, parse_us(tk["updated_datetime"]))),
        }
        if not msg["from_agent"]:
            received = max(created, _us_or(tk["last_received_message_datetime"]))
            changes["last_received_message_datetime"] = dt(received)
        if len(keys) == 1:
            changes["excerpt"] = excerpt(msg)
        self._reindex_ticket(tk, changes)
        return msg

    def _reindex_ticket(self, tk: Obj, changes: Obj) -> None:
        for field in TICKET_SORT_FIELDS:
            _discard(self._ticket_keys[field], sort_key(tk, field))
        tk.update(changes)
        for field in TICKET_SORT_FIELDS:
            insort(self._ticket_keys[field], sort_key(tk, field))


def _us_or(text: str | None, default: int = 0) -> int:
    return default if text is None else parse_us(text)


def default_end() -> datetime:
    """An hour or two before now, on a whole hour: data made within the same hour is identical."""
    end = now_us() - HOUR
    return EPOCH + timedelta(microseconds=end - end % HOUR)


def make_dataset(seed: int, tickets: int, *, end: datetime | None = None) -> Dataset:
    """A seeded account of `tickets` tickets (3.5 messages each on average), ending at `end`."""
    if tickets < 0:
        raise ValueError("tickets must not be negative")
    # Tens of thousands of new dicts set off the cyclic garbage collector again and again, for
    # nothing (they form no cycles); pausing it makes generation about a third faster.
    collecting = gc.isenabled()
    gc.disable()
    try:
        g = generate(seed, tickets, to_us(end or default_end()))
        return Dataset(
            g.tickets,
            g.messages,
            g.account,
            customers=g.customers,
            special=g.special,
            factory=g.factory,
        )
    finally:
        if collecting:
            gc.enable()
