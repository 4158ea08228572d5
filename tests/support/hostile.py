"""A hostile server: a proxy on 127.0.0.1 in front of the simulator that misbehaves on request N.

The exporter talks to the proxy as if it were the API; the proxy forwards each GET to the
simulator and, for requests numbered `at` to `at + times - 1`, spoils the answer in one of the
ways a real server, a middlebox or an attacker might (issue 12's probe):

    with HostileProxy(sim) as proxy:
        proxy.misbehave("no_meta", at=3, times=1000)
        run_cli(None, "tickets", "--out", out, env=proxy.env())
"""

from __future__ import annotations

import gzip
import http.client
import itertools
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from gorgias_sim import Simulator
from tests.support.cli import env_for
from tests.support.loopback_http import LoopbackServer, drip_answer, send_answer

Answer = tuple[int, dict[str, str], bytes]
CALL_LIMIT = "x-gorgias-account-api-call-limit"


def _list_edit(edit: Callable[[dict[str, Any]], None]) -> Callable[[Answer], Answer]:
    def spoil(answer: Answer) -> Answer:
        status, headers, body = answer
        payload = json.loads(body)
        if status == 200 and isinstance(payload, dict) and isinstance(payload.get("data"), list):
            edit(payload)
        return status, headers, json.dumps(payload).encode()

    return spoil


def _drop_meta(payload: dict[str, Any]) -> None:
    payload.pop("meta", None)


def _numeric_cursor(payload: dict[str, Any]) -> None:
    if payload.get("meta", {}).get("next_cursor"):
        payload["meta"]["next_cursor"] = 12345


def _empty_end(payload: dict[str, Any]) -> None:
    if payload.get("meta", {}).get("next_cursor"):
        payload["data"] = []
        payload["meta"]["next_cursor"] = None


def _reversed(payload: dict[str, Any]) -> None:
    payload["data"].reverse()


def _status(status: int, headers: dict[str, str], body: bytes) -> Callable[[Answer], Answer]:
    return lambda answer: (status, headers, body)


BOMB = gzip.compress(b"\0" * (70 * 2**20))  # 70 MB once inflated, 70 KB on the wire

# What each mode does to an answer (the drip and the echo are handled by the handler).
MODES: dict[str, Callable[[Answer], Answer]] = {
    "no_meta": _list_edit(_drop_meta),
    "numeric_cursor": _list_edit(_numeric_cursor),
    "empty_end": _list_edit(_empty_end),
    "reversed": _list_edit(_reversed),
    "html_200": _status(200, {"Content-Type": "text/html"}, b"<html>maintenance</html>"),
    "rate_limited": _status(429, {"Retry-After": "90"}, b'{"error": {"msg": "slow down"}}'),
    "gzip_bomb": _status(200, {"Content-Encoding": "gzip"}, BOMB),
    "echo_key": lambda answer: answer,  # a 500 whose body repeats the Authorization header
    "drip": lambda answer: answer,  # the answer a byte at a time
}


class HostileProxy:
    def __init__(self, sim: Simulator, drip_seconds: float = 0.05) -> None:
        self._upstream = urlsplit(sim.url)
        self._sim = sim
        self._drip = drip_seconds
        self._mode: str | None = None
        self._range = range(0)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.faults = 0
        self._server = LoopbackServer(self._serve)

    @property
    def url(self) -> str:
        return f"{self._server.origin}{self._upstream.path}"

    def env(self) -> dict[str, str]:
        return {**env_for(self._sim), "GORGIAS_BASE_URL": self.url}

    def misbehave(self, mode: str | None, at: int = 1, times: int = 1) -> None:
        """From request `at` of now on (counted from 1), `times` requests get `mode`."""
        assert mode is None or mode in MODES, mode
        with self._lock:
            self._mode = mode
            self._counter = itertools.count(1)
            self._range = range(at, at + times)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            number = next(self._counter)
            mode = self._mode if number in self._range else None
            if mode is not None:
                self.faults += 1
        upstream = http.client.HTTPConnection(
            self._upstream.hostname or "", self._upstream.port, timeout=30
        )
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() != "accept-encoding"}
            upstream.request("GET", handler.path, headers=headers)
            response = upstream.getresponse()
            answer: Answer = (
                response.status,
                {k: v for k, v in response.getheaders() if k.lower() == CALL_LIMIT},
                response.read(),
            )
        finally:
            upstream.close()
        if mode == "echo_key":
            echoed = handler.headers.get("Authorization", "")
            answer = (500, {}, json.dumps({"error": {"msg": f"bad auth {echoed}"}}).encode())
        elif mode is not None:
            answer = MODES[mode](answer)
        status, out_headers, body = answer
        if mode == "drip":
            drip_answer(self._server, handler, status, body, self._drip)
        else:
            send_answer(handler, status, out_headers, body)

    def close(self) -> None:
        self._server.close()

    def __enter__(self) -> HostileProxy:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
