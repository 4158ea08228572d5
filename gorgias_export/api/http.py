"""The HTTP layer: one GET to the API, read whole, over the standard library's http.client.

Not requests: importing it costs 7 MB and a seventh of a second on every run, and each request
through it costs three times the CPU of this module (1.2 ms against 0.4 ms on loopback), which
for an exporter that makes a request per hundred rows is a fifth of its whole budget
(BENCHMARKS.md). What this layer must get right, it does here, in one place:
- only GET is ever sent: there is no other method to call;
- TLS is verified (the system's CAs, or REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE / SSL_CERT_FILE);
- the credentials go to the configured host only: redirects are not followed (the client
  turns a 3xx into an error), and plain http (allowed only to loopback) never goes through a
  proxy, where the key would travel in clear; https goes through HTTPS_PROXY inside a CONNECT
  tunnel, so the proxy sees no credential;
- connect and read timeouts, and an overall deadline per response (a server dripping a byte
  every few seconds never times out a read, and would hold the run for ever); a bounded body
  (BODY_LIMIT), gzip;
- connections are kept open and shared by the threads that ask for pages ahead; one the server
  has closed meanwhile is noticed before it is used.
"""

from __future__ import annotations

import base64
import http.client
import io
import os
import select
import socket
import ssl
import time
import urllib.request
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, unquote, urlencode, urlsplit

from gorgias_export import __version__
from gorgias_export.config import Settings
from gorgias_export.errors import ConfigError

# A page of 100 messages is 100-500 KB; 200 KB bodies are seen in the wild. Anything past this
# is not a page, and reading it would only fill the memory.
BODY_LIMIT = 64 * 1024 * 1024
# getaddrinfo's answers that mean the name does not exist, not that DNS failed this time.
_NO_SUCH_NAME = {
    code for code in (getattr(socket, n, None) for n in ("EAI_NONAME", "EAI_NODATA")) if code
}


def no_such_name(error: BaseException) -> bool:
    """Whether a failed lookup says the host name does not exist (not that DNS failed this time):
    worth no retry."""
    return isinstance(error, socket.gaierror) and error.errno in _NO_SUCH_NAME


class TransportError(Exception):
    """The request got no complete answer: a connection refused, reset or cut, a bad body."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransportTimeout(TransportError):
    """No answer within the timeout."""


class HostNotFound(TransportError):
    """The host name does not resolve. `permanent`: the name does not exist (a typo in the
    domain, say), not a name server that failed to answer this time."""

    def __init__(self, reason: str, host: str, permanent: bool) -> None:
        super().__init__(reason)
        self.host = host
        self.permanent = permanent


class BodyTooLarge(Exception):
    """The answer is larger than BODY_LIMIT: not something to retry."""


class CertificateRefused(Exception):
    """The host's TLS certificate did not verify: a wrong host or CA bundle, not an outage."""


@dataclass(frozen=True)
class Answer:
    """A response, read whole."""

    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    url: str


class _Timeouts:
    """Connect within `connect`, then wait at most `read` for each read, and `whole` for the
    whole response (status line, headers and body)."""

    def __init__(self, connect: float, read: float, whole: float) -> None:
        self.connect, self.read, self.whole = connect, read, whole


class _DeadlineSocketReader(io.RawIOBase):
    """A socket's bytes, each read waiting at most until the response's deadline."""

    def __init__(self, sock: socket.socket, read: float, deadline: float) -> None:
        self._sock, self._read, self._deadline = sock, read, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the whole response took too long")
        self._sock.settimeout(min(self._read, remaining))
        return self._sock.recv_into(buffer)


