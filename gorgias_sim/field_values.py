"""The ticket custom field values a ticket detail shows with `relationships=custom_fields`.

No listing carries them (a ticket list item has no `custom_fields`): only the single-ticket
view, keyed by field id. Each ticket gets a seeded choice of its account's ticket fields
(archived ones included, as old tickets hold their values), some left unset; the text values
are the kind a spreadsheet mangles (a leading `+`, zeros), and number fields hold numbers.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def ticket_field_values(ticket_id: int, fields: list[Obj]) -> dict[str, Obj]:
    """`{"<field id>": {"id": <field id>, "value": ...}}` for the fields set on this ticket."""
    values: dict[str, Obj] = {}
    for field in fields:
        if field["object_type"] != "Ticket":
            continue
        pick = (ticket_id * 7 + field["id"] * 3) % 5
        if pick == 0:
            continue  # not set on this ticket
        settings = field["definition"]["input_settings"]
        choices = settings.get("choices") or []
        value: Any
        if choices:
            value = choices[pick % len(choices)]
        elif field["definition"]["data_type"] == "number":
            value = round((ticket_id % 1000) * 1.5, 2)
        else:
            value = ("+33612345678", "00123", f"#{ticket_id}", "=1+1")[pick % 4]
        values[str(field["id"])] = {"id": field["id"], "value": value}
    return values
