"""The GET endpoints: parameter checks, keyset listing and the JSON bodies, as the real API answers.

Knows nothing of HTTP transport, auth, rate limits or faults; server.py wraps it with those.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import cursors, params
from .api_entities import ENDPOINTS, EntityApi
from .config import SimConfig
from .data import Dataset, sort_key
from .field_values import ticket_field_values
from .keyset import select
from .listing import list_reply, read_position
from .orders import datetime_order
from .records import Obj
from .replies import BadRequest, Reply, dumps, error
from .view_items import VIEW_ITEMS_PATH, view_items

TICKET_PARAMS = frozenset(
    {
        "cursor",
        "limit",
        "order_by",
        "customer_id",
        "external_id",
        "ticket_ids",
        "trashed",
        "view_id",
        "rule_id",
    }
)
MESSAGE_PARAMS = frozenset({"cursor", "limit", "order_by", "ticket_id"})
TICKET_ORDERS = ("created_datetime", "updated_datetime")
MESSAGE_ORDERS = ("created_datetime",)
_TICKET_PATH = re.compile(r"/api/tickets/([0-9]{1,18})")


class Api:
    def __init__(
        self,
        dataset: Dataset,
        book: cursors.CursorBook,
        config: Callable[[], SimConfig] = SimConfig,
    ) -> None:
        self.dataset = dataset
        self.book = book
        self.entities = EntityApi(dataset, book, config)

    def get(self, target: str, path: str, query: dict[str, list[str]], ttl: float | None) -> Reply:
        """Answer GET `target` (the raw request path and query, echoed as the list `uri`)."""
        path = path.rstrip("/") or "/"
        try:
            if path == "/api/account":
                params.check_params(query, frozenset())
                return Reply(200, dumps(self.dataset.account))
            if path == "/api/tickets":
                return self._tickets(target, query, ttl)
            if path == "/api/messages":
                return self._messages(target, query, ttl)
            entity = path.removeprefix("/api/")
            if entity in ENDPOINTS:
                return self.entities.get(target, entity, query, ttl)
            match = _TICKET_PATH.fullmatch(path)
            if match:
                return self._ticket(int(match.group(1)), query)
            match = VIEW_ITEMS_PATH.fullmatch(path)
            if match:
                return view_items(self.dataset, target, int(match.group(1)), query)
        except BadRequest as e:
            return e.reply
        return error(404, "Not found.")

    def _tickets(self, target: str, query: dict[str, list[str]], ttl: float | None) -> Reply:
        params.check_params(query, TICKET_PARAMS)
        limit = params.limit(query)
        order, descending = params.order_by(query, TICKET_ORDERS)
        sort = datetime_order(order)
        position = read_position(self.book, query, ttl, sort)
        wanted = _ticket_ids(query)
        ds = self.dataset
        with ds.lock:
            accept = self._ticket_filter(query)
            keys = ds.ticket_keys(order)
            if wanted is not None:
                found = (ds.ticket(i) for i in wanted)
                keys = sorted(sort_key(t, order) for t in found if t is not None)
            page = select(keys, position, descending=descending, limit=limit, accept=accept)
            return list_reply(self.book, target, ds.tickets_by_ids(page.ids), sort, page)

    def _messages(self, target: str, query: dict[str, list[str]], ttl: float | None) -> Reply:
        params.check_params(query, MESSAGE_PARAMS)
        limit = params.limit(query)
        order, descending = params.order_by(query, MESSAGE_ORDERS)
        sort = datetime_order(order)
        position = read_position(self.book, query, ttl, sort)
        ticket_id = params.int_param(query, "ticket_id")
        ds = self.dataset
        with ds.lock:
            keys = ds.message_keys(ticket_id)
            page = select(keys, position, descending=descending, limit=limit)
            return list_reply(self.book, target, ds.messages_by_ids(page.ids), sort, page)

    def _ticket(self, ticket_id: int, query: dict[str, list[str]]) -> Reply:
        params.check_params(query, frozenset({"relationships"}))
        relationships = params.single(query, "relationships")
        if relationships not in {None, "custom_fields"}:
            raise BadRequest(
                "Invalid relationships.", {"relationships": ["Must be custom_fields."]}
            )
        ds = self.dataset
        with ds.lock:
            tk = ds.ticket(ticket_id)
            if tk is None:
                return error(404, "Not found.")
            detail = _detail(ds, tk, with_custom_fields=relationships is not None)
            return Reply(200, dumps(detail))

    def _ticket_filter(self, query: dict[str, list[str]]) -> Callable[[int], bool] | None:
        """A per-ticket test for the filters no index covers; None when there are none."""
        customer_id = params.int_param(query, "customer_id")
        external_id = params.single(query, "external_id")
        trashed = params.bool_param(query, "trashed")
        tests: list[Callable[[Obj], bool]] = []
        if customer_id is not None:
            tests.append(lambda t: bool(t["customer"]["id"] == customer_id))
        if external_id is not None:
            tests.append(lambda t: bool(t["external_id"] == external_id))
        if trashed is False:  # trashed tickets are listed by default, as on the real API
            tests.append(lambda t: t["trashed_datetime"] is None)
        for name, what in (("view_id", "ticket view"), ("rule_id", "rule")):
            item_id = params.int_param(query, name)
            if item_id is not None:
                test = self.dataset.entities.ticket_test(name, item_id)
                if test is None:
                    raise BadRequest(f"Invalid {name}.", {name: [f"No {what} with this id."]})
                tests.append(test)
        if not tests:
            return None
        ticket = self.dataset.ticket

        def accept(ticket_id: int) -> bool:
            t = ticket(ticket_id)
            return t is not None and all(test(t) for test in tests)

        return accept


def _detail(ds: Dataset, tk: Obj, *, with_custom_fields: bool) -> Obj:
    """The single-ticket view: the list item plus its messages and a few fuller objects."""
    user, team = tk["assignee_user"], tk["assignee_team"]
    detail = dict(tk)
    detail.update(
        assignee_user_id=None if user is None else user["id"],
        assignee_team_id=None if team is None else team["id"],
        customer=ds.customer(tk["customer"]["id"]) or tk["customer"],
        requester=tk["customer"],
        messages=ds.messages_of(tk["id"]),
        satisfaction_survey=ds.entities.survey_for_ticket(tk["id"]),
        reply_options={tk["channel"]: {"answerable": tk["status"] == "open"}},
    )
    if with_custom_fields:
        fields = ds.entities.table("custom-fields").items.values()
        detail["custom_fields"] = ticket_field_values(tk["id"], list(fields))
    return detail


def _ticket_ids(query: dict[str, list[str]]) -> list[int] | None:
    values = query.get("ticket_ids")
    if values is None:
        return None
    if not 1 <= len(values) <= 100 or not all(params.DIGITS.fullmatch(v) for v in values):
        raise BadRequest(
            "Invalid ticket_ids.", {"ticket_ids": ["Give 1 to 100 integer ids, one per key."]}
        )
    return sorted({int(v) for v in values})
