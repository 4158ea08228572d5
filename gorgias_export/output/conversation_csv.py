"""Conversation rows as CSV lines, built straight from the API's objects.

The general path (rows.conversation_row, then writers.CsvEncoder) builds a dictionary of 39
columns per message and converts and quotes every cell. Most of a row is its ticket's 21
columns, the same for every message of the ticket, so here the ticket's part of the line is
built once, when the ticket is read, and kept in the ticket index instead of the ticket's
context (`CsvContexts`); each message adds only its own 18 cells. The bytes are the same (tests
compare the two paths on every tricky value the simulator makes), for less than half the CPU
of the general path, and a fifth of the memory per ticket held in the index's cache.
"""

from __future__ import annotations

from typing import Any

from gorgias_export.fastjson import dumps_text
from gorgias_export.output.writers import RowSink, quote_cell, quoted_if_needed
from gorgias_export.rows import (
    CONVERSATION_COLUMNS_VERSION,
    CONVERSATION_CSV_KINDS,
    TICKET_COLUMNS,
    message_body,
    party,
)
from gorgias_export.timeutil import normalize_api_datetime

_EMPTY_MESSAGE_CELLS = "," * 16  # the 17 message columns after message_id, all empty


def _plain(value: Any) -> str:
    """A cell of a text or number column, as CsvEncoder writes it."""
    if value.__class__ is str:
        return value
    return "" if value is None else str(value)


def _flag(value: Any) -> str:
    """A cell of a boolean column."""
    if value.__class__ is bool:
        return "true" if value else "false"
    return _plain(value)


def _json(value: Any) -> str:
    """A cell of a list or object column (compact JSON; text stays as it is)."""
    kind = value.__class__
    if kind is list or kind is dict:
        return dumps_text(value) if value else ("[]" if kind is list else "{}")
    return _flag(value)


# The ticket's 20 cells after its id, by position; those of the columns that are not plain.
_TICKET_CELLS = TICKET_COLUMNS[1:]
_FLAG_CELLS = tuple(
    i for i, name in enumerate(_TICKET_CELLS) if CONVERSATION_CSV_KINDS.get(name) == "bool"
)
(_TAGS_CELL,) = (
    i for i, name in enumerate(_TICKET_CELLS) if CONVERSATION_CSV_KINDS.get(name) == "json"
)


def message_cells(message: dict[str, Any], created: str | None) -> tuple[str, str]:
    """(message_id cell, the other 17 message cells joined), converted and quoted.

    Written out long-hand rather than as a call per cell: this runs for every message. The 13
    cells up to the attachments' count rarely need quotes (a comma in a subject or a name: one
    message in ten), so they are joined first and the line looked at once; only then are they
    looked at one by one. The attachments' names and the bodies, which often do, are looked at
    alone."""
    get = message.get
    # party(), without its call where the person has both a name and an email (most senders).
    sender, receiver = get("sender"), get("receiver")
    if sender.__class__ is dict and sender.get("name") and sender.get("email"):
        sender_name, sender_email = sender["name"], sender["email"]
    else:
        sender_name, sender_email = party(message, "sender")
    if receiver.__class__ is dict and receiver.get("name") and receiver.get("email"):
        receiver_name, receiver_email = receiver["name"], receiver["email"]
    else:
        receiver_name, receiver_email = party(message, "receiver")
    attachments = get("attachments")
    files = None
    if attachments.__class__ is list and attachments:
        files = [a for a in attachments if isinstance(a, dict)]
    from_agent, public = get("from_agent"), get("public")
    sent, failed = get("sent_datetime"), get("failed_datetime")
    values = (
        get("channel"),
        get("via"),
        ("true" if from_agent else "false") if from_agent.__class__ is bool else from_agent,
        ("true" if public else "false") if public.__class__ is bool else public,
        sender_name,
        sender_email,
        receiver_name,
        receiver_email,
        get("subject"),
        created or normalize_api_datetime(get("created_datetime")),
        "" if sent is None else normalize_api_datetime(sent),
        "" if failed is None else normalize_api_datetime(failed),
        str(len(files)) if files is not None else "0",
    )
    cells = [v if v.__class__ is str else "" if v is None else str(v) for v in values]
    head = ",".join(cells)
    if '"' in head or "\n" in head or "\r" in head or head.count(",") != 12:
        head = ",".join([quoted_if_needed(cell) for cell in cells])
    if files:
        names = quoted_if_needed(dumps_text([a.get("name") for a in files]))
        urls = quoted_if_needed(dumps_text([a.get("url") for a in files]))
        head = f"{head},{names},{urls}"
    else:
        head += ",[],[]"
    body = get("body_text")
    if body.__class__ is not str or not body:  # else what message_body() would return
        body = message_body(message) or ""
    html = get("body_html")
    html = html if html.__class__ is str else "" if html is None else str(html)
    if '"' in body or "," in body or "\n" in body or "\r" in body:
        body = quote_cell(body)
    if '"' in html or "," in html or "\n" in html or "\r" in html:
        html = quote_cell(html)
    message_id = get("id")
    if message_id.__class__ is not int:  # an int's digits never need quotes
        return quoted_if_needed(_plain(message_id)), f"{head},{body},{html}"
    return str(message_id), f"{head},{body},{html}"


