"""The HTTP client: GET only, Basic auth, retries with backoff, give-up budgets, 4xx hints,
and a key that never shows in a message or a log."""

from __future__ import annotations

import inspect
import logging
import random
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gorgias_export.api import download as download_module
from gorgias_export.api import http as http_module
from gorgias_export.api.client import BrokenBody, GorgiasClient, OptionalRequestFailed
from gorgias_export.api.http import Transport
from gorgias_export.config import Secret, Settings
from gorgias_export.errors import (
    ApiError,
    AuthError,
    ConfigError,
    CursorRejected,
    ExitCode,
    UsageError,
)
from tests.support.account import SECRET_KEY, SECRET_TOKEN
from tests.support.fake_api import FakeApi
from tests.support.fakes import FakeTime

LIMIT = {"X-Gorgias-Account-Api-Call-Limit": "1/40"}


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi() as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, api: FakeApi) -> Settings:
    """The account's settings, with the scripted API on 127.0.0.1 as its base URL."""
    return replace(settings, base_url=api.url)


def make_client(settings: Settings, time: FakeTime, read_timeout: float = 60.0) -> GorgiasClient:
    return GorgiasClient(
        settings,
        sleep=time.sleep,
        clock=time.clock,
        rng=random.Random(1),
        read_timeout=read_timeout,
    )


def read_timeout_for(failure: dict[str, object]) -> float:
    """0.1 s where the failure is an answer 1 s late; elsewhere the default, so that an answer
    held up on a loaded machine is not taken for a failure (and retried) where none was meant."""
    return 0.1 if failure.get("delay") else 60.0


def page(items: list[dict[str, object]], next_cursor: str | None = None) -> dict[str, object]:
    return {
        "object": "list",
        "uri": "/api/x",
        "data": items,
        "meta": {"next_cursor": next_cursor, "prev_cursor": None},
    }


def test_the_client_has_no_way_to_write(settings: Settings, api: FakeApi) -> None:
    """Only GET exists, from the client's methods down to the one `request` call that sends."""
    public = {name for name in dir(GorgiasClient) if not name.startswith("_")}
    assert public == {
        "get_json",
        "get_any_json",
        "fetch_page",
        "fetch_body",
        "page_of",
        "get_redirect",
        "close",
    }
    assert {name for name in dir(Transport) if not name.startswith("_")} == {"get", "close"}
    for module in (http_module, download_module):  # the API's transport, and files' downloads
        sent = inspect.getsource(module).count(".request(")
        assert sent == 1 and 'connection.request("GET", ' in inspect.getsource(module)
    api.get("/tickets", json=page([]))
    make_client(settings, FakeTime()).fetch_page("/tickets", [("limit", 100)])
    assert [call.method for call in api.calls] == ["GET"]


def test_basic_auth_and_params(settings: Settings, api: FakeApi) -> None:
    api.get("/tickets", json=page([{"id": 1}]), headers=LIMIT)
    client = make_client(settings, FakeTime())
    result = client.fetch_page(
        "/tickets", [("limit", 100), ("order_by", "created_datetime:asc")], "abc"
    )
    assert result.items == [{"id": 1}] and result.next_cursor is None
    call = api.calls[0]
    assert call.headers["authorization"].startswith("Basic ")
    assert "limit=100" in call.url and "order_by=created_datetime%3Aasc" in call.url
    assert "cursor=abc" in call.url


