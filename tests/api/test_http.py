"""The HTTP transport on the standard library: what requests used to do for us, done here."""

from __future__ import annotations

import gzip
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from gorgias_export.api import http
from gorgias_export.api.client import GorgiasClient
from gorgias_export.config import Secret, Settings
from gorgias_export.errors import ApiError, ConfigError, ExitCode
from tests.support.account import SECRET_KEY, SECRET_TOKEN
from tests.support.fake_api import FakeApi
from tests.support.fakes import FakeTime


def client_for(settings: Settings, url: str) -> GorgiasClient:
    time = FakeTime()
    return GorgiasClient(replace(settings, base_url=url), sleep=time.sleep, clock=time.clock)


def test_a_gzip_body_is_inflated(settings: Settings) -> None:
    with FakeApi() as api:
        body = gzip.compress(b'{"domain": "acme"}')
        api.get("/account", body=body, headers={"Content-Encoding": "gzip"})
        assert client_for(settings, api.url).get_json("/account") == {"domain": "acme"}
        assert api.calls[0].headers["accept-encoding"] == "gzip"


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip-bomb"])
def test_a_body_past_the_limit_stops_the_run_without_retrying(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, compressed: bool
) -> None:
    monkeypatch.setattr(http, "BODY_LIMIT", 1000)
    data = b'{"domain": "' + b"a" * 5000 + b'"}'
    with FakeApi() as api:
        if compressed:  # small on the wire, past the limit once inflated
            api.get("/account", body=gzip.compress(data), headers={"Content-Encoding": "gzip"})
        else:
            api.get("/account", body=data)
        client = client_for(settings, api.url)
        with pytest.raises(ApiError, match="larger than") as raised:
            client.get_json("/account")
        assert len(api.calls) == 1 and client.stats.retries == 0
        assert raised.value.exit_code == ExitCode.API


def test_a_connection_the_server_closed_while_idle_is_not_reused(settings: Settings) -> None:
    """Keep-alive ends on the server's side without a word: the next request must notice
    before sending on the dead connection, and open another one, without a retry."""
    with FakeApi() as api:
        api.get("/account", json={"domain": "acme"}, close=True)
        client = client_for(settings, api.url)
        client.get_json("/account")
        connection = client._transport._idle[0]  # what the next request would take
        assert select.select([connection.sock], [], [], 5)[0], "the server did not close it"
        client.get_json("/account")
        assert client.stats.retries == 0 and api.connections == 2 and len(api.calls) == 2


# -- TLS and proxies ----------------------------------------------------------------------------


@pytest.fixture
def certificate() -> Path:
    """A self-signed certificate for 127.0.0.1, key included, valid until 2126 (made once with
    `openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj /CN=127.0.0.1
    -addext subjectAltName=IP:127.0.0.1`): for tests only, it guards nothing."""
    return Path(__file__).parent.parent / "support" / "localhost.pem"


@pytest.fixture
def tls_api(certificate: Path) -> Iterator[FakeApi]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate)
    with FakeApi(tls=context) as api:
        api.get("/account", json={"domain": "acme"})
        yield api


def test_tls_is_verified_against_the_ca_bundle(
    settings: Settings, tls_api: FakeApi, certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))
    assert client_for(settings, tls_api.url).get_json("/account") == {"domain": "acme"}
    assert tls_api.calls[0].headers["authorization"].startswith("Basic ")


