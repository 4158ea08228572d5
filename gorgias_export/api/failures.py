"""What a failed request becomes: the client's exceptions, the error each 4xx answer turns into
(a 401 tells a refused token from an expired one; a 403 names what the key or token may not
read), and the lines said while retrying and on giving up."""

from __future__ import annotations

import logging

from gorgias_export.api.answers import Params, error_message, looks_like_html, server_reason
from gorgias_export.config import Settings
from gorgias_export.errors import (
    ApiError,
    AuthError,
    ConfigError,
    CursorRejected,
    NotFound,
    TokenExpired,
    UsageError,
)

log = logging.getLogger("gorgias_export")

# A wait this long or longer is logged (--verbose; at first contact, always): never in silence.
WAIT_SHOWN_SECONDS = 5.0


class BrokenBody(Exception):
    """A page whose body is not a list page (its request was answered, not its question)."""


class OptionalRequestFailed(ApiError):
    """An optional request (see `fetch_page`) failed in a way that is usually retried."""


class Forbidden(AuthError):
    """A 403: the key's role (or the token's scopes) may not read this one path."""


class RetriesExhausted(ApiError):
    """A request kept failing in ways worth retrying (5xx, broken connections) for the whole
    retry budget."""


class Retry(Exception):
    """Internal: this attempt failed in a way worth retrying."""

    def __init__(
        self, reason: str, retry_after: float | None = None, rate_limited: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.rate_limited = rate_limited


def client_error(
    settings: Settings,
    path: str,
    params: Params,
    status: int,
    body: bytes,
    *,
    had_success: bool,
    accepted: bool,
) -> Exception:
    """The error a 4xx answer becomes (never retried)."""
    detail = error_message(body, settings.redact)
    if status == 401:
        return unauthorized(settings, accepted)
    if status == 403:
        reason = server_reason(body, redact=settings.redact)
        said = f" The API said: {reason}" if reason else ""
        who = "The access token" if settings.uses_token else "The API key's user"
        fix = (
            "an OAuth app whose scopes and user's role cover it"
            if settings.uses_token
            else "a key whose user's role has access to it"
        )
        return Forbidden(f"{who} may not read {path} (403); use {fix}.{said}")
    if status == 404 and not had_success and looks_like_html(body):
        return ConfigError(
            "The API host answered 404 with a web page; check GORGIAS_DOMAIN "
            "(the part before .gorgias.com)."
        )
    if any(name == "cursor" for name, _ in params):
        return CursorRejected(f"The API refused a saved cursor on {path} ({status}{detail}).")
    if status == 400:  # documented as a bad or unknown parameter: a flag's value
        return UsageError(
            f"The API rejected the request's parameters (400 on GET {path}{detail}); "
            "check the filter flags' values."
        )
    if status == 404:
        return NotFound(f"The API has no {path} (404{detail}); check the path.")
    return ApiError(f"The API answered {status} to GET {path}{detail}; this is not retried.")


def unauthorized(settings: Settings, accepted: bool) -> AuthError:
    if not settings.uses_token:
        return AuthError(
            "The API refused the credentials (401); check GORGIAS_EMAIL and GORGIAS_API_KEY "
            "(or GORGIAS_AUTH_STRING)."
        )
    if accepted:  # it worked until now: it expired (tokens last 24 h)
        return TokenExpired(
            "The API stopped accepting the access token mid-run (401): OAuth tokens last "
            "24 hours, so it has most likely expired; progress is saved, rerun the same "
            "command with a new GORGIAS_ACCESS_TOKEN to continue."
        )
    return AuthError(
        "The API refused the access token (401); check GORGIAS_ACCESS_TOKEN (tokens last "
        "24 hours: get a new one from the OAuth app if it has expired)."
    )


def say_retrying(
    settings: Settings, path: str, retry: Retry, delay: float, *, had_success: bool
) -> None:
    """A wait of a few seconds or more is said: a 429 before the first answer always (the
    run would look hung), the rest with --verbose (a refusal stays one line; a host name
    that does not exist fails at once, not after a silent minute)."""
    if delay >= WAIT_SHOWN_SECONDS and not had_success and retry.rate_limited:
        log.warning(
            "%s answered 429 Too Many Requests (the account's rate limit); waiting %.0f s.",
            settings.base_url,
            delay,
        )
    elif delay >= WAIT_SHOWN_SECONDS and not had_success:
        # --verbose: a refusal stays one line (a name that does not exist fails at once).
        log.info(
            "No answer from %s yet (%s); trying again in %.0f s.",
            settings.base_url,
            retry.reason,
            delay,
        )
    else:
        log.info("retrying %s in %.1f s after %s", path, delay, retry.reason)


def gave_up(
    settings: Settings, path: str, retry: Retry, elapsed: float, *, had_success: bool
) -> ApiError:
    reason = retry.reason
    if retry.rate_limited:
        return RetriesExhausted(
            f"The API kept answering 429 Too Many Requests on {path} for {elapsed:.0f} s "
            "(the account's rate limit, shared with its other apps); progress is saved, "
            "rerun later."
        )
    if not had_success:
        if "proxy" in reason:
            hint = "check HTTPS_PROXY (or unset it) and the network"
        elif reason.startswith("HTTP "):  # a 5xx: the host answered, it is failing
            hint = "the API is failing, try again later"
        else:
            hint = "check GORGIAS_DOMAIN or GORGIAS_BASE_URL and the network"
        return RetriesExhausted(
            f"Could not reach the API at {settings.base_url} ({reason}, gave up after "
            f"{elapsed:.0f} s); {hint}."
        )
    return RetriesExhausted(
        f"The API kept failing on {path} ({reason}) for {elapsed:.0f} s; progress is saved, "
        "rerun the same command later to continue."
    )