def test_429_waits_for_retry_after_then_succeeds(settings: Settings, api: FakeApi) -> None:
    time = FakeTime()
    api.get(
        "/account",
        status=429,
        json={"error": {"msg": "Too many"}},
        headers={"Retry-after": "7", **LIMIT},
    )
    api.get("/account", json={"domain": "acme"}, headers=LIMIT)
    client = make_client(settings, time)
    assert client.get_json("/account") == {"domain": "acme"}
    assert client.stats.rate_limited == 1
    assert max(time.sleeps) >= 7


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 503, "body": "oops"},
        {"status": 200, "body": "<html>not json</html>"},
        {"status": 200, "body": '{"data": [1, 2'},  # a truncated body
        {"reset": True},  # the connection closed without an answer
        {"delay": 1.0},  # slower than the client's 0.1 s read timeout
    ],
    ids=["5xx", "html-200", "truncated-json", "reset", "timeout"],
)
def test_retriable_failures_are_retried_with_backoff(
    settings: Settings,
    failure: dict[str, object],
    api: FakeApi,
) -> None:
    time = FakeTime()
    for _ in range(3):
        api.get("/account", **failure)  # type: ignore[arg-type]
    api.get("/account", json={"ok": True}, headers=LIMIT)
    client = make_client(settings, time, read_timeout=read_timeout_for(failure))
    assert client.get_json("/account") == {"ok": True}
    assert client.stats.retries == 3
    assert len(time.sleeps) == 3
    assert time.sleeps[0] < time.sleeps[2]  # backing off


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 503, "body": "oops"},
        {"status": 200, "body": '{"data": [1, 2'},
        {"reset": True},
        {"delay": 1.0},
    ],
    ids=["5xx", "truncated-json", "reset", "timeout"],
)
def test_an_optional_request_is_tried_once(
    settings: Settings, failure: dict[str, object], api: FakeApi
) -> None:
    # A built cursor has another way to its rows: minutes of retries would only stall the run.
    time = FakeTime()
    api.get("/tickets", **failure)  # type: ignore[arg-type]
    api.get("/tickets", json=page([{"id": 1}]), headers=LIMIT)  # what a retry would get
    client = make_client(settings, time, read_timeout=read_timeout_for(failure))
    with pytest.raises(OptionalRequestFailed, match="optional"):
        client.fetch_page("/tickets", [("limit", 100)], "c1", optional=True)
    assert len(api.calls) == 1 and time.sleeps == []
    assert client.fetch_page("/tickets", [("limit", 100)], "c1").items == [{"id": 1}]


def test_an_optional_request_still_waits_out_a_429(settings: Settings, api: FakeApi) -> None:
    time = FakeTime()
    api.get("/tickets", status=429, headers={"Retry-after": "3", **LIMIT})
    api.get("/tickets", json=page([{"id": 1}]), headers=LIMIT)
    client = make_client(settings, time)
    assert client.fetch_page("/tickets", [], "c1", optional=True).items == [{"id": 1}]
    assert max(time.sleeps) >= 3


def test_an_unreachable_host_gives_up_within_a_minute(settings: Settings) -> None:
    time = FakeTime()
    with socket.socket() as unused:  # a port nothing listens on: connections are refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    client = make_client(replace(settings, base_url=f"http://127.0.0.1:{port}/api"), time)
    started = time.now
    with pytest.raises(ApiError) as caught:
        client.get_json("/account")
    assert time.now - started <= 60
    assert "GORGIAS_DOMAIN" in caught.value.message
    assert caught.value.exit_code == ExitCode.API


def test_mid_run_outages_are_waited_out_for_longer(settings: Settings, api: FakeApi) -> None:
    time = FakeTime()
    api.get("/account", json={"ok": True}, headers=LIMIT)
    client = make_client(settings, time)
    client.get_json("/account")
    api.replace("/account", status=503)
    started = time.now
    with pytest.raises(ApiError) as caught:
        client.get_json("/account")
    assert 120 < time.now - started <= 600
    assert "progress is saved" in caught.value.message


@pytest.mark.parametrize(
    ("status", "body", "error", "hint"),
    [
        (401, {"error": {"msg": "Unauthorized."}}, AuthError, "GORGIAS_API_KEY"),
        (403, {"error": {"msg": "Forbidden"}}, AuthError, "role"),
        (400, {"error": {"msg": "Unknown field"}}, UsageError, "Unknown field"),
        (404, {"error": {"msg": "Not found."}}, ApiError, "(404: Not found); check the path"),
    ],
)
def test_other_4xx_fail_at_once_with_a_hint(
    settings: Settings,
    status: int,
    body: dict[str, object],
    error: type,
    hint: str,
    api: FakeApi,
) -> None:
    api.get("/tickets", status=status, json=body)
    client = make_client(settings, FakeTime())
    with pytest.raises(error) as caught:
        client.get_json("/tickets")
    assert hint in caught.value.message
    assert SECRET_KEY not in caught.value.message
    assert len(api.calls) == 1


