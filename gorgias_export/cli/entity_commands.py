"""The command of each entity of resources.ENTITIES, made from its row: --out, its filter
flags, its help. Its job's modules are imported when it runs (see commands.py)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gorgias_export.cli import flags
from gorgias_export.cli.commands import export_to
from gorgias_export.cli.execute import Session, execute, requests_line
from gorgias_export.cli.options import (
    Connection,
    FormatFlag,
    Fresh,
    Out,
    Overwrite,
    Reconcile,
    Repair,
    Since,
    StateFlag,
    Until,
    with_connection,
)
from gorgias_export.entity_types import Entity, Incremental

if TYPE_CHECKING:
    from gorgias_export.jobs.entities import EntityJob
    from gorgias_export.jobs.lifecycle import JobResult


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
            from gorgias_export.jobs.entities import EntityJob

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
            result = export_to(
                session, job, out, state, fresh, overwrite, f"{entity.name}.csv", repair
            )
            return _entity_summary(entity, job, result, session)

        execute(connection, plan, work, resumable=out != "-")

    command.__name__ = entity.name.replace("-", "_")
    command.__doc__ = _entity_help(entity)
    command.__signature__ = _with_filters(command, entity)  # type: ignore[attr-defined]
    return with_connection(command, email_is_a_filter=_filters_by_email(entity))


def _entity_summary(entity: Entity, job: EntityJob, result: JobResult, session: Session) -> str:
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
