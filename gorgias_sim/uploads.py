"""The files: a second loopback host standing in for uploads.gorgias.io and its signed URLs.

With `SimConfig(uploads=True)`, the simulator starts this server beside the API (another port
of 127.0.0.1) and points every message attachment and call recording at it, with hostile
display names. Each file is one of:
- public: served to anyone at its plain URL;
- private: its plain URL answers 403; `GET /api/attachment/download/<hash>/<resource>` on the
  API (with credentials) answers 307 to a signed URL here, which serves it;
- gone: 404 everywhere.
A request that carries credentials (Authorization, Cookie, Proxy-Authorization) is refused with
400 and recorded: tests assert that none came. Bytes are deterministic (seeded by the path).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from .records import Obj
from .replies import Reply, error

HOST = "127.0.0.1"
DOMAIN_HASH = "Hna8kldnmlal"
FILE_TYPES = ("attachment", "public_attachment", "profile_picture", "widget_picture")
DOWNLOAD_PATH = re.compile(r"/api/(" + "|".join(FILE_TYPES) + r")/download/([^/]+)/([^/]+)")
CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")
SIGNED_SECONDS = 60  # a signed URL's life, as the real ones expire
_CHUNK = 64 * 1024

# What senders call files (each case a test of the exporter's safe names).
HOSTILE_NAMES = (
    "../../etc/passwd",
    "CON.txt",
    "x" * 300 + ".pdf",
    "invoice\u202egpj.exe",
    "tab\there\x00\x07\x1b[31m.txt",
    "..",
    "",
    "/absolute/path.png",
    "C:\\Windows\\win.ini",
    " .hidden. ",
    "nul",
    "\u200f\u2066right-to-left\u2069.doc",
)
DUPLICATE_NAME = "report.pdf"  # twice in one message


@dataclass(frozen=True)
class StoredFile:
    path: str  # "/<domain hash>/<resource name>"
    size: int
    access: str  # "public" | "private" | "gone"


@dataclass(frozen=True)
class UploadRequest:
    """One request the uploads host received."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    status: int

    @property
    def credentials(self) -> bool:
        return any(name in self.headers for name in CREDENTIAL_HEADERS)


def file_bytes(path: str, size: int) -> bytes:
    """The content of the file at `path`: the same bytes on every run."""
    return random.Random(path).randbytes(size)


def sha256_of(path: str, size: int) -> str:
    return hashlib.sha256(file_bytes(path, size)).hexdigest()


