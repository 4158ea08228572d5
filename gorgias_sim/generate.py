"""The seeded content: who writes to whom, when, and what, including the cases that break exporters.

`generate` lays out a whole account; `Factory` makes single tickets and messages, for the generator
and for the mutations tests make while the server runs. Same seed and end time, same data.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

from . import records, texts
from .records import Obj
from .timefmt import DAY, HOUR, MINUTE, SECOND, parse_us

T = TypeVar("T")

SPAN = 730 * DAY  # generated activity covers about two years before the end time

# Keys of `Dataset.special`; ticket ids for `ticket*` keys, message ids for `message*` keys.
TICKETS_WITHOUT_MESSAGES = "tickets_without_messages"
TICKET_WITH_MANY_MESSAGES = "ticket_with_many_messages"  # 150 messages, spread over two years
TICKET_NULL_SUBJECT = "ticket_null_subject"
TICKET_NULL_CUSTOMER_EMAIL = "ticket_null_customer_email"
TICKET_TRICKY_CUSTOMER_NAME = "ticket_tricky_customer_name"  # name with a comma and quotes
TICKET_SPAM = "ticket_spam"
TICKET_TRASHED = "ticket_trashed"
TICKET_TRICKY_BODIES = "ticket_tricky_bodies"  # one message per texts.TRICKY_BODIES entry, and more
MESSAGES_TRICKY_BODIES = "messages_tricky_bodies"  # in texts.TRICKY_BODIES order
MESSAGE_HTML_ONLY = "message_html_only"  # body_text and stripped_text null; hostile HTML
MESSAGE_STRIPPED_ONLY = "message_stripped_only"  # body_text null, stripped_text set
MESSAGE_HUGE_BODY = "message_huge_body"  # about 200 KB of body_text
MESSAGE_NULL_SENDER_NAME = "message_null_sender_name"
MESSAGE_INTERNAL_NOTE = "message_internal_note"
MESSAGE_ATTACHMENTS = "message_attachments"
MESSAGE_NULL_SENT = "message_null_sent_datetime"
MESSAGE_EMPTY_BODY = "message_empty_body"  # body_text "" with an attachment

TRICKY_CUSTOMER = ("Bob", 'O\'Brien, "Bobby" Jr.')

# The special tickets, each placed at a fixed fraction of the timeline so that any dataset of at
# least this many tickets holds every case, whatever the seed.
_ROLES: tuple[str, ...] = (
    TICKETS_WITHOUT_MESSAGES,
    TICKET_WITH_MANY_MESSAGES,
    TICKET_NULL_SUBJECT,
    TICKET_TRICKY_BODIES,
    TICKETS_WITHOUT_MESSAGES,
    TICKET_NULL_CUSTOMER_EMAIL,
    MESSAGE_HTML_ONLY,
    TICKET_TRICKY_CUSTOMER_NAME,
    MESSAGE_STRIPPED_ONLY,
    TICKET_SPAM,
    MESSAGE_HUGE_BODY,
    TICKET_TRASHED,
    MESSAGE_NULL_SENDER_NAME,
    TICKETS_WITHOUT_MESSAGES,
)
MIN_TICKETS_FOR_SPECIALS = len(_ROLES)

# A message's part in the story; "tricky:<n>" picks texts.TRICKY_BODIES[n].
_TRICKY_TICKET_SPECS: tuple[str, ...] = (
    *(f"tricky:{i}" for i in range(len(texts.TRICKY_BODIES))),
    MESSAGE_INTERNAL_NOTE,
    MESSAGE_ATTACHMENTS,
    MESSAGE_NULL_SENT,
    MESSAGE_EMPTY_BODY,
)
_ROLE_SPECS: dict[str, tuple[str, ...]] = {
    TICKETS_WITHOUT_MESSAGES: (),
    TICKET_WITH_MANY_MESSAGES: ("",) * 150,
    TICKET_TRICKY_BODIES: _TRICKY_TICKET_SPECS,
    MESSAGE_HTML_ONLY: (MESSAGE_HTML_ONLY, ""),
    MESSAGE_STRIPPED_ONLY: ("", MESSAGE_STRIPPED_ONLY),
    MESSAGE_HUGE_BODY: (MESSAGE_HUGE_BODY,),
    MESSAGE_NULL_SENDER_NAME: (MESSAGE_NULL_SENDER_NAME, ""),
}
_AGENT_SPECS = {MESSAGE_NULL_SENT}

# Weighted choices as pools to draw from, since `random.choices` is slow for one draw.
_CHANNELS = (
    ("email",) * 10
    + ("chat",) * 4
    + ("contact_form", "sms", "facebook", "instagram", "phone", "api")
)
_PRIORITIES = ("normal",) * 14 + ("high",) * 3 + ("low",) * 2 + ("critical",)
_DOMAINS = ("example.com", "mail.example.org", "example.net")


@dataclass
class Generated:
    tickets: list[Obj]
    messages: list[Obj]
    customers: dict[int, Obj]
    account: Obj
    special: dict[str, list[int]]
    factory: Factory


@dataclass
class Factory:
    """Makes single people, tickets and messages from one random stream."""

    rng: random.Random
    agents: list[Obj] = field(default_factory=list)
    teams: list[Obj] = field(default_factory=list)
    tags: list[Obj] = field(default_factory=list)
    customers: list[Obj] = field(default_factory=list)
    hostile_html: bool = True  # the HTML-only e-mail carries texts.HOSTILE_HTML

    @classmethod
    def seeded(cls, rng: random.Random, start: int) -> Factory:
        f = cls(rng)
        for i, (first, last) in enumerate(texts.AGENT_NAMES):
            email = f"{_slug(first)}.{_slug(last)}@acme.example"
            f.agents.append(records.person(1001 + i, email, first, last, role={"name": "agent"}))
        f.teams = [{"id": 301 + i, "name": name} for i, name in enumerate(texts.TEAMS)]
        f.tags = [
            {"id": 501 + i, "name": name, "decoration": None if color is None else {"color": color}}
            for i, (name, color) in enumerate(texts.TAGS)
        ]
        f.new_customer(start - 30 * DAY, names=("Demo", "Customer"))
        return f

    def new_customer(
        self,
        created: int,
        *,
        names: tuple[str | None, str | None] | None = None,
        email: str | None = "",
    ) -> Obj:
        """Random names unless given; `email=""` makes one up, None leaves the customer without."""
        rng = self.rng
        cid = 2_000_001 + len(self.customers) * 3 + rng.randrange(3)
        if names is None:
            names = (None, None)
            if rng.random() < 0.97:
                names = (_pick(rng, texts.FIRST_NAMES), _pick(rng, texts.LAST_NAMES))
        first, last = names
        if email == "":
            local = ".".join(_slug(n) for n in (first, last) if n) or "visitor"
            email = f"{local}.{cid}@{_pick(rng, _DOMAINS)}"
        c = records.customer(cid, email, first, last, created)
        self.customers.append(c)
        return c

    def pick_customer(self, created: int) -> Obj:
        rng = self.rng
        if len(self.customers) > 1 and rng.random() < 0.35:
            return _pick(rng, self.customers)
        return self.new_customer(created, email=None if rng.random() < 0.02 else "")

    def new_ticket(self, tid: int, created: int, customer: Obj | None = None) -> Obj:
        rng = self.rng
        channel = _pick(rng, _CHANNELS)
        if customer is None:
            customer = self.pick_customer(created)
        if customer["email"] is None and channel in {"email", "contact_form"}:
            channel = "sms"
        subject: str | None = _pick(rng, texts.SUBJECTS)
        if channel not in {"email", "contact_form"} and rng.random() < 0.5:
            subject = None
        r = rng.random()
        return records.ticket(
            tid,
            channel=channel,
            customer=customer,
            subject=subject,
            created=created,
            status="closed" if rng.random() < 0.75 else "open",
            priority=_pick(rng, _PRIORITIES),
            from_agent=r < 0.05,
            assignee_user=_pick(rng, self.agents) if rng.random() < 0.7 else None,
            assignee_team=dict(_pick(rng, self.teams)) if rng.random() < 0.5 else None,
            tags=[dict(t) for t in rng.sample(self.tags, _pick(rng, (0, 0, 1, 1, 1, 2, 3)))],
            spam=r > 0.99,
            external_id=f"ext-{tid}" if rng.random() < 0.05 else None,
            meta={"shop": "acme.myshopify.com"} if rng.random() < 0.3 else None,
        )

    def new_message(
        self, tk: Obj, mid: int, created: int, *, seq: int, prev_agent: bool, spec: str = ""
    ) -> Obj:
        """The `seq`-th message of `tk`; `prev_agent` says who wrote the one before."""
        rng = self.rng
        if spec == MESSAGE_INTERNAL_NOTE or (not spec and seq > 0 and rng.random() < 0.08):
            return self._note(tk, mid, created)
        if spec in _AGENT_SPECS:
            agent = True
        elif spec:
            agent = False
        elif seq == 0:
            agent = bool(tk["from_agent"])
        else:
            agent = (not prev_agent) if rng.random() < 0.8 else prev_agent
        if agent:
            return self._agent_message(tk, mid, created, spec)
        return self._customer_message(tk, mid, created, spec)

    def _assignee(self, tk: Obj) -> Obj:
        assigned = tk["assignee_user"]
        for a in self.agents:
            if assigned is not None and a["id"] == assigned["id"]:
                return a
        return _pick(self.rng, self.agents)

    def _note(self, tk: Obj, mid: int, created: int) -> Obj:
        text = _pick(self.rng, texts.INTERNAL_NOTES)
        return records.message(
            mid,
            tk,
            sender=self._assignee(tk),
            receiver=None,
            from_agent=True,
            internal=True,
            content=_body(text, text),
            created=created,
            sent=None,
        )

    def _agent_message(self, tk: Obj, mid: int, created: int, spec: str) -> Obj:
        rng = self.rng
        agent = self._assignee(tk)
        greeting = (
            f"Hi {tk['customer']['firstname'] or 'there'},\n\n{_pick(rng, texts.AGENT_BODIES)}"
        )
        signature = f"Best,\n{agent['name']}\n{records.SUPPORT_NAME}"
        content = _body(f"{greeting}\n\n{signature}", greeting, signature)
        sent: int | None = created + _between(rng, SECOND, 5 * SECOND)
        if spec == MESSAGE_NULL_SENT or rng.random() < 0.03:
            sent = None
        return records.message(
            mid,
            tk,
            sender=agent,
            receiver=tk["customer"],
            from_agent=True,
            internal=False,
            content=content,
            created=created,
            sent=sent,
            integration_id=7001,
        )

    def _customer_message(self, tk: Obj, mid: int, created: int, spec: str) -> Obj:
        rng = self.rng
        content = self._customer_content(spec)
        attachments = None
        if spec in {MESSAGE_ATTACHMENTS, MESSAGE_EMPTY_BODY} or rng.random() < 0.08:
            attachments = [self._attachment(mid) for _ in range(_pick(rng, (1, 1, 2)))]
        assignee = tk["assignee_user"]
        return records.message(
            mid,
            tk,
            sender=tk["customer"],
            receiver=assignee if assignee is not None and rng.random() < 0.5 else None,
            from_agent=False,
            internal=False,
            content=content,
            created=created,
            sent=None if rng.random() < 0.05 else created,
            integration_id=7001,
            attachments=attachments,
        )

    def _customer_content(self, spec: str) -> Obj:
        rng = self.rng
        if spec == MESSAGE_HTML_ONLY:
            hostile = texts.HOSTILE_HTML if self.hostile_html else ""
            return records.html_only_body(texts.HTML_ONLY_BODY + hostile)
        if spec == MESSAGE_HUGE_BODY:
            text = texts.huge_body()
            return _body(text, text)
        if spec == MESSAGE_EMPTY_BODY:
            return _body("", "")
        if spec.startswith("tricky:"):
            text = texts.TRICKY_BODIES[int(spec.partition(":")[2])][1]
        elif rng.random() < 0.15:
            text = _pick(rng, texts.TRICKY_BODIES)[1]
        else:
            text = _pick(rng, texts.PLAIN_BODIES)
        return _body(text, text)

    def _attachment(self, mid: int) -> Obj:
        name, content_type = _pick(self.rng, texts.ATTACHMENT_NAMES)
        return {
            "url": f"https://uploads.acme.example/attachments/{mid}/{self.rng.randrange(10**8)}",
            "name": name,
            "size": self.rng.randrange(1_000, 5_000_000),
            "content_type": content_type,
            "public": True,
        }


def stripped_only_reply(message: Obj) -> None:
    """An email whose text part was lost but whose reply part was recovered from the HTML."""
    reply = "Yes please, go ahead with the exchange. Merci !"
    message.update(
        body_text=None,
        body_html=records.to_html(reply) + "<blockquote>earlier conversation…</blockquote>",
        stripped_text=reply,
        stripped_html=records.to_html(reply),
    )


@lru_cache(maxsize=4096)
def _body(text: str, stripped: str, signature: str | None = None) -> Obj:
    """Bodies repeat a lot; caching them halves generation time. Callers copy, never mutate."""
    return records.body(text, stripped, signature)


def _pick(rng: random.Random, items: Sequence[T]) -> T:
    """`random.choice` at half the cost; generation makes about 150k of these draws."""
    return items[int(rng.random() * len(items))]


def _between(rng: random.Random, lo: int, hi: int) -> int:
    """A number in [lo, hi); `randrange` costs three times as much and this runs 100k times."""
    return lo + int(rng.random() * (hi - lo))


def _slug(name: str | None) -> str:
    ascii_name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    return "".join(c for c in ascii_name.lower() if c.isalnum()) or "x"


def _whole_second(rng: random.Random, us: int, floor: int) -> int:
    """Drop the microseconds of many datetimes, as the real data does, but never below `floor`."""
    if rng.random() < 0.4:
        rounded = us - us % SECOND
        if rounded >= floor:
            return rounded
    return us


def _role_slots(n: int) -> dict[int, str]:
    if n >= len(_ROLES):
        return {(j + 1) * n // (len(_ROLES) + 1): role for j, role in enumerate(_ROLES)}
    return dict(enumerate(_ROLES[:n]))


def _ticket_times(rng: random.Random, n: int, end: int) -> list[int]:
    start = end - SPAN
    times = sorted(start + int(rng.random() * (SPAN - DAY)) for _ in range(n))
    for i in range(n):
        times[i] = _whole_second(rng, times[i], 0)
        if i and (i % 41 in {7, 8} or times[i] < times[i - 1]):
            # Shared created_datetime values (some three at a time): exporters must tie-break on id.
            times[i] = times[i - 1]
    return times


def _message_times(rng: random.Random, created: int, count: int, end: int) -> list[int]:
    if count == 0:
        return []
    if count > 20:
        # Long conversations spread over the whole remaining time, interleaved with everyone else.
        rest = sorted(created + int(rng.random() * (end - created)) for _ in range(count - 1))
        return [created, *rest]
    times = [created]
    for _ in range(count - 1):
        prev = times[-1]
        gap = int(rng.expovariate(1 / (6 * HOUR))) + _between(rng, 0, MINUTE)
        t = prev + gap if prev + gap <= end else prev + (end - prev) // 2
        times.append(_whole_second(rng, t, prev))
    return times


@dataclass
class _Plan:
    """One message before it has an id: when, in which ticket, and what part it plays."""

    created: int
    ticket: int  # index into the tickets list
    seq: int
    spec: str


def generate(seed: int, n: int, end: int, *, hostile_html: bool = True) -> Generated:
    """An account with `n` tickets whose activity ends at `end` (microseconds since the epoch)."""
    rng = random.Random(seed)
    factory = Factory.seeded(rng, end - SPAN)
    factory.hostile_html = hostile_html
    slots = _role_slots(n)
    created = _ticket_times(rng, n, end)
    tickets, special = _make_tickets(factory, slots, created)
    plans = _plan_messages(rng, tickets, slots, created, end)
    messages, times_of = _make_messages(factory, tickets, plans, special)
    floors = [
        _settle(
            rng, tk, times_of.get(i, []), created[i], end, trashed=slots.get(i) == TICKET_TRASHED
        )
        for i, tk in enumerate(tickets)
    ]
    _share_updated_times(tickets, floors)
    customers = {c["id"]: c for c in factory.customers}
    return Generated(tickets, messages, customers, _account(end - SPAN), special, factory)


def _make_tickets(
    factory: Factory, slots: dict[int, str], created: list[int]
) -> tuple[list[Obj], dict[str, list[int]]]:
    rng = factory.rng
    special: dict[str, list[int]] = {}
    tickets: list[Obj] = []
    tid = 4_000_000
    for i, when in enumerate(created):
        tid += _pick(rng, (1, 1, 1, 2, 3))  # gaps, as deleted tickets leave
        role = slots.get(i, "")
        customer = None
        if role == TICKET_NULL_CUSTOMER_EMAIL:
            customer = factory.new_customer(when, email=None)
        elif role == TICKET_TRICKY_CUSTOMER_NAME:
            customer = factory.new_customer(when, names=TRICKY_CUSTOMER)
        elif role == MESSAGE_NULL_SENDER_NAME:
            customer = factory.new_customer(when, names=(None, None), email=None)
        tk = factory.new_ticket(tid, when, customer)
        specs = _ROLE_SPECS.get(role)
        if specs and specs[0]:
            tk["from_agent"] = False  # its first message is a special one from the customer
        if role == TICKET_NULL_SUBJECT:
            tk["subject"], tk["channel"], tk["via"] = None, "email", "email"
        if role == TICKET_SPAM:
            tk["spam"] = True
        if role.startswith("ticket"):
            special.setdefault(role, []).append(tid)
        tickets.append(tk)
    return tickets, special


def _plan_messages(
    rng: random.Random, tickets: list[Obj], slots: dict[int, str], created: list[int], end: int
) -> list[_Plan]:
    plans: list[_Plan] = []
    for i in range(len(tickets)):
        role = slots.get(i)
        if role is not None and role in _ROLE_SPECS:
            specs = _ROLE_SPECS[role]
        else:
            count = 0 if rng.random() < 0.005 else 1 + int(rng.expovariate(1 / 2.97))
            specs = ("",) * count
        times = _message_times(rng, created[i], len(specs), end)
        plans.extend(
            _Plan(t, i, seq, spec) for seq, (t, spec) in enumerate(zip(times, specs, strict=True))
        )
    plans.sort(key=lambda p: (p.created, p.ticket, p.seq))
    for k in range(1, len(plans)):
        # Ties across tickets; never for a first message, which must keep its ticket's time.
        if k % 37 in {5, 6} and plans[k].seq > 0:
            plans[k].created = plans[k - 1].created
    return plans


def _make_messages(
    factory: Factory, tickets: list[Obj], plans: list[_Plan], special: dict[str, list[int]]
) -> tuple[list[Obj], dict[int, list[tuple[int, bool]]]]:
    rng = factory.rng
    messages: list[Obj] = []
    times_of: dict[int, list[tuple[int, bool]]] = {}  # ticket index -> [(created, from customer)]
    prev_agent: dict[int, bool] = {}
    mid = 90_000_000
    for p in plans:
        mid += _pick(rng, (1, 1, 1, 2))
        tk = tickets[p.ticket]
        msg = factory.new_message(
            tk, mid, p.created, seq=p.seq, prev_agent=prev_agent.get(p.ticket, False), spec=p.spec
        )
        if p.spec == MESSAGE_STRIPPED_ONLY:
            stripped_only_reply(msg)
        if p.spec.startswith("tricky:"):
            special.setdefault(MESSAGES_TRICKY_BODIES, []).append(mid)
        elif p.spec:
            special.setdefault(p.spec, []).append(mid)
        if p.seq == 0:
            tk["excerpt"] = records.excerpt(msg)
            lang = _language_of(msg)
            if lang is not None:
                tk["language"] = lang
        if msg["public"]:
            prev_agent[p.ticket] = bool(msg["from_agent"])
        times_of.setdefault(p.ticket, []).append((p.created, not msg["from_agent"]))
        messages.append(msg)
    for ids in special.values():
        ids.sort()
    return messages, times_of


_LANGUAGE_BY_TEXT = {text: lang for lang, text in texts.TRICKY_BODIES}


def _language_of(msg: Obj) -> str | None:
    text = msg["body_text"]
    return None if text is None else _LANGUAGE_BY_TEXT.get(text)


def _settle(
    rng: random.Random,
    tk: Obj,
    times: list[tuple[int, bool]],
    created: int,
    end: int,
    *,
    trashed: bool,
) -> int:
    """Fill in the datetimes and counts that follow from a ticket's messages.

    Returns the earliest updated_datetime the ticket's own history allows.
    """
    last = max((t for t, _ in times), default=None)
    received = max((t for t, from_customer in times if from_customer), default=None)
    active = created if last is None else last

    def later(base: int, lo: int, hi: int) -> int:
        t = base + _between(rng, lo, hi)
        if t > end:  # squeeze into what is left rather than pile many tickets up at `end`
            t = _between(rng, base, end + 1)
        return _whole_second(rng, t, base)

    opened = later(created, MINUTE, 2 * DAY) if rng.random() < 0.8 else None
    closed = later(active, HOUR, 3 * DAY) if tk["status"] == "closed" else None
    is_trashed = trashed or rng.random() < 0.01
    trashed_at = later(active, HOUR, 30 * DAY) if is_trashed else None
    settled = max(t for t in (active, opened, closed, trashed_at) if t is not None)
    updated = settled if rng.random() < 0.3 else later(settled, 1, DAY)
    snooze = active + 2 * DAY if tk["status"] == "open" and rng.random() < 0.05 else None
    tk.update(
        messages_count=len(times),
        is_unread=rng.random() < 0.1,
        opened_datetime=records.dt(opened),
        last_received_message_datetime=records.dt(received),
        last_message_datetime=records.dt(last),
        updated_datetime=records.dt(updated),
        closed_datetime=records.dt(closed),
        snooze_datetime=records.dt(snooze),
        trashed_datetime=records.dt(trashed_at),
    )
    return settled


def _share_updated_times(tickets: list[Obj], floors: list[int]) -> None:
    """Give some tickets the same updated_datetime as another, where their own history allows."""
    keyed = sorted((parse_us(tk["updated_datetime"]), i) for i, tk in enumerate(tickets))
    prev: int | None = None
    for k, (updated, i) in enumerate(keyed):
        if prev is not None and k % 43 in {3, 4} and prev >= floors[i]:
            tickets[i]["updated_datetime"] = records.dt(prev)
            updated = prev
        prev = updated


def _account(created: int) -> Obj:
    return {
        "domain": "acme",
        "created_datetime": records.dt(created),
        "deactivated_datetime": None,
        "status": {"status": "active", "notification": None},
        "meta": {"plan": "advanced"},
        "settings": [
            {"id": 1, "type": "business-hours", "data": {"timezone": "Europe/Paris"}},
        ],
        "user_id": 1001,
    }
