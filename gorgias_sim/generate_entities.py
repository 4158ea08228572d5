"""The seeded entities beside tickets and messages: configuration, customers without tickets,
satisfaction surveys and events, consistent with what generate.py made.

Draws from its own random stream derived from the seed, so that a seed's tickets, messages and
customers stay exactly what generate.py makes on its own. Configuration that tickets refer to
(their tags, assignee users and teams, the email integration of messages, the custom field of
ticket details) keeps the ids and names the tickets show, and is created before the first ticket.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from . import entity_records as er
from . import entity_texts as et
from . import texts
from .conditions import Condition, describe
from .events import Event
from .generate_events import generate_events
from .generate_voice import GeneratedVoice, generate_voice
from .records import Obj, customer, dt
from .timefmt import DAY, HOUR, MINUTE, parse_us
from .timeline import Timeline

FIRST_SURVEY_ID = 600_001
FIRST_EXTRA_CUSTOMER_ID = 9_000_001  # far above generate.py's customer ids for any test size
SURVEY_SHARE = 0.4  # of closed tickets (spam aside)

VIEW_CONDITIONS: tuple[Condition, ...] = (  # in et.VIEW_NAMES order
    ("status", "open"),
    ("unassigned", None),
    ("status", "closed"),
    ("spam", True),
    ("trashed", True),
    ("tag_id", 503),  # vip
    ("assignee_user_id", 1001),  # Maria Lopez
    ("channel_in", ("chat", "sms", "facebook", "instagram")),
    ("priority_in", ("critical", "high")),
    ("language", "ja"),
)
CUSTOMER_VIEW_CONDITIONS: tuple[Condition, ...] = (("no_email", None), ("language", "fr"))
RULE_CONDITIONS: tuple[Condition, ...] = (  # in et.RULE_NAMES order
    ("tag_id", 501),
    ("spam", True),
    ("tag_id", 503),
    ("priority_in", ("critical",)),
    ("channel_in", ("email",)),
    ("channel_in", ("chat",)),
    ("tag_id", 505),
    ("unassigned", None),
    ("channel_in", ("sms",)),
    ("language", "fr"),
    ("tag_id", 507),
    ("status", "closed"),
    ("status", "open"),
    ("priority_in", ("high",)),
    ("tag_id", 507),
)
_LATE_RULES = {3, 9, 12, 13}  # created mid-way, so they acted on later tickets only
_DEACTIVATED_RULES = {11, 12}
_ARCHIVED_FIELDS = 2  # the last two of each object type's fields


@dataclass
class GeneratedEntities:
    tags: list[Obj]
    users: list[Obj]
    teams: list[Obj]
    views: list[Obj]
    macros: list[Obj]
    rules: list[Obj]
    integrations: list[Obj]
    custom_fields: list[Obj]
    customers: list[Obj]  # customers without tickets, beyond generate.py's
    surveys: list[Obj]
    events: list[Event]
    view_conditions: dict[int, Condition]
    rule_conditions: dict[int, Condition]
    voice: GeneratedVoice | None = None  # phone calls, jobs and settings (generate_voice.py)


@dataclass(frozen=True)
class Source:
    """What generate.py made, which the entities must agree with."""

    tickets: Sequence[Obj]
    messages: Sequence[Obj]
    customers: dict[int, Obj]
    agents: Sequence[Obj]
    teams: Sequence[Obj]
    tags: Sequence[Obj]
    start: int  # the account's creation, microseconds since the epoch
    end: int  # the end of generated activity
    account_user_id: int = 1001


def entity_rng(seed: int) -> random.Random:
    """A stream of its own: drawing from it never shifts what generate.py draws."""
    return random.Random(f"gorgias-simulator-entities:{seed}")


def generate_entities(seed: int, src: Source) -> GeneratedEntities:
    first = min((parse_us(t["created_datetime"]) for t in src.tickets), default=src.end)
    life = Timeline(entity_rng(seed), src.start, src.end, first)
    users = _users(life, src)
    tags = _tags(life, src)
    extra_customers = _extra_customers(life, src)
    surveys = _surveys(life, src.tickets)
    views, view_conditions = _views(life)
    rules, rule_conditions = _rules(life)
    gen = GeneratedEntities(
        tags=tags,
        users=users,
        teams=_teams(life, src, users),
        views=views,
        macros=_macros(life, src),
        rules=rules,
        integrations=_integrations(life, src),
        custom_fields=_custom_fields(life),
        customers=extra_customers,
        surveys=surveys,
        events=[],
        view_conditions=view_conditions,
        rule_conditions=rule_conditions,
    )
    gen.events = generate_events(life, src, gen)
    gen.voice = generate_voice(seed, src.tickets, [a["id"] for a in src.agents], src.end)
    return gen


def _tags(life: Timeline, src: Source) -> list[Obj]:
    usage = Counter(t["id"] for tk in src.tickets for t in tk["tags"])
    tags = [
        er.tag(
            t["id"],
            t["name"],
            t["decoration"],
            created=life.setup(),
            usage=usage[t["id"]],
            description=life.pick(et.TAG_DESCRIPTIONS),
        )
        for t in src.tags
    ]
    next_id = max((t["id"] for t in tags), default=500) + 1
    for i, (name, color) in enumerate(et.EXTRA_TAGS):
        decoration = None if color is None else {"color": color}
        tags.append(er.tag(next_id + i, name, decoration, created=life.anytime()))
    return tags


def _users(life: Timeline, src: Source) -> list[Obj]:
    users = []
    for agent in src.agents:
        created = life.setup()
        role = "admin" if agent["id"] == src.account_user_id else "agent"
        users.append(
            er.user(
                agent,
                role,
                created=created,
                updated=life.after(created, 0, 300 * DAY),
                bio=life.pick(et.USER_BIOS),
                timezone=life.pick(et.TIMEZONES),
            )
        )
    next_id = max((a["id"] for a in src.agents), default=1000) + 1
    for i, (first, last, role) in enumerate(et.EXTRA_USERS):
        created = life.anytime()
        person = {
            "id": next_id + i,
            "email": f"{_slug(first)}.{_slug(last)}@acme.example",
            "name": f"{first} {last}",
            "firstname": first,
            "lastname": last,
        }
        deactivated = life.after(created, DAY, 90 * DAY) if i in {3, 8} else None
        users.append(
            er.user(
                person,
                role,
                created=created,
                updated=deactivated or life.after(created, 0, 30 * DAY),
                deactivated=deactivated,
                bio=life.pick(et.USER_BIOS),
                language=life.pick(("en", "fr", "ja", "de")),
                timezone=life.pick(et.TIMEZONES),
            )
        )
    return users


def _teams(life: Timeline, src: Source, users: list[Obj]) -> list[Obj]:
    names = [(t["id"], t["name"]) for t in src.teams]
    next_id = max((t["id"] for t in src.teams), default=300) + 1
    names += [(next_id + i, name) for i, name in enumerate(et.EXTRA_TEAMS)]
    teams = []
    for i, (team_id, name) in enumerate(names):
        members = life.rng.sample(users, life.rng.randint(1, min(5, len(users))))
        members.sort(key=lambda u: int(u["id"]))
        teams.append(
            er.team(
                team_id,
                name,
                members=members,
                emoji=et.TEAM_EMOJIS[i % len(et.TEAM_EMOJIS)],
                created=life.setup() if i < len(src.teams) else life.anytime(),
                description=life.pick((None, "", 'Weekdays 9-17, CET; "urgent" → VIP')),
            )
        )
    return teams


def _views(life: Timeline) -> tuple[list[Obj], dict[int, Condition]]:
    specs = [(n, "ticket-list", c) for n, c in zip(et.VIEW_NAMES, VIEW_CONDITIONS, strict=True)]
    specs += [
        (n, "customer-list", c)
        for n, c in zip(et.CUSTOMER_VIEW_NAMES, CUSTOMER_VIEW_CONDITIONS, strict=True)
    ]
    views, conditions = [], {}
    for i, (name, kind, cond) in enumerate(specs):
        view_id = 401 + i
        created = life.setup() if i < 5 else life.anytime()
        subject = "ticket" if kind == "ticket-list" else "customer"
        views.append(
            er.view(
                view_id,
                name,
                kind=kind,
                filters=describe(cond, subject),
                created=created,
                updated=life.after(created, 0, 60 * DAY),
                slug=_slug(name) if _slug(name) != "x" else f"view-{view_id}",
                private=i == 6,
            )
        )
        conditions[view_id] = cond
    return views, conditions


def _rules(life: Timeline) -> tuple[list[Obj], dict[int, Condition]]:
    rules, conditions = [], {}
    for i, (name, cond) in enumerate(zip(et.RULE_NAMES, RULE_CONDITIONS, strict=True)):
        rule_id = 801 + i
        created = life.anytime() if i in _LATE_RULES else life.setup()
        deactivated = life.after(created, DAY, 200 * DAY) if i in _DEACTIVATED_RULES else None
        rules.append(
            er.rule(
                rule_id,
                name,
                code=f"if ({describe(cond)}) {{ addTags('auto'); }}",
                priority=life.pick((0, 0, 1, 5, 10)),
                created=created,
                updated=deactivated or life.after(created, 0, 30 * DAY),
                deactivated=deactivated,
                description=life.pick((None, "", "Ne pas modifier ⚠️", 'Set by "ops", v2')),
            )
        )
        conditions[rule_id] = cond
    return rules, conditions


def _macros(life: Timeline, src: Source) -> list[Obj]:
    tag_names = [t["name"] for t in src.tags]
    macros = []
    for i, name in enumerate(et.MACRO_NAMES):
        created = life.anytime()
        tags = life.rng.sample(tag_names, life.rng.randint(0, min(2, len(tag_names))))
        macros.append(
            er.macro(
                901 + i,
                name,
                body=life.pick(et.MACRO_BODIES),
                tags=tags,
                language=life.pick((None, "en", "fr", "ja")),
                usage=life.pick((0, 0, 3, 17, 17, 120, 1042)),
                created=created,
                updated=life.after(created, 0, 90 * DAY),
                archived=life.after(created, DAY, 100 * DAY) if i % 10 == 9 else None,
            )
        )
    return macros


def _integrations(life: Timeline, src: Source) -> list[Obj]:
    out = []
    for i, (kind, name) in enumerate(et.INTEGRATIONS):
        created = life.setup() if i == 0 else life.anytime()
        deactivated = life.after(created, DAY, 60 * DAY) if kind == "gmail" else None
        out.append(
            er.integration(
                7001 + i,
                kind,
                name,
                created=created,
                updated=deactivated or life.after(created, 0, 30 * DAY),
                user_id=src.account_user_id,
                deactivated=deactivated,
            )
        )
    return out


def _custom_fields(life: Timeline) -> list[Obj]:
    fields = []
    field_id = 101  # ticket details show values of field 101, "Contact reason"
    for object_type, specs in (("Ticket", et.TICKET_FIELDS), ("Customer", et.CUSTOMER_FIELDS)):
        for i, (label, data_type, choices) in enumerate(specs):
            created = life.setup() if i == 0 else life.anytime()
            archived = None
            if i >= len(specs) - _ARCHIVED_FIELDS:
                archived = life.after(created, DAY, 100 * DAY)
            fields.append(
                er.custom_field(
                    field_id,
                    object_type,
                    label,
                    data_type=data_type,
                    choices=choices,
                    priority=(1, 2, 3, 3, 4, 5, 6, 7)[i % 8],  # a tie, broken by id
                    created=created,
                    updated=archived or life.after(created, 0, 30 * DAY),
                    archived=archived,
                    required=i == 0,
                )
            )
            field_id += 1
    return fields


_EXTRA_CUSTOMER_NAMES: tuple[tuple[str | None, str | None], ...] = (
    ("Zoë", 'O\'Neil, "ZZ"'),
    ("=cmd", "|calc"),
    ("Ólafur", "🦄 Unicorn"),
    (None, None),
)


def _extra_customers(life: Timeline, src: Source) -> list[Obj]:
    """Customers with no ticket (imported from a shop), carrying what ticket customers lack:
    external ids, languages, timezones, notes, several channels."""
    rng = life.rng
    count = max(8, len(src.customers) // 10)
    created_times = sorted(life.anytime() for _ in range(count))
    out = []
    cid = FIRST_EXTRA_CUSTOMER_ID
    for i, created in enumerate(created_times):
        if i < len(_EXTRA_CUSTOMER_NAMES):
            first, last = _EXTRA_CUSTOMER_NAMES[i]
        else:
            first, last = life.pick(texts.FIRST_NAMES), life.pick(texts.LAST_NAMES)
        local = ".".join(_slug(n) for n in (first, last) if n) or "shopper"
        email = None if i % 9 == 4 else f"{local}.{cid}@shop.example"
        c = customer(cid, email, first, last, created)
        phone = f"+3361{cid % 10_000_000:07d}"
        c.update(
            external_id=f"shopify-{cid * 7 % 10**9}" if i % 4 != 3 else None,
            language=et.LANGUAGES[i % len(et.LANGUAGES)] if i % 5 != 4 else None,
            timezone=et.TIMEZONES[i % len(et.TIMEZONES)] if i % 7 != 3 else None,
            note=et.CUSTOMER_NOTES[i % len(et.CUSTOMER_NOTES)],
            data={"shopify": {"orders_count": rng.randrange(0, 40), "tags": "vip, wholesale"}},
            integrations={"7003": {"__integration_type__": "shopify", "customer": {"id": cid}}},
            meta={"source": "shopify-import"},
            updated_datetime=dt(life.after(created, 0, 200 * DAY)),
        )
        c["channels"] = [*c["channels"], {"type": "phone", "address": phone, "preferred": False}]
        if i % 3 == 0:
            c["channels"].append({"type": "sms", "address": phone, "preferred": email is None})
        out.append(c)
        cid += rng.choice((1, 1, 2))
    return out


def _surveys(life: Timeline, tickets: Sequence[Obj]) -> list[Obj]:
    rng = life.rng
    drafts: list[tuple[int, int, Obj]] = []
    for tk in tickets:
        if tk["closed_datetime"] is None or tk["spam"] or rng.random() >= SURVEY_SHARE:
            continue
        created = life.after(parse_us(tk["closed_datetime"]), MINUTE, 10 * MINUTE)
        should_send = created + rng.randrange(HOUR, DAY)
        sent = should_send if should_send <= life.end else None
        scored = score = None
        if sent is not None and rng.random() < 0.6:
            t = sent + rng.randrange(5 * MINUTE, 3 * DAY)
            if t <= life.end:
                scored, score = t, life.pick((5, 5, 5, 4, 4, 3, 2, 1))
        body = life.pick(et.SURVEY_COMMENTS) if scored is not None else None
        fields = {
            "created": created,
            "should_send": should_send,
            "sent": sent,
            "scored": scored,
            "score": score,
            "body_text": body,
        }
        drafts.append((created, tk["id"], {"ticket": tk, **fields}))
    drafts.sort(key=lambda d: (d[0], d[1]))  # ids grow with creation time, as the API's do
    surveys = []
    for i, (_, _, d) in enumerate(drafts):
        ticket = d.pop("ticket")
        surveys.append(er.survey(FIRST_SURVEY_ID + i, ticket, **d))
    return surveys


def _slug(name: str | None) -> str:
    ascii_name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    return "".join(c for c in ascii_name.lower() if c.isalnum()) or "x"