class Uploads:
    """The uploads host: files by path, the requests it saw, hooks for tests."""

    def __init__(self, port: int = 0) -> None:
        self.files: dict[str, StoredFile] = {}
        self._requests: list[UploadRequest] = []
        self._lock = threading.Lock()
        self._key = b"sim-signing-key"
        self._port = port
        self._server: _Server | None = None
        # Called before answering, and again halfway through a body (`halfway` True).
        self.on_request: Callable[[UploadRequest, bool], None] | None = None

    def start(self) -> Uploads:
        if self._server is None:
            self._server = _Server((HOST, self._port), _Handler)
            self._server.uploads = self
            self._port = self._server.server_address[1]
            threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"gorgias-uploads-{self._port}",
                daemon=True,
            ).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._port}"

    @property
    def requests(self) -> list[UploadRequest]:
        with self._lock:
            return list(self._requests)

    def add(self, resource: str, size: int, access: str) -> str:
        """Store a file; its plain URL."""
        path = f"/{DOMAIN_HASH}/{resource}"
        self.files[path] = StoredFile(path, size, access)
        return self.url + path

    # -- the API side: /api/<file type>/download/<hash>/<resource> -----------------------------

    def redirect(self, api_path: str) -> Reply:
        match = DOWNLOAD_PATH.fullmatch(api_path)
        assert match is not None
        path = f"/{match.group(2)}/{match.group(3)}"
        stored = self.files.get(path)
        if stored is None or stored.access == "gone":
            return error(404, "Not found.")
        expires = str(int(time.time()) + SIGNED_SECONDS)
        location = (
            f"{self.url}{quote(path)}?expires={expires}&signature={self._sign(path, expires)}"
        )
        return Reply(307, b"", "text/plain", (("Location", location),))

    def _sign(self, path: str, expires: str) -> str:
        return hmac.new(self._key, f"{path} {expires}".encode(), "sha256").hexdigest()

    def _signed(self, path: str, query: dict[str, list[str]]) -> bool:
        expires = (query.get("expires") or [""])[0]
        signature = (query.get("signature") or [""])[0]
        good = hmac.compare_digest(signature, self._sign(path, expires))
        return good and expires.isdigit() and int(expires) >= time.time()

    # -- the uploads side ----------------------------------------------------------------------

    def _answer(self, path: str, query: dict[str, list[str]], credentials: bool) -> int:
        if credentials:
            return 400  # a signed-URL store refuses a second form of authentication
        stored = self.files.get(path)
        if stored is None or stored.access == "gone":
            return 404
        if stored.access == "private" and not self._signed(path, query):
            return 403
        return 200

    def _handle(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        query = parse_qs(split.query, keep_blank_values=True)
        headers = {name.lower(): value for name, value in h.headers.items()}
        path = split.path
        status = self._answer(path, query, any(n in headers for n in CREDENTIAL_HEADERS))
        record = UploadRequest(path, query, headers, status)
        with self._lock:
            self._requests.append(record)
        if self.on_request is not None:
            self.on_request(record, False)
        if status != 200:
            body = f"{status}\n".encode()
            h.send_response(status)
            h.send_header("Content-Type", "text/plain")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        stored = self.files[path]
        data = file_bytes(path, stored.size)
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        half = len(data) // 2
        h.wfile.write(data[:half])
        h.wfile.flush()
        if self.on_request is not None:
            self.on_request(record, True)
        for start in range(half, len(data), _CHUNK):
            h.wfile.write(data[start : start + _CHUNK])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    uploads: Uploads

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that give up (killed processes, a too-large file left unread) are routine.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        try:
            self.server.uploads._handle(self)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client went away (killed, say)

    def log_message(self, format: str, *args: Any) -> None:
        pass


# -- the dataset's files ------------------------------------------------------------------------


def install(messages: list[Obj], recordings: list[Obj], uploads: Uploads) -> None:
    """Point every attachment and recording at `uploads`, storing a file for each: a mix of
    public, private and gone ones, hostile names, and a name twice in one message."""
    n = 0
    for message in messages:
        attachments = message.get("attachments")
        if not attachments:
            continue
        for k, attachment in enumerate(attachments):
            attachment.update(_attachment(uploads, n, message["id"], k, attachment))
            n += 1
        if n <= len(attachments):  # the first message with attachments: a duplicate name
            twin = dict(attachments[0], name=DUPLICATE_NAME)
            twin.update(_attachment(uploads, n, message["id"], len(attachments), twin))
            attachments[0]["name"] = DUPLICATE_NAME
            attachments.append(twin)
            n += 1
    for recording in recordings:
        if recording.get("url"):
            access = "private" if recording["id"] % 2 else "public"
            size = 500 + recording["id"] % 3000
            recording["url"] = uploads.add(f"voice-{recording['call_id']}.mp3", size, access)


def attach(message: Obj, uploads: Uploads, n: int) -> Obj:
    """Give `message` (a test's new one) one more attachment, the `n`th kind; returns it."""
    attachments = message.get("attachments") or []
    attachment = _attachment(uploads, n, message["id"], len(attachments), {"name": f"new-{n}.txt"})
    message["attachments"] = [*attachments, attachment]
    return attachment


def _attachment(uploads: Uploads, n: int, message_id: int, k: int, old: Obj) -> Obj:
    access = "gone" if n % 7 == 3 else "private" if n % 3 == 1 else "public"
    size = 100 + (n * 7919) % 40_000
    token = hashlib.sha1(f"{message_id}-{k}".encode()).hexdigest()[:12]
    url = uploads.add(f"download_{k}-{message_id}-{token}.bin", size, access)
    name = HOSTILE_NAMES[n // 2 % len(HOSTILE_NAMES)] if n % 2 == 0 else old.get("name")
    content_type = old.get("content_type") or "application/octet-stream"
    return {
        "url": url,
        "name": name,
        "size": size,
        "content_type": content_type,
        "public": access != "private",
    }