def test_an_html_404_first_means_a_wrong_subdomain(settings: Settings, api: FakeApi) -> None:
    api.get("/account", status=404, body="<!DOCTYPE html><html>No such page</html>")
    with pytest.raises(ConfigError) as caught:
        make_client(settings, FakeTime()).get_json("/account")
    assert "GORGIAS_DOMAIN" in caught.value.message


def test_a_4xx_on_a_cursor_request_means_the_cursor_is_no_good(
    settings: Settings, api: FakeApi
) -> None:
    api.get("/messages", status=400, json={"error": {"msg": "Invalid cursor."}})
    with pytest.raises(CursorRejected):
        make_client(settings, FakeTime()).fetch_page("/messages", [("limit", 100)], "stale")


def test_the_pacer_learns_from_every_response(settings: Settings, api: FakeApi) -> None:
    time = FakeTime()
    api.get("/account", json={}, headers={"X-Gorgias-Account-Api-Call-Limit": "40/40"})
    client = make_client(settings, time)
    client.get_json("/account")
    client.get_json("/account")
    assert client.pacer.limit == 40
    assert time.sleeps and time.sleeps[0] == pytest.approx(1.0)  # two slots at 2/s


def test_verbose_logs_never_show_the_key(
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    api: FakeApi,
) -> None:
    api.get("/account", status=503)
    api.get("/account", json={}, headers=LIMIT)
    with caplog.at_level(logging.DEBUG, logger="gorgias_export"):
        make_client(settings, FakeTime()).get_json("/account")
    assert "retrying" in caplog.text and "GET" in caplog.text
    assert SECRET_KEY not in caplog.text


def test_a_list_body_without_a_data_list_is_retried(settings: Settings, api: FakeApi) -> None:
    api.get("/tags", json={"object": "list", "data": None}, headers=LIMIT)
    api.get("/tags", json=page([{"id": 1}]), headers=LIMIT)
    client = make_client(settings, FakeTime())
    assert client.fetch_page("/tags", [("limit", 100)]).items == [{"id": 1}]
    assert client.stats.retries == 1


def test_an_answer_of_any_shape_is_an_object_or_an_array_else_retried(
    settings: Settings, api: FakeApi
) -> None:
    """/account/settings may answer an array, an object or an envelope (docs/entities.md)."""
    api.get("/account/settings", body="<html>maintenance</html>", headers=LIMIT)
    api.get("/account/settings", json="just a string", headers=LIMIT)
    api.get("/account/settings", json=[{"id": 1}], headers=LIMIT)
    client = make_client(settings, FakeTime())
    assert client.get_any_json("/account/settings") == [{"id": 1}]
    assert client.stats.retries == 2
    api.replace("/account/settings", json={"type": "x"}, headers=LIMIT)
    assert client.get_any_json("/account/settings") == {"type": "x"}


def _times(*stamps: int) -> list[dict[str, object]]:
    return [{"id": s, "created_datetime": f"2024-01-01T00:00:{s:02d}Z"} for s in stamps]


ASC = [("limit", 100), ("order_by", "created_datetime:asc")]
MALFORMED_PAGES = {
    "no meta": {"object": "list", "data": _times(1, 2)},
    "meta not an object": {"object": "list", "data": _times(1, 2), "meta": "next"},
    "a number for a cursor": {"object": "list", "data": _times(1, 2), "meta": {"next_cursor": 7}},
    "an empty cursor": {"object": "list", "data": _times(1, 2), "meta": {"next_cursor": ""}},
    "items out of order": page(_times(2, 1), "c2"),
}


@pytest.mark.parametrize("body", MALFORMED_PAGES.values(), ids=MALFORMED_PAGES.keys())
def test_a_list_page_not_in_the_documented_shape_is_retried_never_an_end(
    settings: Settings, api: FakeApi, body: dict[str, object]
) -> None:
    # Taken as it came, each of these passed for the last page (or gave rows twice).
    api.get("/tickets", json=body, headers=LIMIT)
    api.get("/tickets", json=page(_times(1, 2), "c2"), headers=LIMIT)
    client = make_client(settings, FakeTime())
    fetched = client.fetch_page("/tickets", ASC)
    assert fetched.next_cursor == "c2" and len(fetched.items) == 2
    assert client.stats.retries == 1


