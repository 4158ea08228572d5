"""The HTTP client: GET only, Basic auth, retries with backoff, give-up budgets, 4xx hints,
and a key that never shows in a message or a log."""

from __future__ import annotations

import logging
import random
import threading

import pytest
import requests
import responses

from gorgias_export.api.client import GorgiasClient, ReadOnlySession, ReadOnlyViolation
from gorgias_export.config import Settings
from gorgias_export.errors import (
    ApiError,
    AuthError,
    ConfigError,
    CursorRejected,
    ExitCode,
    UsageError,
)
from tests.support.account import SECRET_KEY
from tests.support.fakes import FakeTime

BASE = "https://acme.gorgias.com/api"
LIMIT = {"X-Gorgias-Account-Api-Call-Limit": "1/40"}


def make_client(settings: Settings, time: FakeTime) -> GorgiasClient:
    return GorgiasClient(settings, sleep=time.sleep, clock=time.clock, rng=random.Random(1))


def page(items: list[dict[str, object]], next_cursor: str | None = None) -> dict[str, object]:
    return {
        "object": "list",
        "uri": "/api/x",
        "data": items,
        "meta": {"next_cursor": next_cursor, "prev_cursor": None},
    }


@responses.activate
def test_the_session_refuses_every_method_but_get() -> None:
    session = ReadOnlySession()
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        with pytest.raises(ReadOnlyViolation):
            session.request(method, BASE + "/tickets")
    with pytest.raises(ReadOnlyViolation):
        session.post(BASE + "/tickets", json={})
    assert len(responses.calls) == 0  # nothing left the process


def test_the_client_has_no_way_to_write(settings: Settings) -> None:
    public = {name for name in dir(GorgiasClient) if not name.startswith("_")}
    assert public == {"get_json", "fetch_page", "close"}


@responses.activate
def test_basic_auth_and_params(settings: Settings) -> None:
    responses.get(BASE + "/tickets", json=page([{"id": 1}]), headers=LIMIT)
    client = make_client(settings, FakeTime())
    result = client.fetch_page(
        "/tickets", [("limit", 100), ("order_by", "created_datetime:asc")], "abc"
    )
    assert result.items == [{"id": 1}] and result.next_cursor is None
    request = responses.calls[0].request
    assert request.headers["Authorization"].startswith("Basic ")
    assert "limit=100" in request.url and "order_by=created_datetime%3Aasc" in request.url
    assert "cursor=abc" in request.url


@responses.activate
def test_429_waits_for_retry_after_then_succeeds(settings: Settings) -> None:
    time = FakeTime()
    responses.get(
        BASE + "/account",
        status=429,
        json={"error": {"msg": "Too many"}},
        headers={"Retry-after": "7", **LIMIT},
    )
    responses.get(BASE + "/account", json={"domain": "acme"}, headers=LIMIT)
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
        {"body": requests.ConnectionError("reset")},
        {"body": requests.ReadTimeout("slow")},
    ],
    ids=["5xx", "html-200", "truncated-json", "reset", "timeout"],
)
@responses.activate
def test_retriable_failures_are_retried_with_backoff(
    settings: Settings, failure: dict[str, object]
) -> None:
    time = FakeTime()
    for _ in range(3):
        responses.get(BASE + "/account", **failure)  # type: ignore[arg-type]
    responses.get(BASE + "/account", json={"ok": True}, headers=LIMIT)
    client = make_client(settings, time)
    assert client.get_json("/account") == {"ok": True}
    assert client.stats.retries == 3
    assert len(time.sleeps) == 3
    assert time.sleeps[0] < time.sleeps[2]  # backing off


@responses.activate
def test_an_unreachable_host_gives_up_within_a_minute(settings: Settings) -> None:
    time = FakeTime()
    responses.get(BASE + "/account", body=requests.ConnectionError("refused"))
    client = make_client(settings, time)
    started = time.now
    with pytest.raises(ApiError) as caught:
        client.get_json("/account")
    assert time.now - started <= 60
    assert "GORGIAS_DOMAIN" in caught.value.message
    assert caught.value.exit_code == ExitCode.API