def test_a_certificate_that_does_not_verify_is_a_config_error_at_once(
    settings: Settings, tls_api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not an outage to wait out for minutes: the host is not who it says (or the CA bundle
    is missing), and nothing was sent to it."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    client = client_for(settings, tls_api.url)
    with pytest.raises(ConfigError, match="did not verify") as raised:
        client.get_json("/account")
    assert raised.value.exit_code == ExitCode.CONFIG
    assert client.stats.retries == 0 and tls_api.calls == []


class _ConnectProxy:
    """A forward proxy that only tunnels (CONNECT), recording what it was told in clear."""

    def __init__(self) -> None:
        self.heard: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += client.recv(4096)
        self.heard.append(head)
        host, _, port = head.split()[1].decode().rpartition(":")
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        self._listener.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        sink.close()


@pytest.mark.parametrize("scheme", ["Basic", "Bearer"])
def test_https_goes_through_the_proxy_in_a_tunnel_the_proxy_cannot_read(
    settings: Settings,
    tls_api: FakeApi,
    certificate: Path,
    monkeypatch: pytest.MonkeyPatch,
    scheme: str,
) -> None:
    if scheme == "Bearer":  # an OAuth token travels exactly as the key does
        settings = replace(settings, access_token=Secret(SECRET_TOKEN))
    proxy = _ConnectProxy()
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))
        monkeypatch.setenv("HTTPS_PROXY", f"http://carol:s3cret@127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        assert client_for(settings, tls_api.url).get_json("/account") == {"domain": "acme"}
    finally:
        proxy.close()
    assert len(proxy.heard) == 1 and proxy.heard[0].startswith(b"CONNECT 127.0.0.1:")
    assert b"Proxy-Authorization: Basic" in proxy.heard[0]  # the proxy's own credentials
    assert b"Authorization" not in proxy.heard[0].replace(b"Proxy-Authorization", b"")
    assert SECRET_KEY.encode() not in proxy.heard[0]
    assert SECRET_TOKEN.encode() not in proxy.heard[0]
    assert tls_api.calls[0].headers["authorization"].startswith(f"{scheme} ")


def test_no_proxy_reaches_the_host_directly(
    settings: Settings, tls_api: FakeApi, certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert client_for(settings, tls_api.url).get_json("/account") == {"domain": "acme"}


def test_a_proxy_that_is_not_http_is_refused_with_a_clear_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://user:pw@proxy.example:1080")
    with pytest.raises(ConfigError, match=r"HTTPS_PROXY socks5://proxy\.example") as raised:
        client_for(settings, "https://acme.gorgias.com/api")
    assert "pw" not in raised.value.message


# An answer that takes about 8 s to drip at 0.05 s a byte (status line and headers too).
DRIPPED_ACCOUNT = b'{"domain": "acme"' + b" " * 100 + b"}"
DRIPPED_WHOLE = len(b"HTTP/1.1 200 OK\r\nContent-Length: 118\r\n\r\n") + len(DRIPPED_ACCOUNT)


def test_an_answer_dripping_a_byte_at_a_time_ends_at_the_response_deadline(
    settings: Settings,
) -> None:
    """Issue 12: a byte every 5 s never times out a read (60 s), and kept `check` alive past
    200 s. Each response has an overall deadline, however its bytes come."""
    with FakeApi() as api:
        api.get("/account", body=DRIPPED_ACCOUNT, drip=0.05)  # whole after ~8 s
        transport = http.Transport(replace(settings, base_url=api.url), (5.0, 1.0, 0.5))
        with pytest.raises(http.TransportTimeout, match="no whole answer within"):
            transport.get("/account", [])
        # Given up at the 0.5 s deadline, long before the answer was whole: measured in bytes
        # the server got to send, not in the test's wall time (a loaded machine stretches that).
        assert api.dripped < DRIPPED_WHOLE // 2, f"{api.dripped} bytes read past the deadline"
        transport.close()


def test_first_contact_gives_up_on_a_dripping_server_within_its_budget(
    settings: Settings,
) -> None:
    """The 60 s first-contact limit holds for one slow response too, not only for retries."""
    with FakeApi() as api:
        api.get("/account", body=DRIPPED_ACCOUNT, drip=0.05)
        client = GorgiasClient(
            replace(settings, base_url=api.url), first_contact_budget=0.5, read_timeout=1.0
        )
        with pytest.raises(ApiError, match="within"):
            client.get_json("/account")
        assert api.dripped < DRIPPED_WHOLE // 2, f"{api.dripped} bytes read past the budget"
        client.close()
