"""The summary's figures on hand-made tickets: the edge cases the simulator's data may not hold."""

from __future__ import annotations

from typing import Any

from gorgias_export.exports.ticket_summary import (
    BASE_COLUMNS,
    all_columns,
    custom_field_columns,
    custom_field_values,
    first_response_seconds,
    resolution_seconds,
    summary_row,
)


def message(
    at: str, *, agent: bool, public: bool = True, channel: str = "email", mid: int = 0
) -> dict[str, Any]:
    return {
        "id": mid,
        "from_agent": agent,
        "public": public,
        "channel": channel,
        "created_datetime": f"2024-05-01T{at}+00:00",
    }


CUSTOMER = message("10:00:00", agent=False, mid=1)


def test_from_the_first_customer_message_to_the_first_agent_reply() -> None:
    reply = message("10:02:03.900000", agent=True, mid=2)
    later = message("11:00:00", agent=True, mid=3)
    assert first_response_seconds([later, reply, CUSTOMER]) == 123  # whole seconds, cut down


def test_no_customer_message_means_no_response_time() -> None:
    outbound = [message("09:00:00", agent=True, mid=1), message("09:30:00", agent=True, mid=2)]
    assert first_response_seconds(outbound) is None
    assert first_response_seconds([]) is None


def test_an_agent_message_before_the_customer_message_is_not_a_response() -> None:
    before = message("09:00:00", agent=True, mid=5)
    assert first_response_seconds([before, CUSTOMER]) is None
    after = message("10:00:30", agent=True, mid=6)
    assert first_response_seconds([before, CUSTOMER, after]) == 30


def test_internal_notes_are_not_responses() -> None:
    private = message("10:00:10", agent=True, public=False, mid=2)
    by_channel = message("10:00:20", agent=True, channel="internal-note", mid=3)
    assert first_response_seconds([CUSTOMER, private, by_channel]) is None
    reply = message("10:05:00", agent=True, mid=4)
    assert first_response_seconds([CUSTOMER, private, by_channel, reply]) == 300


def test_an_internal_note_by_no_agent_is_not_the_customer_message() -> None:
    """The clock starts at the first message the customer sent, not at a note."""
    note = message("09:00:00", agent=False, public=False, mid=1)
    reply = message("10:00:40", agent=True, mid=3)
    assert first_response_seconds([note, CUSTOMER, reply]) == 40


def test_a_reply_at_the_same_second_counts_after_by_id() -> None:
    reply = message("10:00:00", agent=True, mid=2)
    assert first_response_seconds([reply, CUSTOMER]) == 0


def test_unreadable_times_give_no_figure() -> None:
    broken = {**CUSTOMER, "created_datetime": "yesterday"}
    assert first_response_seconds([broken, message("10:01:00", agent=True, mid=2)]) is None


def test_resolution_only_for_closed_tickets() -> None:
    ticket = {
        "status": "closed",
        "created_datetime": "2024-05-01T10:00:00+00:00",
        "closed_datetime": "2024-05-02T10:00:01.5+00:00",
    }
    assert resolution_seconds(ticket) == 86401
    assert resolution_seconds({**ticket, "status": "open"}) is None
    assert resolution_seconds({**ticket, "closed_datetime": None}) is None


def test_custom_field_columns_in_helpdesk_order_with_archived_and_repeated_labels() -> None:
    definitions = [
        {"id": 7, "object_type": "Ticket", "label": "Reason", "priority": 2},
        {"id": 3, "object_type": "Ticket", "label": "Reason", "priority": 2},  # archived twin
        {"id": 9, "object_type": "Ticket", "label": "Product", "priority": 1},
        {"id": 4, "object_type": "Customer", "label": "Segment", "priority": 0},
        {"id": 5, "object_type": "Ticket", "label": "", "priority": None},
        {"id": 6, "object_type": "Ticket", "label": "status", "priority": 3},
    ]
    columns = custom_field_columns(definitions)
    assert [(c.name, c.field_id) for c in columns] == [
        ("cf_Product", 9),
        ("cf_Reason", 3),
        ("cf_Reason (7)", 7),
        ("cf_status", 6),  # the prefix keeps it apart from the `status` column
        ("cf_5", 5),
    ]


def test_custom_field_values_in_both_shapes() -> None:
    keyed = {"custom_fields": {"101": {"id": 101, "value": "Shipping"}}}
    listed = {"custom_fields": [{"field": {"id": 102}, "value": 3.5}, {"id": 103, "value": None}]}
    assert custom_field_values(keyed) == {101: "Shipping"}
    assert custom_field_values(listed) == {102: 3.5, 103: None}
    assert custom_field_values({"id": 1}) is None  # a list item: none carried


def test_a_row_has_every_column_typed() -> None:
    ticket = {
        "id": 12,
        "status": "open",
        "tags": [{"name": "vip"}, {"name": "refund, partial"}],
        "customer": None,
        "created_datetime": "2024-05-01T10:00:00+00:00",
    }
    custom = custom_field_columns([{"id": 1, "label": "Amount"}, {"id": 2, "label": "Tags"}])
    row = summary_row(ticket, [CUSTOMER], None, {1: 12.5, 2: ["a", "b"]}, all_columns(custom))
    assert list(row) == [c.name for c in BASE_COLUMNS] + ["cf_Amount", "cf_Tags"]
    assert row["tags"] == "vip, refund, partial"
    assert row["created_datetime"] == "2024-05-01T10:00:00.000000Z"
    assert (row["messages"], row["customer_messages"], row["agent_messages"]) == (1, 1, 0)
    assert row["customer_email"] is None and row["satisfaction_score"] is None
    assert row["cf_Amount"] == "12.5" and row["cf_Tags"] == '["a","b"]'


def test_every_summary_column_is_documented_and_linked_from_the_readme() -> None:
    from tests.support.cli import REPO

    notes = (REPO / "docs" / "ticket-summary.md").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = notes.split("## The columns")[1].split("\n## ")[0]
    for column in BASE_COLUMNS:
        assert f"`{column.name}`" in table, column.name
        assert f"`{column.name}`" in readme, column.name
    assert "docs/ticket-summary.md" in readme and "--custom-fields" in readme


def test_values_a_listing_carries_cost_no_request() -> None:
    """Should the ticket listing ever carry `custom_fields`, they are used as they are, even
    with --custom-fields: the request per ticket is only for values nothing else brought."""
    from gorgias_export.exports.ticket_lines import Summaries

    class NoRequests:
        def get_json(self, *args: Any, **kwargs: Any) -> Any:
            raise AssertionError("no request expected")

    custom = custom_field_columns([{"id": 101, "label": "Contact reason"}])
    summaries = Summaries(NoRequests(), all_columns(custom), nested=False, field_values=True)  # type: ignore[arg-type]
    ticket = {"id": 5, "custom_fields": {"101": {"id": 101, "value": "Other"}}}
    assert summaries.line(ticket, [], None)["cf_Contact reason"] == "Other"
