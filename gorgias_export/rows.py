"""Turning API tickets and messages into flat conversation rows (one per message)."""

from __future__ import annotations

from html import unescape
from html.parser import HTMLParser
from typing import Any

from gorgias_export.timeutil import normalize_api_datetime

Row = dict[str, Any]

TICKET_COLUMNS = (
    "ticket_id",
    "ticket_subject",
    "ticket_status",
    "ticket_channel",
    "ticket_via",
    "ticket_priority",
    "ticket_tags",
    "ticket_created_datetime",
    "ticket_updated_datetime",
    "ticket_closed_datetime",
    "ticket_spam",
    "ticket_trashed",
    "ticket_trashed_datetime",
    "ticket_messages_count",
    "customer_id",
    "customer_email",
    "customer_name",
    "assignee_user_id",
    "assignee_user_email",
    "assignee_user_name",
    "assignee_team_name",
)

MESSAGE_COLUMNS = (
    "message_id",
    "message_channel",
    "message_via",
    "message_from_agent",
    "message_public",
    "message_sender_name",
    "message_sender_email",
    "message_receiver_name",
    "message_receiver_email",
    "message_subject",
    "message_created_datetime",
    "message_sent_datetime",
    "message_failed_datetime",
    "attachments_count",
    "attachment_names",
    "attachment_urls",
    "body",
    "body_html",
)

# ticket_id and message_id first: they are the row's identity.
CONVERSATION_COLUMNS = ("ticket_id", "message_id", *TICKET_COLUMNS[1:], *MESSAGE_COLUMNS[1:])

# Column types for the CSV encoder: everything else is text, a number or None.
CONVERSATION_CSV_KINDS = {
    **dict.fromkeys(
        ("ticket_spam", "ticket_trashed", "message_from_agent", "message_public"), "bool"
    ),
    **dict.fromkeys(("ticket_tags", "attachment_names", "attachment_urls"), "json"),
}

# Bump when the columns change, so a resume never appends rows of another shape to a file.
CONVERSATION_COLUMNS_VERSION = 1


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def ticket_context(ticket: dict[str, Any]) -> Row:
    """The ticket columns of a conversation row, from a ticket list item or detail."""
    customer = _obj(ticket.get("customer"))
    assignee = _obj(ticket.get("assignee_user"))
    team = _obj(ticket.get("assignee_team"))
    tags = ticket.get("tags")
    return {
        "ticket_id": ticket.get("id"),
        "ticket_subject": ticket.get("subject"),
        "ticket_status": ticket.get("status"),
        "ticket_channel": ticket.get("channel"),
        "ticket_via": ticket.get("via"),
        "ticket_priority": ticket.get("priority"),
        "ticket_tags": [
            tag.get("name")
            for tag in (tags if isinstance(tags, list) else [])
            if isinstance(tag, dict)
        ],
        "ticket_created_datetime": normalize_api_datetime(ticket.get("created_datetime")),
        "ticket_updated_datetime": normalize_api_datetime(ticket.get("updated_datetime")),
        "ticket_closed_datetime": normalize_api_datetime(ticket.get("closed_datetime")),
        "ticket_spam": ticket.get("spam"),
        "ticket_trashed": ticket.get("trashed_datetime") is not None,
        "ticket_trashed_datetime": normalize_api_datetime(ticket.get("trashed_datetime")),
        "ticket_messages_count": ticket.get("messages_count"),
        "customer_id": customer.get("id"),
        "customer_email": customer.get("email"),
        "customer_name": customer.get("name"),
        "assignee_user_id": assignee.get("id"),
        "assignee_user_email": assignee.get("email"),
        "assignee_user_name": assignee.get("name"),
        "assignee_team_name": team.get("name"),
    }


def unknown_ticket_context(ticket_id: object) -> Row:
    """Context for a ticket the API no longer returns (deleted): only its id is known."""
    context: Row = dict.fromkeys(TICKET_COLUMNS)
    context["ticket_id"] = ticket_id
    context["ticket_tags"] = []
    return context