TicketPart = tuple[str, str]  # (ticket_id cell, the ticket's 20 other cells joined)


class CsvContexts:
    """What the ticket index keeps of a ticket for CSV: its part of the line, ready to use."""

    # By columns version: parts laid out for other columns are never read.
    table = f"csv_ticket_parts_v{CONVERSATION_COLUMNS_VERSION}"

    def pack(self, context: dict[str, Any]) -> str:
        """As message_cells: the cells are joined, and looked at one by one only if the line
        needs quotes somewhere. The tags (JSON: quoted whenever there are any) are left out of
        that look and put in after it."""
        ticket_id = quoted_if_needed(_plain(context.get("ticket_id")))
        get = context.get
        values = [get(name) for name in _TICKET_CELLS]
        for i in _FLAG_CELLS:
            values[i] = _flag(values[i])
        tags = _json(values[_TAGS_CELL])
        values[_TAGS_CELL] = "[]"  # for now: needs no quotes
        cells = [v if v.__class__ is str else "" if v is None else str(v) for v in values]
        rest = ",".join(cells)
        if '"' in rest or "\n" in rest or "\r" in rest or rest.count(",") != len(cells) - 1:
            cells[_TAGS_CELL] = tags
            rest = ",".join([quoted_if_needed(cell) for cell in cells])
        elif tags != "[]":
            cells[_TAGS_CELL] = quoted_if_needed(tags)
            rest = ",".join(cells)
        text = f"{len(ticket_id)}:{ticket_id}{rest}"  # the id's length first: any text follows
        if not text.isascii():
            # A lone surrogate (a broken escape in the API's JSON) cannot be stored as UTF-8:
            # replaced now by the '?' the line's encoding would give it.
            text = text.encode("utf-8", "replace").decode("utf-8")
        return text

    def unpack(self, text: str) -> TicketPart:
        length, _, both = text.partition(":")
        split = int(length)
        return both[:split], both[split:]

    def ready(self, context: dict[str, Any], text: str) -> TicketPart:
        return self.unpack(text)


class CsvConversationLines:
    """Writes conversation rows to `sink` as CSV lines (the header is the sink's)."""

    shape = CsvContexts()

    def __init__(self, sink: RowSink) -> None:
        self._sink = sink

    def row(self, ticket: TicketPart, message: dict[str, Any] | None, created: str) -> None:
        ticket_id, rest = ticket
        if message is None:
            line = f"{ticket_id},,{rest},{_EMPTY_MESSAGE_CELLS}\r\n"
        else:
            message_id, cells = message_cells(message, created)
            line = f"{ticket_id},{message_id},{rest},{cells}\r\n"
        # A lone surrogate (a broken escape in the API's JSON) cannot be UTF-8: replaced.
        self._sink.write_encoded(line.encode("utf-8", "replace"))
