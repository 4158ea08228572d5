"""Every command-line option, declared once, and the decorator that gives each command the
connection options they all share (like sqlite-utils' shared output options)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from gorgias_export.timeutil import ACCEPTED_FORMS


class Per(StrEnum):
    message = "message"
    ticket = "ticket"


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    sqlite = "sqlite"
    xlsx = "xlsx"


def _option(*flags: str, help: str, **extra: Any) -> Any:
    return typer.Option(*flags, help=help, show_default=extra.pop("show_default", False), **extra)


# -- what to write, and where ------------------------------------------------------------------

Out = Annotated[
    str,
    _option(
        "--out",
        "-o",
        help="Output file (.csv, .jsonl, .ndjson, .xlsx, or .db/.sqlite/.sqlite3 for a SQLite "
        "mirror), or - for stdout (no resume then).",
    ),
]
JsonlOut = Annotated[
    str, _option("--out", "-o", help="Output file (.jsonl or .ndjson), or - for stdout.")
]
FormatFlag = Annotated[
    Format | None,
    _option(
        "--format", "-f", help="csv, jsonl, sqlite or xlsx; default: from the --out extension."
    ),
]
StateFlag = Annotated[
    Path | None,
    _option(
        "--state",
        help="Resume-state file. Default: beside --out, as <out>.state.json (SQLite output keeps "
        "it inside the database).",
    ),
]
Fresh = Annotated[
    bool,
    _option("--fresh", help="Discard saved progress and start over, overwriting the output."),
]
Reconcile = Annotated[
    bool,
    _option(
        "--reconcile",
        help="After the run, list every ticket (or customer) id, 100 a request, and remove from "
        "a SQLite mirror what the account no longer has (see docs/deletions.md).",
    ),
]
Overwrite = Annotated[
    bool,
    _option(
        "--overwrite",
        help="With --fresh: replace the output even if it does not look like a gorgias-export "
        "file (by default such a file is left alone).",
    ),
]
Repair = Annotated[
    bool,
    _option(
        "--repair",
        help="When a finished export's output was changed after its end (lines added), keep "
        "it whole as <out>.changed-<time>, put back the exported part (its length and first and "
        "last 16 KiB checked) and go on. For an interrupted export, the bytes after its last "
        "checkpoint are the crashed run's unsaved rows: they are cut back as without --repair. "
        "CSV and JSONL files only; not with --fresh.",
    ),
]
Since = Annotated[
    str | None,
    _option(
        "--since",
        help=f"Only rows created at or after this ({ACCEPTED_FORMS}; UTC unless an offset is "
        "given).",
    ),
]
Until = Annotated[
    str | None,
    _option(
        "--until",
        help="Only rows created up to the end of this (same forms as --since).",
    ),
]

# -- tickets -----------------------------------------------------------------------------------

PerFlag = Annotated[
    Per,
    _option(
        "--per",
        help="message: one row per message (default); ticket: one row per ticket with its "
        "figures (CSV, SQLite's ticket_summary table), or in JSONL one line per ticket with its "
        "messages nested and those figures.",
        show_default=True,
    ),
]
CustomFields = Annotated[
    bool,
    _option(
        "--custom-fields",
        help="With --per ticket: fill the cf_ columns with each ticket's custom field values, "
        "at one more request per ticket written (no listing carries them).",
    ),
]
CustomerId = Annotated[
    int | None, _option("--customer-id", help="Only this customer's tickets.", metavar="ID")
]
ViewId = Annotated[
    int | None, _option("--view-id", help="Only the tickets of this view.", metavar="ID")
]
ExternalId = Annotated[
    str | None,
    _option("--external-id", help="Only the ticket with this external id.", metavar="ID"),
]
TicketIds = Annotated[
    list[int] | None,
    _option("--ticket-id", help="Only this ticket (repeat for several).", metavar="ID"),
]

# -- all and get -------------------------------------------------------------------------------

OutDir = Annotated[
    str, _option("--out-dir", "-d", help="Directory for the files (created if missing).")
]
AllFormat = Annotated[
    Format,
    _option(
        "--format",
        "-f",
        help="csv, jsonl or xlsx for every file, or sqlite for one database.",
        show_default=True,
    ),
]
MaxSize = Annotated[
    str,
    _option(
        "--max-size",
        help="attachments: skip files larger than this (bytes, or with K, M or G), listed as "
        "too_large.",
        show_default=True,
    ),
]
ApiPath = Annotated[
    str,
    typer.Argument(
        help="The endpoint as in the API's documentation: /api/tags, or just tags.",
        show_default=False,
    ),
]
ExportPath = Annotated[
    str,
    typer.Argument(
        help="A tickets export: its --out (CSV, JSONL, --per ticket JSONL, xlsx or SQLite).",
        show_default=False,
    ),
]
VerifyState = Annotated[
    Path | None,
    _option("--state", help="The export's state file, if it was not <PATH>.state.json."),
]
Params = Annotated[
    list[str] | None,
    _option(
        "--param", "-p", help="A query parameter as key=value (repeatable).", metavar="KEY=VALUE"
    ),
]

# -- the connection, shared by every command ---------------------------------------------------

_EMAIL_HELP = (
    "Email of the user who owns the API key. [env: GORGIAS_EMAIL, GORGIAS_USERNAME, "
    "GORGIAS_API_USER]"
)
_SHARED: dict[str, tuple[Any, Any]] = {
    "max_rate": (
        Annotated[
            float | None,
            _option(
                "--max-rate",
                min=0.01,
                help="At most this many requests per second, to leave part of the account's "
                "rate limit to other integrations. Default: as fast as the limit allows.",
            ),
        ],
        None,
    ),
    "quiet": (
        Annotated[
            bool,
            _option("--quiet", "-q", help="No progress bar and no summary; errors only."),
        ],
        False,
    ),
    "verbose": (
        Annotated[
            bool,
            _option("--verbose", "-v", help="Log each request and retry (credentials redacted)."),
        ],
        False,
    ),
    "debug": (
        Annotated[
            bool, _option("--debug", help="Show a traceback for internal errors.", hidden=True)
        ],
        False,
    ),
    "domain": (
        Annotated[
            str | None,
            _option(
                "--domain",
                help="Account subdomain: acme, acme.gorgias.com or https://acme.gorgias.com. "
                "[env: GORGIAS_DOMAIN]",
            ),
        ],
        None,
    ),
    "api_user": (Annotated[str | None, _option("--email", "--api-user", help=_EMAIL_HELP)], None),
    "api_key": (
        Annotated[
            str | None,
            _option(
                "--api-key",
                help="REST API key (Settings → REST API); prefer the environment or .env, since "
                "flags show in `ps`. [env: GORGIAS_API_KEY, or GORGIAS_AUTH_STRING = base64 of "
                "email:key]",
            ),
        ],
        None,
    ),
    "access_token": (
        Annotated[
            str | None,
            _option(
                "--access-token",
                help="OAuth access token (sent as Bearer; email and key are then not needed); "
                "prefer the environment or .env. [env: GORGIAS_ACCESS_TOKEN]",
            ),
        ],
        None,
    ),
    "base_url": (
        Annotated[
            str | None,
            _option(
                "--base-url",
                help="Replaces https://{domain}.gorgias.com/api (a proxy, or the local "
                "simulator); plain http only for loopback. [env: GORGIAS_BASE_URL]",
            ),
        ],
        None,
    ),
}
# `customers --email` is a filter (the customer's address): there only --api-user names the
# API key's user.
_API_USER_ONLY = Annotated[str | None, _option("--api-user", help=_EMAIL_HELP)]


@dataclass(frozen=True)
class Connection:
    """The options every command shares: whom to connect as, how fast, how loud."""

    max_rate: float | None = None
    quiet: bool = False
    verbose: bool = False
    debug: bool = False
    domain: str | None = None
    api_user: str | None = None  # the email of the API key's user
    api_key: str | None = None
    access_token: str | None = None
    base_url: str | None = None


def with_connection(
    command: Callable[..., None] | None = None, *, email_is_a_filter: bool = False
) -> Any:
    """Add the shared options to `command`'s own, and hand them to it as `connection`."""

    def decorate(function: Callable[..., None]) -> Callable[..., None]:
        own = [
            p
            for p in inspect.signature(function, eval_str=True).parameters.values()
            if p.name != "connection"
        ]
        shared = []
        for name, (annotation, default) in _SHARED.items():
            if name == "api_user" and email_is_a_filter:
                annotation = _API_USER_ONLY
            shared.append(
                inspect.Parameter(
                    name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
                )
            )

        @functools.wraps(function)
        def wrapper(**options: Any) -> None:
            connection = Connection(**{name: options.pop(name) for name in _SHARED})
            function(**options, connection=connection)

        wrapper.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + shared
        )
        return wrapper

    return decorate(command) if command is not None else decorate
