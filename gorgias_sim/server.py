"""The HTTP side: one local server thread, auth, the leaky bucket, faults, and the request log.

A request goes: record it → `on_request` → latency → fault → auth (401) → method (405) →
bucket (429) → permission (403) → the endpoint. Only 127.0.0.1 is ever bound.

Two kinds of caller, as on the real API: an agent's email and API key (HTTP Basic), with the
account's 40-request bucket, and an OAuth app's access token (Bearer), with its own bucket of 80
(`oauth_bucket_capacity`); the call-limit header reports the bucket of the kind that asked.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .api import Api
from .bucket import LeakyBucket
from .config import SimConfig
from .cursors import CursorBook
from .data import Dataset, make_dataset
from .faults import BODY_KINDS, Fault, FaultPlan, Where
from .recorder import Recorder, RequestRecord
from .replies import Reply, dumps, error
from .uploads import DOWNLOAD_PATH, Uploads, install

HOST = "127.0.0.1"
LIMIT_HEADER = "X-Gorgias-Account-Api-Call-Limit"
NOPERM_EMAIL = "noperm@example.com"  # valid key, but a role that may read only /api/account
_MAX_DISCARDED_BODY = 1 << 20

_HTML_404 = (
    b"<!DOCTYPE html>\n<html><head><title>Page not found | Gorgias</title></head>\n"
    b"<body><h1>This page does not exist</h1></body></html>\n"
)
_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class _Outcome:
    """A reply and how to deliver it: whole, cut in half, or not at all (reset)."""

    reply: Reply | None
    truncate: bool = False


class Simulator:
    """A local stand-in for one Gorgias account's REST API; see gorgias-api.md for the behaviour."""

    def __init__(
        self,
        config: SimConfig | None = None,
        dataset: Dataset | None = None,
        port: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` drives the bucket, cursor expiry and outages; tests may pass a fake one."""
        self.config = config or SimConfig()
        self.dataset = dataset or make_dataset(self.config.seed, self.config.tickets)
        self.on_request: Callable[[RequestRecord], None] | None = None
        self._port = port
        self._bucket = LeakyBucket(clock)
        self._oauth_bucket = LeakyBucket(clock)
        self._token_uses: dict[str, int] = {}
        self._token_lock = threading.Lock()
        self._faults = FaultPlan(clock)
        self._api = Api(
            self.dataset, CursorBook(clock, lambda: self.config.built_cursors), lambda: self.config
        )
        self._log = Recorder()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.uploads: Uploads | None = None  # the files' host, with SimConfig(uploads=True)

    # Lifecycle

    def start(self) -> Simulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        if self.config.uploads:
            self._start_uploads()
        self._server = _Server((HOST, self._port), _Handler)
        self._server.sim = self
        self._port = self._server.server_address[1]  # a restart keeps the same port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"gorgias-simulator-{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes handlers sleeping for latency or a slow fault
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()
        if self.uploads is not None:
            self.uploads.stop()

    def _start_uploads(self) -> None:
        """The files' host; the first start points the dataset's files at it."""
        first = self.uploads is None
        self.uploads = (self.uploads or Uploads()).start()  # a restart keeps the same port
        if first:
            with self.dataset.lock:
                recordings = self.dataset.entities.config["phone/voice-call-recordings"]
                install(self.dataset.messages, list(recordings.items.values()), self.uploads)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() first")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/api"

    # Observability

    @property
    def requests(self) -> list[RequestRecord]:
        return self._log.records()

    @property
    def non_get_requests(self) -> list[RequestRecord]:
        return [r for r in self._log.records() if r.method != "GET"]

    def count(self, path_prefix: str = "") -> int:
        return self._log.count(path_prefix)

    @property
    def rate_limited(self) -> int:
        return self._log.rate_limited

    @property
    def faults_injected(self) -> dict[str, int]:
        return self._log.faults

    def reset_stats(self) -> None:
        """Forget the requests and counts so far, e.g. between two runs against one simulator."""
        self._log.clear()

    # Scripted trouble

    def fail_next(self, n: int, kind: str, where: Where | None = None) -> None:
        """The next `n` requests get fault `kind`: 5xx, reset, truncated, html_error, slow, 429;
        or, in a list page's body: no_meta, number_cursor, empty_end, reversed (faults.py).
        `where(path, query)`: only requests it is true for."""
        self._faults.fail_next(n, kind, where)

    def clear_faults(self) -> None:
        """Drop queued scripted faults and end any outage; random faults stay as configured."""
        self._faults.clear()

    def outage(self, seconds: float) -> None:
        """For the next `seconds`, every request gets a reset or a 503, alternately."""
        self._faults.outage(seconds)

    # Request handling, called from handler threads

    def _handle(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        query = parse_qs(split.query, keep_blank_values=True)
        authorization = h.headers.get("Authorization") or ""
        role = self._role(authorization)
        scheme = authorization.split(" ", 1)[0] if " " in authorization else ""
        record = RequestRecord(
            h.command, split.path, query, 0, role is not None, time.time(), scheme
        )
        index = self._log.add(record)
        if self.on_request is not None:
            try:
                self.on_request(record)
            except Exception:
                traceback.print_exc(file=sys.stderr)
        if h.command != "GET":
            h.discard_body()
        self._pause(self.config.latency)
        outcome = self._outcome(h.command, h.path, split.path, query, role, scheme == "Bearer")
        # Logged before sending, so a client that has its answer also finds it in the log.
        self._log.answered(index, record, 0 if outcome.reply is None else outcome.reply.status)
        h.deliver(outcome)

    def _outcome(
        self,
        method: str,
        target: str,
        path: str,
        query: dict[str, list[str]],
        role: str | None,
        oauth: bool,
    ) -> _Outcome:
        cfg = self.config
        fault = self._faults.pick(cfg.faults, path, query)
        if fault is not None and fault.kind in BODY_KINDS:
            self._log.fault(fault.kind)
            reply = self._answer(method, target, path, query, role, oauth)
            return _Outcome(_malformed(reply, fault.kind))
        if fault is not None:
            self._log.fault(fault.kind)
            if fault.kind == "slow":
                self._pause(cfg.faults.slow_seconds)
            elif fault.kind != "truncated":
                return _Outcome(self._fault_reply(fault, oauth))
        reply = self._answer(method, target, path, query, role, oauth)
        return _Outcome(reply, truncate=fault is not None and fault.kind == "truncated")

    def _answer(
        self,
        method: str,
        target: str,
        path: str,
        query: dict[str, list[str]],
        role: str | None,
        oauth: bool,
    ) -> Reply:
        cfg = self.config
        if not cfg.account_exists:
            return Reply(404, _HTML_404, "text/html; charset=utf-8")
        if role is None:
            return self._with_limit(error(401, "Unauthorized."), oauth)
        if method != "GET":
            reply = replace(error(405, "Method not allowed."), headers=_ALLOW)
            return self._with_limit(reply, oauth)
        if cfg.rate_limit:
            bucket, capacity = self._bucket_of(oauth)
            admission = bucket.take(capacity, cfg.bucket_window)
            if not admission.admitted:
                headers = (
                    (LIMIT_HEADER, f"{admission.used}/{capacity}"),
                    ("Retry-after", str(admission.retry_after)),
                )
                return replace(error(429, "Too many requests."), headers=headers)
        if role == "noperm" and path.rstrip("/") != "/api/account":
            reply = error(403, cfg.forbidden_reason)
        elif self.uploads is not None and DOWNLOAD_PATH.fullmatch(path):
            reply = self.uploads.redirect(path)
        else:
            reply = self._api.get(target, path, query, cfg.cursor_ttl)
        return self._with_limit(reply, oauth)

    def _bucket_of(self, oauth: bool) -> tuple[LeakyBucket, int]:
        """The bucket a caller's requests go through, and its capacity."""
        if oauth:
            return self._oauth_bucket, self.config.oauth_bucket_capacity
        return self._bucket, self.config.bucket_capacity

    def _fault_reply(self, fault: Fault, oauth: bool) -> Reply | None:
        if fault.kind == "reset":
            return None
        if fault.kind == "html_error":
            return Reply(502, _HTML_502, "text/html; charset=utf-8")
        if fault.kind == "429":
            # Other clients filled the shared bucket: a real 429 then reports it full.
            capacity = self._bucket_of(oauth)[1]
            full = ((LIMIT_HEADER, f"{capacity}/{capacity}"),) if self.config.rate_limit else ()
            retry_after = (("Retry-after", str(self.config.faults.retry_after)),)
            return replace(error(429, "Too many requests."), headers=(*full, *retry_after))
        if fault.status == 502:
            return Reply(502, b"Bad Gateway", "text/plain; charset=utf-8")
        msg = (
            "Internal server error." if fault.status == 500 else "Service temporarily unavailable."
        )
        return self._with_limit(error(fault.status, msg), oauth)

    def _with_limit(self, reply: Reply, oauth: bool) -> Reply:
        """Add the call-limit header as every real response has it (unless limits are off)."""
        cfg = self.config
        if not cfg.rate_limit:
            return reply
        bucket, capacity = self._bucket_of(oauth)
        used = bucket.peek(capacity, cfg.bucket_window)
        header = (LIMIT_HEADER, f"{used}/{capacity}")
        if any(name == LIMIT_HEADER for name, _ in reply.headers):
            return reply
        return replace(reply, headers=(header, *reply.headers))

    def _role(self, authorization: str) -> str | None:
        """'agent', 'noperm', 'oauth', or None when the credentials match no one (or the token
        has expired)."""
        if authorization.startswith("Bearer "):
            return "oauth" if self._token_valid(authorization[7:].strip()) else None
        if not authorization.startswith("Basic "):
            return None
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        email, sep, key = decoded.partition(":")
        if not sep or key != self.config.api_key:
            return None
        if email == self.config.email:
            return "agent"
        return "noperm" if email == NOPERM_EMAIL else None

    def _token_valid(self, token: str) -> bool:
        """Whether `token` is the accepted one and still within its lifetime; counts its use."""
        accepted = self.config.access_token
        if accepted is None or token != accepted:
            return False
        with self._token_lock:
            uses = self._token_uses[token] = self._token_uses.get(token, 0) + 1
        lifetime = self.config.token_lifetime
        return lifetime is None or uses <= lifetime

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)


_ALLOW = (("Allow", "GET"),)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sim: Simulator

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End kept-alive connections too, so that no handler thread outlives `stop`."""
        with self._open_lock:
            sockets = list(self._open)
        for s in sockets:
            with contextlib.suppress(OSError):  # already closed by the client
                s.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that give up (timeouts, killed processes) are routine here, not errors.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real clients use it
    # Headers and body go out in two writes; with Nagle on, small replies would wait 40 ms for
    # the client's delayed ACK.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self.server.sim._handle(self)

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def discard_body(self) -> None:
        """Read a non-GET request's body, so the connection stays in step; close it if huge."""
        length = self.headers.get("Content-Length", "0")
        size = int(length) if length.isdigit() else 0
        if self.headers.get("Transfer-Encoding") or size > _MAX_DISCARDED_BODY:
            self.close_connection = True
        elif size:
            self.rfile.read(size)

    def deliver(self, outcome: _Outcome) -> None:
        """Send the outcome: whole, half of it, or nothing but a reset connection."""
        reply = outcome.reply
        if reply is None:
            # SO_LINGER 0 makes close() send a RST: the client sees a connection reset.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if outcome.truncate:
            # Half the promised bytes, then a silent close, as when a proxy drops the line.
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.close_connection = True
        elif self.command != "HEAD":
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests and demos read the request log instead


def _malformed(reply: Reply, kind: str) -> Reply:
    """A list page's reply with fault `kind` in its body (faults.BODY_KINDS); any other reply
    as it is."""
    try:
        page = json.loads(reply.body) if reply.status == 200 else None
    except ValueError:
        page = None
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        return reply
    if kind == "no_meta":
        page.pop("meta", None)
    elif kind == "number_cursor":
        page["meta"] = {**(page.get("meta") or {}), "next_cursor": 12345}
    elif kind == "empty_end":
        page["data"] = []
        page["meta"] = {**(page.get("meta") or {}), "next_cursor": None, "next_items": None}
    elif kind == "reversed":
        page["data"].reverse()
    return replace(reply, body=dumps(page))
