"""Settings of a simulator run: who may log in, how the bucket behaves, which faults to inject."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass
class Faults:
    """Per-request probabilities of each fault, each in [0, 1]; all off by default."""

    error_5xx: float = 0.0  # 500/502/503 with a JSON or short plain-text body
    reset: float = 0.0  # close the socket without answering
    truncated: float = 0.0  # 200 with the full Content-Length but only half the body
    html_error: float = 0.0  # 502 with an HTML page, as a proxy in front of the API would send
    slow: float = 0.0  # wait `slow_seconds` before answering, to outlast a client's read timeout
    slow_seconds: float = 5.0
    rate_limited: float = 0.0  # 429 regardless of the bucket, as in a storm from other clients
    retry_after: int = 1  # the Retry-after those 429s (and fail_next "429") carry, in seconds
    seed: int = 0  # separate from the data seed, so faults can vary while the data stays put

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name in {"slow_seconds", "retry_after", "seed"}:
                continue
            value = getattr(self, f.name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{f.name} must be within [0, 1], not {value!r}")
        if self.slow_seconds < 0:
            raise ValueError("Faults.slow_seconds must not be negative")
        if self.retry_after < 0:
            raise ValueError("Faults.retry_after must not be negative")


BUILT_CURSORS = ("accept", "refuse-4xx", "refuse-5xx")


@dataclass
class SimConfig:
    """Everything about a simulator run except its data; tests may change it while it serves."""

    seed: int = 1
    tickets: int = 200
    email: str = "agent@example.com"
    api_key: str = "sim-api-key"
    rate_limit: bool = True
    bucket_capacity: int = 40  # requests
    bucket_window: float = 20.0  # seconds to drain a full bucket
    latency: float = 0.0  # seconds added before every response
    cursor_ttl: float | None = None  # seconds a cursor keeps working after it is issued
    # How a cursor this server never issued (built by the client) is answered: "accept", or
    # "refuse-4xx" (400) or "refuse-5xx" (500; malformed ones too). The real API is unsure.
    built_cursors: str = "accept"
    # False: the subdomain does not exist, and every request gets the 404 web page Gorgias sends.
    account_exists: bool = True
    # OAuth: the one accepted `Authorization: Bearer` token (None: Basic auth only). OAuth apps
    # have their own bucket, 80 per window against the key's 40.
    access_token: str | None = "sim-access-token"
    oauth_bucket_capacity: int = 80
    # After this many requests with one token, it has expired: 401, as after its 24 h. Counted
    # per token value, so setting a new `access_token` mid-test is a fresh token.
    token_lifetime: int | None = None
    # What a 403 says, in the real body's shape ({"error": {"msg": ...}}).
    forbidden_reason: str = "You do not have enough permissions to perform this action."
    faults: Faults = field(default_factory=Faults)
    # Where public sources disagree on the real API, each answer can be chosen, so that tests
    # show the exporter handles both:
    # - False: /api/macros lists archived macros only with archived=true (the spec's "defaults
    #   to false"); True: it lists every macro and ignores `archived`.
    macros_list_archived: bool = False
    # True: /api/events refuses object_type without object_id (400), as one live source says.
    events_need_object_id: bool = False
    # /api/account/settings as a list envelope ("list"), a bare JSON array ("array"), or one
    # object mapping each setting's type to its data ("object").
    account_settings_shape: str = "list"
    # True: a second loopback host serves the attachment files and recordings (uploads.py), and
    # /api/<file type>/download/... redirects to it.
    uploads: bool = False

    def __post_init__(self) -> None:
        if self.built_cursors not in BUILT_CURSORS:
            raise ValueError(f"SimConfig.built_cursors must be one of {BUILT_CURSORS}")
