"""A scripted HTTP API on 127.0.0.1, for the client's unit tests: real sockets, real HTTP.

Like the `responses` library, but the client's own HTTP code runs end to end. Answers are
registered per path and served in order, the last one repeating:

    with FakeApi() as api:
        api.get("/tickets", json=page, headers={"X-Gorgias-Account-Api-Call-Limit": "1/40"})
        api.get("/tickets", status=503)   # served after the first
        client = GorgiasClient(replace(settings, base_url=api.url))
        ...
        assert api.calls[0].query["limit"] == ["100"]
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.loopback_http import LoopbackServer, drip_answer, send_answer


@dataclass(frozen=True)
class Call:
    """A request the API received."""

    method: str
    path: str  # under /api, e.g. "/tickets"
    url: str  # path and query as sent, e.g. "/api/tickets?limit=100"
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # close the connection without answering
    delay: float = 0.0  # seconds to wait before answering (to outlast a read timeout)
    close: bool = False  # answer, then close the connection without saying so (keep-alive ends)
    drip: float = 0.0  # send the answer a byte at a time, this many seconds apart


Responder = Callable[[Call], Reply]


class FakeApi:
    """An HTTP server answering GETs under /api from a script; records every request."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.calls: list[Call] = []
        self._script: dict[str, list[Reply | Responder]] = {}
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._answer, self._refuse, tls=tls)

    @property
    def url(self) -> str:
        return f"{self._server.origin}/api"

    @property
    def connections(self) -> int:
        """TCP connections accepted."""
        return self._server.connections

    @property
    def dripped(self) -> int:
        """Bytes of `drip` answers sent so far: how far a drip got before the client gave up."""
        return self._server.dripped

    def get(
        self,
        path: str,
        *,
        json: Any = None,
        body: bytes | str = b"",
        status: int = 200,
        headers: dict[str, str] | None = None,
        reset: bool = False,
        delay: float = 0.0,
        close: bool = False,
        drip: float = 0.0,
    ) -> None:
        """Answer the next GET of `path` this way (the last answer registered repeats)."""
        data = body.encode() if isinstance(body, str) else body
        all_headers = dict(headers or {})
        if json is not None:
            data = _dumps(json)
            all_headers.setdefault("Content-Type", "application/json")
        self._add(path, Reply(status, data, all_headers, reset, delay, close, drip))

    def answer_with(self, path: str, responder: Responder) -> None:
        """Answer every GET of `path` by calling `responder` with the request."""
        self._add(path, responder)

    def replace(self, path: str, **reply: Any) -> None:
        """Forget what was registered for `path`, and answer this way from now on."""
        with self._lock:
            self._script.pop(path, None)
        self.get(path, **reply)

    def _add(self, path: str, reply: Reply | Responder) -> None:
        with self._lock:
            self._script.setdefault(path, []).append(reply)

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        path = split.path.removeprefix("/api")
        call = Call(
            "GET",
            path,
            handler.path,
            parse_qs(split.query, keep_blank_values=True),
            {name.lower(): value for name, value in handler.headers.items()},
        )
        with self._lock:
            self.calls.append(call)
            queue = self._script.get(path)
            scripted = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else None
        if scripted is None:
            reply = Reply(404, _dumps({"error": {"msg": f"nothing scripted for {path}"}}))
        elif isinstance(scripted, Reply):
            reply = scripted
        else:
            reply = scripted(call)
        if reply.delay:
            self._server.stopping.wait(reply.delay)
        if reply.reset:
            handler.close_connection = True
            handler.connection.close()
        elif reply.drip:
            drip_answer(self._server, handler, reply.status, reply.body, reply.drip)
        else:
            send_answer(handler, reply.status, reply.headers, reply.body, close=reply.close)

    def _refuse(self, handler: BaseHTTPRequestHandler) -> None:
        """Any other method: recorded, so that tests can say none was sent, and refused."""
        self.calls.append(Call(handler.command, handler.path, handler.path, {}, {}))
        handler.send_error(405)

    def close(self) -> None:
        self._server.close()

    def __enter__(self) -> FakeApi:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()
