"""The Typer application: the commands' names, and the entry point that turns Click's own
usage errors into one line too."""

from __future__ import annotations

import sys
from typing import Annotated, Any, NoReturn

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


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gorgias-export {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Export a Gorgias helpdesk account's data to files, resumably and at the API's rate limit."""


# Every command, by name, in the order --help lists them.
COMMANDS: tuple[tuple[str, Any], ...] = (
    ("tickets", commands.tickets),
    ("check", commands.check),
    ("verify", commands.verify),
    *((entity.name, entity_commands.entity_command(entity)) for entity in ENTITIES),
    ("all", backup_commands.all_entities),
    ("archive", backup_commands.archive),
    ("get", commands.get),
    ("attachments", backup_commands.attachments),
)
COMMAND_NAMES = frozenset(name for name, _ in COMMANDS)


def build_app(only: str | None = None) -> typer.Typer:
    """The Typer app with every command, or with only the command named `only`."""
    application = typer.Typer(
        name="gorgias-export",
        help="Export a Gorgias helpdesk account's data to files, resumably, at the API's rate "
        "limit.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    application.callback()(_root)
    for name, function in COMMANDS:
        if only is None or name == only:
            application.command(name=name)(function)
    return application


app = build_app()


def app_for(args: list[str]) -> typer.Typer:
    """The app a run needs. When the first argument names a command, Click would go straight
    to it: an app holding only that command behaves the same (its help, errors and exit codes;
    tests/cli/test_one_command_app.py), without building the other 24 commands' options
    (0.04-0.1 CPU-s of every run). Anything else (--help, --version, a typo) gets the whole app."""
    if args and args[0] in COMMAND_NAMES:
        return build_app(only=args[0])
    return app


def main() -> None:
    """Console-script entry point: Click's own usage errors become one line too."""
    stand_in_for_closed_streams()
    run(app_for(sys.argv[1:]))


def run(application: Any) -> NoReturn:
    """Run `application` (a Typer app, or its Click command) on sys.argv and exit with its
    status; Click's own usage errors become one line."""
    try:
        code = application(standalone_mode=False)
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
