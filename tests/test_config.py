"""Settings: flags over environment over .env, domains, base URLs that could leak the key."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from gorgias_export.config import (
    RawSettings,
    Secret,
    load_settings,
    normalize_domain,
    read_dotenv,
    validate_base_url,
)
from gorgias_export.errors import ConfigError, ExitCode

FULL_ENV = {"GORGIAS_DOMAIN": "envco", "GORGIAS_EMAIL": "env@x.com", "GORGIAS_API_KEY": "envkey"}


def test_flag_beats_environment_which_beats_dotenv() -> None:
    dotenv = {"GORGIAS_DOMAIN": "dotco", "GORGIAS_EMAIL": "dot@x.com", "GORGIAS_API_KEY": "dotkey"}
    env = {"GORGIAS_EMAIL": "env@x.com"}
    flags = RawSettings(api_key="flagkey")
    settings = load_settings(flags, env, dotenv)
    assert settings.base_url == "https://dotco.gorgias.com/api"
    assert settings.email == "env@x.com"
    assert settings.api_key.reveal() == "flagkey"


@pytest.mark.parametrize("name", ["GORGIAS_USERNAME", "GORGIAS_API_USER"])
def test_older_email_variable_names_are_read(name: str) -> None:
    env = {"GORGIAS_DOMAIN": "acme", name: "old@x.com", "GORGIAS_API_KEY": "k"}
    assert load_settings(RawSettings(), env, {}).email == "old@x.com"


def test_auth_string_replaces_email_and_key() -> None:
    token = base64.b64encode(b"me@x.com:s3cret").decode()
    env = {"GORGIAS_DOMAIN": "acme", "GORGIAS_AUTH_STRING": token}
    settings = load_settings(RawSettings(), env, {})
    assert (settings.email, settings.api_key.reveal()) == ("me@x.com", "s3cret")


def test_bad_auth_string_is_a_config_error_without_its_content() -> None:
    env = {"GORGIAS_DOMAIN": "acme", "GORGIAS_AUTH_STRING": "bm90LWEtcGFpcg=="}  # "not-a-pair"
    with pytest.raises(ConfigError) as caught:
        load_settings(RawSettings(), env, {})
    assert "not-a-pair" not in caught.value.message
    assert caught.value.exit_code == ExitCode.CONFIG


def test_missing_settings_are_all_named_in_one_message() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(RawSettings(), {}, {})
    message = caught.value.message
    for name in ("GORGIAS_DOMAIN", "GORGIAS_EMAIL", "GORGIAS_API_KEY", "--domain", ".env"):
        assert name in message
    assert "\n" not in message


@pytest.mark.parametrize("value", ["acme", "ACME", "acme.gorgias.com", "https://acme.gorgias.com/"])
def test_domain_forms_mean_the_same_account(value: str) -> None:
    assert normalize_domain(value) == "acme"


@pytest.mark.parametrize(
    "value", ["acme.evil.com/x", "acme@evil", "acme.evil.com", "-acme", "", "a" * 64, "ac me"]
)
def test_domains_that_are_not_a_dns_label_are_refused(value: str) -> None:
    with pytest.raises(ConfigError):
        normalize_domain(value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/api",
        "http://localhost:1/api",
        "http://[::1]:9/api",
        "https://proxy.example/api/",
    ],
)
def test_base_url_allowed(url: str) -> None:
    assert validate_base_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/api",
        "http://acme.gorgias.com/api",
        "ftp://x/api",
        "https://u:p@proxy/api",
        "nonsense",
    ],
)
def test_base_url_refused_when_it_would_leak_credentials(url: str) -> None:
    with pytest.raises(ConfigError):
        validate_base_url(url)


def test_base_url_replaces_the_domain() -> None:
    env = {**FULL_ENV, "GORGIAS_BASE_URL": "http://127.0.0.1:9/api"}
    assert load_settings(RawSettings(), env, {}).base_url == "http://127.0.0.1:9/api"


def test_dotenv_is_read_from_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GORGIAS_DOMAIN=fromfile\n# a comment\nGORGIAS_EMAIL=a@b.c\n")
    assert read_dotenv(tmp_path) == {"GORGIAS_DOMAIN": "fromfile", "GORGIAS_EMAIL": "a@b.c"}
    assert read_dotenv(tmp_path / "nowhere") == {}


def test_the_key_never_shows_in_a_repr() -> None:
    settings = load_settings(RawSettings(), FULL_ENV, {})
    assert "envkey" not in repr(settings)
    assert "envkey" not in str(Secret("envkey"))
    assert settings.redact("url?x=envkey and envkey") == "url?x=*** and ***"


@pytest.mark.parametrize("where", ["environ", "dotenv"])
def test_a_domain_flag_is_never_overridden_by_a_base_url_from_environ_or_dotenv(where: str) -> None:
    """Regression (issue 12, High 2): GORGIAS_BASE_URL from the environment or a .env silently
    overrode `--domain`, so `check --domain acme` sent email:key to the base URL's host. The
    more specific level wins, as for every other setting: the flag."""
    base = {"GORGIAS_EMAIL": "a@b.c", "GORGIAS_API_KEY": "k"}
    url = {"GORGIAS_BASE_URL": "https://elsewhere.example/api"}
    environ, dotenv = ({**base, **url}, {}) if where == "environ" else (base, url)
    settings = load_settings(RawSettings(domain="acme"), environ, dotenv)
    assert settings.base_url == "https://acme.gorgias.com/api"


def test_a_domain_in_environ_beats_a_base_url_in_dotenv_and_a_tie_goes_to_the_base_url() -> None:
    creds = {"GORGIAS_EMAIL": "a@b.c", "GORGIAS_API_KEY": "k"}
    url = "https://elsewhere.example/api"
    env = {**creds, "GORGIAS_DOMAIN": "acme"}
    assert load_settings(RawSettings(), env, {"GORGIAS_BASE_URL": url}).base_url == (
        "https://acme.gorgias.com/api"
    )
    both = {**env, "GORGIAS_BASE_URL": url}
    assert load_settings(RawSettings(), both, {}).base_url == url
    flags = RawSettings(domain="acme", base_url=url)
    assert load_settings(flags, creds, {}).base_url == url
