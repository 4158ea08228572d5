"""Settings with an OAuth access token: no email or key needed, which form wins when both are
set, what a token may hold, and that it never shows."""

from __future__ import annotations

import base64

import pytest

from gorgias_export.config import RawSettings, Settings, load_settings
from gorgias_export.errors import ConfigError

TOKEN = "oat-abc.DEF_123~+/="


def test_a_token_needs_no_email_or_key() -> None:
    """Even an incomplete pair beside it is no obstacle: the token is what is used."""
    environ = {"GORGIAS_DOMAIN": "acme", "GORGIAS_EMAIL": "me@x.com"}
    settings = load_settings(RawSettings(), environ, {"GORGIAS_ACCESS_TOKEN": TOKEN})
    assert settings.uses_token and settings.authorization() == f"Bearer {TOKEN}"
    assert settings.base_url == "https://acme.gorgias.com/api"


def test_the_flag_sets_the_token() -> None:
    flags = RawSettings(access_token=TOKEN)
    assert load_settings(flags, {"GORGIAS_DOMAIN": "acme"}, {}).authorization() == f"Bearer {TOKEN}"


KEY = {"GORGIAS_EMAIL": "me@x.com", "GORGIAS_API_KEY": "k3y"}
TOK = {"GORGIAS_ACCESS_TOKEN": TOKEN}


@pytest.mark.parametrize(
    ("flags", "environ", "dotenv", "scheme"),
    [
        (RawSettings(), {**KEY, **TOK}, {}, "Bearer"),  # a tie: the token
        (RawSettings(), {}, {**KEY, **TOK}, "Bearer"),
        (RawSettings(), TOK, KEY, "Bearer"),  # a token exported over a .env with a key
        (RawSettings(), KEY, TOK, "Basic"),  # a key exported over a .env with a token
        (RawSettings(api_key="k3y"), {"GORGIAS_EMAIL": "me@x.com", **TOK}, {}, "Basic"),
        (RawSettings(access_token=TOKEN), KEY, {}, "Bearer"),
    ],
)
def test_the_more_specific_form_wins_and_the_token_on_a_tie(
    flags: RawSettings, environ: dict[str, str], dotenv: dict[str, str], scheme: str
) -> None:
    settings = load_settings(flags, {"GORGIAS_DOMAIN": "acme", **environ}, dotenv)
    assert settings.authorization().split()[0] == scheme


def test_the_auth_string_counts_as_a_key_at_its_level() -> None:
    auth = {"GORGIAS_AUTH_STRING": base64.b64encode(b"me@x.com:k3y").decode()}
    env = {"GORGIAS_DOMAIN": "acme"}
    assert load_settings(RawSettings(), {**env, **auth}, TOK).authorization().startswith("Basic")
    assert load_settings(RawSettings(), {**env, **TOK}, auth).authorization().startswith("Bearer")


def test_a_winning_token_ignores_a_broken_auth_string() -> None:
    env = {"GORGIAS_DOMAIN": "acme", "GORGIAS_AUTH_STRING": "not base64", **TOK}
    assert load_settings(RawSettings(), env, {}).uses_token


def test_a_pasted_bearer_prefix_is_dropped() -> None:
    env = {"GORGIAS_DOMAIN": "acme", "GORGIAS_ACCESS_TOKEN": f"Bearer {TOKEN}"}
    assert load_settings(RawSettings(), env, {}).authorization() == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    "value", ["secret two", "secret\nX-Injected: 1", "secrét", "secret\x00", "Bearer secret two"]
)
def test_a_token_a_header_cannot_carry_is_refused_without_quoting_it(value: str) -> None:
    env = {"GORGIAS_DOMAIN": "acme", "GORGIAS_ACCESS_TOKEN": value}
    with pytest.raises(ConfigError) as caught:
        load_settings(RawSettings(), env, {})
    assert "GORGIAS_ACCESS_TOKEN" in caught.value.message
    assert "secr" not in caught.value.message and "Injected" not in caught.value.message


def test_missing_credentials_name_the_token_as_the_other_way() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(RawSettings(), {"GORGIAS_DOMAIN": "acme"}, {})
    message = caught.value.message
    assert "GORGIAS_API_KEY" in message and "GORGIAS_ACCESS_TOKEN" in message


def test_a_token_without_a_domain_asks_only_for_the_domain() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(RawSettings(), TOK, {})
    message = caught.value.message
    assert "GORGIAS_DOMAIN" in message and "GORGIAS_EMAIL" not in message
    assert "GORGIAS_ACCESS_TOKEN" not in message


def test_the_token_never_shows_and_is_redacted() -> None:
    settings = load_settings(RawSettings(), {"GORGIAS_DOMAIN": "acme", **TOK}, {})
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)
    assert settings.redact(f"Authorization: Bearer {TOKEN}") == "Authorization: Bearer ***"


def test_settings_with_a_key_redact_the_key_and_its_basic_form() -> None:
    """Regression guard: with no token, redaction must not gain an empty or constant form."""
    from gorgias_export.config import Secret

    settings = Settings(base_url="https://a.gorgias.com/api", email="e@x", api_key=Secret("k"))
    basic = base64.b64encode(b"e@x:k").decode()
    assert settings.redact(f"k {basic} Og==") == "*** *** Og=="
