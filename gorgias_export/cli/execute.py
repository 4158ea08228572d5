"""Running a command: settings → client → display → the work → summary, and the one place where
failures become one line on stderr and an exit status."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import NoReturn, TypeVar

import typer

from gorgias_export.api.client import GorgiasClient
from gorgias_export.cli.display import ProgressDisplay
from gorgias_export.cli.options import Connection
from gorgias_export.cli.streams import silence_stdout
from gorgias_export.config import RawSettings, Settings, load_settings, read_dotenv
from gorgias_export.errors import ExitCode, ExportError, TokenExpired
from gorgias_export.exports.status import StatusCallback

log = logging.getLogger("gorgias_export")
Plan = TypeVar("Plan")


@dataclass(frozen=True)
class Session:
    """What a command's work gets: the account's client, and where progress goes."""

    settings: Settings
    client: GorgiasClient
    on_status: StatusCallback
    started: float  # time.monotonic() when the client was made

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def execute(
    connection: Connection,
    plan: Callable[[], Plan],
    work: Callable[[Plan, Session], str | None],
    *,
    resumable: bool = True,
) -> None:
    """`plan()` checks the flags and says what to do (no settings needed yet), then `work`
    does it with a client; the line it returns is the summary (none with --quiet)."""
    holder: list[Settings] = []
    with _errors_to_exit_codes(connection.debug, holder, resumable):
        planned = plan()
        flags = RawSettings(
            domain=connection.domain,
            email=connection.api_user,
            api_key=connection.api_key,
            base_url=connection.base_url,
            access_token=connection.access_token,
        )
        settings = load_settings(flags, os.environ, read_dotenv())
        holder.append(settings)
        _configure_logging(settings, connection.quiet, connection.verbose)
        client = GorgiasClient(settings, max_rate=connection.max_rate)
        try:
            display = ProgressDisplay(enabled=not connection.quiet and sys.stderr.isatty())
            with display:
                summary = work(planned, Session(settings, client, display.update, time.monotonic()))
        finally:
            client.close()  # pages asked for ahead and not needed stop retrying
        if summary and not connection.quiet:
            typer.echo(summary, err=True)


def requests_line(session: Session) -> str:
    """The end of a summary: how many requests, how long, how many were slowed down."""
    stats = session.client.stats
    return (
        f"{stats.requests:,} requests in {session.elapsed():.1f} s "
        f"({stats.rate_limited} rate-limited, {stats.retries} retried)."
    )


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


def _configure_logging(settings: Settings, quiet: bool, verbose: bool) -> None:
    log.handlers.clear()
    handler = _RedactingStderrHandler(settings)
    if verbose:  # a log read later (cron) must say when each thing happened: UTC, to the second
        stamped = logging.Formatter(
            "gorgias-export: %(asctime)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%SZ"
        )
        stamped.converter = time.gmtime
        handler.setFormatter(stamped)
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)
    log.propagate = False


def _reset_logging() -> None:
    log.handlers.clear()
    log.setLevel(logging.NOTSET)
    log.propagate = True
    log.disabled = False


def _raise_interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _errors_to_exit_codes(debug: bool, settings: list[Settings], resumable: bool) -> Iterator[None]:
    """The single place where failures become one line on stderr and an exit status."""
    # SIGHUP (the terminal or ssh session went away) ends a run as SIGTERM does: progress
    # saved, one line, exit 130; not Python's default, which died with 129 and no word. A
    # signal the parent set to be ignored stays ignored: `nohup gorgias-export …` must outlive
    # the session it was started from.
    previous = {
        sig: signal.signal(sig, _raise_interrupt)
        for sig in (signal.SIGTERM, signal.SIGHUP)
        if signal.getsignal(sig) != signal.SIG_IGN
    }

    def fail(message: str, code: ExitCode) -> NoReturn:
        # A request still in flight on another thread must not log after the final message:
        # disabling the logger stops new records, muting waits out one being written.
        log.disabled = True
        for handler in log.handlers:
            if isinstance(handler, _RedactingStderrHandler):
                handler.mute()
        for known in settings:
            message = known.redact(message)
        typer.echo(f"gorgias-export: {message}", err=True)
        raise typer.Exit(int(code))

    log.disabled = False
    try:
        yield
    except TokenExpired as error:
        if resumable:
            fail(error.message, error.exit_code)
        # To stdout nothing is saved: what it printed is what there is.
        fail(
            "The API stopped accepting the access token mid-run (401): OAuth tokens last 24 "
            "hours, so it has most likely expired; the rows printed so far are complete, run "
            "again with a new GORGIAS_ACCESS_TOKEN for the rest.",
            error.exit_code,
        )
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
    except BrokenPipeError:  # stdout closed (`>&-`), or by its reader (`| head`)
        silence_stdout()
        fail(
            "Could not write to stdout: it was closed (by its reader, or before the start); "
            "run again with stdout open, or with --out FILE.",
            ExitCode.IO,
        )
    except Exception as error:
        if debug:
            raise
        fail(
            f"Internal error ({error.__class__.__name__}); please report it, and rerun with "
            "--debug for the details.",
            ExitCode.INTERNAL,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _reset_logging()  # the logger is process-wide: leave it as found for in-process callers
