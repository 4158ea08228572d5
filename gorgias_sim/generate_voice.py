"""The seeded phone calls (with their events and recordings), the account's settings and its job
history, in the shapes Gorgias's own API schema gives them.

A stream of random numbers of its own, so that adding these never shifts what generate.py and
generate_entities.py draw. Cheap: one call per 20 tickets, a few events and at most one
recording each, so large datasets (benchmarks) barely notice.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from .records import UNDOCUMENTED_FIELD, Obj, dt, extensions
from .timefmt import parse_us

SECOND = 1_000_000
TICKETS_PER_CALL = 20
FIRST_CALL_ID = 7_100_000
FIRST_CALL_EVENT_ID = 7_200_000
FIRST_RECORDING_ID = 7_300_000
FIRST_JOB_ID = 7_400_000
PRIVATE_RECORDING = "RECORDING_IS_PRIVATE"  # the one error_code the schema names
_EVENT_TYPES = ("incoming-phone-call", "phone-call-ringing", "phone-call-answered")
_SUMMARIES = (
    "Customer asked where order #1042 is; agent shared the tracking link.",
    'Caller wants a refund for "damaged, wet" parcel;\nagent opened a return.',
    "=SUM(A1) said the caller, then asked about 返品 and доставка 👑.",
)
_JOB_TYPES = ("exportTicket", "applyMacro", "updateTicket", "deleteTicket")
_JOB_STATUSES = ("done", "done", "errored", "running", "scheduled")


@dataclass
class GeneratedVoice:
    calls: list[Obj]
    call_events: list[Obj]
    recordings: list[Obj]
    jobs: list[Obj]
    settings: list[Obj]


def voice_rng(seed: int) -> random.Random:
    return random.Random(f"gorgias-simulator-voice:{seed}")


def generate_voice(
    seed: int, tickets: Sequence[Obj], agent_ids: Sequence[int], end: int
) -> GeneratedVoice:
    rng = voice_rng(seed)
    out = GeneratedVoice([], [], [], _jobs(rng, tickets, agent_ids, end), _settings())
    for n, ticket in enumerate(tickets[::TICKETS_PER_CALL]):
        _call(rng, out, n, ticket, agent_ids)
    return out


def new_call(seed: int, n: int, ticket: Obj, created: int) -> GeneratedVoice:
    """The `n`th call (its events and recording) on `ticket`, made at `created`: a test's."""
    out = GeneratedVoice([], [], [], [], [])
    _call(voice_rng(seed * 1_000_003 + n), out, n, ticket, (), created)
    return out


