"""The endpoints as data: what each entity command reads, in what order, and how reruns work.

Adding an endpoint is a row in `ENTITIES` (here, or in resources_config.py for a configuration
list), not a new module: the same fetch loop (exports/entities.py), writers, state and resume
serve them all. The fields of a row, and what
each `Incremental` mode does, are in entity_types.py.
"""

from __future__ import annotations

import re

from gorgias_export.entity_types import (
    EVENTS_LOOKBACK,
    SURVEYS_LOOKBACK,
    VOICE_LOOKBACK,
    Entity,
    Filter,
    Incremental,
)
from gorgias_export.resources_config import CONFIGURATION

# Conversations and the people and events around them, then (after CONFIGURATION) phone calls,
# the account's settings and its job history: `all` and --help follow this order.
_ACTIVITY: tuple[Entity, ...] = (
    Entity(
        name="messages",
        path="/messages",
        summary="Export every message as it is, one row each (no ticket context).",
        columns=(
            "id",
            "ticket_id",
            "message_id",
            "external_id",
            "uri",
            "public",
            "channel",
            "via",
            "from_agent",
            "subject",
            "body_text",
            "body_html",
            "stripped_text",
            "stripped_html",
            "stripped_signature",
            "source",
            "sender",
            "receiver",
            "attachments",
            "intents",
            "rule_id",
            "integration_id",
            "meta",
            "created_datetime",
            "sent_datetime",
            "failed_datetime",
            "opened_datetime",
            "last_sending_error",
        ),
        incremental=Incremental.CREATED,
        example="gorgias-export messages --out messages.jsonl",
    ),
    Entity(
        name="customers",
        path="/customers",
        summary="Export customers; a rerun adds the ones created or updated since.",
        columns=(
            "id",
            "email",
            "name",
            "firstname",
            "lastname",
            "external_id",
            "language",
            "timezone",
            "note",
            "channels",
            "data",
            "integrations",
            "meta",
            "created_datetime",
            "updated_datetime",
        ),
        incremental=Incremental.UPDATED,
        filters=(Filter("--email", "email", "Only the customer with this email address."),),
        example="gorgias-export customers --out customers.csv",
    ),
    Entity(
        name="satisfaction-surveys",
        path="/satisfaction-surveys",
        summary="Export satisfaction surveys (CSAT); reruns re-read the last 30 days for scores.",
        columns=(
            "id",
            "ticket_id",
            "customer_id",
            "score",
            "body_text",
            "meta",
            "created_datetime",
            "sent_datetime",
            "should_send_datetime",
            "scored_datetime",
            "uri",
        ),
        incremental=Incremental.LOOKBACK,
        lookback=SURVEYS_LOOKBACK,
        filters=(
            Filter("--ticket-id", "ticket_id", "Only the survey of this ticket.", integer=True),
        ),
        example="gorgias-export satisfaction-surveys --out surveys.csv",
    ),
    Entity(
        name="events",
        path="/events",
        summary="Export the audit trail of events (creations, updates, deletions, merges).",
        columns=(
            "id",
            "type",
            "object_type",
            "object_id",
            "user_id",
            "context",
            "data",
            "created_datetime",
            "uri",
        ),
        incremental=Incremental.SERVER_SINCE,
        lookback=EVENTS_LOOKBACK,
        filters=(
            Filter(
                "--type",
                "types",
                "Only events of this type, e.g. ticket-deleted (repeat for several).",
                repeatable=True,
            ),
            Filter("--object-type", "object_type", "Only events about this object type."),
            Filter(
                "--object-id",
                "object_id",
                "Only events about this object (with --object-type).",
                integer=True,
                needs="--object-type",
            ),
        ),
        example="gorgias-export events --type ticket-deleted --type ticket-merged "
        "--out deletions.csv",
    ),
)

_CALLS_SETTINGS_JOBS: tuple[Entity, ...] = (
    Entity(
        name="voice-calls",
        path="/phone/voice-calls",
        summary="Export the phone calls, with their AI summaries; reruns re-read the last 7 days.",
        columns=(
            "id",
            "ticket_id",
            "customer_id",
            "direction",
            "status",
            "termination_status",
            "duration",
            "phone_number_source",
            "phone_number_destination",
            "summaries",
            "has_call_recording",
            "has_voicemail",
            "initiated_by_agent_id",
            "last_answered_by_agent_id",
            "integration_id",
            "external_id",
            "started_datetime",
            "created_datetime",
            "updated_datetime",
        ),
        incremental=Incremental.LOOKBACK,
        lookback=VOICE_LOOKBACK,
        filters=(
            Filter("--ticket-id", "ticket_id", "Only the calls of this ticket.", integer=True),
        ),
        example="gorgias-export voice-calls --out voice-calls.csv",
    ),
    Entity(
        name="voice-call-events",
        path="/phone/voice-call-events",
        summary="Export the events of phone calls (ringing, answered, transferred...).",
        columns=("id", "call_id", "type", "user_id", "customer_id", "meta", "created_datetime"),
        incremental=Incremental.CREATED,
        example="gorgias-export voice-call-events --out voice-call-events.csv",
    ),
    Entity(
        name="voice-call-recordings",
        path="/phone/voice-call-recordings",
        summary="Export call recordings' metadata and URLs (no audio); reruns re-read 7 days.",
        columns=(
            "id",
            "call_id",
            "type",
            "duration",
            "url",
            "error_code",
            "transcription_status",
            "created_datetime",
            "deleted_datetime",
        ),
        incremental=Incremental.LOOKBACK,
        lookback=VOICE_LOOKBACK,
        example="gorgias-export voice-call-recordings --out recordings.csv",
    ),
    Entity(
        name="account-settings",
        path="/account/settings",
        summary="Export the account's settings, one row each (read in full on every run).",
        columns=("id", "type", "data"),
        incremental=Incremental.FULL,
        any_shape=True,
        example="gorgias-export account-settings --out account-settings.jsonl",
    ),
    Entity(
        name="jobs",
        path="/jobs",
        summary="Export the job history (exports, bulk updates, macros), read in full each run.",
        columns=(
            "id",
            "type",
            "status",
            "user_id",
            "params",
            "info",
            "meta",
            "created_datetime",
            "scheduled_datetime",
            "started_datetime",
            "ended_datetime",
            "failed_datetime",
            "cancelled_datetime",
        ),
        incremental=Incremental.FULL,
        example="gorgias-export jobs --out jobs.csv",
    ),
)

ENTITIES: tuple[Entity, ...] = (*_ACTIVITY, *CONFIGURATION, *_CALLS_SETTINGS_JOBS)

ENTITY_BY_NAME = {entity.name: entity for entity in ENTITIES}


_PATH_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


def normalize_api_path(path: str) -> str | None:
    """`/api/tags`, `api/tags`, `tags` and `/tags/` all name `/tags`; None if not a plain path
    (a query string, a scheme, `..` or odd characters are refused, not sent)."""
    text = path.strip().strip("/")
    if text.startswith("api/") or text == "api":
        text = text[4:]
    segments = text.split("/")
    if not text or not all(_PATH_SEGMENT.fullmatch(segment) for segment in segments):
        return None
    return "/" + "/".join(segments)


def adhoc_entity(path: str, single_object: bool) -> Entity:
    """An endpoint with no row in ENTITIES, for `get`: read in full, written as JSONL."""
    return Entity(
        name="get",
        path=path,
        summary="",
        columns=(),
        incremental=Incremental.FULL,
        order_field="",  # the endpoint's default order, or the user's own order_by
        single_object=single_object,
        key="id",
        keeps_ids=False,
    )
