"""The client with an OAuth access token (Bearer instead of Basic, what a 401 then means, the
80-request bucket), and the server's own reason shown after ours on a 403."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from typing import Any

import pytest

from gorgias_export.api.client import GorgiasClient
from gorgias_export.config import Secret, Settings
from gorgias_export.errors import AuthError, ExportError, TokenExpired
from tests.support.account import SECRET_KEY, SECRET_TOKEN
from tests.support.fake_api import FakeApi
from tests.support.fakes import FakeTime

# The reason of a recorded real 403.
QUOTA = "You do not have enough permissions to perform this action. Messaging quota exceeded."
OURS = "may not read /tickets (403); use a key whose user's role has access to it."


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi() as fake:
        yield fake


def client_for(settings: Settings, time: FakeTime | None = None) -> GorgiasClient:
    time = time or FakeTime()
    return GorgiasClient(settings, sleep=time.sleep, clock=time.clock, rng=random.Random(1))


def oauth(api: FakeApi) -> Settings:
    return Settings(base_url=api.url, access_token=Secret(SECRET_TOKEN))


def test_a_token_is_sent_as_bearer_and_nothing_else(api: FakeApi) -> None:
    api.get("/account", json={"domain": "acme"})
    client_for(oauth(api)).get_json("/account")
    assert api.calls[0].headers["authorization"] == f"Bearer {SECRET_TOKEN}"


def test_a_401_on_the_first_request_says_the_token_was_refused(api: FakeApi) -> None:
    api.get("/tickets", status=401, json={"error": {"msg": "Unauthorized."}})
    with pytest.raises(AuthError) as caught:
        client_for(oauth(api)).get_json("/tickets")
    assert not isinstance(caught.value, TokenExpired)
    message = caught.value.message
    assert "refused the access token (401)" in message and "GORGIAS_ACCESS_TOKEN" in message
    assert "GORGIAS_API_KEY" not in message and SECRET_TOKEN not in message


def test_a_401_after_a_success_says_the_token_expired_and_progress_is_saved(
    api: FakeApi,
) -> None:
    api.get("/tickets", json={"data": [], "meta": {"next_cursor": None}})
    api.get("/tickets", status=401, json={"error": {"msg": "Unauthorized."}})
    client = client_for(oauth(api))
    client.get_json("/tickets")
    with pytest.raises(TokenExpired) as caught:
        client.get_json("/tickets")
    message = caught.value.message
    assert "expired" in message and "24 hours" in message and "progress is saved" in message
    assert caught.value.exit_code == 4 and SECRET_TOKEN not in message
    assert len(api.calls) == 2  # a 401 is never retried


def test_a_page_asked_ahead_and_not_decoded_yet_counts_as_the_token_working(
    api: FakeApi,
) -> None:
    """Pages asked for ahead wait as bytes: the token worked once a 2xx came, decoded or not,
    so a 401 after one is an expiry even if no page was decoded yet."""
    api.get("/messages", json={"data": [], "meta": {"next_cursor": None}})
    api.get("/messages", status=401, json={"error": {"msg": "Unauthorized."}})
    client = client_for(oauth(api))
    client.fetch_body("/messages", [("limit", 100)])
    with pytest.raises(TokenExpired):
        client.fetch_body("/messages", [("limit", 100)], "next")


def test_a_401_with_a_key_keeps_its_own_message_even_mid_run(api: FakeApi) -> None:
    api.get("/tickets", json={"data": [], "meta": {"next_cursor": None}})
    api.get("/tickets", status=401, json={"error": {"msg": "Unauthorized."}})
    client = client_for(Settings(base_url=api.url, email="a@b.c", api_key=Secret(SECRET_KEY)))
    client.get_json("/tickets")
    with pytest.raises(AuthError) as caught:
        client.get_json("/tickets")
    assert not isinstance(caught.value, TokenExpired)
    assert "GORGIAS_API_KEY" in caught.value.message


def basic(api: FakeApi) -> Settings:
    return Settings(base_url=api.url, email="a@b.c", api_key=Secret(SECRET_KEY))


def forbidden(api: FakeApi, settings: Settings, body: bytes) -> str:
    api.get("/tickets", status=403, body=body)
    with pytest.raises(AuthError) as caught:
        client_for(settings).get_json("/tickets")
    return caught.value.message


def test_a_403_shows_the_servers_reason_after_ours(api: FakeApi) -> None:
    body = json.dumps({"error": {"msg": QUOTA}}).encode()
    message = forbidden(api, basic(api), body)
    assert message == f"The API key's user {OURS} The API said: {QUOTA}"


def test_a_403_with_a_token_names_the_token_and_the_reason(api: FakeApi) -> None:
    body = json.dumps({"error": {"msg": QUOTA}}).encode()
    message = forbidden(api, oauth(api), body)
    assert message.startswith("The access token may not read /tickets (403)")
    assert message.endswith(f"The API said: {QUOTA}")


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Forbidden</body></html>",
        b"",
        b'{"error": "Forbidden"}',
        b'{"error": {"message": "Forbidden"}}',
        b'{"error": {"msg": 403}}',
        b'{"error": {"msg": " \\n "}}',
        b"[1, 2]",
        b"\xff\xfe not utf-8",
    ],
)
def test_a_403_without_a_readable_reason_keeps_our_sentence_alone(
    api: FakeApi, body: bytes
) -> None:
    assert forbidden(api, basic(api), body) == f"The API key's user {OURS}"


def test_the_reason_is_one_bounded_line_without_control_characters(api: FakeApi) -> None:
    hostile = "Quota\r\nexceeded.\x1b[31m red \u202e reversed\x00" + "x" * 5000
    message = forbidden(api, basic(api), json.dumps({"error": {"msg": hostile}}).encode())
    reason = message.split("The API said: ", 1)[1]
    assert reason.startswith("Quota exceeded. [31m red reversed x")
    assert all(ch.isprintable() for ch in message)
    assert len(reason) <= 300 and reason.endswith("…")


def test_the_bucket_of_80_is_learned_from_the_header_and_used(api: FakeApi) -> None:
    """Nothing is assumed before the first response; after it, the header's limit of 80 is
    the burst, and its drain 80 per 20 s (not the key's 40)."""
    time = FakeTime()
    api.get("/account", json={}, headers={"X-Gorgias-Account-Api-Call-Limit": "1/80"})
    client = client_for(oauth(api), time)
    client.get_json("/account")
    assert client.pacer.limit == 80
    assert client.pacer.drain_per_second == pytest.approx(4.0)
    waits = [client.pacer.reserve() for _ in range(78)]  # 80, less one used, one headroom
    assert waits == [0.0] * 78 and client.pacer.reserve() == pytest.approx(0.25)


def test_verbose_lines_never_show_the_token(api: FakeApi, caplog: pytest.LogCaptureFixture) -> None:
    api.get("/account", json={}, headers={"X-Gorgias-Account-Api-Call-Limit": "1/80"})
    with caplog.at_level(logging.DEBUG, logger="gorgias_export"):
        client_for(oauth(api)).get_json("/account", [("echo", SECRET_TOKEN)])
    assert "bucket 1/80" in caplog.text  # the line was written
    assert SECRET_TOKEN not in caplog.text and "***" in caplog.text


@pytest.mark.parametrize(("status", "cut_at"), [(403, 300), (404, 200)])
@pytest.mark.parametrize("credentials", [basic, oauth], ids=["key", "token"])
def test_a_key_echoed_by_the_server_is_redacted_before_the_reason_is_cut(
    api: FakeApi, status: int, cut_at: int, credentials: Any
) -> None:
    """Issue 12, item 11: the reason was cut to its length limit before the key was redacted,
    so a server echoing the key across the cut printed its first characters."""
    settings = credentials(api)
    secret = (settings.access_token or settings.api_key).reveal()
    body = json.dumps({"error": {"msg": "x" * (cut_at - 6) + " " + secret + " tail"}})
    api.get("/tickets", status=status, body=body.encode())
    with pytest.raises(ExportError) as caught:
        client_for(settings).get_json("/tickets")
    message = caught.value.message
    assert "***" in message and secret[:4] not in message
