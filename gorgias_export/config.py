"""Connection settings from flags, the environment and `.env`, validated before any request.

Precedence: a flag beats the environment, which beats a `.env` line in the working directory.
That holds between settings too: `--domain` beats a `GORGIAS_BASE_URL` from the environment or
`.env` (so the key goes to the host the command line named); at one level, the base URL wins.
The API key and the OAuth access token are wrapped in `Secret` so that no repr, log line or
error can show them.

Credentials come in two forms: an email and an API key (HTTP Basic), or an OAuth access token
(Bearer). When both are set, the one set at the more specific level wins (a flag over the
environment over `.env`, as for every setting), and the token on a tie: a token exported for
one run then needs no edit of a `.env` that holds a key, and a key given as a flag is never
overruled by a token left in the environment. The form not used is ignored entirely.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from gorgias_export.errors import ConfigError

DOMAIN_ENV = ("GORGIAS_DOMAIN",)
EMAIL_ENV = ("GORGIAS_EMAIL", "GORGIAS_USERNAME", "GORGIAS_API_USER")
KEY_ENV = ("GORGIAS_API_KEY",)
AUTH_STRING_ENV = ("GORGIAS_AUTH_STRING",)
BASE_URL_ENV = ("GORGIAS_BASE_URL",)
ACCESS_TOKEN_ENV = ("GORGIAS_ACCESS_TOKEN",)

_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Visible ASCII only: anything else could not travel in a header, or would split it.
_TOKEN = re.compile(r"^[\x21-\x7e]+$")
# Where a value was found: the lower, the more specific (and the stronger).
_FLAG, _ENVIRON, _DOTENV, _NOWHERE = range(4)


class Secret:
    """A string that never shows itself in repr/str; call `reveal()` where it is really needed."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    """Where to connect and as whom: an email and API key, or an OAuth access token."""

    base_url: str  # e.g. https://acme.gorgias.com/api, no trailing slash
    email: str = ""
    api_key: Secret | None = None
    access_token: Secret | None = None  # when set, it is what authenticates (Bearer)

    @property
    def uses_token(self) -> bool:
        return self.access_token is not None

    def authorization(self) -> str:
        """The `Authorization` header's value."""
        if self.access_token is not None:
            return f"Bearer {self.access_token.reveal()}"
        key = self.api_key.reveal() if self.api_key is not None else ""
        return "Basic " + base64.b64encode(f"{self.email}:{key}".encode()).decode("ascii")

    def redact(self, text: str) -> str:
        """`text` with the key, the token (and the Basic-auth token built from the key) replaced
        by ***."""
        for secret in self._secret_forms():
            text = text.replace(secret, "***")
        return text

    def _secret_forms(self) -> tuple[str, ...]:
        forms = []
        if self.access_token is not None and self.access_token.reveal():
            forms.append(self.access_token.reveal())
        if self.api_key is not None and self.api_key.reveal():
            key = self.api_key.reveal()
            forms += [key, base64.b64encode(f"{self.email}:{key}".encode()).decode()]
        return tuple(forms)


@dataclass(frozen=True)
class RawSettings:
    """Values as given on the command line; None means "not given there"."""

    domain: str | None = None
    email: str | None = None
    api_key: str | None = None
    base_url: str | None = None
    access_token: str | None = None


def read_dotenv(directory: Path | None = None) -> dict[str, str]:
    """The `.env` of the working directory as a dict (empty when there is none)."""
    path = (directory or Path.cwd()) / ".env"
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # only when there is a .env: 10 ms of every run otherwise

    try:
        values = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"Could not read {path}: {exc.__class__.__name__}; fix or remove it."
        ) from None
    return {k: v for k, v in values.items() if v is not None}


