"""The command line: thin Typer commands, and the one place that turns errors into exit codes."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn

import typer

try:  # Typer >= 0.20 vendors Click; earlier releases use the click package
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover
    from click import ClickException  # type: ignore[import-not-found,no-redef,unused-ignore]

from gorgias_export import __version__
from gorgias_export.client import GorgiasClient
from gorgias_export.config import RawSettings, Settings, load_settings, read_dotenv
from gorgias_export.display import ProgressDisplay
from gorgias_export.errors import ExitCode, ExportError, OutputError, UsageError
from gorgias_export.job import JobResult, TicketsJob, run_tickets_job
from gorgias_export.timeutil import ACCEPTED_FORMS, parse_cli_datetime
from gorgias_export.writers import format_from_path

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
    str | None, typer.Option("--email", help=_HELP["email"], show_default=False)
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
        if not to_stdout and Path(out).is_dir():
            raise OutputError(
                f"--out {out} is a directory; give a file path such as {out}/tickets.csv."
            )
        job = TicketsJob(
            output=out,
            fmt=_resolve_format(out, fmt),
            state_path=state,
            fresh=fresh,
            since=parse_cli_datetime(since, "--since") if since else None,
            until=parse_cli_datetime(until, "--until", end_of=True) if until else None,
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
            _summary(result, client, time.monotonic() - started)


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


# -- helpers --------------------------------------------------------------------------------


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

    def emit(self, record: logging.LogRecord) -> None:
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


def _summary(result: JobResult, client: GorgiasClient, seconds: float) -> None:
    status = result.status
    stats = client.stats
    typer.echo(
        f"Done: {status.rows:,} new rows ({status.message_rows:,} messages, "
        f"{status.empty_ticket_rows:,} tickets without messages) in {result.output}, "
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
        # A request still in flight on another thread must not log after the final message.
        log.disabled = True
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