class _DeadlineResponse(http.client.HTTPResponse):
    """A response read through `_DeadlineSocketReader`, against its connection's deadline."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        timeouts: _Timeouts = kwargs.pop("timeouts")
        deadline: float = kwargs.pop("deadline")
        super().__init__(sock, *args, **kwargs)
        self.fp.close()  # the plain reader made above: it holds a reference to the socket
        self.fp = io.BufferedReader(_DeadlineSocketReader(sock, timeouts.read, deadline))


class _DeadlineMixin:
    """A connection whose responses must be whole by `deadline` (set before each request)."""

    _timeouts: _Timeouts
    deadline: float = 0.0
    sock: Any

    def _make_response(self, sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
        return _DeadlineResponse(
            sock, *args, timeouts=self._timeouts, deadline=self.deadline, **kwargs
        )

    def _after_connect(self) -> None:
        assert self.sock is not None
        self.sock.settimeout(self._timeouts.read)


class _HTTPConnection(_DeadlineMixin, http.client.HTTPConnection):
    def __init__(self, host: str, port: int, timeouts: _Timeouts) -> None:
        super().__init__(host, port, timeout=timeouts.connect)
        self._timeouts = timeouts
        # http.client makes each response (a CONNECT's too) with this: one of ours instead.
        self.response_class = cast(Any, self._make_response)

    def connect(self) -> None:
        super().connect()
        self._after_connect()


class _HTTPSConnection(_DeadlineMixin, http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, timeouts: _Timeouts, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeouts.connect, context=context)
        self._timeouts = timeouts
        # http.client makes each response (a CONNECT's too) with this: one of ours instead.
        self.response_class = cast(Any, self._make_response)

    def connect(self) -> None:
        super().connect()
        self._after_connect()


Connection = _HTTPConnection | _HTTPSConnection


class Transport:
    """GET requests to one API, with its credentials, proxy and CAs fixed once. Thread-safe:
    each request takes an idle connection, or opens one, and puts it back when done."""

    def __init__(self, settings: Settings, timeout: tuple[float, float, float]) -> None:
        parts = urlsplit(settings.base_url)
        self._base_url = settings.base_url
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self.host = self._host  # the API's host (a proxy's is another)
        self._port = parts.port or (443 if self._https else 80)
        # Percent-encoded as requests did: http.client sends the request line as it is given.
        self._prefix = quote(parts.path.rstrip("/"), safe="/%:@!$&'()*+,;=~")
        self._headers = {
            "User-Agent": f"gorgias-export/{__version__}",
            "Accept": "application/json",
            "Accept-Encoding": "gzip",
            "Authorization": settings.authorization(),  # Basic, or Bearer with a token
        }
        self._timeouts = _Timeouts(*timeout)
        self._context = _tls_context() if self._https else None
        self._proxy = _https_proxy(self._host) if self._https else None
        self._idle: list[Connection] = []
        self._closed = False

    def get(
        self, path: str, params: list[tuple[str, str | int]], within: float | None = None
    ) -> Answer:
        """GET `path` (under the base URL) and read the whole answer, within `within` seconds
        if given (else the transport's limit for a whole response). Raises TransportError
        (or TransportTimeout) when no complete answer came, BodyTooLarge past the limit."""
        target = self._prefix + path + (f"?{urlencode(params)}" if params else "")
        connection = self._take()
        whole = self._timeouts.whole if within is None else min(within, self._timeouts.whole)
        connection.deadline = time.monotonic() + whole
        try:
            if connection.sock is not None:  # the last response may have left it shorter
                connection.sock.settimeout(self._timeouts.read)
            connection.request("GET", target, headers=self._headers)
            response = connection.getresponse()
            body = _read_body(response)
        except TimeoutError as timeout:
            connection.close()
            if time.monotonic() >= connection.deadline:
                raise TransportTimeout(f"no whole answer within {whole:g} s") from None
            raise TransportTimeout(f"a timeout ({timeout})") from None
        except ssl.SSLCertVerificationError as refused:
            connection.close()
            reason = refused.verify_message or "certificate verify failed"
            raise CertificateRefused(reason) from None
        except socket.gaierror as exc:
            connection.close()
            host = self._proxy[0] if self._proxy else self._host
            permanent = no_such_name(exc)
            raise HostNotFound(f"the host name {host} does not resolve", host, permanent) from None
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            what = exc.__class__.__name__
            if str(exc).startswith("Tunnel connection failed"):  # the proxy's answer to CONNECT
                what = str(exc)
            if self._proxy is not None:
                host, port, _ = self._proxy
                raise TransportError(
                    f"a connection error through the proxy {host}:{port} ({what})"
                ) from None
            raise TransportError(f"a connection error ({what})") from None
        except BaseException:
            connection.close()
            raise
        if response.will_close or self._closed:
            connection.close()
        else:
            self._idle.append(connection)  # list.append and pop are atomic
        headers = {name.lower(): value for name, value in response.getheaders()}
        query = target[len(self._prefix) + len(path) :]
        return Answer(response.status, headers, body, self._base_url + path + query)

    def close(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().close()

    def _take(self) -> Connection:
        while True:
            try:
                connection = self._idle.pop()
            except IndexError:
                return self._new()
            if not _dropped(connection):
                return connection
            connection.close()  # the server closed it while it was idle

    def _new(self) -> Connection:
        if self._context is None:
            return _HTTPConnection(self._host, self._port, self._timeouts)
        if self._proxy is None:
            return _HTTPSConnection(self._host, self._port, self._timeouts, self._context)
        host, port, auth = self._proxy
        connection = _HTTPSConnection(host, port, self._timeouts, self._context)
        headers = {"Proxy-Authorization": auth} if auth else None
        connection.set_tunnel(self._host, self._port, headers=headers)
        return connection


def _read_body(response: http.client.HTTPResponse) -> bytes:
    body = response.read(BODY_LIMIT + 1)
    if len(body) > BODY_LIMIT:
        raise BodyTooLarge(f"an answer larger than {BODY_LIMIT // 2**20} MB")
    if response.getheader("Content-Encoding", "").strip().lower() == "gzip":
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflate.decompress(body, BODY_LIMIT + 1)
        except zlib.error:
            raise TransportError("a gzip body that does not inflate") from None
        if len(body) > BODY_LIMIT or inflate.unconsumed_tail:
            raise BodyTooLarge(f"an answer larger than {BODY_LIMIT // 2**20} MB")
    return body


def _dropped(connection: Connection) -> bool:
    """Whether an idle connection was closed by the server (its socket reads as ready: an end
    of file, or bytes nobody asked for)."""
    sock = connection.sock
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _tls_context() -> ssl.SSLContext:
    bundle = (
        os.environ.get("REQUESTS_CA_BUNDLE")
        or os.environ.get("CURL_CA_BUNDLE")
        or os.environ.get("SSL_CERT_FILE")
    )
    try:
        return ssl.create_default_context(cafile=bundle or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"Could not read the CA bundle {bundle} ({exc.__class__.__name__}); fix or unset "
            "REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE / SSL_CERT_FILE."
        ) from None


def _https_proxy(host: str) -> tuple[str, int, str | None] | None:
    """(host, port, Proxy-Authorization) of the HTTPS_PROXY (or ALL_PROXY) to tunnel through,
    unless NO_PROXY says this host is reached directly. An http:// proxy's port defaults to 80,
    as in curl and requests."""
    proxies = urllib.request.getproxies_environment()
    url = proxies.get("https") or proxies.get("all")
    if not url or urllib.request.proxy_bypass(host):
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    try:
        port = parts.port or 80
    except ValueError:
        port = 0
    if parts.scheme != "http" or not parts.hostname or not port:
        raise ConfigError(
            f"HTTPS_PROXY {parts.scheme}://{parts.hostname} is not supported; give an "
            "http://host:port proxy (the API's TLS runs through its tunnel)."
        )
    auth = None
    if parts.username:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        auth = "Basic " + base64.b64encode(pair).decode("ascii")
    return parts.hostname, port, auth
