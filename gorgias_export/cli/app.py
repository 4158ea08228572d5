"""The command line: thin Typer commands, and the one place that turns errors into exit codes."""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

try:  # Typer >= 0.20 vendors Click; earlier releases use the click package
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover
    from click import ClickException  # type: ignore[import-not-found,no-redef,unused-ignore]

from gorgias_export import __version__
from gorgias_export.api.client import GorgiasClient
from gorgias_export.cli.display import ProgressDisplay
from gorgias_export.config import RawSettings, Settings, load_settings, read_dotenv
from gorgias_export.errors import ExitCode, ExportError, OutputError, UsageError
from gorgias_export.exports.filtered import ticket_listings
from gorgias_export.jobs.all import AllJob, AllResult, run_all_job
from gorgias_export.jobs.entities import EntityJob, is_list_endpoint, run_entity_job
from gorgias_export.jobs.tickets import JobResult, TicketsJob, run_tickets_job
from gorgias_export.output.writers import format_from_path
from gorgias_export.resources import (
    ENTITIES,
    Entity,
    Filter,
    Incremental,
    adhoc_entity,
    normalize_api_path,
)
from gorgias_export.timeutil import ACCEPTED_FORMS, parse_cli_datetime

app = typer.Typer(
    name="gorgias-export",
    help="Export a Gorgias helpdesk account's data to files, resumably, at the API's rate limit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

log = logging.getLogger("gorgias_export")


class Per(StrEnum):
    message = "message"
    ticket = "ticket"


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    sqlite = "sqlite"


# -- shared options ------------------------------------------------------------------------

_HELP = {
    "domain": "Account subdomain: acme, acme.gorgias.com or https://acme.gorgias.com. "
    "[env: GORGIAS_DOMAIN]",
    "email": "Email of the user who owns the API key. "
    "[env: GORGIAS_EMAIL, GORGIAS_USERNAME, GORGIAS_API_USER]",
    "api_key": "REST API key (Settings → REST API); prefer the environment or .env, since "
    "flags show in `ps`. [env: GORGIAS_API_KEY, or GORGIAS_AUTH_STRING = base64 of email:key]",
    "base_url": "Replaces https://{domain}.gorgias.com/api (a proxy, or the local simulator); "
    "plain http only for loopback. [env: GORGIAS_BASE_URL]",
    "out": "Output file (.csv, .jsonl, .ndjson, or .db/.sqlite/.sqlite3 for a SQLite mirror), "
    "or - for stdout (no resume then).",
    "since": f"Only messages created at or after this ({ACCEPTED_FORMS}; UTC unless an "
    "offset is given).",
}

DomainOption = Annotated[
    str | None, typer.Option("--domain", help=_HELP["domain"], show_default=False)
]
EmailOption = Annotated[
    str | None, typer.Option("--email", "--api-user", help=_HELP["email"], show_default=False)
]
# `customers --email` is a filter (the customer's address), so there only --api-user names the
# API key's user.
ApiUserOption = Annotated[
    str | None, typer.Option("--api-user", help=_HELP["email"], show_default=False)
]
ApiKeyOption = Annotated[
    str | None, typer.Option("--api-key", help=_HELP["api_key"], show_default=False)
]
BaseUrlOption = Annotated[
    str | None, typer.Option("--base-url", help=_HELP["base_url"], show_default=False)
]
MaxRateOption = Annotated[
    float | None,
    typer.Option(
        "--max-rate",
        min=0.01,
        help="At most this many requests per second, to leave part of the account's rate "
        "limit to other integrations. Default: as fast as the limit allows.",
        show_default=False,
    ),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar and no summary; errors only.")
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Log each request and retry (key redacted).")
]
DebugOption = Annotated[
    bool, typer.Option("--debug", help="Show a traceback for internal errors.", hidden=True)
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gorgias-export {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Export a Gorgias helpdesk account's data to files, resumably and at the API's rate limit."""


@app.command()
def tickets(
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help=_HELP["out"],
            show_default=False,
        ),
    ],
    fmt: Annotated[
        Format | None,
        typer.Option(
            "--format",
            "-f",
            help="csv, jsonl or sqlite; default: from the --out extension.",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help=_HELP["since"],
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Only messages created at or before this (same forms as --since).",
            show_default=False,
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="Resume-state file. Default: beside --out, as <out>.state.json (SQLite output "
            "keeps it inside the database).",
            show_default=False,
        ),
    ] = None,
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Discard saved progress and start over, overwriting --out."),
    ] = False,
    customer_id: Annotated[
        int | None,
        typer.Option(
            "--customer-id",
            help="Only this customer's tickets.",
            show_default=False,
            metavar="ID",
        ),
    ] = None,
    view_id: Annotated[
        int | None,
        typer.Option(
            "--view-id", help="Only the tickets of this view.", show_default=False, metavar="ID"
        ),
    ] = None,
    external_id: Annotated[
        str | None,
        typer.Option(
            "--external-id",
            help="Only the ticket with this external id.",
            show_default=False,
            metavar="ID",
        ),
    ] = None,
    per: Annotated[
        Per,
        typer.Option(
            "--per",
            help="message: one row per message (default); ticket: one JSON line per ticket "
            "with its messages nested (JSONL only).",
        ),
    ] = Per.message,
    ticket_id: Annotated[
        list[int] | None,
        typer.Option(
            "--ticket-id",
            help="Only this ticket (repeat for several).",
            show_default=False,
            metavar="ID",
        ),
    ] = None,
    max_rate: MaxRateOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    debug: DebugOption = False,
    domain: DomainOption = None,
    email: EmailOption = None,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Export every conversation: one row per message, with its ticket's context.

    Rerunning the same command resumes an interrupted export, or appends what is new since
    the last complete run.

    Example: gorgias-export tickets --out tickets.csv
    """
    settings: Settings | None = None
    to_stdout = out == "-"
    with _errors_to_exit_codes(debug, lambda: settings, resumable=not to_stdout):
        if to_stdout and (state or fresh):
            raise UsageError("--state and --fresh do not apply to --out - (stdout has no resume).")
        _refuse_directory(out, "tickets.csv")
        job = TicketsJob(
            output=out,
            fmt=_resolve_format(out, fmt),
            state_path=state,
            fresh=fresh,
            since=parse_cli_datetime(since, "--since") if since else None,
            until=parse_cli_datetime(until, "--until", end_of=True) if until else None,
            listings=ticket_listings(
                [
                    (name, value)
                    for name, value in (
                        ("customer_id", customer_id),
                        ("view_id", view_id),
                        ("external_id", external_id),
                    )
                    if value is not None
                ],
                ticket_id or [],
            ),
            per=per.value,
        )
        if job.per == "ticket" and job.fmt != "jsonl":
            raise UsageError(
                "--per ticket writes nested JSON: give --out a .jsonl name or --format jsonl."
            )
        if job.since and job.until and job.since > job.until:
            raise UsageError(f"--since {since} is after --until {until}; swap them.")
        settings = _settings(domain, email, api_key, base_url)
        _configure_logging(settings, quiet, verbose)
        client = GorgiasClient(settings, max_rate=max_rate)
        started = time.monotonic()
        with ProgressDisplay(enabled=not quiet and sys.stderr.isatty()) as display:
            result = run_tickets_job(client, job, display.update)
        if not quiet:
            _summary(result, client, time.monotonic() - started, per_ticket=job.per == "ticket")


@app.command()
def check(
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    debug: DebugOption = False,
    domain: DomainOption = None,
    email: EmailOption = None,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Check the connection and credentials with one request, and show the rate-limit usage.

    Exits 0 when the API accepts the credentials, with the documented codes otherwise: run it
    before a long export, or from monitoring.

    Example: gorgias-export check
    """
    settings: Settings | None = None
    with _errors_to_exit_codes(debug, lambda: settings):
        settings = _settings(domain, email, api_key, base_url)
        _configure_logging(settings, quiet, verbose)
        client = GorgiasClient(settings)
        try:
            account = client.get_json("/account")
        finally:
            client.close()
        pacer = client.pacer
        usage = (
            f"{pacer.last_used} of {pacer.limit} requests in the bucket now"
            if pacer.limit is not None
            else "not reported by this server"
        )
        name = account.get("domain") or "?"
        typer.echo(f"OK: {settings.base_url} accepts these credentials for account {name!r}.")
        typer.echo(f"Rate limit: {usage}.")


# -- one command per entity, built from resources.ENTITIES -----------------------------------

# The options every entity command shares, with their defaults (their types and help are in
# _shared_option_annotations).
_COMMON_ENTITY_OPTIONS: dict[str, Any] = {
    "fmt": None,
    "state": None,
    "fresh": False,
    "max_rate": None,
    "quiet": False,
    "verbose": False,
    "debug": False,
    "domain": None,
    "api_user": None,
    "api_key": None,
    "base_url": None,
}


def _entity_parameters(entity: Entity) -> list[inspect.Parameter]:
    """The command's options: --out, the entity's filters, then the shared ones."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter(
            "out",
            keyword,
            annotation=Annotated[
                str,
                typer.Option(
                    "--out",
                    "-o",
                    help="Output file (.csv, .jsonl, .ndjson, or .db for SQLite), or - for "
                    "stdout (no resume).",
                    show_default=False,
                ),
            ],
        )
    ]
    for spec in entity.filters:
        kind: Any = int if spec.integer else str
        annotation: Any = list[kind] | None if spec.repeatable else kind | None
        metavar = "ID" if spec.integer else spec.param.upper().rstrip("S")
        option = typer.Option(spec.flag, help=spec.help, show_default=False, metavar=metavar)
        params.append(
            inspect.Parameter(
                _param_name(spec), keyword, annotation=Annotated[annotation, option], default=None
            )
        )
    if entity.incremental is Incremental.SERVER_SINCE:
        for flag, help_text in (
            ("since", "Only events created at or after this (" + ACCEPTED_FORMS + ")."),
            ("until", "Only events created up to the end of this (same forms as --since)."),
        ):
            option = typer.Option(f"--{flag}", help=help_text, show_default=False)
            params.append(
                inspect.Parameter(
                    flag, keyword, annotation=Annotated[str | None, option], default=None
                )
            )
    shared = _shared_option_annotations()
    if not any(spec.flag == "--email" for spec in entity.filters):
        shared["api_user"] = EmailOption  # --email too, as on tickets; customers filters by it
    for name, default in _COMMON_ENTITY_OPTIONS.items():
        params.append(inspect.Parameter(name, keyword, annotation=shared[name], default=default))
    return params


def _param_name(spec: Filter) -> str:
    return spec.flag.removeprefix("--").replace("-", "_")


def _shared_option_annotations() -> dict[str, Any]:
    return {
        "fmt": Annotated[
            Format | None,
            typer.Option(
                "--format",
                "-f",
                help="csv, jsonl or sqlite; default: from the --out extension.",
                show_default=False,
            ),
        ],
        "state": Annotated[
            Path | None,
            typer.Option(
                "--state",
                help="Resume-state file. Default: beside --out, as <out>.state.json.",
                show_default=False,
            ),
        ],
        "fresh": Annotated[
            bool,
            typer.Option(
                "--fresh", help="Discard saved progress and start over, overwriting --out."
            ),
        ],
        "max_rate": MaxRateOption,
        "quiet": QuietOption,
        "verbose": VerboseOption,
        "debug": DebugOption,
        "domain": DomainOption,
        "api_user": ApiUserOption,
        "api_key": ApiKeyOption,
        "base_url": BaseUrlOption,
    }


def _entity_command(entity: Entity) -> Callable[..., None]:
    def command(**options: Any) -> None:
        _run_entity(entity, options)

    command.__name__ = entity.name.replace("-", "_")
    command.__doc__ = _entity_help(entity)
    command.__signature__ = inspect.Signature(_entity_parameters(entity))  # type: ignore[attr-defined]
    return command


def _entity_help(entity: Entity) -> str:
    how = {
        Incremental.CREATED: "Rerunning resumes an interrupted export, or appends the rows "
        "created since the last complete run.",
        Incremental.UPDATED: "Rerunning resumes an interrupted export, or appends the rows "
        "created or changed since the last complete run (a changed row is written again).",
        Incremental.SERVER_SINCE: "Rerunning resumes an interrupted export, or appends the "
        "events created since the last complete run.",
        Incremental.LOOKBACK: "Rerunning resumes an interrupted export, or appends new surveys "
        "and surveys whose score changed in the last 30 days.",
        Incremental.FULL: "Every run reads the whole list and replaces --out with it once "
        "complete.",
    }[entity.incremental]
    return f"{entity.summary}\n\n{how}\n\nExample: {entity.example}"


def _run_entity(entity: Entity, options: dict[str, Any]) -> None:
    settings: Settings | None = None
    out: str = options["out"]
    to_stdout = out == "-"
    with _errors_to_exit_codes(options["debug"], lambda: settings, resumable=not to_stdout):
        if to_stdout and (options["state"] or options["fresh"]):
            raise UsageError("--state and --fresh do not apply to --out - (stdout has no resume).")
        since_text, until_text = options.get("since"), options.get("until")
        since = parse_cli_datetime(since_text, "--since") if since_text else None
        until = None
        if until_text:  # inclusive of the period it names; the API's filter is exclusive
            until = parse_cli_datetime(until_text, "--until", end_of=True) + timedelta(
                microseconds=1
            )
        if since and until and since >= until:
            raise UsageError(f"--since {since_text} is after --until {until_text}; swap them.")
        _refuse_directory(out, f"{entity.name}.csv")
        job = EntityJob(
            entity=entity,
            output=out,
            fmt=_resolve_format(out, options["fmt"]),
            filters=tuple(_filter_params(entity, options)),
            state_path=options["state"],
            fresh=options["fresh"],
            since=since,
            until=until,
        )
        settings = _settings(
            options["domain"], options["api_user"], options["api_key"], options["base_url"]
        )
        _configure_logging(settings, options["quiet"], options["verbose"])
        client = GorgiasClient(settings, max_rate=options["max_rate"])
        started = time.monotonic()
        display_on = not options["quiet"] and sys.stderr.isatty()
        with ProgressDisplay(enabled=display_on) as display:
            result = run_entity_job(client, job, display.update)
        if not options["quiet"]:
            status = result.status
            stats = client.stats
            typer.echo(
                f"Done: {status.rows:,} new rows of {entity.name} in {result.output}, "
                f"{result.total_rows:,} written over all runs; {stats.requests:,} requests in "
                f"{time.monotonic() - started:.1f} s ({stats.rate_limited} rate-limited, "
                f"{stats.retries} retried).",
                err=True,
            )


def _filter_params(entity: Entity, options: dict[str, Any]) -> list[tuple[str, str | int]]:
    params: list[tuple[str, str | int]] = []
    for spec in entity.filters:
        value = options.get(_param_name(spec))
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for single in values:
            if isinstance(single, str) and not single.strip():
                raise UsageError(f"{spec.flag} must not be empty.")
            params.append((spec.param, single))
    return params


for _entity in ENTITIES:
    app.command(name=_entity.name)(_entity_command(_entity))


@app.command(name="all")
def all_entities(
    out_dir: Annotated[
        str,
        typer.Option(
            "--out-dir",
            "-d",
            help="Directory for the files (created if missing).",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        Format,
        typer.Option(
            "--format", "-f", help="csv or jsonl for every file, or sqlite for one database."
        ),
    ] = Format.csv,
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Discard saved progress and overwrite every file."),
    ] = False,
    max_rate: MaxRateOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    debug: DebugOption = False,
    domain: DomainOption = None,
    email: EmailOption = None,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Export every entity into one directory, one file each, with one state for the run.

    Rerunning resumes an interrupted run where it stopped, or runs each entity incrementally.

    Example: gorgias-export all --out-dir backup/
    """
    settings: Settings | None = None
    with _errors_to_exit_codes(debug, lambda: settings):
        settings = _settings(domain, email, api_key, base_url)
        _configure_logging(settings, quiet, verbose)
        client = GorgiasClient(settings, max_rate=max_rate)
        started = time.monotonic()
        with ProgressDisplay(enabled=not quiet and sys.stderr.isatty()) as display:
            result = run_all_job(client, AllJob(out_dir, fmt.value, fresh), display.update)
        if not quiet:
            _all_summary(result, client, time.monotonic() - started)


def _all_summary(result: AllResult, client: GorgiasClient, seconds: float) -> None:
    table = Table(box=None, pad_edge=False)
    for title in ("entity", "new rows", "requests", "file"):
        table.add_column(title, justify="right" if title in ("new rows", "requests") else "left")
    for outcome in result.outcomes:
        rows = "done earlier" if outcome.skipped else f"{outcome.rows:,}"
        table.add_row(outcome.name, rows, f"{outcome.requests:,}", outcome.output)
    console = Console(stderr=True, highlight=False)
    console.print(table)
    stats = client.stats
    typer.echo(
        f"Done: all {len(result.outcomes)} entities; {stats.requests:,} requests in "
        f"{seconds:.1f} s ({stats.rate_limited} rate-limited, {stats.retries} retried).",
        err=True,
    )


@app.command()
def get(
    path: Annotated[
        str,
        typer.Argument(
            help="The endpoint as in the API's documentation: /api/tags, or just tags.",
            show_default=False,
        ),
    ],
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="Output file (.jsonl or .ndjson), or - for stdout.",
            show_default=False,
        ),
    ],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="A query parameter as key=value (repeatable).",
            show_default=False,
            metavar="KEY=VALUE",
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="Resume-state file. Default: beside --out, as <out>.state.json.",
            show_default=False,
        ),
    ] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Discard saved progress and start over.")
    ] = False,
    max_rate: MaxRateOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    debug: DebugOption = False,
    domain: DomainOption = None,
    email: EmailOption = None,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Read any GET endpoint (following cursors) into JSONL: an escape hatch, read-only.

    Each run reads the whole listing again and replaces --out once complete.

    Example: gorgias-export get /api/tags --param search=vip --out tags.jsonl
    """
    settings: Settings | None = None
    to_stdout = out == "-"
    with _errors_to_exit_codes(debug, lambda: settings, resumable=not to_stdout):
        api_path = normalize_api_path(path)
        if api_path is None:
            raise UsageError(
                f"{path!r} is not an API path; write it as in the API's documentation, "
                "e.g. /api/tags (parameters go in --param)."
            )
        params = _parse_params(param or [])
        if to_stdout and (state or fresh):
            raise UsageError("--state and --fresh do not apply to --out - (stdout has no resume).")
        _refuse_directory(out, "items.jsonl")
        if not to_stdout and format_from_path(out) != "jsonl":
            raise UsageError(f"get writes JSONL; give --out a .jsonl or .ndjson name, not {out}.")
        settings = _settings(domain, email, api_key, base_url)
        _configure_logging(settings, quiet, verbose)
        client = GorgiasClient(settings, max_rate=max_rate)
        started = time.monotonic()
        single = not is_list_endpoint(client, api_path, params)
        job = EntityJob(
            entity=adhoc_entity(api_path, single),
            output=out,
            fmt="jsonl",
            filters=tuple(params),
            state_path=state,
            fresh=fresh,
        )
        with ProgressDisplay(enabled=not quiet and sys.stderr.isatty()) as display:
            result = run_entity_job(client, job, display.update)
        if not quiet:
            typer.echo(
                f"Done: {result.status.rows:,} rows from {api_path} in {result.output}; "
                f"{client.stats.requests:,} requests in {time.monotonic() - started:.1f} s.",
                err=True,
            )


_RESERVED_PARAMS = ("cursor", "limit")


def _parse_params(pairs: list[str]) -> list[tuple[str, str | int]]:
    params: list[tuple[str, str | int]] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param {pair!r} is not key=value; write e.g. --param search=vip.")
        if key.strip() in _RESERVED_PARAMS:
            raise UsageError(
                f"--param {key} is set by gorgias-export itself (it pages with cursor and "
                "limit=100); leave it out."
            )
        params.append((key.strip(), value))
    return params


# -- helpers --------------------------------------------------------------------------------


def _refuse_directory(out: str, example: str) -> None:
    """Before the format is guessed from its name: a directory is an I/O error (exit 6)."""
    if out != "-" and Path(out).is_dir():
        raise OutputError(f"--out {out} is a directory; give a file path such as {out}/{example}.")


def _resolve_format(out: str, fmt: Format | None) -> str:
    if fmt is not None:
        return fmt.value
    if out == "-":
        return Format.csv.value
    guessed = format_from_path(out)
    if guessed is None:
        raise UsageError(
            f"Cannot tell the format of --out {out}; use a .csv, .jsonl, .ndjson or .db name, "
            "or --format csv|jsonl|sqlite."
        )
    return guessed


def _settings(
    domain: str | None, email: str | None, api_key: str | None, base_url: str | None
) -> Settings:
    flags = RawSettings(domain=domain, email=email, api_key=api_key, base_url=base_url)
    return load_settings(flags, os.environ, read_dotenv())


class _RedactingStderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is now (the progress bar swaps it), with the key redacted."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._settings = settings
        self.setFormatter(logging.Formatter("gorgias-export: %(message)s"))
        self.muted = False

    def mute(self) -> None:
        """No more lines, once a line being written now is done (emit runs under the lock)."""
        with self.lock or contextlib.nullcontext():
            self.muted = True

    def emit(self, record: logging.LogRecord) -> None:
        if self.muted:  # checked under the handler's lock: nothing slips past mute()
            return
        try:
            sys.stderr.write(self._settings.redact(self.format(record)) + "\n")
        except Exception:  # logging must never break the export
            self.handleError(record)


def _reset_logging() -> None:
    log.handlers.clear()
    log.setLevel(logging.NOTSET)
    log.propagate = True
    log.disabled = False


def _configure_logging(settings: Settings, quiet: bool, verbose: bool) -> None:
    log.handlers.clear()
    log.addHandler(_RedactingStderrHandler(settings))
    log.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)
    log.propagate = False


def _summary(
    result: JobResult, client: GorgiasClient, seconds: float, per_ticket: bool = False
) -> None:
    status = result.status
    stats = client.stats
    what = (
        f"{status.rows:,} conversations written (one line per new or changed ticket)"
        if per_ticket
        else f"{status.rows:,} new rows ({status.message_rows:,} messages, "
        f"{status.empty_ticket_rows:,} tickets without messages)"
    )
    typer.echo(
        f"Done: {what} in {result.output}, "
        f"{result.total_rows:,} in all; {stats.requests:,} requests in {seconds:.1f} s "
        f"({stats.rate_limited} rate-limited, {stats.retries} retried).",
        err=True,
    )


def _raise_interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _errors_to_exit_codes(
    debug: bool, current_settings: object, resumable: bool = True
) -> Iterator[None]:
    """The single place where failures become one line on stderr and an exit status."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)

    def fail(message: str, code: ExitCode) -> NoReturn:
        # A request still in flight on another thread must not log after the final message:
        # disabling the logger stops new records, muting waits out one being written.
        log.disabled = True
        for handler in log.handlers:
            if isinstance(handler, _RedactingStderrHandler):
                handler.mute()
        settings = current_settings() if callable(current_settings) else None
        if isinstance(settings, Settings):
            message = settings.redact(message)
        typer.echo(f"gorgias-export: {message}", err=True)
        raise typer.Exit(int(code))

    log.disabled = False
    try:
        yield
    except ExportError as error:
        fail(error.message, error.exit_code)
    except KeyboardInterrupt:
        if resumable:
            fail(
                "Interrupted; progress is saved, rerun the same command to continue.",
                ExitCode.INTERRUPTED,
            )
        fail("Interrupted; the rows printed so far are complete.", ExitCode.INTERRUPTED)
    except typer.Exit:
        raise
    except Exception as error:
        if debug:
            raise
        fail(
            f"Internal error ({error.__class__.__name__}); please report it, and rerun with "
            "--debug for the details.",
            ExitCode.INTERNAL,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
        _reset_logging()  # the logger is process-wide: leave it as found for in-process callers


def main() -> None:
    """Console-script entry point: Click's own usage errors become one line too."""
    try:
        code = app(standalone_mode=False)
    except ClickException as error:  # a bad flag or value that Click itself rejected
        if type(error).__name__ == "NoArgsIsHelpError":  # bare `gorgias-export`: the help
            typer.echo(error.format_message(), err=True)
        else:
            typer.echo(f"gorgias-export: {error.format_message()} (see --help)", err=True)
        sys.exit(error.exit_code)
    except typer.Abort:
        typer.echo("gorgias-export: Interrupted.", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    sys.exit(code if isinstance(code, int) else 0)