@responses.activate
def test_mid_run_outages_are_waited_out_for_longer(settings: Settings) -> None:
    time = FakeTime()
    responses.get(BASE + "/account", json={"ok": True}, headers=LIMIT)
    client = make_client(settings, time)
    client.get_json("/account")
    responses.replace(responses.GET, BASE + "/account", status=503)
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
@responses.activate
def test_other_4xx_fail_at_once_with_a_hint(
    settings: Settings, status: int, body: dict[str, object], error: type, hint: str
) -> None:
    responses.get(BASE + "/tickets", status=status, json=body)
    client = make_client(settings, FakeTime())
    with pytest.raises(error) as caught:
        client.get_json("/tickets")
    assert hint in caught.value.message
    assert SECRET_KEY not in caught.value.message
    assert len(responses.calls) == 1


@responses.activate
def test_an_html_404_first_means_a_wrong_subdomain(settings: Settings) -> None:
    responses.get(BASE + "/account", status=404, body="<!DOCTYPE html><html>No such page</html>")
    with pytest.raises(ConfigError) as caught:
        make_client(settings, FakeTime()).get_json("/account")
    assert "GORGIAS_DOMAIN" in caught.value.message


@responses.activate
def test_a_4xx_on_a_cursor_request_means_the_cursor_is_no_good(settings: Settings) -> None:
    responses.get(BASE + "/messages", status=400, json={"error": {"msg": "Invalid cursor."}})
    with pytest.raises(CursorRejected):
        make_client(settings, FakeTime()).fetch_page("/messages", [("limit", 100)], "stale")


@responses.activate
def test_the_pacer_learns_from_every_response(settings: Settings) -> None:
    time = FakeTime()
    responses.get(BASE + "/account", json={}, headers={"X-Gorgias-Account-Api-Call-Limit": "40/40"})
    client = make_client(settings, time)
    client.get_json("/account")
    client.get_json("/account")
    assert client.pacer.limit == 40
    assert time.sleeps and time.sleeps[0] == pytest.approx(1.0)  # two slots at 2/s


@responses.activate
def test_verbose_logs_never_show_the_key(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    responses.get(BASE + "/account", status=503)
    responses.get(BASE + "/account", json={}, headers=LIMIT)
    with caplog.at_level(logging.DEBUG, logger="gorgias_export"):
        make_client(settings, FakeTime()).get_json("/account")
    assert "retrying" in caplog.text and "GET" in caplog.text
    assert SECRET_KEY not in caplog.text


@responses.activate
def test_a_list_body_without_a_data_list_is_retried(settings: Settings) -> None:
    responses.get(BASE + "/tags", json={"object": "list", "data": None}, headers=LIMIT)
    responses.get(BASE + "/tags", json=page([{"id": 1}]), headers=LIMIT)
    client = make_client(settings, FakeTime())
    assert client.fetch_page("/tags", [("limit", 100)]).items == [{"id": 1}]
    assert client.stats.retries == 1


@responses.activate
def test_a_closed_client_stops_retrying_at_once(settings: Settings) -> None:
    # A 30-second wait: only an interruptible one ends within the 5 s below.
    responses.get(BASE + "/account", status=429, headers={"Retry-after": "30"})
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
        if responses.calls:
            break
        threading.Event().wait(0.001)
    assert responses.calls, "the request was never made"
    client.close()
    assert done.wait(5), "a closed client kept retrying"
    assert errors and "no longer needed" in errors[0].message


@responses.activate
def test_requests_from_new_threads_reuse_an_idle_session(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages asked for ahead run on a new thread each: they must not each open a session (and
    a TCP connection) of their own."""
    import gorgias_export.api.client as client_module

    made: list[requests.Session] = []
    real = client_module._session_for

    def counting(base_url: str) -> ReadOnlySession:
        made.append(real(base_url))
        return made[-1]

    monkeypatch.setattr(client_module, "_session_for", counting)
    responses.get(BASE + "/account", json={"domain": "acme"}, headers=LIMIT)
    client = make_client(settings, FakeTime())
    for _ in range(3):
        thread = threading.Thread(target=client.get_json, args=("/account",))
        thread.start()
        thread.join()
    assert len(responses.calls) == 3 and len(made) == 1