@pytest.mark.parametrize("body", MALFORMED_PAGES.values(), ids=MALFORMED_PAGES.keys())
def test_a_list_page_that_stays_malformed_stops_the_run_with_progress_saved(
    settings: Settings, api: FakeApi, body: dict[str, object]
) -> None:
    api.get("/tickets", json=page(_times(1), "c1"), headers=LIMIT)  # first contact made
    api.get("/tickets", json=body, headers=LIMIT)
    client = make_client(settings, FakeTime())
    client.fetch_page("/tickets", ASC)
    with pytest.raises(ApiError) as raised:
        client.fetch_page("/tickets", ASC, "c1")
    assert raised.value.exit_code == ExitCode.API
    message = raised.value.message
    assert "list page" in message and "progress is saved" in message and "\n" not in message
    assert 3 < len(api.calls) < 40  # retried, within the budget
    # A page asked for ahead is decoded later, on the walk's thread: there too (the walk then
    # asks for it again, with these retries).
    with pytest.raises(BrokenBody):
        client.page_of(client.fetch_body("/tickets", ASC, "c1"), "/tickets", ASC)


def test_an_ordered_page_with_ties_or_unreadable_times_is_not_malformed(
    settings: Settings, api: FakeApi
) -> None:
    items = [*_times(1, 3, 3), {"id": 9, "created_datetime": None}, *_times(4)]
    api.get("/tickets", json=page(items), headers=LIMIT)
    api.get("/custom-fields", json=page([{"id": 2, "priority": 9}, {"id": 1, "priority": 1}]))
    client = make_client(settings, FakeTime())
    assert len(client.fetch_page("/tickets", ASC).items) == 5
    by_priority = [("limit", 100), ("order_by", "priority:asc")]  # not a time: not judged
    assert len(client.fetch_page("/custom-fields", by_priority).items) == 2
    assert client.stats.retries == 0


def test_view_items_are_judged_by_their_next_items_link(settings: Settings, api: FakeApi) -> None:
    link = "/api/views/1/items?cursor=5-false&direction=next"
    odd = {"object": "list", "data": _times(1), "meta": {"next_items": 5}}
    api.get("/views/1/items", json=odd, headers=LIMIT)
    api.get("/views/1/items", json={"data": _times(1), "meta": {"next_items": link}})
    client = make_client(settings, FakeTime())
    fetched = client.fetch_page("/views/1/items", [("limit", 100)])
    assert fetched.next_cursor == "cursor=5-false&direction=next"
    assert client.stats.retries == 1
    # An object endpoint is not a list: no envelope to judge.
    api.get("/account", json={"domain": "acme"})
    assert client.get_json("/account") == {"domain": "acme"}


def test_a_closed_client_stops_retrying_at_once(settings: Settings, api: FakeApi) -> None:
    # A 30-second wait: only an interruptible one ends within the 5 s below.
    api.get("/account", status=429, headers={"Retry-after": "30"})
    client = GorgiasClient(settings, rng=random.Random(1))  # the real, interruptible wait
    done = threading.Event()
    errors: list[Exception] = []

    def request() -> None:
        try:
            client.get_json("/account")
        except ApiError as error:
            errors.append(error)
        done.set()

    threading.Thread(target=request, daemon=True).start()
    for _ in range(5000):  # progress, not time: the first attempt has been made
        if api.calls:
            break
        threading.Event().wait(0.001)
    assert api.calls, "the request was never made"
    client.close()
    assert done.wait(5), "a closed client kept retrying"
    assert errors and "no longer needed" in errors[0].message


class _CountingServer(ThreadingHTTPServer):
    """A local API that answers every GET with {"domain": "acme"} and notes the client port."""

    def __init__(self) -> None:
        self.ports: list[int] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real API

            def do_GET(self) -> None:
                server.ports.append(self.client_address[1])
                body = b'{"domain": "acme"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, args=(0.01,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api"


def test_requests_from_new_threads_share_one_open_connection(settings: Settings) -> None:
    """Pages asked for ahead run on other threads: they must not each open a TCP connection."""
    server = _CountingServer()
    try:
        client = GorgiasClient(replace(settings, base_url=server.url))
        for _ in range(3):
            thread = threading.Thread(target=client.get_json, args=("/account",))
            thread.start()
            thread.join()
        client.close()
    finally:
        server.shutdown()
    assert len(server.ports) == 3 and len(set(server.ports)) == 1


