"""The CSV fast path builds conversation lines straight from API objects: it must write the very
bytes of the general path (conversation_row, then CsvEncoder) for every value it can meet."""

from __future__ import annotations

import io
from typing import Any

import pytest

from gorgias_export.output.conversation_csv import CsvConversationLines
from gorgias_export.output.writers import CsvEncoder, RowSink
from gorgias_export.rows import (
    CONVERSATION_COLUMNS,
    CONVERSATION_CSV_KINDS,
    conversation_row,
    ticket_context,
    unknown_ticket_context,
)
from gorgias_export.timeutil import sort_key
from gorgias_sim import make_dataset

GENERAL = CsvEncoder(CONVERSATION_COLUMNS, CONVERSATION_CSV_KINDS)
Row = tuple[dict[str, Any], dict[str, Any] | None, str]


def fast(rows: list[Row]) -> bytes:
    buffer = io.BytesIO()
    sink = RowSink(GENERAL, None, stream=buffer)
    lines = CsvConversationLines(sink)
    shape = lines.shape
    for context, message, created in rows:
        lines.row(shape.unpack(shape.pack(context)), message, created)
    sink.sync()
    return buffer.getvalue()[len(GENERAL.header()) :]


def general(rows: list[Row]) -> bytes:
    return b"".join(GENERAL.encode(conversation_row(c, m, created)) for c, m, created in rows)


def test_every_message_and_ticket_of_a_generated_account() -> None:
    """The simulator's data holds the tricky cases: huge and HTML-only bodies, quotes, commas
    and line breaks, lone surrogates, null senders, attachments, tickets without messages."""
    data = make_dataset(seed=3, tickets=40)
    contexts = {t["id"]: ticket_context(t) for t in data.tickets}
    rows: list[Row] = [
        (contexts[m["ticket_id"]], m, sort_key(m["created_datetime"])) for m in data.messages
    ]
    rows += [
        (contexts[t["id"]], None, sort_key(t["created_datetime"]))
        for t in data.tickets
        if t["messages_count"] == 0
    ]
    assert len(rows) > 100
    assert fast(rows) == general(rows)


ODD_VALUES: list[Any] = [
    None,
    "",
    "plain",
    'say "hi", then\r\nleave',
    "\ud83d lone surrogate",
    "line\u2028separator",
    0,
    -7,
    2**70,
    1.5,
    1e-7,
    True,
    False,
    [],
    {},
    ["a", None, 1],
    {"k": [1, {"x": "y,z"}]},
]


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_any_value_in_any_field(value: Any) -> None:
    ticket = {
        "id": 1,
        "subject": value,
        "status": value,
        "tags": value,
        "spam": value,
        "trashed_datetime": value,
        "messages_count": value,
        "customer": {"id": value, "email": value, "name": value},
        "created_datetime": value,
    }
    message = {
        "id": value,
        "channel": value,
        "via": value,
        "from_agent": value,
        "public": value,
        "sender": {"name": value, "email": value},
        "receiver": value,
        "source": {"from": {"name": value, "address": value}, "to": value},
        "subject": value,
        "sent_datetime": value,
        "created_datetime": value,
        "attachments": [{"name": value, "url": value}, value],
        "body_text": value,
        "body_html": value,
    }
    context = ticket_context(ticket)
    rows: list[Row] = [
        (context, message, ""),
        (context, message, "2024-01-01T00:00:00.000000Z"),
        (context, None, ""),
        (unknown_ticket_context(value), message, ""),
    ]
    assert fast(rows) == general(rows)


@pytest.mark.parametrize("ticket_id", [1, "12:34", "", None, 'a"b'], ids=repr)
def test_the_kept_part_of_a_ticket_reads_back_whatever_its_id(ticket_id: Any) -> None:
    """The index keeps `<length of the id cell>:<id cell><other cells>`: an id cell holding a
    colon, a quote or nothing at all must still split back where it was joined."""
    context = ticket_context({"id": ticket_id, "subject": "x:1,2"})
    rows: list[Row] = [(context, {"id": 5, "body_text": "y"}, ""), (context, None, "")]
    assert fast(rows) == general(rows)
