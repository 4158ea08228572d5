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
| message_html_only | messages | text fields null; body_html: entities, texts.HOSTILE_HTML |
| message_stripped_only | messages | body_text null, stripped_text set |
| message_huge_body | messages | body_text of 200,000 characters |
| message_null_sender_name | messages | sender name null (and its ticket's customer name) |
| message_internal_note / message_attachments | messages | public false / attachments list |
| message_null_sent_datetime / message_empty_body | messages | sent_datetime null / body_text "" |

Random tickets add more of the same (null subjects, spam, trashed, notes, attachments, odd text).
Datetimes: many share the exact same value (tie-break on id) and many have no microseconds.

Beside tickets and messages, `ds.entities` (entities.py) holds what the other endpoints list:
customers (generate.py's, plus some without tickets), satisfaction surveys, events and the
configuration objects. `ds.entity_items(name)` reads them as the API shows them, and the methods
below change them as tests need. Adding tickets and messages and updating tickets add the events
the real API would record. Tag renames and deletions reach the tags embedded in tickets; renames
of users and teams do not reach tickets (their embedded copies keep the old name).
"""

from __future__ import annotations

import gc
import random
import threading
from bisect import bisect_left, insort
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from . import events, removals
from .entities import ENTITIES, EntityStore
from .entity_records import embedded_tag
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
from .generate_entities import GeneratedEntities, Source, generate_entities
from .generate_events import message_event
from .generate_voice import FIRST_CALL_ID, new_call
from .records import Obj, dt, excerpt
from .timefmt import EPOCH, HOUR, now_us, parse_us, to_us

__all__ = [
    "ENTITIES",
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
        entities: GeneratedEntities | None = None,
    ) -> None:
        """`entities` come from generate_entities; without them, they are made here (seed 0)."""
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
        # The highest ticket and message ids given out: a deleted one is never given again.
        self._last_ids = [4_000_000, 90_000_000]
        if entities is None:
            entities = generate_entities(0, _source(self, now_us()))
        self.entities = EntityStore(entities, self.customers)

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
            tid = self._last_ids[0] = max(self._last_ids[0], _tail_id(self.tickets)) + 1
            tk = self._factory.new_ticket(tid, when)
            for c in self._factory.customers[known:]:
                self.entities.add_customer(c)
            tk.update(status="open", excerpt="")
            self.tickets.append(tk)
            self._tickets_by_id[tid] = tk
            for field in TICKET_SORT_FIELDS:
                insort(self._ticket_keys[field], sort_key(tk, field))
            self.entities.retag([], tk["tags"])
            self.entities.add_event(when, "ticket-created", "Ticket", tid)
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
        fields = _api_values(fields)
        with self.lock:
            tk = self._tickets_by_id.get(ticket_id)
            if tk is None:
                raise KeyError(f"no ticket {ticket_id}")
            old_tags = tk["tags"]
            changes = {"updated_datetime": dt(now_us()), **fields}
            self._reindex_ticket(tk, changes)
            if "tags" in fields:
                self.entities.retag(old_tags, tk["tags"])
            updated = parse_us(tk["updated_datetime"])
            data = (("changes", tuple(sorted(changes))),)
            self.entities.add_event(updated, "ticket-updated", "Ticket", ticket_id, None, data)
            return tk

    # Entities beside tickets and messages; see entities.py and entity_records.py for shapes.

    def entity_items(self, name: str) -> list[Obj]:
        """Copies of what `GET /api/{name}` lists with no filters, in its default order (for
        custom-fields: both object types, archived included). `name` is one of ENTITIES."""
        with self.lock:
            return self.entities.items(name)

    def add_customer(self, created: datetime | None = None, **fields: Any) -> Obj:
        """A new customer without tickets (created now by default), with made-up names and
        email that `fields` override as given; adds a customer-created event."""
        if "id" in fields:
            raise ValueError("a new customer's id is chosen for it")
        with self.lock:
            c = self._factory.new_customer(now_us() if created is None else to_us(created))
            c.update(_api_values(fields))
            self.entities.add_customer(c)
            return c

    def update_customer(self, customer_id: int, **fields: Any) -> Obj:
        """Set fields; updated_datetime is now unless given; adds a customer-updated event."""
        with self.lock:
            changes = {"updated_datetime": dt(now_us()), **_api_values(fields)}
            return self.entities.update_customer(customer_id, changes)

    def add_event(
        self,
        event_type: str,
        object_type: str,
        object_id: int,
        *,
        created: datetime | None = None,
        user_id: int | None = None,
        data: Obj | None = None,
    ) -> Obj:
        """Record an event (created now by default), e.g. a ticket-deleted for a ticket that is
        then no longer listed; returns it as the API shows it."""
        with self.lock:
            when = now_us() if created is None else to_us(created)
            e = self.entities.add_event(
                when, event_type, object_type, object_id, user_id, events.pairs(data)
            )
            return events.render(e)

    def score_survey(
        self, survey_or_ticket_id: int, score: int | None, *, scored: datetime | None = None
    ) -> Obj:
        """Set a survey's score (1-5, or None to clear it) and scored_datetime (now by default);
        give the survey's id or its ticket's. created_datetime never changes."""
        if score is not None and not 1 <= score <= 5:
            raise ValueError("a score is 1 to 5")
        with self.lock:
            when = now_us() if scored is None else to_us(scored)
            return self.entities.score_survey(survey_or_ticket_id, score, when)

    def add_tag(
        self, name: str, *, color: str | None = None, created: datetime | None = None
    ) -> Obj:
        """A new tag that no ticket carries yet (usage 0), created now by default."""
        with self.lock:
            when = now_us() if created is None else to_us(created)
            decoration = None if color is None else {"color": color}
            return self.entities.add_tag(name, decoration, when)

    def rename_tag(self, tag_id: int, name: str) -> Obj:
        """Rename a tag, in the tag list and in every ticket that carries it."""
        return self.update_config("tags", tag_id, name=name)

    def update_config(self, entity: str, item_id: int, **fields: Any) -> Obj:
        """Set fields of a configuration object (`entity` as in CONFIG_ENTITIES, e.g. "macros",
        or in VOICE_ENTITIES and ACCOUNT_ENTITIES, e.g. "phone/voice-calls" or "jobs");
        updated_datetime, where the entity has one, is now unless given. A tag's new name or
        decoration shows in the tickets that carry it, which are not otherwise changed."""
        with self.lock:
            item = self.entities.update_config(entity, item_id, _api_values(fields), now_us())
            if entity == "tags":
                self._retag(item_id, embedded_tag(item))
            return item

    def add_voice_call(self, ticket_id: int, created: datetime | None = None) -> Obj:
        """A new phone call on a ticket (created now by default), with its events and, when
        answered, its recording; summaries and recordings change later with update_config."""
        with self.lock:
            tk = self._tickets_by_id.get(ticket_id)
            if tk is None:
                raise KeyError(f"no ticket {ticket_id}")
            calls = self.entities.config["phone/voice-calls"].items
            n = max(calls, default=FIRST_CALL_ID - 1) - FIRST_CALL_ID + 1
            when = now_us() if created is None else to_us(created)
            made = new_call(len(calls), n, tk, when)
            self.entities.add_items("phone/voice-calls", made.calls)
            self.entities.add_items("phone/voice-call-events", made.call_events)
            self.entities.add_items("phone/voice-call-recordings", made.recordings)
            return made.calls[0]

    # Deletions and merges (removals.py): each records its event, now.

    def delete_ticket(self, ticket_id: int, *, user_id: int | None = None) -> Obj:
        """Delete a ticket and its messages: gone from every listing, its GET answers 404."""
        with self.lock:
            return removals.delete_ticket(self, ticket_id, user_id)

    def merge_tickets(self, source_id: int, target_id: int, *, user_id: int | None = None) -> Obj:
        """Merge `source_id` into `target_id`: the source goes, its messages join the target
        (new ticket_id and uri), whose messages_count and updated_datetime change. Returns it."""
        with self.lock:
            return removals.merge_tickets(self, source_id, target_id, user_id)

    def delete_customer(self, customer_id: int, *, user_id: int | None = None) -> Obj:
        """Delete a customer (a GDPR erasure) and, with them, their tickets."""
        with self.lock:
            return removals.delete_customer(self, customer_id, user_id)

    def merge_customers(self, source_id: int, target_id: int, *, user_id: int | None = None) -> Obj:
        """Merge `source_id` into `target_id`: the source goes, its tickets name the target
        (and are updated), and the target is updated. Returns the target."""
        with self.lock:
            return removals.merge_customers(self, source_id, target_id, user_id)

    def delete_config(self, entity: str, item_id: int) -> Obj:
        """Remove a configuration object from its listing and return it. A deleted tag leaves
        the tickets that carried it; a deleted view or rule can no longer filter tickets."""
        with self.lock:
            item = self.entities.delete_config(entity, item_id)
            if entity == "tags":
                self._retag(item_id, None)
            return item

    def _retag(self, tag_id: int, shown: Obj | None) -> None:
        for tk in self.tickets:
            if any(t["id"] == tag_id for t in tk["tags"]):
                tk["tags"] = _swap_tag(tk["tags"], tag_id, shown)
        # New tickets take their tags from the factory: it learns the change too.
        self._factory.tags = _swap_tag(self._factory.tags, tag_id, shown)

    def _add_message(self, tk: Obj, created: int) -> Obj:
        keys = self._keys_by_ticket.setdefault(tk["id"], [])
        last = self._messages_by_id[keys[-1][1]] if keys else None
        prev_agent = bool(last and last["from_agent"] and last["public"])
        mid = self._last_ids[1] = max(self._last_ids[1], _tail_id(self.messages)) + 1
        msg = self._factory.new_message(tk, mid, created, seq=len(keys), prev_agent=prev_agent)
        self.messages.append(msg)
        self._messages_by_id[mid] = msg
        key = (created, mid)
        insort(self._message_keys, key)
        insort(keys, key)
        self.entities.add_event(*message_event(msg))
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


def _swap_tag(tags: list[Obj], tag_id: int, shown: Obj | None) -> list[Obj]:
    """A new list: `tags` with tag `tag_id` shown as `shown`, or left out when that is None."""
    out = []
    for t in tags:
        if t["id"] != tag_id:
            out.append(t)
        elif shown is not None:
            out.append(dict(shown))
    return out


def _tail_id(items: list[Obj]) -> int:
    return int(items[-1]["id"]) if items else 0


def _api_values(fields: dict[str, Any]) -> Obj:
    """Datetime values become the API's strings."""
    return {k: dt(to_us(v)) if isinstance(v, datetime) else v for k, v in fields.items()}


def _source(ds: Dataset, end: int) -> Source:
    """What generate_entities needs, for a dataset built from given tickets and messages."""
    created = ds.account.get("created_datetime")
    f = ds._factory
    start = end - SPAN if created is None else parse_us(created)
    return Source(ds.tickets, ds.messages, ds.customers, f.agents, f.teams, f.tags, start, end)


def _us_or(text: str | None, default: int = 0) -> int:
    return default if text is None else parse_us(text)


def default_end() -> datetime:
    """An hour or two before now, on a whole hour: data made within the same hour is identical."""
    end = now_us() - HOUR
    return EPOCH + timedelta(microseconds=end - end % HOUR)


def make_dataset(
    seed: int, tickets: int, *, end: datetime | None = None, hostile_html: bool = True
) -> Dataset:
    """A seeded account of `tickets` tickets (3.5 messages each on average), ending at `end`.

    `hostile_html=False`: the HTML-only e-mail without texts.HOSTILE_HTML, as before it was
    added (the data the previous release's outputs were recorded against)."""
    if tickets < 0:
        raise ValueError("tickets must not be negative")
    # Tens of thousands of new dicts set off the cyclic garbage collector again and again, for
    # nothing (they form no cycles); pausing it makes generation about a third faster.
    collecting = gc.isenabled()
    gc.disable()
    try:
        end_us = to_us(end or default_end())
        g = generate(seed, tickets, end_us, hostile_html=hostile_html)
        src = Source(
            g.tickets,
            g.messages,
            g.customers,
            g.factory.agents,
            g.factory.teams,
            g.factory.tags,
            start=end_us - SPAN,
            end=end_us,
            account_user_id=g.account["user_id"],
        )
        return Dataset(
            g.tickets,
            g.messages,
            g.account,
            customers=g.customers,
            special=g.special,
            factory=g.factory,
            entities=generate_entities(seed, src),
        )
    finally:
        if collecting:
            gc.enable()