def test_plain_http_to_loopback_never_goes_through_a_proxy(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy would see the key in clear: loopback is reached directly whatever the
    environment says (an unreachable proxy would make this request fail)."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    server = _CountingServer()
    try:
        client = GorgiasClient(replace(settings, base_url=server.url), first_contact_budget=0)
        assert client.get_json("/account") == {"domain": "acme"}
    finally:
        server.shutdown()
    assert len(server.ports) == 1


@pytest.mark.parametrize("token", [None, SECRET_TOKEN])
def test_a_redirect_is_not_followed(settings: Settings, api: FakeApi, token: str | None) -> None:
    """The credentials (a key, or an OAuth token) go to the configured host only: a 3xx is an
    error naming where it pointed, and nothing is sent there."""
    if token:
        settings = replace(settings, access_token=Secret(token))
    api.get("/account", status=302, headers={"Location": "https://evil.example/x"})
    client = make_client(settings, FakeTime())
    with pytest.raises(ConfigError, match=r"evil\.example") as raised:
        client.get_json("/account")
    assert raised.value.exit_code == ExitCode.CONFIG
    assert len(api.calls) == 1


def _dialled(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> list[tuple[str, int]]:
    """The addresses one request to the real API's host dials (each refused: no network)."""
    settings = replace(settings, base_url="https://acme.gorgias.com/api")
    dialled: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        dialled.append(address)
        raise ConnectionRefusedError

    monkeypatch.setattr(socket, "create_connection", refuse)
    with pytest.raises(http_module.TransportError):
        Transport(settings, (1.0, 1.0, 5.0)).get("/account", [])
    return dialled


def _no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_a_proxy_given_without_a_port_is_reached_on_port_80_as_before(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (found by the review of the redesign): 0.1.0 (requests/urllib3) reached
    `HTTPS_PROXY=http://proxy.corp` on port 80, the http scheme's port. api/http.py's
    _https_proxy defaults to 8080: the same environment now dials another port, and every run
    fails with "Could not reach the API"."""
    _no_proxy_settings(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example")
    assert _dialled(monkeypatch, settings) == [("proxy.example", 80)]


def test_all_proxy_is_still_honoured(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression (found by the review of the redesign): 0.1.0 (requests) used ALL_PROXY when no
    HTTPS_PROXY is set, as curl does. api/http.py reads only the `https` entry, so a network
    that only sets ALL_PROXY is now bypassed: the API is dialled directly (and unreachable
    there)."""
    _no_proxy_settings(monkeypatch)
    monkeypatch.setenv("ALL_PROXY", "http://proxy.example:3128")
    assert _dialled(monkeypatch, settings) == [("proxy.example", 3128)]


def test_the_verbose_log_names_the_whole_request_as_before(
    settings: Settings, api: FakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression (found by the review of the redesign): 0.1.0's --verbose line was `GET
    <url>?limit=100&order_by=...&cursor=... -> 200` (requests' response.url, redacted);
    Answer.url is now the base URL and path only, so the log no longer says which page (cursor,
    filters) a request was for."""
    api.get("/tickets", json=page([{"id": 1}]), headers=LIMIT)
    client = make_client(settings, FakeTime())
    with caplog.at_level(logging.DEBUG, logger="gorgias_export"):
        client.fetch_page("/tickets", [("limit", 100), ("order_by", "id:asc")], "abc")
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("GET "))
    assert "/tickets?limit=100&order_by=id%3Aasc&cursor=abc -> 200" in line


@pytest.mark.parametrize("next_cursor", [12345, {"cursor": "abc"}, ["abc"], True])
def test_a_next_cursor_that_is_no_cursor_is_an_error_not_the_last_page(
    settings: Settings, api: FakeApi, next_cursor: object
) -> None:
    """Only null marks the last page: anything else that is not a cursor string would end
    the listing after this page without a word."""
    api.get("/tickets", json={**page([{"id": 1}]), "meta": {"next_cursor": next_cursor}})
    with pytest.raises(ApiError, match="next_cursor"):
        make_client(settings, FakeTime()).fetch_page("/tickets", [("limit", 100)])
