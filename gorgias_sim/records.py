"""Builders for the API's object shapes: people, tickets and messages as the real API returns them.

Random choices live in generate.py; these functions only lay out fields, so the generator and the
runtime mutations produce identical shapes.
"""

from __future__ import annotations

import html
from typing import Any

from .timefmt import format_us

Obj = dict[str, Any]

SUPPORT_NAME = "Acme Support"
SUPPORT_ADDRESS = "support@acme.example"

# How each ticket channel shows in `via` and in a message's `source.type`.
CHANNELS: dict[str, tuple[str, str]] = {
    "email": ("email", "email"),
    "chat": ("chat", "chat"),
    "contact_form": ("form", "contact_form"),
    "sms": ("sms", "sms"),
    "facebook": ("facebook", "facebook-message"),
    "instagram": ("instagram", "instagram-direct-message"),
    "phone": ("phone", "phone"),
    "api": ("api", "api"),
    "help-center": ("helpdesk", "help-center"),
}


# A field gorgias-api.md does not list, on customers and the entities of entity_records.py (not
# on tickets and messages, which stay as they were): an export must keep fields it does not know.
UNDOCUMENTED_FIELD = "extensions"


def extensions(kind: str) -> Obj:
    """The value of UNDOCUMENTED_FIELD: nested, so that flattening has something to flatten."""
    return {"kind": kind, "sim": {"schema": 1, "flags": ["beta"]}}


def dt(us: int | None) -> str | None:
    return None if us is None else format_us(us)


def person(
    pid: int, email: str | None, firstname: str | None, lastname: str | None, **extra: Any
) -> Obj:
    names = [n for n in (firstname, lastname) if n]
    name = " ".join(names) if names else None
    return {
        "id": pid,
        "email": email,
        "name": name,
        "firstname": firstname,
        "lastname": lastname,
        **extra,
    }


def brief(p: Obj) -> Obj:
    """The short form of a customer or user embedded in tickets and messages."""
    return {
        "id": p["id"],
        "email": p["email"],
        "name": p["name"],
        "firstname": p["firstname"],
        "lastname": p["lastname"],
    }


def customer(cid: int, email: str | None, first: str | None, last: str | None, created: int) -> Obj:
    channels = [] if email is None else [{"type": "email", "address": email, "preferred": True}]
    return person(
        cid,
        email,
        first,
        last,
        external_id=None,
        language=None,
        timezone=None,
        note="",
        channels=channels,
        data={},
        integrations={},
        meta={},
        created_datetime=dt(created),
        updated_datetime=dt(created),
        **{UNDOCUMENTED_FIELD: extensions("customer")},
    )


def to_html(text: str) -> str:
    escaped = html.escape(text, quote=False)
    lines = escaped.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<div>" + "<br>".join(lines) + "</div>"


def body(text: str | None, stripped: str | None, signature: str | None = None) -> Obj:
    """The five body fields of a message, derived from its plain text and the reply part of it."""
    return {
        "body_text": text,
        "body_html": to_html(text if text is not None else stripped or ""),
        "stripped_text": stripped,
        "stripped_html": None if stripped is None else to_html(stripped),
        "stripped_signature": signature,
    }


def html_only_body(markup: str) -> Obj:
    """What an HTML-only email looks like: no text part and nothing stripped from it."""
    return {
        "body_text": None,
        "body_html": markup,
        "stripped_text": None,
        "stripped_html": markup,
        "stripped_signature": None,
    }


def ticket(
    tid: int,
    *,
    channel: str,
    customer: Obj,
    subject: str | None,
    created: int,
    language: str | None = "en",
    status: str = "open",
    priority: str = "normal",
    from_agent: bool = False,
    assignee_user: Obj | None = None,
    assignee_team: Obj | None = None,
    tags: list[Obj] | None = None,
    spam: bool = False,
    external_id: str | None = None,
    meta: Obj | None = None,
) -> Obj:
    """A list-item ticket with no messages yet; `set_activity` fills in what messages imply."""
    return {
        "id": tid,
        "uri": f"/api/tickets/{tid}/",
        "external_id": external_id,
        "language": language,
        "status": status,
        "priority": priority,
        "channel": channel,
        "via": CHANNELS[channel][0],
        "from_agent": from_agent,
        "customer": brief(customer),
        "assignee_user": None if assignee_user is None else brief(assignee_user),
        "assignee_team": assignee_team,
        "subject": subject,
        "excerpt": "",
        "integrations": [],
        "meta": meta,
        "tags": tags or [],
        "messages_count": 0,
        "is_unread": False,
        "spam": spam,
        "created_datetime": dt(created),
        "opened_datetime": None,
        "last_received_message_datetime": None,
        "last_message_datetime": None,
        "updated_datetime": dt(created),
        "closed_datetime": None,
        "snooze_datetime": None,
        "trashed_datetime": None,
    }


def excerpt(message: Obj) -> str:
    text = message["stripped_text"] or message["body_text"] or ""
    return " ".join(text.split())[:100]


def message(
    mid: int,
    tk: Obj,
    *,
    sender: Obj,
    receiver: Obj | None,
    from_agent: bool,
    internal: bool,
    content: Obj,
    created: int,
    sent: int | None,
    integration_id: int | None = None,
    attachments: list[Obj] | None = None,
) -> Obj:
    channel = "internal-note" if internal else tk["channel"]
    source_type = "internal-note" if internal else CHANNELS[tk["channel"]][1]
    via = "helpdesk" if from_agent else tk["via"]
    is_email = source_type == "email"
    created_text = format_us(created)
    if from_agent:
        to = [] if receiver is None else [_address(receiver, tk["channel"])]
        source_from = _address(sender, tk["channel"])
    else:
        to = [{"name": SUPPORT_NAME, "address": SUPPORT_ADDRESS}]
        source_from = _address(sender, tk["channel"])
    return {
        "id": mid,
        "uri": f"/api/tickets/{tk['id']}/messages/{mid}/",
        "message_id": f"<{mid:x}.{tk['id']:x}@mail.acme.example>" if is_email else None,
        "ticket_id": tk["id"],
        "external_id": None,
        "public": not internal,
        "channel": channel,
        "via": via,
        "source": {"type": source_type, "from": source_from, "to": to, "cc": [], "bcc": []},
        "sender": brief(sender),
        "receiver": None if receiver is None else brief(receiver),
        "from_agent": from_agent,
        "subject": tk["subject"] if is_email else None,
        **content,
        "attachments": attachments,
        "intents": [],
        "rule_id": None,
        "integration_id": integration_id if is_email else None,
        "meta": None,
        "created_datetime": created_text,
        "sent_datetime": created_text if sent == created else dt(sent),
        "failed_datetime": None,
        "opened_datetime": None,
        "last_sending_error": None,
    }


def _address(p: Obj, channel: str) -> Obj:
    # Customers reached by SMS or phone have a number, not an email address.
    address = p["email"]
    if address is None or channel in {"sms", "phone"}:
        address = f"+1555{p['id'] % 10_000_000:07d}"
    return {"name": p["name"], "address": address}
