"""Builders for the shapes of the entities beside tickets and messages: surveys, events, tags,
users, teams, views, macros, rules, integrations and custom fields.

Like records.py, these only lay out fields; random choices live in generate_entities.py. Shapes
follow the "Objects" section of gorgias-api.md where it describes them, and plausible fields
elsewhere. Every object also carries records.UNDOCUMENTED_FIELD, which that page does not list.
"""

from __future__ import annotations

from .records import UNDOCUMENTED_FIELD, Obj, brief, dt, extensions, to_html


def tag(
    tid: int,
    name: str,
    decoration: Obj | None,
    *,
    created: int,
    usage: int = 0,
    description: str | None = None,
) -> Obj:
    return {
        "id": tid,
        "uri": f"/api/tags/{tid}/",
        "name": name,
        "description": description,
        "decoration": decoration,
        "usage": usage,
        "created_datetime": dt(created),
        "deleted_datetime": None,
        UNDOCUMENTED_FIELD: extensions("tag"),
    }


def embedded_tag(t: Obj) -> Obj:
    """How a ticket shows one of its tags."""
    return {"id": t["id"], "name": t["name"], "decoration": t["decoration"]}


def user(
    person: Obj,
    role: str,
    *,
    created: int,
    updated: int,
    deactivated: int | None = None,
    bio: str | None = None,
    language: str = "en",
    timezone: str = "UTC",
) -> Obj:
    """A user from the `person` fields tickets embed for it (id, email and names)."""
    uid = person["id"]
    return {
        **brief(person),
        "uri": f"/api/users/{uid}/",
        "external_id": f"staff-{uid}" if uid % 3 == 0 else None,
        "active": deactivated is None,
        "bio": bio,
        "country": None,
        "language": language,
        "timezone": timezone,
        "role": {"name": role},
        "meta": {"profile_picture_url": None, "last_seen": dt(updated)},
        "created_datetime": dt(created),
        "updated_datetime": dt(updated),
        "deactivated_datetime": dt(deactivated),
        UNDOCUMENTED_FIELD: extensions("user"),
    }


def team(
    team_id: int,
    name: str,
    *,
    members: list[Obj],
    emoji: str | None,
    created: int,
    description: str | None = None,
) -> Obj:
    return {
        "id": team_id,
        "uri": f"/api/teams/{team_id}/",
        "name": name,
        "description": description,
        "decoration": None if emoji is None else {"emoji": emoji},
        "members": [{"id": u["id"], "name": u["name"], "email": u["email"]} for u in members],
        "created_datetime": dt(created),
        UNDOCUMENTED_FIELD: extensions("team"),
    }


def view(
    view_id: int,
    name: str,
    *,
    kind: str,
    filters: str,
    created: int,
    updated: int,
    slug: str,
    private: bool = False,
) -> Obj:
    """`kind` is ticket-list or customer-list."""
    return {
        "id": view_id,
        "uri": f"/api/views/{view_id}/",
        "name": name,
        "slug": slug,
        "type": kind,
        "category": None,
        "visibility": "private" if private else "public",
        "filters": filters,
        "order_by": "updated_datetime",
        "order_dir": "desc",
        "fields": ["details", "tags", "customer", "assignee", "updated"],
        "decoration": None,
        "shared_with_users": [],
        "shared_with_teams": [],
        "deactivated_datetime": None,
        "created_datetime": dt(created),
        "updated_datetime": dt(updated),
        UNDOCUMENTED_FIELD: extensions("view"),
    }


def macro(
    macro_id: int,
    name: str,
    *,
    body: str,
    tags: list[str],
    language: str | None,
    usage: int,
    created: int,
    updated: int,
    archived: int | None = None,
) -> Obj:
    actions: list[Obj] = [
        {
            "name": "setResponseText",
            "title": "Add response text",
            "type": "user",
            "arguments": {"body_text": body, "body_html": to_html(body)},
        }
    ]
    if tags:
        actions.append(
            {
                "name": "addTags",
                "title": "Add tags",
                "type": "user",
                "arguments": {"tags": ", ".join(tags)},
            }
        )
    return {
        "id": macro_id,
        "uri": f"/api/macros/{macro_id}/",
        "name": name,
        "intent": None,
        "language": language,
        "actions": actions,
        "usage": usage,
        "external_id": None,
        "created_datetime": dt(created),
        "updated_datetime": dt(updated),
        "archived_datetime": dt(archived),
        UNDOCUMENTED_FIELD: extensions("macro"),
    }


def rule(
    rule_id: int,
    name: str,
    *,
    code: str,
    priority: int,
    created: int,
    updated: int,
    deactivated: int | None = None,
    description: str | None = None,
) -> Obj:
    return {
        "id": rule_id,
        "uri": f"/api/rules/{rule_id}/",
        "name": name,
        "description": description,
        "code": code,
        "event_types": "ticket-created,ticket-updated",
        "priority": priority,
        "deactivated_datetime": dt(deactivated),
        "created_datetime": dt(created),
        "updated_datetime": dt(updated),
        UNDOCUMENTED_FIELD: extensions("rule"),
    }


def integration(
    integration_id: int,
    kind: str,
    name: str,
    *,
    created: int,
    updated: int,
    user_id: int,
    deactivated: int | None = None,
) -> Obj:
    http: Obj | None = None
    if kind == "http":
        http = {"url": "https://erp.acme.example/hooks/gorgias?x=1&y=2", "method": "POST"}
    return {
        "id": integration_id,
        "uri": f"/api/integrations/{integration_id}/",
        "type": kind,
        "name": name,
        "description": None,
        "decoration": None,
        "meta": {"address": "support@acme.example"} if kind == "email" else {},
        "http": http,
        "user": {"id": user_id},
        "created_datetime": dt(created),
        "updated_datetime": dt(updated),
        "deactivated_datetime": dt(deactivated),
        "locked_datetime": None,
        UNDOCUMENTED_FIELD: extensions("integration"),
    }


def custom_field(
    field_id: int,
    object_type: str,
    label: str,
    *,
    data_type: str,
    choices: tuple[str, ...],
    priority: int,
    created: int,
    updated: int,
    archived: int | None = None,
    required: bool = False,
) -> Obj:
    """`archived` is when it was deactivated: the API's archived fields."""
    settings: Obj = {"input_type": "dropdown", "choices": list(choices)} if choices else {}
    if not choices:
        settings = {"input_type": "input_number" if data_type == "number" else "input"}
    return {
        "id": field_id,
        "object_type": object_type,
        "label": label,
        "description": None,
        "priority": priority,
        "required": required,
        "managed_type": None,
        "definition": {"data_type": data_type, "input_settings": settings},
        "created_datetime": dt(created),
        "updated_datetime": dt(updated),
        "deactivated_datetime": dt(archived),
        UNDOCUMENTED_FIELD: extensions("custom-field"),
    }


def survey(
    survey_id: int,
    ticket: Obj,
    *,
    created: int,
    should_send: int,
    sent: int | None,
    scored: int | None,
    score: int | None,
    body_text: str | None,
) -> Obj:
    return {
        "id": survey_id,
        "uri": f"/api/satisfaction-surveys/{survey_id}/",
        "ticket_id": ticket["id"],
        "customer_id": ticket["customer"]["id"],
        "score": score,
        "body_text": body_text,
        "meta": {"channel": ticket["channel"]},
        "created_datetime": dt(created),
        "should_send_datetime": dt(should_send),
        "sent_datetime": dt(sent),
        "scored_datetime": dt(scored),
        UNDOCUMENTED_FIELD: extensions("satisfaction-survey"),
    }
