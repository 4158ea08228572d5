"""Downloading one file: streamed, bounded, and never with the account's credentials.

A file is first asked for at its own URL (the uploads host), with no credential at all. If that
is refused (401/403: the file is private), it is asked for the documented way: `GET
/api/attachment/download/<domain hash>/<resource name>` on the account's API host, through the
client (credentials, pacing, retries like any API request), which answers 307 to a signed URL;
that URL is then fetched without credentials too. Only https URLs are fetched, or plain http to
loopback (the simulator in tests); a redirect anywhere else is not followed.

Bounded: at most `MAX_REDIRECTS` redirects, connect and read timeouts, a deadline per file (all
its tries and redirects), a few tries on 5xx or a broken connection (none for a host name that
does not exist: the API's download is asked at once), and `max_size` bytes (past it: too_large,
and the rest is not read). Reads take what has arrived (`read1`) under a socket
timeout cut to the deadline, so a server that drips bytes cannot hold a worker past it; `stop()`
shuts the sockets in flight, so a stopping run does not wait for any read. The body goes chunk
by chunk to a `Body` (a part file that hashes it), so memory stays flat whatever the size.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, urljoin, urlsplit

from gorgias_export import __version__
from gorgias_export.api.client import GorgiasClient
from gorgias_export.api.http import _https_proxy, _tls_context, no_such_name
from gorgias_export.config import is_loopback
from gorgias_export.errors import ApiError

log = logging.getLogger("gorgias_export")

MAX_REDIRECTS = 5
CHUNK = 256 * 1024
TRIES = 3  # per URL, on a 5xx or a broken connection
FILE_DEADLINE_SECONDS = 1800.0  # a trickle of bytes cannot hold a run forever
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Characters a request line may carry as they are: escapes already in a URL stay as they came,
# anything else (spaces, non-ASCII) is percent-encoded rather than fail the request.
_PATH_SAFE = "/%!$&'()*+,;=:@~"
_QUERY_SAFE = _PATH_SAFE + "?"
_HEADERS = {
    "User-Agent": f"gorgias-export/{__version__}",
    "Accept": "*/*",
    "Accept-Encoding": "identity",  # the bytes as stored, hashed as stored
}


class Body(Protocol):
    """Where a download's bytes go: started empty (again, for a retry), then written."""

    def start(self) -> None: ...
    def write(self, chunk: bytes) -> None: ...


@dataclass(frozen=True)
class Fetched:
    status: str  # "ok" | "gone" | "forbidden" | "too_large"
    content_type: str | None = None
    size: int | None = None  # what the server announced (too_large)


class Stopped(Exception):
    """The run is stopping: a download in flight gives up (its part file is discarded)."""


class _GaveUp(Exception):
    """Every try of a URL failed."""

    def __init__(self, reason: str, host: str) -> None:
        super().__init__(reason)
        self.reason, self.host = reason, host

    def error(self) -> ApiError:
        return ApiError(
            f"Downloading a file from {self.host} kept failing ({self.reason}); progress is "
            "saved, rerun the same command later to continue."
        )


class _Failed(Exception):
    """A try failed in a way worth another (5xx, a broken or slow connection)."""


def is_fetchable(url: str) -> bool:
    """Whether a URL may be fetched: https, or plain http to loopback only."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return False
    if not host or parts.username or parts.password:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host))


def api_download_path(url: str, file_type: str = "attachment") -> str | None:
    """The API's download path of a file, from its URL: the URL's path without its host
    (`/<domain hash>/<resource name>`), or None when the URL has no such path."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    segments = path.strip("/").split("/")
    if len(segments) < 2 or any(s in ("", ".", "..") for s in segments):
        return None
    return f"/{file_type}/download/{quote('/'.join(segments), safe=_PATH_SAFE)}"


