"""First contact (issue 12, Lower 9): a failure names its real cause, a 429 is waited out (and
said), a name that does not exist fails at once, and the wait for a host that does not answer
is not silent."""

from __future__ import annotations

import logging
import socket
from dataclasses import replace

import pytest

from gorgias_export.api.client import GorgiasClient
from gorgias_export.config import Settings
from gorgias_export.errors import ApiError, ConfigError, ExitCode
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import assert_one_line_error, run_cli
from tests.support.fake_api import FakeApi
from tests.support.fakes import FakeTime

ACCOUNT = {"domain": "acme"}


def client_for(settings: Settings, url: str, time: FakeTime) -> GorgiasClient:
    return GorgiasClient(replace(settings, base_url=url), sleep=time.sleep, clock=time.clock)


def test_a_429_at_first_contact_is_waited_out_and_said(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    time = FakeTime()
    with FakeApi() as api:
        api.get("/account", status=429, headers={"Retry-After": "90"})
        api.get("/account", json=ACCOUNT)
        with caplog.at_level(logging.WARNING, logger="gorgias_export"):
            assert client_for(settings, api.url, time).get_json("/account") == ACCOUNT
    assert sum(time.sleeps) >= 90
    assert "429" in caplog.text and "waiting 90 s" in caplog.text


def test_a_429_that_never_ends_blames_the_rate_limit_not_the_domain(settings: Settings) -> None:
    with FakeApi() as api:
        api.get("/account", status=429, headers={"Retry-After": "90"})
        with pytest.raises(ApiError, match="429") as raised:
            client_for(settings, api.url, FakeTime()).get_json("/account")
    assert "GORGIAS_DOMAIN" not in raised.value.message


def test_a_host_name_that_does_not_exist_fails_at_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_such_name(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    time = FakeTime()
    client = client_for(settings, "https://no-such-account.gorgias.com/api", time)
    with pytest.raises(ConfigError, match="does not exist") as raised:
        client.get_json("/account")
    assert "GORGIAS_DOMAIN" in raised.value.message and time.sleeps == []
    assert client.stats.requests == 1


def test_a_broken_proxy_is_named_not_the_domain(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    client = client_for(settings, "https://acme.gorgias.com/api", FakeTime())
    with pytest.raises(ApiError, match="HTTPS_PROXY") as raised:
        client.get_json("/account")
    assert "proxy 127.0.0.1:9" in raised.value.message
    assert "GORGIAS_DOMAIN" not in raised.value.message


def test_a_host_that_does_not_answer_is_not_waited_for_in_silence(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    url = "http://127.0.0.1:9/api"
    with (
        caplog.at_level(logging.INFO, logger="gorgias_export"),  # what --verbose shows
        pytest.raises(ApiError, match="GORGIAS_DOMAIN"),
    ):
        client_for(settings, url, FakeTime()).get_json("/account")
    assert "No answer from http://127.0.0.1:9/api yet" in caplog.text


def test_check_says_ok_only_for_an_account(settings: Settings) -> None:
    env = {"GORGIAS_EMAIL": EMAIL, "GORGIAS_API_KEY": SECRET_KEY}
    with FakeApi() as api:
        api.get("/account", json={})
        result = run_cli(None, "check", env={**env, "GORGIAS_BASE_URL": api.url})
        assert "no account" in assert_one_line_error(result, ExitCode.API)
        assert "OK" not in result.stdout
        api.replace("/account", json=ACCOUNT)
        result = run_cli(None, "check", env={**env, "GORGIAS_BASE_URL": api.url})
        assert result.exit_code == 0 and "OK" in result.stdout
