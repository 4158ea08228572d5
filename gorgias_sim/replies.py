"""What an endpoint answers: a status and a JSON body, errors shaped as the real API shapes them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .records import Obj

JSON = "application/json"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = field(default=())


def dumps(obj: Any) -> bytes:
    # UTF-8 rather than \u escapes, so that clients really have to decode every script.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error(status: int, msg: str, data: Obj | None = None) -> Reply:
    err: Obj = {"msg": msg} if data is None else {"msg": msg, "data": data}
    return Reply(status, dumps({"error": err}))


class BadRequest(Exception):
    """Raised anywhere while reading a request; the endpoint answers with its 400 reply."""

    def __init__(self, msg: str, data: Obj | None = None) -> None:
        super().__init__(msg)
        self.reply = error(400, msg, data)


class ServerFailure(BadRequest):
    """Raised while reading a request that this server fails on: answered with a 500."""

    def __init__(self) -> None:
        super().__init__("Internal server error.")
        self.reply = error(500, "Internal server error.")