class FileFetcher:
    """Fetches files for one run; thread-safe (each download has its own connection)."""

    def __init__(
        self,
        client: GorgiasClient,
        max_size: int,
        *,
        timeouts: tuple[float, float] = (10.0, 60.0),
        sleep: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
        deadline: float = FILE_DEADLINE_SECONDS,
    ) -> None:
        self._client = client
        self._max_size = max_size
        self._timeouts = timeouts
        self._stopping = threading.Event()
        # The pause between tries ends at once when the run stops.
        self._sleep = sleep if sleep is not None else self._stopping.wait
        self._clock = clock
        self._deadline_seconds = deadline
        self._context: ssl.SSLContext | None = None  # made at the first https URL
        self._lock = threading.Lock()
        self._in_flight: set[socket.socket] = set()

    def stop(self) -> None:
        """End the downloads in flight now: their sockets are shut, so a blocked read returns
        (the run is stopping; its threads must not hold the process's exit)."""
        self._stopping.set()
        with self._lock:
            sockets = list(self._in_flight)
        for sock in sockets:
            _shut(sock)

    def fetch(self, url: str | None, api_path: str | None, body: Body) -> Fetched:
        """Download the file at `url` into `body`; through the API's `api_path` if the plain
        URL is refused (or cannot be fetched)."""
        deadline = self._clock() + self._deadline_seconds
        if url is not None and is_fetchable(url):
            try:
                fetched = self._follow(url, body, MAX_REDIRECTS, deadline)
            except _GaveUp as failed:
                if api_path is None:
                    raise failed.error() from None
                # One dead host (an old CDN, say) must not block every rerun: the documented
                # download may well point elsewhere. If it fails too, the run stops.
                log.warning("A file's URL kept failing (%s); trying the API's download.", failed)
                fetched = None
            if fetched is not None:
                return fetched
        if api_path is None:
            return Fetched("forbidden")
        try:
            return self._through_api(api_path, body, deadline)
        except _GaveUp as failed:
            raise failed.error() from None

    def _through_api(self, api_path: str, body: Body, deadline: float) -> Fetched:
        answer = self._client.get_redirect(api_path)  # the one request with credentials
        if answer.status in (404, 410):
            return Fetched("gone")
        if answer.status >= 400:  # 403, or a 400 for a file type or name it does not take
            return Fetched("forbidden")
        if answer.status < 300:  # the file itself, read whole by the API's transport
            if len(answer.body) > self._max_size:
                return Fetched("too_large", size=len(answer.body))
            body.start()
            body.write(answer.body)
            return Fetched("ok", answer.headers.get("content-type"))
        location = answer.headers.get("location")
        target = urljoin(answer.url, location) if location else ""
        if not is_fetchable(target):
            log.warning("A private file's download pointed to a URL that is not followed.")
            return Fetched("forbidden")
        fetched = self._follow(target, body, MAX_REDIRECTS - 1, deadline)
        return fetched or Fetched("forbidden")

    def _follow(self, url: str, body: Body, redirects: int, deadline: float) -> Fetched | None:
        """Fetch `url` without credentials, following redirects; None when refused (4xx other
        than gone), or sent somewhere that is not followed."""
        for _ in range(redirects + 1):
            outcome = self._tries(url, body, deadline)
            if isinstance(outcome, Fetched):
                return outcome
            if outcome is None:
                return None
            if not is_fetchable(outcome):
                log.warning("A file's URL redirected to a URL that is not followed.")
                return None
            url = outcome
        log.warning("A file's URL redirected more than %d times.", redirects)
        return None

    def _tries(self, url: str, body: Body, deadline: float) -> Fetched | str | None:
        for attempt in range(1, TRIES + 1):
            try:
                return self._once(url, body, deadline)
            except _Failed as failed:
                if attempt == TRIES:
                    raise _GaveUp(f"{failed}", urlsplit(url).hostname or "?") from None
                self._sleep(2.0**attempt)
        raise AssertionError("unreachable")

    def _once(self, url: str, body: Body, deadline: float) -> Fetched | str | None:
        """One GET: a result, the next URL of a redirect, or None (refused)."""
        if self._stopping.is_set():
            raise Stopped("the export is stopping")
        if self._clock() >= deadline:
            raise _Failed("a download slower than its deadline")
        try:
            connection = self._connect(url, deadline)
        except OSError as exc:
            if no_such_name(exc):  # as for the API's host: no retry brings a name into being
                raise _GaveUp(
                    "the host name does not exist", urlsplit(url).hostname or "?"
                ) from None
            raise _Failed(exc.__class__.__name__) from None
        sock = connection.sock  # kept: the connection drops it when the response takes it over
        assert sock is not None
        with self._lock:
            self._in_flight.add(sock)
        if self._stopping.is_set():  # stop() may have run just before the add
            _shut(sock)
        try:
            parts = urlsplit(url)
            query = f"?{quote(parts.query, safe=_QUERY_SAFE)}" if parts.query else ""
            target = quote(parts.path or "/", safe=_PATH_SAFE) + query
            connection.request("GET", target, headers=_HEADERS)
            response = connection.getresponse()
            status = response.status
            if status in _REDIRECTS:
                location = response.getheader("Location")
                return urljoin(url, location) if location else None
            if status in (404, 410):
                return Fetched("gone")
            if status >= 500 or status == 429:
                raise _Failed(f"HTTP {status}")
            if status != 200:
                return None
            return self._stream(response, body, sock, deadline)
        except Exception as exc:
            if self._stopping.is_set():  # whatever a shut socket raised: the run is stopping
                raise Stopped("the export is stopping") from None
            if isinstance(exc, (OSError, http.client.HTTPException)):
                raise _Failed(exc.__class__.__name__) from None
            raise
        finally:
            with self._lock:
                self._in_flight.discard(sock)
            connection.close()

    def _stream(
        self, response: http.client.HTTPResponse, body: Body, sock: socket.socket, deadline: float
    ) -> Fetched:
        content_type = response.getheader("Content-Type")
        announced = response.getheader("Content-Length")
        if announced is not None and announced.isdigit() and int(announced) > self._max_size:
            return Fetched("too_large", size=int(announced))
        body.start()
        read_timeout = self._timeouts[1]
        total = 0
        while True:
            left = deadline - self._clock()
            if left <= 0:
                raise _Failed("a download slower than its deadline")
            # A read waits at most until the deadline; read1 returns what has come so far
            # rather than wait for a whole chunk.
            sock.settimeout(min(read_timeout, left))
            chunk = response.read1(CHUNK)
            if self._stopping.is_set():  # a shut socket reads as an end of file
                raise Stopped("the export is stopping")
            if not chunk:
                break
            total += len(chunk)
            if total > self._max_size:
                return Fetched("too_large")
            body.write(chunk)
        if announced is not None and announced.isdigit() and total != int(announced):
            raise _Failed("a body shorter than its Content-Length")
        return Fetched("ok", content_type)

    def _connect(self, url: str, deadline: float) -> http.client.HTTPConnection:
        parts = urlsplit(url)
        host = parts.hostname or ""
        left = max(deadline - self._clock(), 0.001)
        connect, read = (min(limit, left) for limit in self._timeouts)
        if parts.scheme == "http":
            connection = http.client.HTTPConnection(host, parts.port or 80, timeout=connect)
        else:
            if self._context is None:
                self._context = _tls_context()
            proxy = _https_proxy(host)
            port = parts.port or 443
            if proxy is None:
                connection = http.client.HTTPSConnection(
                    host, port, timeout=connect, context=self._context
                )
            else:
                proxy_host, proxy_port, auth = proxy
                connection = http.client.HTTPSConnection(
                    proxy_host, proxy_port, timeout=connect, context=self._context
                )
                headers = {"Proxy-Authorization": auth} if auth else None
                connection.set_tunnel(host, port, headers=headers)
        connection.connect()
        assert connection.sock is not None
        connection.sock.settimeout(read)
        return connection


def _shut(sock: socket.socket) -> None:
    """Wake any read blocked on `sock` (it returns at once); closing is left to its owner."""
    # OSError: already closed, or never connected; nothing is waiting on it.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, for TLS too
