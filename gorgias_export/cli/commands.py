"""The commands of one output each, and the checks: each checks its flags, builds a job, and
hands it to `execute`. The entity commands are in entity_commands.py; `all`, `archive` and
`attachments`, which fill a directory, in backup_commands.py.

Each command imports its job's modules only when it runs (`cli/app.py` builds only the command
a run names): start-up CPU is paid by every run, however small.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gorgias_export.cli import flags
from gorgias_export.cli.execute import Session, execute, requests_line
from gorgias_export.cli.options import (
    ApiPath,
    Connection,
    CustomerId,
    CustomFields,
    ExportPath,
    ExternalId,
    FormatFlag,
    Fresh,
    JsonlOut,
    Out,
    Overwrite,
    Params,
    Per,
    PerFlag,
    Reconcile,
    Repair,
    Since,
    StateFlag,
    TicketIds,
    Until,
    VerifyState,
    ViewId,
    with_connection,
)
from gorgias_export.errors import ApiError, ExitCode, UsageError

if TYPE_CHECKING:
    from gorgias_export.api.client import Params as ApiParams
    from gorgias_export.exports.verify import ExportUnderTest
    from gorgias_export.jobs.entities import EntityJob
    from gorgias_export.jobs.lifecycle import Job, JobResult
    from gorgias_export.jobs.tickets import TicketsJob


@with_connection
def tickets(
    out: Out,
    fmt: FormatFlag = None,
    since: Since = None,
    until: Until = None,
    state: StateFlag = None,
    fresh: Fresh = False,
    overwrite: Overwrite = False,
    repair: Repair = False,
    customer_id: CustomerId = None,
    view_id: ViewId = None,
    external_id: ExternalId = None,
    per: PerFlag = Per.message,
    ticket_id: TicketIds = None,
    custom_fields: CustomFields = False,
    reconcile: Reconcile = False,
    *,
    connection: Connection,
) -> None:
    """Export every conversation: one row per message, with its ticket's context (or with
    --per ticket, one row per ticket with its figures).

    Rerunning the same command resumes an interrupted export, or appends what is new since
    the last complete run.

    Example: gorgias-export tickets --out tickets.csv
    """

    def plan() -> TicketsJob:
        flags.refuse_resume_on_stdout(out, state, fresh, overwrite)
        fmt_name = flags.output_format(out, fmt and fmt.value, "tickets.csv")
        if custom_fields and per is not Per.ticket:
            raise UsageError("--custom-fields fills the columns of --per ticket; add --per ticket.")
        when = flags.time_range(since, until)
        filters = [("customer_id", customer_id), ("view_id", view_id), ("external_id", external_id)]
        return _tickets_job(fmt_name, when, filters, ticket_id or [], per, custom_fields, reconcile)

    def work(job: TicketsJob, session: Session) -> str:
        if job.custom_fields and not connection.quiet:
            typer.echo(CUSTOM_FIELDS_COST, err=True)
        result = export_to(session, job, out, state, fresh, overwrite, "tickets.csv", repair)
        return _tickets_summary(result, job.per == "ticket", session)

    execute(connection, plan, work, resumable=out != "-")


def export_to(
    session: Session,
    job: Job,
    out: str,
    state: Path | None,
    fresh: bool,
    overwrite: bool,
    example: str,
    repair: bool | None = None,
) -> JobResult:
    """Run a job of one output (--out: a file, a database, or - for stdout) through the one
    lifecycle; `example` is the --out that an error message suggests; `repair` None: the
    command has no --repair (a refusal does not offer it)."""
    from gorgias_export.jobs.lifecycle import open_target, run_job

    base_url = session.settings.base_url
    target = open_target(job, out, state, fresh, base_url, example, overwrite, repair)
    return run_job(session.client, job, target, session.on_status)


CUSTOM_FIELDS_COST = (
    "--custom-fields: one more request per ticket written (at 2 requests a second, about "
    "8.3 minutes per 1,000 tickets), on top of one per 100 tickets and per 100 messages."
)


def _tickets_job(
    fmt_name: str,
    when: tuple[datetime | None, datetime | None],
    filters: list[tuple[str, int | str | None]],
    ticket_ids: list[int],
    per: Per,
    custom_fields: bool,
    reconcile: bool,
) -> TicketsJob:
    """The tickets job of these flags: the filters given become the listings to walk."""
    from gorgias_export.exports.filtered import ticket_listings
    from gorgias_export.jobs.tickets import TicketsJob

    wanted = [(name, value) for name, value in filters if value is not None]
    listings = ticket_listings(wanted, ticket_ids)
    job = TicketsJob(
        fmt_name,
        since=when[0],
        until=when[1],
        listings=listings,
        per=per.value,
        custom_fields=custom_fields,
        reconcile=reconcile,
    )
    return job.summary_in_own_table() if job.per == "ticket" else job


def _tickets_summary(result: JobResult, per_ticket: bool, session: Session) -> str:
    from gorgias_export.exports.status import ExportStatus

    status = result.status
    assert isinstance(status, ExportStatus)
    what = (
        f"{status.rows:,} tickets written (one line per new or changed ticket)"
        if per_ticket
        else f"{status.rows:,} new rows ({status.message_rows:,} messages, "
        f"{status.empty_ticket_rows:,} tickets without messages)"
    )
    return (
        f"Done: {what} in {result.output}, {result.total_rows:,} in all; {requests_line(session)}"
    )


@with_connection
def check(*, connection: Connection) -> None:
    """Check the connection and credentials with one request, and show the rate-limit usage.

    Exits 0 when the API accepts the credentials, with the documented codes otherwise: run it
    before a long export, or from monitoring.

    Example: gorgias-export check
    """

    def work(_: None, session: Session) -> None:
        name, usage = _account_and_usage(session)
        if connection.quiet:  # for monitoring: the exit status says it all
            return
        typer.echo(
            f"OK: {session.settings.base_url} accepts these credentials for account {name!r}."
        )
        typer.echo(f"Rate limit: {usage}.")

    execute(connection, lambda: None, work)


def _account_and_usage(session: Session) -> tuple[str, str]:
    """The account's name (one request), and the rate-limit usage its answer reported."""
    account = session.client.get_json("/account")
    pacer = session.client.pacer
    usage = (
        f"{pacer.last_used} of {pacer.limit} requests in the bucket now"
        if pacer.limit is not None
        else "not reported by this server"
    )
    name = account.get("domain")
    if not isinstance(name, str) or not name:
        # The documented account object names its domain: a 200 with anything else is
        # not the Gorgias API (a wrong base URL answering, a proxy's page), not an OK.
        raise ApiError(
            f"{session.settings.base_url} answered GET /account with no account in it (no "
            "'domain'); check GORGIAS_DOMAIN or GORGIAS_BASE_URL."
        )
    return name, usage