def _call(
    rng: random.Random,
    out: GeneratedVoice,
    n: int,
    ticket: Obj,
    agent_ids: Sequence[int],
    created: int | None = None,
) -> None:
    call_id = FIRST_CALL_ID + n
    if created is None:
        created = parse_us(ticket["created_datetime"])
    answered = n % 4 != 3  # every fourth call is missed: no recording, no summary
    duration = rng.randint(20, 900) if answered else 0
    agent = rng.choice(agent_ids) if answered and agent_ids else None
    recording: Obj | None = None
    if answered and n % 3 != 2:
        private = n % 5 == 4  # some recordings the account keeps private: metadata only
        recording = {
            "id": FIRST_RECORDING_ID + n,
            "call_id": call_id,
            "external_id": f"RE{call_id:x}{n:08x}",
            "url": None if private else f"https://uploads.example/voice/{call_id}.mp3",
            "duration": duration,
            "type": "call-recording",
            "created_datetime": dt(created + (duration + 2) * SECOND),
            "deleted_datetime": None,
            "deleted_by_user_id": None,
            "error_code": PRIVATE_RECORDING if private else None,
            "transcription_status": None if private else "completed",
            UNDOCUMENTED_FIELD: extensions("voice-call-recording"),
        }
        out.recordings.append(recording)
    summaries = []
    if recording is not None and recording["error_code"] is None and n % 2 == 0:
        summaries.append(
            {
                "id": call_id,
                "recording_id": recording["id"],
                "summary": _SUMMARIES[n % len(_SUMMARIES)],
                "created_datetime": dt(created + (duration + 30) * SECOND),
            }
        )
    inbound = n % 5 != 1
    customer = ticket["customer"]["id"] if ticket.get("customer") else None
    ours, theirs = "+14155550100", f"+1720555{n % 10_000:04d}"
    out.calls.append(
        {
            "id": call_id,
            "integration_id": 401,
            "ticket_id": ticket["id"],
            "phone_number_id": 17,
            "external_id": f"CA{call_id:x}{n:024x}",
            "provider": "twilio",
            "status": "completed" if answered else "missed",
            "termination_status": "answered" if answered else "missed",
            "direction": "inbound" if inbound else "outbound",
            "phone_number_source": theirs if inbound else ours,
            "country_source": "US",
            "phone_number_destination": ours if inbound else theirs,
            "country_destination": "US",
            "duration": duration,
            "started_datetime": dt(created),
            "created_datetime": dt(created),
            "updated_datetime": dt(created + (duration + 40) * SECOND),
            "initiated_by_agent_id": None if inbound else agent,
            "last_answered_by_agent_id": agent if inbound else None,
            "customer_id": customer,
            "has_call_recording": recording is not None,
            "has_voicemail": False,
            "summaries": summaries,
            UNDOCUMENTED_FIELD: extensions("voice-call"),
        }
    )
    kinds = _EVENT_TYPES if answered else (*_EVENT_TYPES[:2], "missed-phone-call")
    for k, kind in enumerate((*kinds, "completed-phone-call")):
        out.call_events.append(
            {
                "id": FIRST_CALL_EVENT_ID + 4 * n + k,
                "type": kind,
                "account_id": 1,
                "call_id": call_id,
                "user_id": agent if kind == "phone-call-answered" else None,
                "customer_id": customer,
                "created_datetime": dt(created + k * rng.randint(1, 30) * SECOND),
                "meta": {"step": k},
                UNDOCUMENTED_FIELD: extensions("voice-call-event"),
            }
        )


def _jobs(
    rng: random.Random, tickets: Sequence[Obj], agent_ids: Sequence[int], end: int
) -> list[Obj]:
    jobs = []
    for n, ticket in enumerate(tickets[5::50]):
        created = parse_us(ticket["created_datetime"])
        status = _JOB_STATUSES[n % len(_JOB_STATUSES)]
        started = None if status == "scheduled" else created + SECOND
        ended = created + 60 * SECOND if status in ("done", "errored") else None
        jobs.append(
            {
                "id": FIRST_JOB_ID + n,
                "type": _JOB_TYPES[n % len(_JOB_TYPES)],
                "status": status,
                "user_id": rng.choice(agent_ids) if agent_ids else None,
                "params": {"ticket_ids": [ticket["id"]]},
                "info": {"progress": 100 if ended else 0},
                "meta": None,
                "created_datetime": dt(created),
                "scheduled_datetime": dt(min(created + 3600 * SECOND, end)),
                "started_datetime": dt(started),
                "ended_datetime": dt(ended) if status == "done" else None,
                "failed_datetime": dt(ended) if status == "errored" else None,
                "cancelled_datetime": None,
                UNDOCUMENTED_FIELD: extensions("job"),
            }
        )
    return jobs


def _settings() -> list[Obj]:
    """The account's settings, as the schema's typed settings show them: {id, type, data}."""
    values = (
        ("satisfaction-surveys", {"send_survey_for_email": True, "survey_interval": 24}),
        ("auto-merge", {"tickets": {"enabled": True, "merging_window_days": 180}}),
        ("auto-split", {"email": {"enabled": False}}),
        ("business-hours", {"timezone": "Europe/Paris", "hours": "Mon-Fri 9:00-18:00"}),
    )
    return [
        {"id": 61 + i, "type": kind, "data": data, UNDOCUMENTED_FIELD: extensions("setting")}
        for i, (kind, data) in enumerate(values)
    ]
