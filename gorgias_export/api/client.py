"""The read-only HTTP client: auth, pacing, retries and cursor paging.

It can only send GET: http.py has no other method, and its one request call sends "GET".
Retriable failures (429, 5xx, connection errors, timeouts, bodies that are not the JSON we
expect) are retried with capped, jittered backoff inside a bounded time budget; every other 4xx
fails at once with the status, the path and a hint; a certificate that does not verify, or a
redirect, is a configuration error at once.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from gorgias_export import fastjson
from gorgias_export.api.http import (
    Answer,
    BodyTooLarge,
    CertificateRefused,
    Transport,
    TransportError,
)
from gorgias_export.api.pacing import BucketPacer, parse_retry_after
from gorgias_export.config import Settings
from gorgias_export.errors import (
    ApiError,
    AuthError,
    ConfigError,
    CursorRejected,
    TokenExpired,
    UsageError,
)
from gorgias_export.timeutil import sort_key

log = logging.getLogger("gorgias_export")

Params = Sequence[tuple[str, str | int]]
T = TypeVar("T")

# Until the first successful response, failures most likely mean a wrong host: give up quickly.
FIRST_CONTACT_BUDGET_SECONDS = 60.0
# Mid-run, an outage is worth waiting out; after this long the run stops with progress saved.
RETRY_BUDGET_SECONDS = 600.0
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 30.0
# The server's reason for a 403 is shown as it came, but a body is not ours to print in full.
REASON_LIMIT = 300


@dataclass
class Page:
    """One page of a list endpoint: its items, and the cursor to the page after it."""

    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, name: str) -> None:
        with self._lock:  # requests run on several threads
            setattr(self, name, getattr(self, name) + 1)


class BrokenBody(Exception):
    """A page whose body is not a list page (its request was answered, not its question)."""


class OptionalRequestFailed(ApiError):
    """An optional request (see `fetch_page`) failed in a way that is usually retried."""


class RetriesExhausted(ApiError):
    """A request kept failing in ways worth retrying (5xx, broken connections) for the whole
    retry budget."""


class _Retry(Exception):
    """Internal: this attempt failed in a way worth retrying."""

    def __init__(
        self, reason: str, retry_after: float | None = None, rate_limited: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class GorgiasClient:
    """GET JSON from the Gorgias API, paced by the account's bucket and retried when it helps."""

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        first_contact_budget: float = FIRST_CONTACT_BUDGET_SECONDS,
        retry_budget: float = RETRY_BUDGET_SECONDS,
        max_rate: float | None = None,
    ) -> None:
        self.settings = settings
        # close() ends every wait at once; tests inject a sleep that does not really wait.
        self._closed = threading.Event()
        self._sleep: Callable[[float], object] = sleep or self._closed.wait
        self._clock = clock
        self._rng = rng or random.Random()
        self._transport = Transport(settings, (connect_timeout, read_timeout))
        self._first_contact_budget = first_contact_budget
        self._retry_budget = retry_budget
        self._had_success = False
        # A 2xx answer came: the credentials were accepted, so a later 401 means they stopped
        # being (an expired token). Set before any decoding, which pages asked ahead wait for.
        self._accepted = False
        self.pacer = BucketPacer(clock, max_rate=max_rate)
        self.stats = ClientStats(started=clock())

    def close(self) -> None:
        """Stop: a request still waiting or retrying on another thread (a page asked for ahead
        that is no longer needed) gives up instead of going on after the export."""
        self._closed.set()
        self._transport.close()

    # -- single requests -------------------------------------------------------------------

    def get_json(self, path: str, params: Params = (), is_list: bool = False) -> dict[str, Any]:
        """GET `path` (relative to the API base, e.g. `/tickets`) and return its JSON object.

        With `is_list`, a body without a `data` list of objects is retried like a broken one.
        """
        payload: dict[str, Any] = self._retrying(
            path, params, lambda answer: self._payload(answer, is_list)
        )
        return payload

    def get_any_json(self, path: str, params: Params = ()) -> Any:
        """GET `path` whose answer may be a JSON object or a JSON array: an endpoint whose
        shape is not documented (/account/settings)."""
        return self._retrying(path, params, self._any_payload)

    def _any_payload(self, answer: Answer) -> Any:
        try:
            payload = fastjson.loads(answer.body)
        except (ValueError, UnicodeDecodeError):
            raise _Retry(f"a {answer.status} response that is not JSON") from None
        if not isinstance(payload, dict | list):
            raise _Retry(f"a {answer.status} response that is neither an object nor a list")
        self._had_success = True
        return payload

    def fetch_page(
        self, path: str, params: Params, cursor: str | None = None, optional: bool = False
    ) -> Page:
        """One page of a list endpoint; `limit` and `order_by` must be in `params` every time.

        `optional`: the caller has another way to the same rows (a cursor built by hand), so
        the request is tried once: a 5xx or a broken connection raises OptionalRequestFailed
        at once instead of being retried for minutes. Only a 429 is still waited out, since
        it says nothing about the request."""
        sent = _with_cursor(path, params, cursor)
        payload: dict[str, Any] = self._retrying(
            path, sent, lambda answer: self._list_payload(answer, path, params), optional
        )
        return _page(path, payload)

    def fetch_body(
        self, path: str, params: Params, cursor: str | None = None, optional: bool = False
    ) -> Answer:
        """A page's answer, retried on its status but not decoded: `page_of` decodes it on the
        thread that uses it, so that pages asked for ahead wait as bytes, not as objects three
        times their size. `optional` as for `fetch_page`."""
        sent = _with_cursor(path, params, cursor)
        answer: Answer = self._retrying(path, sent, lambda answer: answer, optional)
        return answer

    def page_of(self, answer: Answer, path: str, params: Params = ()) -> Page:
        """The page of `path` in `answer` (asked for with `params`); raises BrokenBody when it
        holds none (ask for it again)."""
        try:
            payload = self._list_payload(answer, path, params)
        except _Retry as broken:
            self.stats.count("retries")
            raise BrokenBody(broken.reason) from None
        return _page(path, payload)

    def _retrying(
        self, path: str, params: Params, accept: Callable[[Answer], T], optional: bool = False
    ) -> T:
        """Attempts until one is accepted, within the retry budget (an optional request: one
        attempt, and waits for 429s)."""
        failures = 0
        streak_started = self._clock()
        while True:
            if self._closed.is_set():
                raise ApiError("The export has ended; this request is no longer needed.")
            try:
                return accept(self._attempt(path, params))
            except _Retry as retry:
                if optional and not retry.rate_limited:
                    raise OptionalRequestFailed(
                        f"GET {path} failed ({retry.reason}); it was optional, not retried."
                    ) from None
                failures += 1
                budget = self._retry_budget if self._had_success else self._first_contact_budget
                elapsed = self._clock() - streak_started
                delay = self._backoff(failures, retry.retry_after)
                if elapsed + delay > budget:
                    raise self._gave_up(path, retry.reason, elapsed) from None
                self.stats.count("retries")
                log.info("retrying %s in %.1f s after %s", path, delay, retry.reason)
                self._sleep(delay)

    def _attempt(self, path: str, params: Params) -> Answer:
        """One request; raises _Retry for what is worth retrying, an ExportError for the rest."""
        delay = self.pacer.reserve()
        if delay > 0:
            self._sleep(delay)
        self.stats.count("requests")
        sent_at = self._clock()
        try:
            answer = self._transport.get(path, list(params))
        except TransportError as failed:
            self.pacer.note_response(None)
            raise _Retry(failed.reason) from None
        except BodyTooLarge as large:
            self.pacer.note_response(None)
            raise ApiError(f"The API sent {large} for GET {path}; stopping.") from None
        except CertificateRefused as refused:
            self.pacer.note_response(None)
            raise ConfigError(
                f"The TLS certificate of {self.settings.base_url} did not verify ({refused}); "
                "check GORGIAS_DOMAIN or GORGIAS_BASE_URL, or the CA bundle in "
                "REQUESTS_CA_BUNDLE / SSL_CERT_FILE."
            ) from None
        except BaseException:
            self.pacer.note_response(None)
            raise
        self.pacer.note_response(answer.headers)
        if log.isEnabledFor(logging.DEBUG):  # --verbose; its arguments cost a lock and a redaction
            log.debug(
                "GET %s -> %s (%.2f s, bucket %.0f/%s)",
                self.settings.redact(answer.url),
                answer.status,
                self._clock() - sent_at,
                self.pacer.level(),
                self.pacer.limit or "?",
            )
        self._check_status(path, params, answer)
        if answer.status < 300:
            self._accepted = True
        return answer

    def _check_status(self, path: str, params: Params, answer: Answer) -> None:
        status, body = answer.status, answer.body
        if status == 429:
            self.stats.count("rate_limited")
            retry_after = parse_retry_after(answer.headers)
            self.pacer.note_rate_limited(retry_after)
            raise _Retry("429 Too Many Requests", retry_after, rate_limited=True)
        if status >= 500:
            raise _Retry(f"HTTP {status}", parse_retry_after(answer.headers))
        if status >= 400:
            raise self._client_error(path, params, status, body)
        if status >= 300:  # not followed: the credentials go to the configured host only
            where = answer.headers.get("location") or "elsewhere"
            raise ConfigError(
                f"The API answered {status} to GET {path}, sending it to {where}; check "
                "GORGIAS_DOMAIN or GORGIAS_BASE_URL (redirects are not followed)."
            )

    def _payload(self, answer: Answer, is_list: bool) -> dict[str, Any]:
        """The JSON object of a 2xx answer; a body that is not what the API sends is retried."""
        status = answer.status
        try:
            payload = fastjson.loads(answer.body)  # json.loads, with orjson where it gives the same
        except (ValueError, UnicodeDecodeError):
            raise _Retry(f"a {status} response that is not JSON") from None
        if not isinstance(payload, dict):
            raise _Retry(f"a {status} response that is not a JSON object")
        if is_list and not _is_list_envelope(payload):
            raise _Retry(f"a {status} response without a list of objects in 'data'")
        self._had_success = True
        return payload

    def _list_payload(self, answer: Answer, path: str, params: Params) -> dict[str, Any]:
        """The JSON object of a list page; one whose envelope is not the documented one, or
        whose items are out of the order asked for, is retried like a broken body: taken as
        it came, it could pass for the end of the listing or give rows twice."""
        payload = self._payload(answer, is_list=True)
        problem = _envelope_problem(path, payload) or _order_problem(params, payload["data"])
        if problem:
            raise _Retry(f"a {answer.status} list page {problem}")
        return payload

    def _client_error(self, path: str, params: Params, status: int, body: bytes) -> Exception:
        detail = _error_message(body)
        if status == 401:
            return self._unauthorized()
        if status == 403:
            reason = _server_reason(body)
            said = f" The API said: {reason}" if reason else ""
            who = "The access token" if self.settings.uses_token else "The API key's user"
            fix = (
                "an OAuth app whose scopes and user's role cover it"
                if self.settings.uses_token
                else "a key whose user's role has access to it"
            )
            return AuthError(f"{who} may not read {path} (403); use {fix}.{said}")
        if status == 404 and not self._had_success and _looks_like_html(body):
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
            return ApiError(f"The API has no {path} (404{detail}); check the path.")
        return ApiError(f"The API answered {status} to GET {path}{detail}; this is not retried.")

    def _unauthorized(self) -> AuthError:
        if not self.settings.uses_token:
            return AuthError(
                "The API refused the credentials (401); check GORGIAS_EMAIL and GORGIAS_API_KEY "
                "(or GORGIAS_AUTH_STRING)."
            )
        if self._accepted:  # it worked until now: it expired (tokens last 24 h)
            return TokenExpired(
                "The API stopped accepting the access token mid-run (401): OAuth tokens last "
                "24 hours, so it has most likely expired; progress is saved, rerun the same "
                "command with a new GORGIAS_ACCESS_TOKEN to continue."
            )
        return AuthError(
            "The API refused the access token (401); check GORGIAS_ACCESS_TOKEN (tokens last "
            "24 hours: get a new one from the OAuth app if it has expired)."
        )

    def _backoff(self, failures: int, retry_after: float | None) -> float:
        capped = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (failures - 1))
        jittered: float = capped * self._rng.uniform(0.5, 1.0)
        return max(jittered, retry_after or 0.0)

    def _gave_up(self, path: str, reason: str, elapsed: float) -> ApiError:
        if not self._had_success:
            return RetriesExhausted(
                f"Could not reach the API at {self.settings.base_url} ({reason}, gave up after "
                f"{elapsed:.0f} s); check GORGIAS_DOMAIN or GORGIAS_BASE_URL and the network."
            )
        return RetriesExhausted(
            f"The API kept failing on {path} ({reason}) for {elapsed:.0f} s; progress is saved, "
            "rerun the same command later to continue."
        )

    # -- lists -----------------------------------------------------------------------------


