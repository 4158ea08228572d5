"""The commands: each checks its flags, builds a job, and hands it to `execute`."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from gorgias_export.api.answers import link_paged
from gorgias_export.api.client import Params as ApiParams
from gorgias_export.cli import flags
from gorgias_export.cli.display import table
from gorgias_export.cli.execute import Session, execute, requests_line
from gorgias_export.cli.options import (
    AllFormat,
    ApiPath,
    Connection,
    CustomerId,
    CustomFields,
    ExportPath,
    ExternalId,
    Format,
    FormatFlag,
    Fresh,
    JsonlOut,
    MaxSize,
    Out,
    OutDir,
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
from gorgias_export.entity_types import Entity, Incremental
from gorgias_export.errors import ApiError, ExitCode, UsageError
from gorgias_export.exports.attachments import FilesStatus
from gorgias_export.exports.filtered import ticket_listings
from gorgias_export.exports.status import ExportStatus
from gorgias_export.exports.verify import ExportUnderTest
from gorgias_export.jobs.all import AllJob, AllResult, run_all
from gorgias_export.jobs.archive import ArchiveJob, ArchiveResult, archive_ready, run_archive
from gorgias_export.jobs.attachments import AttachmentsJob, open_files_target
from gorgias_export.jobs.entities import EntityJob, is_list_endpoint
from gorgias_export.jobs.lifecycle import JobResult, open_target, run_job
from gorgias_export.jobs.tickets import TicketsJob
from gorgias_export.jobs.verify import find_export, verify_export
from gorgias_export.output.workbook import require_xlsxwriter
from gorgias_export.resources import adhoc_entity


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
        start, end = flags.time_range(since, until)
        filters = [("customer_id", customer_id), ("view_id", view_id), ("external_id", external_id)]
        wanted = [(name, value) for name, value in filters if value is not None]
        listings = ticket_listings(wanted, ticket_id or [])
        job = TicketsJob(
            fmt_name,
            since=start,
            until=end,
            listings=listings,
            per=per.value,
            custom_fields=custom_fields,
            reconcile=reconcile,
        )
        return job.summary_in_own_table() if job.per == "ticket" else job

    def work(job: TicketsJob, session: Session) -> str:
        if job.custom_fields and not connection.quiet:
            typer.echo(CUSTOM_FIELDS_COST, err=True)
        target = open_target(
            job, out, state, fresh, session.settings.base_url, "tickets.csv", overwrite, repair
        )
        result = run_job(session.client, job, target, session.on_status)
        return _tickets_summary(result, job.per == "ticket", session)

    execute(connection, plan, work, resumable=out != "-")


CUSTOM_FIELDS_COST = (
    "--custom-fields: one more request per ticket written (at 2 requests a second, about "
    "8.3 minutes per 1,000 tickets), on top of one per 100 tickets and per 100 messages."
)


def _tickets_summary(result: JobResult, per_ticket: bool, session: Session) -> str:
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
        if connection.quiet:  # for monitoring: the exit status says it all
            return
        typer.echo(
            f"OK: {session.settings.base_url} accepts these credentials for account {name!r}."
        )
        typer.echo(f"Rate limit: {usage}.")

    execute(connection, lambda: None, work)


@with_connection
def verify(path: ExportPath, state: VerifyState = None, *, connection: Connection) -> None:
    """Check a tickets export against the account, without downloading it again.

    Lists the account's tickets (one request per 100) and compares ids and message counts;
    names what is missing, extra, duplicated, or changed since. Exits 0 when complete, 8 if not.

    Example: gorgias-export verify tickets.csv
    """

    def work(export: ExportUnderTest, session: Session) -> str:
        report = verify_export(session.client, export)
        typer.echo("\n".join(report.lines()))
        if not report.complete:
            raise typer.Exit(int(ExitCode.INCOMPLETE))
        return f"Verified; {requests_line(session)}"

    execute(connection, lambda: find_export(path, state), work)


def entity_command(entity: Entity) -> Any:
    """The command of one entity of resources.ENTITIES: --out, its filters, the shared options."""

    def command(
        out: Out,
        fmt: FormatFlag = None,
        state: StateFlag = None,
        fresh: Fresh = False,
        overwrite: Overwrite = False,
        repair: Repair = False,
        *,
        connection: Connection,
        **filter_values: Any,
    ) -> None:
        def plan() -> EntityJob:
            flags.refuse_resume_on_stdout(out, state, fresh, overwrite)
            # Inclusive of the period --until names; the API's filter is exclusive.
            start, end = flags.time_range(
                filter_values.pop("since", None), filter_values.pop("until", None), True
            )
            fmt_name = flags.output_format(out, fmt and fmt.value, f"{entity.name}.csv")
            reconcile = bool(filter_values.pop("reconcile", False))
            params = flags.entity_filters(entity, filter_values)
            return EntityJob(entity, fmt_name, params, since=start, until=end, reconcile=reconcile)

        def work(job: EntityJob, session: Session) -> str:
            target = open_target(
                job,
                out,
                state,
                fresh,
                session.settings.base_url,
                f"{entity.name}.csv",
                overwrite,
                repair,
            )
            result = run_job(session.client, job, target, session.on_status)
            done = (
                f"Done: {result.status.rows:,} new rows of {entity.name} in {result.output}, "
                f"{result.total_rows:,} written over all runs; {requests_line(session)}"
            )
            email = dict(job.filters).get("email") if _filters_by_email(entity) else None
            if email is not None and not result.total_rows:
                # Elsewhere --email is the login: 0 rows and exit 0 must not pass unnoticed.
                done += (
                    f" No {entity.name} matched --email {email}: here it is a filter on the "
                    "customer's address (the login is --api-user)."
                )
            return done

        execute(connection, plan, work, resumable=out != "-")

    command.__name__ = entity.name.replace("-", "_")
    command.__doc__ = _entity_help(entity)
    command.__signature__ = _with_filters(command, entity)  # type: ignore[attr-defined]
    return with_connection(command, email_is_a_filter=_filters_by_email(entity))


def _filters_by_email(entity: Entity) -> bool:
    return any(spec.flag == "--email" for spec in entity.filters)


def _with_filters(command: Any, entity: Entity) -> inspect.Signature:
    """The command's signature: its own options, then the entity's filter flags."""
    own = [
        p
        for p in inspect.signature(command, eval_str=True).parameters.values()
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    keyword = inspect.Parameter.KEYWORD_ONLY
    for spec in entity.filters:
        kind: Any = int if spec.integer else str
        annotation: Any = list[kind] | None if spec.repeatable else kind | None
        metavar = "ID" if spec.integer else spec.param.upper().rstrip("S")
        option = typer.Option(spec.flag, help=spec.help, show_default=False, metavar=metavar)
        own.append(
            inspect.Parameter(
                flags.filter_name(spec.flag),
                keyword,
                annotation=Annotated[annotation, option],
                default=None,
            )
        )
    if entity.name == "customers":  # the one entity with a deletion pass
        own.append(inspect.Parameter("reconcile", keyword, annotation=Reconcile, default=False))
    if entity.incremental is Incremental.SERVER_SINCE:
        own += [
            inspect.Parameter("since", keyword, annotation=Since, default=None),
            inspect.Parameter("until", keyword, annotation=Until, default=None),
        ]
    return inspect.Signature(own)


def _entity_help(entity: Entity) -> str:
    how = {
        Incremental.CREATED: "Rerunning resumes an interrupted export, or appends the rows "
        "created since the last complete run.",
        Incremental.UPDATED: "Rerunning resumes an interrupted export, or appends the rows "
        "created or changed since the last complete run (a changed row is written again).",
        Incremental.SERVER_SINCE: "Rerunning resumes an interrupted export, or appends the "
        "events created since the last complete run.",
        Incremental.LOOKBACK: "Rerunning resumes an interrupted export, or appends new rows "
        f"and the rows of the last {entity.lookback.days if entity.lookback else 0} days whose "
        "content changed (a survey's score, a call's summary).",
        Incremental.FULL: "Every run reads the whole list and replaces --out with it once "
        "complete.",
    }[entity.incremental]
    return f"{entity.summary}\n\n{how}\n\nExample: {entity.example}"


@with_connection
def all_entities(
    out_dir: OutDir,
    fmt: AllFormat = Format.csv,
    fresh: Fresh = False,
    overwrite: Overwrite = False,
    reconcile: Reconcile = False,
    *,
    connection: Connection,
) -> None:
    """Export every entity into one directory, one file each, with one state for the run.

    Rerunning resumes an interrupted run where it stopped, or runs each entity incrementally.

    Example: gorgias-export all --out-dir backup/
    """

    def work(job: AllJob, session: Session) -> str:
        result = run_all(session.client, job, session.on_status)
        return _all_summary(result, session)

    def plan() -> AllJob:
        flags.refuse_overwrite_alone(fresh, overwrite)
        if fmt is Format.xlsx:
            require_xlsxwriter()
        return AllJob(out_dir, fmt.value, fresh, overwrite, reconcile)

    execute(connection, plan, work)


def _all_summary(result: AllResult, session: Session) -> str:
    # The files share --out-dir: the table names them, the folder gets a line of its own, so
    # that a long path is never cut by the table (nor folded inside it).
    folders = {str(Path(outcome.output).parent) for outcome in result.outcomes}
    folder = folders.pop() if len(folders) == 1 else None
    rows = [
        (
            outcome.name,
            "done earlier" if outcome.skipped else f"{outcome.rows:,}",
            f"{outcome.requests:,}",
            Path(outcome.output).name if folder else outcome.output,
        )
        for outcome in result.outcomes
    ]
    grid = table(("entity", "new rows", "requests", "file"), rows, right=("new rows", "requests"))
    where = f"\nfiles in {folder}" if folder else ""
    return f"{grid}{where}\nDone: all {len(result.outcomes)} entities; {requests_line(session)}"


@with_connection
def archive(out_dir: OutDir, *, connection: Connection) -> None:
    """Back the whole account up into one directory you can open without Gorgias.

    The SQLite mirror and JSONL (DIR/data), the attachment files, and a static site
    (DIR/index.html, a page per ticket) that works from the file system. Rerunning resumes an
    interrupted run, or brings the archive up to date (only changed pages are written).

    Example: gorgias-export archive --out-dir gorgias-archive/
    """

    def work(job: ArchiveJob, session: Session) -> str:
        result = run_archive(session.client, job, session.on_status)
        return _archive_summary(result, session)

    def plan() -> ArchiveJob:
        archive_ready()
        return ArchiveJob(out_dir)

    execute(connection, plan, work)


def _archive_summary(result: ArchiveResult, session: Session) -> str:
    site = result.site
    rows = sum(outcome.rows for outcome in result.data.outcomes)
    files = result.files.status.files if isinstance(result.files.status, FilesStatus) else 0
    return (
        f"Done: archive with {site.tickets:,} tickets; {rows:,} new rows, "
        f"{site.pages_written:,} ticket pages written, index "
        f"{'written' if site.index_written else 'unchanged'} ({site.index_bytes:,} bytes), "
        f"{files:,} new attachment files; {requests_line(session)}"
    )


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
        api_path = flags.api_path(path)
        params = flags.query_params(param or [], link_paged(api_path))
        flags.refuse_resume_on_stdout(out, state, fresh, overwrite)
        flags.jsonl_output(out, "items.jsonl")
        return api_path, params

    def work(planned: tuple[str, ApiParams], session: Session) -> str:
        api_path, params = planned
        single = not is_list_endpoint(session.client, api_path, params)
        job = EntityJob(adhoc_entity(api_path, single), "jsonl", tuple(params))
        target = open_target(
            job, out, state, fresh, session.settings.base_url, "items.jsonl", overwrite
        )
        result = run_job(session.client, job, target, session.on_status)
        return (
            f"Done: {result.status.rows:,} rows from {api_path} in {result.output}; "
            f"{session.client.stats.requests:,} requests in {session.elapsed():.1f} s."
        )

    execute(connection, plan, work, resumable=out != "-")


@with_connection
def attachments(
    out_dir: OutDir,
    max_size: MaxSize = "1G",
    since: Since = None,
    until: Until = None,
    fresh: Fresh = False,
    overwrite: Overwrite = False,
    *,
    connection: Connection,
) -> None:
    """Download every message attachment and call recording, with a manifest of them all.

    Files go to DIR/files and DIR/recordings; DIR/manifest.csv and DIR/manifest.jsonl list
    each one (status ok, gone, forbidden or too_large). Rerunning resumes, or fetches only what
    is new.

    Example: gorgias-export attachments --out-dir backup/attachments
    """

    def plan() -> AttachmentsJob:
        flags.refuse_overwrite_alone(fresh, overwrite)
        start, end = flags.time_range(since, until, exclusive_until=True)
        size = flags.byte_size(max_size, "--max-size")
        return AttachmentsJob(Path(out_dir).resolve(), size, start, end, fresh, overwrite)

    def work(job: AttachmentsJob, session: Session) -> str:
        target = open_files_target(job, session.settings.base_url)
        result = run_job(session.client, job, target, session.on_status)
        status = result.status
        assert isinstance(status, FilesStatus)
        return (
            f"Done: {status.files:,} files saved ({status.bytes / 2**20:,.1f} MB), "
            f"{status.missing:,} gone, forbidden or too large; {result.total_rows:,} rows in all "
            f"in {job.out_dir}/manifest.csv; {requests_line(session)}"
        )

    execute(connection, plan, work)
