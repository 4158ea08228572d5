"""What views and rules select: a small condition language, its matching and its text.

Views list the tickets (or customers) that match their condition; a rule acted on the tickets
that matched while it was active. `/api/tickets?view_id=` and `?rule_id=` list those.
"""

from __future__ import annotations

from typing import Any

from .records import Obj

Condition = tuple[str, Any]  # (what, value), e.g. ("status", "open") or ("tag_id", 503)


def ticket_matches(tk: Obj, cond: Condition) -> bool:
    what, value = cond
    if what == "status":
        return bool(tk["status"] == value)
    if what == "unassigned":
        return tk["assignee_user"] is None
    if what == "assignee_user_id":
        return tk["assignee_user"] is not None and tk["assignee_user"]["id"] == value
    if what == "spam":
        return bool(tk["spam"])
    if what == "trashed":
        return tk["trashed_datetime"] is not None
    if what == "tag_id":
        return any(t["id"] == value for t in tk["tags"])
    if what == "channel_in":
        return tk["channel"] in value
    if what == "priority_in":
        return tk["priority"] in value
    if what == "language":
        return bool(tk["language"] == value)
    raise ValueError(f"unknown ticket condition {what!r}")


def customer_matches(c: Obj, cond: Condition) -> bool:
    what, value = cond
    if what == "no_email":
        return c["email"] is None
    if what == "language":
        return bool(c["language"] == value)
    raise ValueError(f"unknown customer condition {what!r}")


def describe(cond: Condition, subject: str = "ticket") -> str:
    """The condition as the API's view `filters` and rule `code` spell such things."""
    what, value = cond
    field = f"{subject}.{_FIELDS.get(what, what)}"
    if what in {"unassigned", "no_email"}:
        return f"isEmpty({field})"
    if what == "trashed":
        return f"isNotEmpty({field})"
    if what in {"channel_in", "priority_in"}:
        return f"containsAny({field}, {list(value)!r})"
    if what == "tag_id":
        return f"containsAny({field}, [{value}])"
    if isinstance(value, bool):
        return f"eq({field}, {str(value).lower()})"
    return f"eq({field}, {value!r})" if isinstance(value, str) else f"eq({field}, {value})"


_FIELDS = {
    "unassigned": "assignee_user.id",
    "assignee_user_id": "assignee_user.id",
    "trashed": "trashed_datetime",
    "tag_id": "tags.id",
    "channel_in": "channel",
    "priority_in": "priority",
    "no_email": "email",
}
