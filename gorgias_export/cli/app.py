"""The Typer application: the commands' names, and the entry point that turns Click's own
usage errors into one line too."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

try:  # Typer >= 0.20 vendors Click; earlier releases use the click package
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover
    from click import ClickException  # type: ignore[import-not-found,no-redef,unused-ignore]

from gorgias_export import __version__
from gorgias_export.cli import backup_commands, commands, entity_commands
from gorgias_export.cli.streams import stand_in_for_closed_streams
from gorgias_export.errors import ExitCode
from gorgias_export.resources import ENTITIES

app = typer.Typer(
    name="gorgias-export",
    help="Export a Gorgias helpdesk account's data to files, resumably, at the API's rate limit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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


app.command(name="tickets")(commands.tickets)
app.command(name="check")(commands.check)
app.command(name="verify")(commands.verify)
for _entity in ENTITIES:
    app.command(name=_entity.name)(entity_commands.entity_command(_entity))
app.command(name="all")(backup_commands.all_entities)
app.command(name="archive")(backup_commands.archive)
app.command(name="get")(commands.get)
app.command(name="attachments")(backup_commands.attachments)


def main() -> None:
    """Console-script entry point: Click's own usage errors become one line too."""
    stand_in_for_closed_streams()
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