# The one listing known to page by links (`meta.next_items`) instead of `meta.next_cursor`.
_LINK_PAGED = re.compile(r"/views/[^/]+/items/?")


def link_paged(path: str) -> bool:
    """Whether `path` (under /api) pages with `meta.next_items` links: a view's items. Their
    walk's cursor is then the link's query string (docs/walks.md, "View items")."""
    return _LINK_PAGED.fullmatch(path) is not None


def _with_cursor(path: str, params: Params, cursor: str | None) -> Params:
    if not cursor:
        return params
    if not link_paged(path):
        return [*params, ("cursor", cursor)]
    # The link's own parameters (cursor, ignored_item, direction), as the API wrote them;
    # ours (limit, order_by, filters) are sent again and win, as on every other listing.
    ours = {name for name, _ in params}
    linked = [(k, v) for k, v in parse_qsl(cursor, keep_blank_values=True) if k not in ours]
    if not any(name == "direction" for name, _ in linked):
        linked.append(("direction", "next"))  # what the links and the peers send
    return [*params, *linked]


def _page(path: str, payload: dict[str, Any]) -> Page:
    meta = payload.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    items = payload["data"]
    if link_paged(path):
        link = meta.get("next_items")
        if items and (
            not isinstance(link, str | None)
            or (link is None and isinstance(meta.get("next_cursor"), str))
        ):
            # Read as links, this page would look like the last one.
            raise ApiError(
                f"The API paged {path} otherwise than with next_items links, which is how "
                "gorgias-export reads it; stopping rather than ending after the first page."
            )
        return Page(items, _next_link(path, link, items))
    next_cursor = meta.get("next_cursor")
    if next_cursor is None and isinstance(meta.get("next_items"), str):
        # Read as a cursor listing, this page would look like the last one.
        raise ApiError(
            f"The API pages {path} with next_items links, which gorgias-export follows only "
            "on /api/views/{id}/items; stopping rather than ending after the first page."
        )
    if not isinstance(next_cursor, str | None):
        # Only null marks the last page.
        raise ApiError(
            f"The API sent a next_cursor on {path} that is not a cursor (a "
            f"{type(next_cursor).__name__}); stopping rather than taking this page for the last."
        )
    return Page(items, next_cursor)


