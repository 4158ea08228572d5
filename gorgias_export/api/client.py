"""The read-only HTTP client: auth, pacing, retries and list pages (what a page says: answers.py).

It can only send GET: http.py has no other method, and its one request call sends "GET".
Retriable failures (429, 5xx, connection errors, timeouts, bodies that are not the JSON we
expect) are retried with capped, jittered backoff inside a bounded time budget; every other 4xx
fails at once with the status, the path and a hint; a certificate that does not verify, or a
redirect, is a configuration error at once.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gorgias_export import fastjson
from gorgias_export.api.answers import (
    Page as Page,
)
from gorgias_export.api.answers import (
    Params as Params,
)
from gorgias_export.api.answers import (
    envelope_problem,
    is_list_envelope,
    list_page,
    order_problem,
    with_cursor,
)
from gorgias_export.api.failures import WAIT_SHOWN_SECONDS, client_error, gave_up, say_retrying
from gorgias_export.api.failures import BrokenBody as BrokenBody
from gorgias_export.api.failures import Forbidden as Forbidden
from gorgias_export.api.failures import OptionalRequestFailed as OptionalRequestFailed
from gorgias_export.api.failures import RetriesExhausted as RetriesExhausted
from gorgias_export.api.failures import Retry as _Retry
from gorgias_export.api.http import (
    Answer,
    BodyTooLarge,
    CertificateRefused,
    HostNotFound,
    Transport,
    TransportError,
)
from gorgias_export.api.pacing import BucketPacer, parse_retry_after
from gorgias_export.config import Settings
from gorgias_export.errors import ApiError, ConfigError

log = logging.getLogger("gorgias_export")

T = TypeVar("T")

# Until the first successful response, failures most likely mean a wrong host: give up quickly.
FIRST_CONTACT_BUDGET_SECONDS = 60.0
# Mid-run, an outage is worth waiting out; after this long the run stops with progress saved.
RETRY_BUDGET_SECONDS = 600.0
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 30.0
# The most one response may take, however its bytes trickle in (each read has its own timeout,
# which a server sending a byte every few seconds never reaches). A 64 MB body at 1 MB/s fits.
RESPONSE_DEADLINE_SECONDS = 120.0
# What a private file's download may answer, for its caller to read (get_redirect).
_FILE_ANSWERS = frozenset({301, 302, 303, 307, 308, 400, 403, 404, 410})


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
        response_deadline: float = RESPONSE_DEADLINE_SECONDS,
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
        self._transport = Transport(settings, (connect_timeout, read_timeout, response_deadline))
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
        sent = with_cursor(path, params, cursor)
        payload: dict[str, Any] = self._retrying(
            path, sent, lambda answer: self._list_payload(answer, path, params), optional
        )
        return list_page(path, payload)

    def fetch_body(
        self, path: str, params: Params, cursor: str | None = None, optional: bool = False
    ) -> Answer:
        """A page's answer, retried on its status but not decoded: `page_of` decodes it on the
        thread that uses it, so that pages asked for ahead wait as bytes, not as objects three
        times their size. `optional` as for `fetch_page`."""
        sent = with_cursor(path, params, cursor)
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
        return list_page(path, payload)

    def get_redirect(self, path: str) -> Answer:
        """GET `path`, an endpoint that answers with a redirect it is not ours to follow here (a
        private file's download: 307 to a signed URL, fetched without credentials). The answer
        itself for a 3xx, 400, 403, 404 or 410; 429s and 5xx are retried as for any request."""
        answer: Answer = self._retrying(path, (), lambda answer: answer, passthrough=_FILE_ANSWERS)
        return answer

    def _retrying(
        self,
        path: str,
        params: Params,
        accept: Callable[[Answer], T],
        optional: bool = False,
        passthrough: frozenset[int] = frozenset(),
    ) -> T:
        """Attempts until one is accepted, within the retry budget (an optional request: one
        attempt, and waits for 429s)."""
        failures = 0
        streak_started = self._clock()
        while True:
            if self._closed.is_set():
                raise ApiError("The export has ended; this request is no longer needed.")
            try:
                return accept(self._attempt(path, params, passthrough))
            except _Retry as retry:
                if optional and not retry.rate_limited:
                    raise OptionalRequestFailed(
                        f"GET {path} failed ({retry.reason}); it was optional, not retried."
                    ) from None
                failures += 1
                # A 429 is the API's own answer, so the host is right: it is waited out with
                # the budget of a run, not given up on like a host that does not answer.
                contact = self._had_success or retry.rate_limited
                budget = self._retry_budget if contact else self._first_contact_budget
                elapsed = self._clock() - streak_started
                delay = self._backoff(failures, retry.retry_after)
                if elapsed + delay > budget:
                    raise gave_up(
                        self.settings, path, retry, elapsed, had_success=self._had_success
                    ) from None
                self.stats.count("retries")
                say_retrying(self.settings, path, retry, delay, had_success=self._had_success)
                self._sleep(delay)

    def _attempt(
        self, path: str, params: Params, passthrough: frozenset[int] = frozenset()
    ) -> Answer:
        """One request; raises _Retry for what is worth retrying, an ExportError for the rest."""
        delay = self.pacer.reserve()
        if delay > 0:
            if delay >= WAIT_SHOWN_SECONDS:  # never a long wait in silence
                log.info("waiting %.0f s before GET %s: the account's rate limit", delay, path)
            self._sleep(delay)
        self.stats.count("requests")
        sent_at = self._clock()
        try:
            # Until an answer came, one response may not take longer than first contact may.
            within = None if self._had_success else max(self._first_contact_budget, 1.0)
            answer = self._transport.get(path, list(params), within)
        except HostNotFound as unknown:
            self.pacer.note_response(None)
            if unknown.permanent and not self._had_success:  # a typo: retrying cannot help
                proxy = unknown.host != self._transport.host
                raise ConfigError(
                    f"The host {unknown.host} does not exist (DNS); check "
                    + ("HTTPS_PROXY." if proxy else "GORGIAS_DOMAIN or GORGIAS_BASE_URL.")
                ) from None
            raise _Retry(unknown.reason) from None
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
        if answer.status not in passthrough:
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
            raise client_error(
                self.settings,
                path,
                params,
                status,
                body,
                had_success=self._had_success,
                accepted=self._accepted,
            )
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
        if is_list and not is_list_envelope(payload):
            raise _Retry(f"a {status} response without a list of objects in 'data'")
        self._had_success = True
        return payload

    def _list_payload(self, answer: Answer, path: str, params: Params) -> dict[str, Any]:
        """The JSON object of a list page; one whose envelope is not the documented one, or
        whose items are out of the order asked for, is retried like a broken body: taken as
        it came, it could pass for the end of the listing or give rows twice."""
        payload = self._payload(answer, is_list=True)
        problem = envelope_problem(path, payload) or order_problem(params, payload["data"])
        if problem:
            raise _Retry(f"a {answer.status} list page {problem}")
        return payload

    def _backoff(self, failures: int, retry_after: float | None) -> float:
        capped = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (failures - 1))
        jittered: float = capped * self._rng.uniform(0.5, 1.0)
        return max(jittered, retry_after or 0.0)
