"""A plain serial exporter: the yardstick `make bench` measures gorgias-export against.

Issue 10 asks the exporter to be "no heavier than a plain exporter written to the same
contract". This is that plain exporter, kept in the repository so that both are measured on the
same machine, in the same minute, against the same simulator: the machine's speed changes from
day to day (a virtual machine's stolen time), so only the ratio between the two is stable.

What it does, in the plainest way (requests, orjson, the csv module, one request at a time):
- reads every ticket (`/api/tickets`, oldest first) into a dictionary in memory, then every
  message (`/api/messages`, oldest first) and writes one CSV row per message with its ticket's
  columns (the same 39 columns as `gorgias-export tickets`), then a row per ticket with no
  message;
- after each page of messages, flushes and fsyncs the CSV and saves its position (cursor and
  byte offset) in a state file, written to a temporary file, fsynced and renamed: a rerun after
  a kill cuts the CSV back to that offset and goes on from there, so every row is there once.

What it leaves out, and gorgias-export does not: datetimes as the API sent them (not normalised
to UTC), no checks of the pages' shape or order, no retries, no rate-limit pacing, no prefetch
(it waits for each answer), tickets created during the run unknown, no incremental rerun, no
lock, no check that the output is its own. It is a yardstick, not a product: never ship it.

    python -m tests.plain_exporter --base-url URL --email E --api-key K --out tickets.csv
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import orjson
import requests

from gorgias_export.rows import CONVERSATION_COLUMNS, message_body

PAGE = 100


def ticket_columns(ticket: dict[str, Any]) -> list[Any]:
    customer = ticket.get("customer") or {}
    assignee = ticket.get("assignee_user") or {}
    team = ticket.get("assignee_team") or {}
    return [
        ticket.get("subject"),
        ticket.get("status"),
        ticket.get("channel"),
        ticket.get("via"),
        ticket.get("priority"),
        orjson.dumps([t.get("name") for t in ticket.get("tags") or []]).decode(),
        ticket.get("created_datetime"),
        ticket.get("updated_datetime"),
        ticket.get("closed_datetime"),
        ticket.get("spam"),
        ticket.get("trashed_datetime") is not None,
        ticket.get("trashed_datetime"),
        ticket.get("messages_count"),
        customer.get("id"),
        customer.get("email"),
        customer.get("name"),
        assignee.get("id"),
        assignee.get("email"),
        assignee.get("name"),
        team.get("name"),
    ]


def person(message: dict[str, Any], role: str, fallback: Any) -> tuple[Any, Any]:
    who = message.get(role) or {}
    fallback = fallback if isinstance(fallback, dict) else {}
    return who.get("name") or fallback.get("name"), who.get("email") or fallback.get("address")


def message_columns(message: dict[str, Any]) -> list[Any]:
    source = message.get("source") or {}
    to = source.get("to") or [None]
    sender = person(message, "sender", source.get("from"))
    receiver = person(message, "receiver", to[0])
    files = message.get("attachments") or []
    return [
        message.get("channel"),
        message.get("via"),
        message.get("from_agent"),
        message.get("public"),
        *sender,
        *receiver,
        message.get("subject"),
        message.get("created_datetime"),
        message.get("sent_datetime"),
        message.get("failed_datetime"),
        len(files),
        orjson.dumps([f.get("name") for f in files]).decode(),
        orjson.dumps([f.get("url") for f in files]).decode(),
        message_body(message),
        message.get("body_html"),
    ]


class Api:
    def __init__(self, base_url: str, email: str, key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = (email, key)

    def pages(
        self, path: str, cursor: str | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """(items, the cursor of the page after them) for each page, from `cursor` on."""
        while True:
            params: dict[str, str | int] = {"limit": PAGE, "order_by": "created_datetime:asc"}
            if cursor:
                params["cursor"] = cursor
            response = self.session.get(f"{self.base_url}{path}", params=params, timeout=60)
            response.raise_for_status()
            body = orjson.loads(response.content)
            cursor = body["meta"]["next_cursor"]
            yield body["data"], cursor
            if not cursor:
                return


def save_state(path: Path, state: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(orjson.dumps(state))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def checkpoint(handle: TextIO, state_path: Path, position: dict[str, Any]) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    save_state(state_path, {**position, "offset": os.fstat(handle.fileno()).st_size})


def export(api: Api, out: Path) -> int:
    state_path = out.with_name(out.name + ".state.json")
    state = orjson.loads(state_path.read_bytes()) if state_path.exists() else None
    if state and state.get("done"):
        return 0
    contexts: dict[int, list[Any]] = {}
    counts: dict[int, int] = {}
    for tickets, _ in api.pages("/tickets"):
        for ticket in tickets:
            contexts[ticket["id"]] = ticket_columns(ticket)
            counts[ticket["id"]] = ticket.get("messages_count") or 0
    if state:
        os.truncate(out, state["offset"])  # what a kill left after the last checkpoint
    with open(out, "a" if state else "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if not state:
            writer.writerow(CONVERSATION_COLUMNS)
        position = state["cursor"] if state else None
        if position is not False:  # False: the messages are done
            for messages, next_cursor in api.pages("/messages", position):
                for message in messages:
                    ticket_id = message["ticket_id"]
                    context = contexts.get(ticket_id) or [None] * 20
                    writer.writerow([ticket_id, message["id"], *context, *message_columns(message)])
                checkpoint(handle, state_path, {"cursor": next_cursor or False})
        empty = [None] * (len(CONVERSATION_COLUMNS) - 22)
        for ticket_id, context in contexts.items():
            if counts[ticket_id] == 0:
                writer.writerow([ticket_id, None, *context, *empty])
        checkpoint(handle, state_path, {"done": True})
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    return export(Api(args.base_url, args.email, args.api_key), args.out)


if __name__ == "__main__":
    sys.exit(main())