def _next_link(path: str, link: Any, items: list[dict[str, Any]]) -> str | None:
    """The query of a `next_items` link, kept as sent (it is the walk's opaque cursor); None
    at the end: no link, or an empty page (nothing lies past its cursor)."""
    if not isinstance(link, str) or not link or not items:
        return None
    query = urlsplit(link).query
    if not any(name == "cursor" for name, _ in parse_qsl(query, keep_blank_values=True)):
        # Following it would read the first page again, and again.
        raise ApiError(
            f"The API's next_items link on {path} has no cursor ({link[:200]}); stopping "
            "rather than reading the first page again."
        )
    return query


def _envelope_problem(path: str, payload: dict[str, Any]) -> str | None:
    """What is wrong with a list page's envelope (its `data` was checked), or None. The API
    documents `meta` as an object holding `next_cursor`, a string or null (view items:
    `next_items`, a link or null); anything else is not a page to trust with the end of a
    listing (docs/walks.md, "Malformed pages")."""
    meta = payload.get("meta")
    if not isinstance(meta, dict):
        return "without a 'meta' object"
    name = "next_items" if link_paged(path) else "next_cursor"
    value = meta.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        return f"whose meta.{name} is {_shown(value)}, not a string or null"
    return None


def _order_problem(params: Params, items: list[dict[str, Any]]) -> str | None:
    """Whether a page's items follow the `order_by` asked for, by its time field's value (ties
    are not judged: the API's order among equal times is not documented). Fields that are not
    times (`priority`, names) are not checked."""
    orders = [str(value) for name, value in params if name == "order_by"]
    field, _, direction = (orders[-1] if orders else "").partition(":")
    if not field.endswith("_datetime") or direction not in ("asc", "desc"):
        return None
    values = [value for value in (sort_key(item.get(field)) for item in items) if value]
    pairs = itertools.pairwise(values)
    if any((b > a) if direction == "desc" else (b < a) for a, b in pairs):
        return f"with its items out of the order asked for ({field}:{direction})"
    return None


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _is_list_envelope(payload: dict[str, Any]) -> bool:
    data = payload.get("data")
    return isinstance(data, list) and all(isinstance(item, dict) for item in data)


def _error_message(body: bytes) -> str:
    """`: <msg>` from a Gorgias error body, or '' when there is none."""
    message = _server_reason(body, 200)
    return f": {message.rstrip('. ')}" if message else ""  # it goes inside our own sentence


def _server_reason(body: bytes, limit: int = REASON_LIMIT) -> str:
    """The `error.msg` of a Gorgias error body, made safe to print on one line: control and
    format characters (newlines, escapes, bidi overrides) become spaces, runs of spaces one,
    and past `limit` characters it is cut with an ellipsis. '' when the body has none."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    error = payload.get("error") if isinstance(payload, dict) else None
    message = error.get("msg") if isinstance(error, dict) else None
    if not isinstance(message, str):
        return ""
    printable = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in message)
    text = " ".join(printable.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _looks_like_html(body: bytes) -> bool:
    return body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))
