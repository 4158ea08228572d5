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
- connect and read timeouts, a bounded body (BODY_LIMIT), gzip;
- connections are kept open and shared by the threads that ask for pages ahead; one the server
  has closed meanwhile is noticed before it is used.
"""

from __future__ import annotations

import base64
import http.client
import os
import select
import ssl
import urllib.request
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlencode, urlsplit

from gorgias_export import __version__
from gorgias_export.config import Settings
from gorgias_export.errors import ConfigError

# A page of 100 messages is 100-500 KB; 200 KB bodies are seen in the wild. Anything past this
# is not a page, and reading it would only fill the memory.
BODY_LIMIT = 64 * 1024 * 1024


class TransportError(Exception):
    """The request got no complete answer: a connection refused, reset or cut, a bad body."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransportTimeout(TransportError):
    """No answer within the timeout."""


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
    """Connect within `connect`, then wait at most `read` for each read."""

    def __init__(self, connect: float, read: float) -> None:
        self.connect, self.read = connect, read


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, timeouts: _Timeouts) -> None:
        super().__init__(host, port, timeout=timeouts.connect)
        self._read_timeout = timeouts.read

    def connect(self) -> None:
        super().connect()
        assert self.sock is not None
        self.sock.settimeout(self._read_timeout)


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, timeouts: _Timeouts, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeouts.connect, context=context)
        self._read_timeout = timeouts.read

    def connect(self) -> None:
        super().connect()
        assert self.sock is not None
        self.sock.settimeout(self._read_timeout)


Connection = http.client.HTTPConnection


class Transport:
    """GET requests to one API, with its credentials, proxy and CAs fixed once. Thread-safe:
    each request takes an idle connection, or opens one, and puts it back when done."""

    def __init__(self, settings: Settings, timeout: tuple[float, float]) -> None:
        parts = urlsplit(settings.base_url)
        self._base_url = settings.base_url
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
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

    def get(self, path: str, params: list[tuple[str, str | int]]) -> Answer:
        """GET `path` (under the base URL) and read the whole answer. Raises TransportError
        (or TransportTimeout) when no complete answer came, BodyTooLarge past the limit."""
        target = self._prefix + path + (f"?{urlencode(params)}" if params else "")
        connection = self._take()
        try:
            connection.request("GET", target, headers=self._headers)
            response = connection.getresponse()
            body = _read_body(response)
        except TimeoutError:
            connection.close()
            raise TransportTimeout("a timeout") from None
        except ssl.SSLCertVerificationError as refused:
            connection.close()
            reason = refused.verify_message or "certificate verify failed"
            raise CertificateRefused(reason) from None
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise TransportError(f"a connection error ({exc.__class__.__name__})") from None
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