def party(message: dict[str, Any], role: str) -> tuple[Any, Any]:
    """(name, email) of the sender or receiver, falling back to the message's source block."""
    person = message.get(role)
    name = email = None
    if person.__class__ is dict:
        name = person.get("name")
        email = person.get("email")
    if name and email:
        return name, email
    source = message.get("source")
    if source.__class__ is not dict:
        return name, email
    if role == "sender":
        fallback = source.get("from")
    else:
        recipients = source.get("to")
        fallback = recipients[0] if recipients.__class__ is list and recipients else None
    if fallback.__class__ is not dict:
        return name, email
    return name or fallback.get("name"), email or fallback.get("address")


def message_columns(message: dict[str, Any], created: str | None = None) -> Row:
    """The message columns of a conversation row; `created` is the normalized creation time
    when the caller already has it (the walk's sort key)."""
    sender_name, sender_email = party(message, "sender")
    receiver_name, receiver_email = party(message, "receiver")
    attachments = message.get("attachments")
    files = [a for a in attachments if isinstance(a, dict)] if isinstance(attachments, list) else []
    return {
        "message_id": message.get("id"),
        "message_channel": message.get("channel"),
        "message_via": message.get("via"),
        "message_from_agent": message.get("from_agent"),
        "message_public": message.get("public"),
        "message_sender_name": sender_name,
        "message_sender_email": sender_email,
        "message_receiver_name": receiver_name,
        "message_receiver_email": receiver_email,
        "message_subject": message.get("subject"),
        "message_created_datetime": created
        or normalize_api_datetime(message.get("created_datetime")),
        "message_sent_datetime": normalize_api_datetime(message.get("sent_datetime")),
        "message_failed_datetime": normalize_api_datetime(message.get("failed_datetime")),
        "attachments_count": len(files),
        "attachment_names": [a.get("name") for a in files],
        "attachment_urls": [a.get("url") for a in files],
        "body": message_body(message),
        "body_html": message.get("body_html"),
    }


EMPTY_MESSAGE: Row = dict.fromkeys(MESSAGE_COLUMNS)


_TICKET_DEFAULTS: Row = dict.fromkeys(TICKET_COLUMNS)


def conversation_row(
    context: Row, message: dict[str, Any] | None, created: str | None = None
) -> Row:
    """One output row: the ticket's context with the message's columns (empty for no message)."""
    columns = message_columns(message, created) if message is not None else EMPTY_MESSAGE
    # Insertion order gives CONVERSATION_COLUMNS' order: the ids first, then ticket, then message.
    row: Row = {"ticket_id": context.get("ticket_id"), "message_id": columns.get("message_id")}
    row.update(_TICKET_DEFAULTS)
    row.update(context)
    row.update(columns)
    return row


def message_body(message: dict[str, Any]) -> str | None:
    """body_text, else stripped_text, else the text of body_html."""
    for field in ("body_text", "stripped_text"):
        value = message.get(field)
        if isinstance(value, str) and value:
            return value
    html = message.get("body_html")
    if isinstance(html, str) and html:
        return html_to_text(html)
    return None


_BLOCK_TAGS = frozenset(
    {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr"}
)
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable text from an HTML body: tags dropped, entities decoded, block breaks kept."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # a broken document must never stop an export; fall back to the raw text
        return unescape(html)
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    collapsed: list[str] = []
    for line in lines:
        if line or (collapsed and collapsed[-1]):
            collapsed.append(line)
    return "\n".join(collapsed).strip()


def entity_row(item: dict[str, Any], columns: tuple[str, ...], implied: Row) -> Row:
    """A flat row of an entity: its known top-level fields, and the others in `extra_fields`.

    Values stay native (the CSV encoder writes lists and objects as compact JSON, SQLite
    stores them as JSON text). `implied` fills columns the listing implies (custom fields'
    object type) when the item leaves them out.
    """
    row: Row = {name: item.get(name) for name in columns}
    for name, value in implied.items():
        if row.get(name) is None:
            row[name] = value
    known = set(columns)
    extra = {name: value for name, value in item.items() if name not in known}
    row["extra_fields"] = extra or None
    return row
