"""One conversation row per message: ticket context, message body, empty message columns."""

from __future__ import annotations

from gorgias_export.rows import (
    CONVERSATION_COLUMNS,
    conversation_row,
    html_to_text,
    message_body,
    ticket_context,
)

TICKET = {
    "id": 7,
    "subject": None,
    "status": "closed",
    "channel": "email",
    "priority": "high",
    "tags": [{"id": 1, "name": "billing"}, {"id": 2, "name": "vip, gold"}],
    "created_datetime": "2024-11-01T10:59:29+00:00",
    "closed_datetime": None,
    "trashed_datetime": "2024-12-01T00:00:00.5+00:00",
    "spam": False,
    "messages_count": 2,
    "customer": {"id": 3, "email": None, "name": 'Doe, "Jo"'},
    "assignee_user": None,
}


def test_ticket_context_flattens_and_normalizes() -> None:
    context = ticket_context(TICKET)
    assert context["ticket_tags"] == ["billing", "vip, gold"]
    assert context["ticket_created_datetime"] == "2024-11-01T10:59:29.000000Z"
    assert context["ticket_trashed"] is True
    assert context["customer_name"] == 'Doe, "Jo"'
    assert context["assignee_user_name"] is None


def test_body_prefers_text_then_stripped_then_html() -> None:
    assert message_body({"body_text": "t", "stripped_text": "s", "body_html": "<p>h</p>"}) == "t"
    assert message_body({"body_text": None, "stripped_text": "s", "body_html": "<p>h</p>"}) == "s"
    assert message_body({"body_text": None, "stripped_text": None, "body_html": "<p>h</p>"}) == "h"
    assert message_body({}) is None


def test_html_to_text_drops_tags_and_decodes_entities() -> None:
    html = (
        "<html><style>p{}</style><p>Hi &amp; welcome&nbsp;&lt;3</p><p>It&#39;s<br>here</p></html>"
    )
    assert html_to_text(html) == "Hi & welcome <3\n\nIt's\nhere"


def test_a_message_row_carries_ticket_context_and_its_own_columns() -> None:
    message = {
        "id": 99,
        "ticket_id": 7,
        "public": False,
        "channel": "internal-note",
        "sender": {"name": "Ann", "email": "ann@x.com"},
        "receiver": None,
        "source": {"to": [{"name": "Bob", "address": "bob@x.com"}]},
        "attachments": [
            {"name": "a.pdf", "url": "https://f/a.pdf"},
            {"name": "b.png", "url": "https://f/b"},
        ],
        "created_datetime": "2024-11-02T00:00:00Z",
        "sent_datetime": None,
        "body_text": "note",
    }
    row = conversation_row(ticket_context(TICKET), message)
    assert list(row) == list(CONVERSATION_COLUMNS)
    assert row["ticket_id"] == 7 and row["message_id"] == 99
    assert row["message_public"] is False and row["message_channel"] == "internal-note"
    assert (row["message_receiver_name"], row["message_receiver_email"]) == ("Bob", "bob@x.com")
    assert row["attachments_count"] == 2 and row["attachment_names"] == ["a.pdf", "b.png"]
    assert row["message_sent_datetime"] is None


def test_a_ticket_without_messages_gets_a_row_with_empty_message_columns() -> None:
    row = conversation_row(ticket_context(TICKET), None)
    assert row["ticket_id"] == 7
    assert row["message_id"] is None and row["body"] is None
