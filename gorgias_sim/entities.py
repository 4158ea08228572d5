"""The entities beside tickets and messages, as the simulator serves them: one Table each, with
the changes tests make (new customers and events, scored surveys, edited configuration).

Dataset owns one EntityStore and calls it under its lock; the store never touches tickets, so
changes that reach into tickets (a renamed or deleted tag) are the Dataset's to make.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from . import events
from .conditions import Condition, ticket_matches
from .entity_records import tag as tag_record
from .events import Event
from .generate_entities import GeneratedEntities
from .generate_events import FIRST_EVENT_ID
from .generate_voice import GeneratedVoice
from .orders import ENTITY_ORDERS, default_order
from .records import Obj, dt
from .table import Table
from .timefmt import parse_us

CONFIG_ENTITIES = (
    "tags",
    "users",
    "teams",
    "views",
    "integrations",
    "macros",
    "rules",
    "custom-fields",
)
# Phone calls, the job history and the account's settings: lists without the configuration's
# tag and view logic, changed by tests through update_config/delete_config all the same.
VOICE_ENTITIES = ("phone/voice-calls", "phone/voice-call-events", "phone/voice-call-recordings")
ACCOUNT_ENTITIES = ("jobs", "account/settings")
ENTITIES = (
    "customers",
    "satisfaction-surveys",
    "events",
    *CONFIG_ENTITIES,
    *VOICE_ENTITIES,
    *ACCOUNT_ENTITIES,
)
OBJECT_TYPES = ("Ticket", "Customer")  # of custom fields


class EntityStore:
    def __init__(self, gen: GeneratedEntities, customers: dict[int, Obj]) -> None:
        for c in gen.customers:
            customers[c["id"]] = c
        self.customers = _table("customers", customers)
        self.surveys = _table("satisfaction-surveys", {s["id"]: s for s in gen.surveys})
        self._survey_of_ticket = {s["ticket_id"]: s["id"] for s in gen.surveys}
        self.events: Table[Event] = Table(
            {"created_datetime": lambda e: e.created}, {e.id: e for e in gen.events}
        )
        lists = {
            "tags": gen.tags,
            "users": gen.users,
            "teams": gen.teams,
            "views": gen.views,
            "integrations": gen.integrations,
            "macros": gen.macros,
            "rules": gen.rules,
            "custom-fields": gen.custom_fields,
        }
        voice = gen.voice or GeneratedVoice([], [], [], [], [])
        lists.update(
            {
                "phone/voice-calls": voice.calls,
                "phone/voice-call-events": voice.call_events,
                "phone/voice-call-recordings": voice.recordings,
                "jobs": voice.jobs,
                "account/settings": voice.settings,
            }
        )
        self.config = {name: _table(name, {o["id"]: o for o in lists[name]}) for name in lists}
        self._view_conditions = dict(gen.view_conditions)
        self._rule_conditions = dict(gen.rule_conditions)
        self._next_event_id = max(self.events.items, default=FIRST_EVENT_ID - 1) + 1

    # Reading

    def table(self, entity: str) -> Table[Obj]:
        """The table of any entity but events (whose items are compact Event records)."""
        if entity == "customers":
            return self.customers
        if entity == "satisfaction-surveys":
            return self.surveys
        if entity in self.config:
            return self.config[entity]
        raise KeyError(f"no entity table {entity!r}")

    def items(self, entity: str) -> list[Obj]:
        """A copy of what a full listing with no filters shows, in the default order; custom
        fields of both object types, archived ones included."""
        if entity not in ENTITIES:
            raise KeyError(f"unknown entity {entity!r}; one of {', '.join(ENTITIES)}")
        order, descending = default_order(entity)
        if entity == "events":
            keys = self.events.keys(order)
            ordered = reversed(keys) if descending else iter(keys)
            return [events.render(self.events.items[k[1]]) for k in ordered]
        table = self.table(entity)
        keys = table.keys(order)
        found = [table.items[k[1]] for k in (reversed(keys) if descending else keys)]
        if entity == "custom-fields":
            found.sort(key=lambda f: OBJECT_TYPES.index(f["object_type"]))  # stable: priority
        return copy.deepcopy(found)

    def survey_for_ticket(self, ticket_id: int) -> Obj | None:
        survey_id = self._survey_of_ticket.get(ticket_id)
        return None if survey_id is None else self.surveys.items[survey_id]

    def ticket_test(self, kind: str, item_id: int) -> Callable[[Obj], bool] | None:
        """Which tickets a view lists (`view_id`) or a rule acted on (`rule_id`); None when
        there is no such ticket view or rule."""
        if kind == "view_id":
            view = self.config["views"].get(item_id)
            view_cond = self._view_conditions.get(item_id)
            if view_cond is None or view is None or view["type"] != "ticket-list":
                return None
            return lambda tk: ticket_matches(tk, view_cond)
        rule = self.config["rules"].get(item_id)
        rule_cond = self._rule_conditions.get(item_id)
        if rule_cond is None or rule is None:
            return None
        return _rule_test(rule_cond, rule)

    def customer_view(self, view_id: int) -> Condition | None:
        view = self.config["views"].get(view_id)
        if view is None or view["type"] != "customer-list":
            return None
        return self._view_conditions.get(view_id)

    # Changes; the Dataset calls these under its lock

    def add_event(
        self,
        created: int,
        event_type: str,
        object_type: str,
        object_id: int,
        user_id: int | None = None,
        data: events.Data | None = None,
    ) -> Event:
        if event_type not in events.TYPES:
            raise ValueError(f"unknown event type {event_type!r}")
        if object_type not in events.OBJECT_TYPES:
            raise ValueError(f"unknown object type {object_type!r}")
        event = Event(
            self._next_event_id, created, event_type, object_type, object_id, user_id, data
        )
        self._next_event_id += 1
        self.events.add(event.id, event)
        return event

    def add_customer(self, c: Obj) -> None:
        self.customers.add(c["id"], c)
        self.add_event(parse_us(c["created_datetime"]), "customer-created", "Customer", c["id"])

    def update_customer(self, customer_id: int, fields: Obj) -> Obj:
        """Apply `fields`, which the caller gives a new updated_datetime."""
        if customer_id not in self.customers.items:
            raise KeyError(f"no customer {customer_id}")
        c = self.customers.change(customer_id, lambda c: _updated(c, fields))
        updated = parse_us(c["updated_datetime"])
        self.add_event(updated, "customer-updated", "Customer", customer_id)
        return c

    def score_survey(self, survey_or_ticket_id: int, score: int | None, scored: int) -> Obj:
        survey_id = survey_or_ticket_id
        if survey_id not in self.surveys.items:
            survey_id = self._survey_of_ticket.get(survey_or_ticket_id, -1)
        survey = self.surveys.get(survey_id)
        if survey is None:
            raise KeyError(f"no survey {survey_or_ticket_id}, nor a ticket with one")
        # created_datetime is the sort key, and never changes: no re-sorting needed.
        survey.update(score=score, scored_datetime=None if score is None else dt(scored))
        if score is not None:
            data = (("ticket_id", survey["ticket_id"]), ("score", score))
            kind = "satisfaction-survey-responded"
            self.add_event(scored, kind, "SatisfactionSurvey", survey_id, None, data)
        return survey

    def retag(self, removed: list[Obj], added: list[Obj]) -> None:
        """Keep tag usage (tickets carrying each tag) right as tickets gain and lose tags."""
        for t in removed:
            self._count_usage(t["id"], -1)
        for t in added:
            self._count_usage(t["id"], 1)

    def _count_usage(self, tag_id: int, step: int) -> None:
        tags = self.config["tags"]
        if tag_id in tags.items:  # a deleted tag may linger on tickets made before
            tags.change(tag_id, lambda t: _updated(t, {"usage": t["usage"] + step}))

    def add_tag(self, name: str, decoration: Obj | None, created: int) -> Obj:
        tags = self.config["tags"]
        new = tag_record(max(tags.items, default=500) + 1, name, decoration, created=created)
        tags.add(new["id"], new)
        return new

    def update_config(self, entity: str, item_id: int, fields: Obj, now: int) -> Obj:
        """Apply `fields`; updated_datetime (where the entity has one) is `now` unless given."""
        table = self.config[entity]
        item = table.get(item_id)
        if item is None:
            raise KeyError(f"no {entity} item {item_id}")
        if "updated_datetime" in item:
            fields = {"updated_datetime": dt(now), **fields}
        return table.change(item_id, lambda o: _updated(o, fields))

    def add_items(self, entity: str, items: list[Obj]) -> None:
        for item in items:
            self.config[entity].add(item["id"], item)

    def delete_config(self, entity: str, item_id: int) -> Obj:
        table = self.config[entity]
        if item_id not in table.items:
            raise KeyError(f"no {entity} item {item_id}")
        if entity == "views":
            del self._view_conditions[item_id]
        if entity == "rules":
            del self._rule_conditions[item_id]
        return table.remove(item_id)


def _table(entity: str, items: dict[int, Obj]) -> Table[Obj]:
    return Table({order.name: order.key for order in ENTITY_ORDERS[entity]}, items)


def _updated(item: Obj, fields: Obj) -> Obj:
    if "id" in fields:
        raise ValueError("an id cannot change")
    item.update(fields)
    return item


def _rule_test(cond: Condition, rule: Obj) -> Callable[[Obj], bool]:
    """A rule acts on tickets created while it is active."""
    start = parse_us(rule["created_datetime"])
    end = None if rule["deactivated_datetime"] is None else parse_us(rule["deactivated_datetime"])

    def test(tk: Obj) -> bool:
        created = parse_us(tk["created_datetime"])
        active = start <= created and (end is None or created < end)
        return active and ticket_matches(tk, cond)

    return test