@with_connection
def verify(path: ExportPath, state: VerifyState = None, *, connection: Connection) -> None:
    """Check a tickets export against the account, without downloading it again.

    Lists the account's tickets (one request per 100) and compares ids and message counts;
    names what is missing, extra, duplicated, or changed since. Exits 0 when complete, 8 if not.

    Example: gorgias-export verify tickets.csv
    """

    def plan() -> ExportUnderTest:
        from gorgias_export.jobs.verify import find_export

        return find_export(path, state)

    def work(export: ExportUnderTest, session: Session) -> str:
        from gorgias_export.jobs.verify import verify_export

        report = verify_export(session.client, export)
        typer.echo("\n".join(report.lines()))
        if not report.complete:
            raise typer.Exit(int(ExitCode.INCOMPLETE))
        return f"Verified; {requests_line(session)}"

    execute(connection, plan, work)


@with_connection
def get(
    path: ApiPath,
    out: JsonlOut,
    param: Params = None,
    state: StateFlag = None,
    fresh: Fresh = False,
    overwrite: Overwrite = False,
    *,
    connection: Connection,
) -> None:
    """Read any GET endpoint (following cursors) into JSONL: an escape hatch, read-only.

    Each run reads the whole listing again and replaces --out once complete.

    Example: gorgias-export get /api/tags --param search=vip --out tags.jsonl
    """

    def plan() -> tuple[str, ApiParams]:
        from gorgias_export.api.answers import link_paged

        api_path = flags.api_path(path)
        params = flags.query_params(param or [], link_paged(api_path))
        flags.refuse_resume_on_stdout(out, state, fresh, overwrite)
        flags.jsonl_output(out, "items.jsonl")
        return api_path, params

    def work(planned: tuple[str, ApiParams], session: Session) -> str:
        api_path, params = planned
        job = _adhoc_job(session, api_path, params)
        result = export_to(session, job, out, state, fresh, overwrite, "items.jsonl")
        return (
            f"Done: {result.status.rows:,} rows from {api_path} in {result.output}; "
            f"{session.client.stats.requests:,} requests in {session.elapsed():.1f} s."
        )

    execute(connection, plan, work, resumable=out != "-")


def _adhoc_job(session: Session, api_path: str, params: ApiParams) -> EntityJob:
    """`get`'s job: a listing, or one object such as /account (the API is asked which)."""
    from gorgias_export.jobs.entities import EntityJob, is_list_endpoint
    from gorgias_export.resources import adhoc_entity

    single = not is_list_endpoint(session.client, api_path, params)
    return EntityJob(adhoc_entity(api_path, single), "jsonl", tuple(params))
