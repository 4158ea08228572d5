"""One flat, typed row per ticket: the figures a support lead asks for (`tickets --per ticket`).

Pure functions of the API's objects: a ticket, its messages, its satisfaction survey and its
custom field values in, a row out. The row's columns each have a kind (`text`, `int` or
`datetime`), so that any writer can type its cells: CSV and JSONL write them as they are, the
SQLite table as its columns, a spreadsheet writer as numbers and dates. Datetimes are the
exporter's fixed-width UTC strings (`2024-11-01T10:59:29.000000Z`). What is unknown is None
(an empty CSV cell, a JSON null).

The columns are documented in docs/ticket-summary.md; change both together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from gorgias_export import fastjson
from gorgias_export.timeutil import normalize_api_datetime, parse_api_datetime, sort_key

Kind = Literal["text", "int", "datetime"]
Row = dict[str, Any]

# Bump when the columns or their meaning change, so a resume never appends rows of another shape.
SUMMARY_VERSION = 1
CUSTOM_FIELD_PREFIX = "cf_"
INTERNAL_NOTE_CHANNEL = "internal-note"


@dataclass(frozen=True)
class Column:
    """One column of the summary: its name and the kind of its values."""

    name: str
    kind: Kind
    field_id: int | None = None  # a custom field's column: the field whose value it holds


BASE_COLUMNS: tuple[Column, ...] = (
    Column("ticket_id", "int"),
    Column("subject", "text"),
    Column("status", "text"),
    Column("channel", "text"),
    Column("language", "text"),
    Column("tags", "text"),
    Column("created_datetime", "datetime"),
    Column("closed_datetime", "datetime"),
    Column("customer_email", "text"),
    Column("customer_name", "text"),
    Column("assignee_email", "text"),
    Column("assignee_team", "text"),
    Column("messages", "int"),
    Column("customer_messages", "int"),
    Column("agent_messages", "int"),
    Column("internal_notes", "int"),
    Column("first_response_seconds", "int"),
    Column("resolution_seconds", "int"),
    Column("satisfaction_score", "int"),
    Column("satisfaction_comment", "text"),
    Column("satisfaction_scored_datetime", "datetime"),
)
BASE_NAMES = tuple(column.name for column in BASE_COLUMNS)


def custom_field_columns(definitions: Iterable[Mapping[str, Any]]) -> list[Column]:
    """One `cf_<label>` column per ticket custom field, in the helpdesk's order (priority, then
    id), archived ones included. A label seen twice (a field archived and made again under the
    same name) gets its id appended to the later ones: `cf_<label> (<id>)`."""
    fields = {
        d["id"]: d
        for d in definitions
        if isinstance(d.get("id"), int) and d.get("object_type", "Ticket") == "Ticket"
    }

    def order(field: Mapping[str, Any]) -> tuple[int, int]:
        priority = field.get("priority")
        return (priority if isinstance(priority, int) else 1 << 31, field["id"])

    columns: list[Column] = []
    taken = set(BASE_NAMES)
    for field in sorted(fields.values(), key=order):
        label = field.get("label")
        if not isinstance(label, str) or not label:
            label = str(field["id"])
        name = CUSTOM_FIELD_PREFIX + label
        if name in taken:
            name = f"{name} ({field['id']})"
        taken.add(name)
        columns.append(Column(name, "text", field["id"]))
    return columns


def custom_field_values(holder: Mapping[str, Any]) -> dict[int, Any] | None:
    """The values in an object's `custom_fields` by field id, or None when it has none.

    Read in both shapes seen: an object keyed by field id (`{"101": {"id": 101, "value": ..}}`,
    a ticket detail with `relationships=custom_fields`) and a list of `{"id" or "field": {"id"},
    "value"}` items (a listing's `data`)."""
    raw = holder.get("custom_fields")
    if isinstance(raw, dict):
        items: Iterable[Any] = raw.values()
    elif isinstance(raw, list):
        items = raw
    else:
        return None
    values: dict[int, Any] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        field = item.get("field")
        field_id = field.get("id") if isinstance(field, dict) else item.get("id")
        if isinstance(field_id, int) and not isinstance(field_id, bool):
            values[field_id] = item.get("value")
    return values


# -- the message figures -----------------------------------------------------------------------


def is_internal_note(message: Mapping[str, Any]) -> bool:
    return message.get("public") is False or message.get("channel") == INTERNAL_NOTE_CHANNEL


def is_customer_message(message: Mapping[str, Any]) -> bool:
    return message.get("from_agent") is False and not is_internal_note(message)


def is_agent_message(message: Mapping[str, Any]) -> bool:
    """A public message from an agent: a response the customer saw."""
    return message.get("from_agent") is True and not is_internal_note(message)


def in_order(messages: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """By creation time, then id (unreadable times first, as the staging database orders)."""

    def key(message: Mapping[str, Any]) -> tuple[str, int]:
        message_id = message.get("id")
        return sort_key(message.get("created_datetime")), (
            message_id if isinstance(message_id, int) else -1
        )

    return sorted(messages, key=key)


def first_response_seconds(messages: Sequence[Mapping[str, Any]]) -> int | None:
    """Whole seconds from the ticket's first customer message to the first agent message
    after it; None without a customer message, without a response, or with unreadable times.
    Internal notes are not responses; agent messages before the customer's do not count."""
    ordered = in_order(messages)
    first = next((i for i, m in enumerate(ordered) if is_customer_message(m)), None)
    if first is None:
        return None
    asked = parse_api_datetime(ordered[first].get("created_datetime"))
    if asked is None:
        return None
    for reply in ordered[first + 1 :]:
        if is_agent_message(reply):
            answered = parse_api_datetime(reply.get("created_datetime"))
            return _whole_seconds(asked, answered)
    return None


def resolution_seconds(ticket: Mapping[str, Any]) -> int | None:
    """Whole seconds from creation to closing, for a closed ticket."""
    if ticket.get("status") != "closed":
        return None
    return _whole_seconds(
        parse_api_datetime(ticket.get("created_datetime")),
        parse_api_datetime(ticket.get("closed_datetime")),
    )


def _whole_seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return (end - start) // timedelta(seconds=1)


# -- the row ------------------------------------------------------------------------------------


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _tag_names(tags: Any) -> str:
    names = [t.get("name") for t in (tags if isinstance(tags, list) else []) if isinstance(t, dict)]
    return ", ".join(name for name in names if isinstance(name, str))


def _text(value: Any) -> str | None:
    """A custom field's value as text: strings as they are, anything else as JSON."""
    if value is None or isinstance(value, str):
        return value
    return fastjson.dumps_text(value)


def summary_row(
    ticket: Mapping[str, Any],
    messages: Sequence[Mapping[str, Any]],
    survey: Mapping[str, Any] | None,
    field_values: Mapping[int, Any] | None,
    columns: Sequence[Column],
) -> Row:
    """The summary of one ticket, with a value (or None) for each of `columns`."""
    customer, user, team = (
        _obj(ticket.get(key)) for key in ("customer", "assignee_user", "assignee_team")
    )
    survey = survey or {}
    values: Row = {
        "ticket_id": ticket.get("id"),
        "subject": ticket.get("subject"),
        "status": ticket.get("status"),
        "channel": ticket.get("channel"),
        "language": ticket.get("language"),
        "tags": _tag_names(ticket.get("tags")),
        "created_datetime": normalize_api_datetime(ticket.get("created_datetime")),
        "closed_datetime": normalize_api_datetime(ticket.get("closed_datetime")),
        "customer_email": customer.get("email"),
        "customer_name": customer.get("name"),
        "assignee_email": user.get("email"),
        "assignee_team": team.get("name"),
        "messages": len(messages),
        "customer_messages": sum(map(is_customer_message, messages)),
        "agent_messages": sum(map(is_agent_message, messages)),
        "internal_notes": sum(map(is_internal_note, messages)),
        "first_response_seconds": first_response_seconds(messages),
        "resolution_seconds": resolution_seconds(ticket),
        "satisfaction_score": survey.get("score"),
        "satisfaction_comment": survey.get("body_text"),
        "satisfaction_scored_datetime": normalize_api_datetime(survey.get("scored_datetime")),
    }
    found = field_values or {}
    return {
        column.name: values[column.name]
        if column.field_id is None
        else _text(found.get(column.field_id))
        for column in columns
    }


def all_columns(custom: Sequence[Column]) -> tuple[Column, ...]:
    return (*BASE_COLUMNS, *custom)