def load_settings(
    flags: RawSettings, environ: Mapping[str, str], dotenv: Mapping[str, str]
) -> Settings:
    """Resolve, validate and combine the settings; raises ConfigError naming what to fix."""
    sources = (environ, dotenv)
    base_url_value, base_url_level = _pick(flags.base_url, BASE_URL_ENV, sources)
    domain_value, domain_level = _pick(flags.domain, DOMAIN_ENV, sources)
    if domain_value and domain_level < base_url_level:
        # `--domain acme` names the host the key goes to: a base URL left in the environment
        # or a .env must not send it elsewhere. On a tie, the base URL (it replaces the domain).
        base_url_value = None
    token, email, key = _credentials(flags, sources)

    missing = []
    if not base_url_value and not domain_value:
        missing.append(("GORGIAS_DOMAIN", "--domain"))
    if not token and not email:
        missing.append(("GORGIAS_EMAIL", "--api-user"))  # every command takes it
    if not token and not key:
        missing.append(("GORGIAS_API_KEY", "--api-key"))
    if missing:
        names = ", ".join(f"{env} ({flag})" for env, flag in missing)
        oauth = "" if token or (email and key) else " (or, for an OAuth app, GORGIAS_ACCESS_TOKEN)"
        raise ConfigError(
            f"Missing setting: {names}; set each as a flag, an environment variable, "
            f"or a line in .env (see .env.example){oauth}."
        )
    if base_url_value:
        base_url = validate_base_url(base_url_value)
    else:
        assert domain_value
        base_url = f"https://{normalize_domain(domain_value)}.gorgias.com/api"
    if token:
        return Settings(base_url=base_url, access_token=Secret(_validate_token(token)))
    assert email and key  # narrowed by the check above
    return Settings(base_url=base_url, email=email, api_key=Secret(key))


def _pick(
    flag: str | None, names: tuple[str, ...], sources: tuple[Mapping[str, str], ...]
) -> tuple[str | None, int]:
    """The value and the level it was found at: the flag, else the first source naming it."""
    if flag:
        return flag.strip(), _FLAG
    for level, source in zip((_ENVIRON, _DOTENV), sources, strict=True):
        for name in names:
            if source.get(name, "").strip():
                return source[name].strip(), level
    return None, _NOWHERE


def _credentials(
    flags: RawSettings, sources: tuple[Mapping[str, str], ...]
) -> tuple[str | None, str | None, str | None]:
    """`(token, None, None)` when the token wins (see the module's docstring), else
    `(None, email, key)`, either of them None when missing."""
    token, token_level = _pick(flags.access_token, ACCESS_TOKEN_ENV, sources)
    email, _ = _pick(flags.email, EMAIL_ENV, sources)
    key, key_level = _pick(flags.api_key, KEY_ENV, sources)
    auth_string = None
    if not (email and key):  # an incomplete pair is no key: the auth string may stand in
        auth_string, key_level = _pick(None, AUTH_STRING_ENV, sources)
    if token is not None and token_level <= key_level:
        return token, None, None
    if auth_string:
        email, key = _split_auth_string(auth_string)
    return None, email, key


def _validate_token(value: str) -> str:
    """The token alone: a pasted `Bearer ` prefix is dropped; never quoted in the error."""
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    if not _TOKEN.match(value):
        raise ConfigError(
            "GORGIAS_ACCESS_TOKEN holds spaces or characters no access token has; "
            "set it to the token alone, as the OAuth app received it."
        )
    return value


def _split_auth_string(auth_string: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(auth_string, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    email, sep, key = decoded.partition(":")
    if not (sep and email and key):
        raise ConfigError(
            "GORGIAS_AUTH_STRING is not base64 of 'email:api-key'; "
            "fix it or set GORGIAS_EMAIL and GORGIAS_API_KEY instead."
        )
    return email, key


def normalize_domain(value: str) -> str:
    """`acme`, `acme.gorgias.com` and `https://acme.gorgias.com/` all give `acme`."""
    text = value.strip().lower()
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    text = text.rstrip("/")
    if text.endswith(".gorgias.com"):
        text = text[: -len(".gorgias.com")]
    if not _DNS_LABEL.match(text):
        raise ConfigError(
            f"GORGIAS_DOMAIN {value!r} is not a Gorgias subdomain; give the part before "
            ".gorgias.com, e.g. 'acme' (letters, digits and hyphens only)."
        )
    return text


def validate_base_url(value: str) -> str:
    """A base URL we may send credentials to: https anywhere, plain http only on loopback."""
    parts = urlsplit(value.strip())
    host = parts.hostname or ""
    if parts.username or parts.password:  # before anything that would quote the value
        raise ConfigError(
            "GORGIAS_BASE_URL must not contain credentials; set GORGIAS_EMAIL and "
            "GORGIAS_API_KEY instead."
        )
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(
            f"GORGIAS_BASE_URL {value!r} is not an http(s) URL; "
            "use e.g. https://acme.gorgias.com/api."
        )
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number from 1 to 65535
    except ValueError:
        raise ConfigError(
            f"GORGIAS_BASE_URL {value!r} has a port that is not a number from 1 to 65535; "
            "fix it, or leave the port out."
        ) from None
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"GORGIAS_BASE_URL uses plain http to {host}, which would send the key in clear "
            "text; use https (plain http is allowed only for 127.0.0.1 or localhost)."
        )
    return value.strip().rstrip("/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
