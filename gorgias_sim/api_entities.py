"""The entity endpoints beside tickets and messages: customers, satisfaction surveys, events,
tags, users, teams, views, integrations, macros, rules, custom fields, voice calls (their events
and recordings), jobs and the account's settings.

Each is a row of ENDPOINTS: the filters it takes and how they select items. Orders come from
orders.py; paging, cursors and the envelope are the same as for tickets (listing.py).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from . import cursors, events, params
from .conditions import customer_matches
from .config import SimConfig
from .data import Dataset
from .entities import OBJECT_TYPES, EntityStore
from .entity_texts import ROLES
from .keyset import Key, select
from .listing import list_reply, read_position
from .orders import ENTITY_ORDERS, Order, default_order
from .params import Query
from .records import Obj
from .replies import BadRequest, Reply, dumps

PAGING = frozenset({"cursor", "limit", "order_by"})
Test = Callable[[Obj], bool]
Filters = Callable[[Query, EntityStore], list[Test]]


@dataclass(frozen=True)
class Endpoint:
    params: frozenset[str]  # its filters
    filters: Filters | None = None  # the tests those filters make; None: no filters
    # Orders accepted only as one exact `order_by` text: text -> (order name, descending).
    compound: Mapping[str, tuple[str, bool]] = field(default_factory=dict)


class EntityApi:
    def __init__(
        self, dataset: Dataset, book: cursors.CursorBook, config: Callable[[], SimConfig]
    ) -> None:
        self.dataset = dataset
        self.book = book
        self._config = config  # read at each request: tests change it while it serves

    def get(self, target: str, entity: str, query: Query, ttl: float | None) -> Reply:
        """Answer a listing of `entity` (a path segment of ENTITIES); raises BadRequest."""
        endpoint = ENDPOINTS[entity]
        cfg = self._config()
        if entity == "account/settings" and cfg.account_settings_shape != "list":
            return self._settings(query, cfg.account_settings_shape)
        if entity == "macros" and cfg.macros_list_archived:
            endpoint = Endpoint(frozenset({"archived"}))  # accepted, and ignored
        if entity == "events" and cfg.events_need_object_id:
            _need_object_id(query)
        params.check_params(query, PAGING | endpoint.params)
        limit = params.limit(query)
        order, descending = _order(entity, endpoint, query)
        position = read_position(self.book, query, ttl, order)
        ds = self.dataset
        with ds.lock:
            store = ds.entities
            if entity == "events":
                keys, accept = _event_selection(query, store)
                page = select(keys, position, descending=descending, limit=limit, accept=accept)
                found = [events.render(store.events.items[i]) for i in page.ids]
                return list_reply(self.book, target, found, order, page)
            tests = endpoint.filters(query, store) if endpoint.filters else []
            table = store.table(entity)
            items = table.items

            def accept_all(item_id: int) -> bool:
                return all(test(items[item_id]) for test in tests)

            keys = table.keys(order.name)
            page = select(
                keys,
                position,
                descending=descending,
                limit=limit,
                accept=accept_all if tests else None,
            )
            return list_reply(self.book, target, [items[i] for i in page.ids], order, page)

    def _settings(self, query: Query, shape: str) -> Reply:
        """The settings as a bare array, or as one object keyed by type (no envelope, no paging)."""
        params.check_params(query, frozenset())
        with self.dataset.lock:
            settings = self.dataset.entities.items("account/settings")
        if shape == "array":
            return Reply(200, dumps(settings))
        return Reply(200, dumps({s["type"]: s["data"] for s in settings}))


def _need_object_id(query: Query) -> None:
    if params.single(query, "object_type") is not None and "object_id" not in query:
        raise BadRequest(
            "Invalid parameters.", {"object_id": ["Required when object_type is given."]}
        )


def _order(entity: str, endpoint: Endpoint, query: Query) -> tuple[Order, bool]:
    orders = {o.name: o for o in ENTITY_ORDERS[entity]}
    only_compound = {name for name, _ in endpoint.compound.values()}
    plain = tuple(name for name in orders if name not in only_compound)
    name, descending = params.order_by(
        query, plain, default=default_order(entity), compound=endpoint.compound
    )
    return orders[name], descending


# -- filters, one function per endpoint ----------------------------------------------------------


def _customer_filters(query: Query, store: EntityStore) -> list[Test]:
    tests: list[Test] = []
    for name in ("email", "external_id", "name", "language", "timezone"):
        value = params.single(query, name)
        if value is not None:
            tests.append(_equals(name, value))
    view_id = params.int_param(query, "view_id")
    if view_id is not None:
        cond = store.customer_view(view_id)
        if cond is None:
            raise BadRequest("Invalid view_id.", {"view_id": ["No customer view with this id."]})
        tests.append(lambda c: customer_matches(c, cond))
    kind, address = params.single(query, "channel_type"), params.single(query, "channel_address")
    if kind is not None or address is not None:
        tests.append(lambda c: any(_channel_is(ch, kind, address) for ch in c["channels"]))
    return tests


def _equals(name: str, value: str) -> Test:
    return lambda item: bool(item[name] == value)


def _channel_is(channel: Obj, kind: str | None, address: str | None) -> bool:
    return (kind is None or channel["type"] == kind) and (
        address is None or channel["address"] == address
    )


def _survey_filters(query: Query, store: EntityStore) -> list[Test]:
    ticket_id = params.int_param(query, "ticket_id")
    return [] if ticket_id is None else [lambda s: bool(s["ticket_id"] == ticket_id)]


def _tag_filters(query: Query, store: EntityStore) -> list[Test]:
    search = params.single(query, "search")
    if search is None:
        return []
    needle = search.casefold()
    return [lambda t: needle in str(t["name"]).casefold()]


def _user_filters(query: Query, store: EntityStore) -> list[Test]:
    tests: list[Test] = []
    for name in ("email", "external_id"):
        value = params.single(query, name)
        if value is not None:
            tests.append(_equals(name, value))
    roles = params.choice_list(query, "roles", frozenset(ROLES))
    if roles is not None:
        tests.append(lambda u: u["role"]["name"] in roles)
    search = params.single(query, "search")
    if search is not None:
        needle = search.casefold()
        tests.append(lambda u: any(needle in str(u[k] or "").casefold() for k in ("name", "email")))
    return tests


def _macro_filters(query: Query, store: EntityStore) -> list[Test]:
    # Only active macros unless archived=true, which lists only the archived ones: what the
    # spec's "defaults to false" suggests (SimConfig.macros_list_archived picks the other answer).
    archived = params.bool_param(query, "archived") or False
    return [lambda m: (m["archived_datetime"] is not None) == archived]


def _call_filters(query: Query, store: EntityStore) -> list[Test]:
    ticket_id = params.int_param(query, "ticket_id")
    return [] if ticket_id is None else [lambda c: bool(c["ticket_id"] == ticket_id)]


def _of_call(query: Query, store: EntityStore) -> list[Test]:
    call_id = params.int_param(query, "call_id")
    return [] if call_id is None else [lambda o: bool(o["call_id"] == call_id)]


def _integration_filters(query: Query, store: EntityStore) -> list[Test]:
    kind = params.single(query, "type")
    return [] if kind is None else [lambda i: bool(i["type"] == kind)]


def _custom_field_filters(query: Query, store: EntityStore) -> list[Test]:
    object_type = params.single(query, "object_type")
    if object_type not in OBJECT_TYPES:
        choices = " or ".join(OBJECT_TYPES)
        raise BadRequest("Invalid object_type.", {"object_type": [f"Required: {choices}."]})
    # Only active fields unless archived=true, which lists only the archived ones (deactivated
    # fields): the real default is not documented, and this choice makes an exporter that
    # wants every field ask for both, as a backup must (old tickets hold archived fields' values).
    archived = params.bool_param(query, "archived") or False
    return [
        lambda f: f["object_type"] == object_type,
        lambda f: (f["deactivated_datetime"] is not None) == archived,
    ]


# -- events: a created_datetime range over the sorted keys, then tests per event -----------------

_RANGE = (
    "created_datetime[gt]",
    "created_datetime[gte]",
    "created_datetime[lt]",
    "created_datetime[lte]",
)


def _event_selection(
    query: Query, store: EntityStore
) -> tuple[Sequence[Key], Callable[[int], bool] | None]:
    keys = store.events.keys("created_datetime")
    gt, gte, lt, lte = (params.datetime_param(query, name) for name in _RANGE)
    lows = [t for t in (gte, None if gt is None else gt + 1) if t is not None]
    highs = [t for t in (lt, None if lte is None else lte + 1) if t is not None]
    if lows or highs:
        # Keys are (microseconds, id) with positive ids: (t, 0) sorts before every key at t.
        lo = bisect_left(keys, (max(lows), 0)) if lows else 0
        hi = bisect_left(keys, (min(highs), 0)) if highs else len(keys)
        keys = keys[lo : max(lo, hi)]
    tests = _event_tests(query)
    if not tests:
        return keys, None
    items = store.events.items
    return keys, lambda i: all(test(items[i]) for test in tests)


def _event_tests(query: Query) -> list[Callable[[events.Event], bool]]:
    tests: list[Callable[[events.Event], bool]] = []
    object_type = params.single(query, "object_type")
    object_id = params.int_param(query, "object_id")
    if object_type is not None:
        if object_type not in events.OBJECT_TYPES:
            choices = ", ".join(sorted(events.OBJECT_TYPES))
            raise BadRequest(
                f"Invalid object_type: unknown {object_type!r}.",
                {"object_type": [f"Must be one of: {choices}."]},
            )
        tests.append(lambda e: e.object_type == object_type)
    if object_id is not None:
        if object_type is None:
            raise BadRequest("Invalid object_id.", {"object_id": ["Give object_type too."]})
        tests.append(lambda e: e.object_id == object_id)
    types = params.choice_list(query, "types", events.TYPES)
    if types is not None:
        wanted = frozenset(types)
        tests.append(lambda e: e.type in wanted)
    user_ids = params.int_list(query, "user_ids")
    if user_ids is not None:
        users = frozenset(user_ids)
        tests.append(lambda e: e.user_id in users)
    return tests


_CUSTOMER_PARAMS = ("email", "external_id", "name", "language", "timezone", "view_id")
ENDPOINTS: dict[str, Endpoint] = {
    "customers": Endpoint(
        frozenset({*_CUSTOMER_PARAMS, "channel_type", "channel_address"}), _customer_filters
    ),
    "satisfaction-surveys": Endpoint(frozenset({"ticket_id"}), _survey_filters),
    "events": Endpoint(frozenset({*_RANGE, "object_type", "object_id", "types", "user_ids"})),
    "tags": Endpoint(
        frozenset({"search"}), _tag_filters, compound={"usage:desc,name:desc": ("usage,name", True)}
    ),
    "users": Endpoint(frozenset({"email", "external_id", "roles", "search"}), _user_filters),
    "teams": Endpoint(frozenset()),
    "views": Endpoint(frozenset()),
    "integrations": Endpoint(frozenset({"type"}), _integration_filters),
    "macros": Endpoint(frozenset({"archived"}), _macro_filters),
    "rules": Endpoint(frozenset()),
    "custom-fields": Endpoint(frozenset({"object_type", "archived"}), _custom_field_filters),
    "phone/voice-calls": Endpoint(frozenset({"ticket_id"}), _call_filters),
    "phone/voice-call-events": Endpoint(frozenset({"call_id"}), _of_call),
    "phone/voice-call-recordings": Endpoint(frozenset({"call_id"}), _of_call),
    "jobs": Endpoint(frozenset()),
    "account/settings": Endpoint(frozenset()),
}
