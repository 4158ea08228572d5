"""One error type per thing a user can cause, each tied to a documented exit code.

Only the CLI (cli/execute.py) turns these into a message on stderr and an exit status;
everything else raises. Messages are one sentence saying what happened and what to do, and
never contain a secret.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The process exit statuses, as documented in the README."""

    OK = 0
    INTERNAL = 1  # a bug: the only case that prints a traceback (with --debug)
    USAGE = 2  # bad flags or values (Typer/Click uses 2 as well)
    CONFIG = 3  # settings missing or invalid
    AUTH = 4  # 401 or 403: the credentials or their permissions
    API = 5  # the API kept failing after retries, or answered something unusable
    IO = 6  # the output or state file could not be read or written
    CONFLICT = 7  # saved state does not match this export, or another run holds the lock
    INCOMPLETE = 8  # verify: the export lacks rows the account has, or holds rows it does not
    INTERRUPTED = 130  # Ctrl-C or SIGTERM; progress is saved


class ExportError(Exception):
    """Base class: a failure a user can act on."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(ExportError):
    exit_code = ExitCode.USAGE


class ConfigError(ExportError):
    exit_code = ExitCode.CONFIG


class AuthError(ExportError):
    exit_code = ExitCode.AUTH


class TokenExpired(AuthError):
    """A 401 for an OAuth access token that worked earlier in the run: it expired (24 h)."""


class ApiError(ExportError):
    exit_code = ExitCode.API


class NotFound(ApiError):
    """A 404 for a path that exists: the object was deleted (a ticket gone since it was listed)."""


class CursorRejected(ApiError):
    """A 4xx on a request that carried a cursor: the cursor expired or broke; recoverable."""


class OutputError(ExportError):
    exit_code = ExitCode.IO


class StateConflict(ExportError):
    exit_code = ExitCode.CONFLICT


class Interrupted(ExportError):
    exit_code = ExitCode.INTERRUPTED
