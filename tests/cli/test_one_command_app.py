"""A run builds only the command it names (cli/app.app_for), to save start-up CPU: what it
prints and its exit status must be those of the whole app, for every command."""

from __future__ import annotations

import sys
from typing import Any

import pytest
import typer.main

from gorgias_export.cli.app import COMMAND_NAMES, app, app_for, run

COMMANDS = [info.name for info in app.registered_commands]
# Built once: the comparison runs every command through it.
WHOLE = typer.main.get_command(app)

# Help, Click's own errors (an unknown option, a missing --out or argument, a root option
# given after the command), and for `check` (no required flag) the missing settings.
PER_COMMAND = (("--help",), ("-h",), ("--nope",), (), ("--version",))
ROOT = ((), ("--help",), ("-h",), ("--version",), ("tikets",), ("--nope",), ("--help", "tickets"))


def _outcome(application: Any, args: tuple[str, ...], capsys: Any) -> tuple[Any, str, str]:
    """(exit status, stdout, stderr) of `gorgias-export ARGS` run by `application`."""
    sys.argv = ["gorgias-export", *args]
    with pytest.raises(SystemExit) as exited:
        run(application)
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def test_every_command_is_known_by_name() -> None:
    assert set(COMMANDS) == COMMAND_NAMES and len(COMMANDS) == len(COMMAND_NAMES)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_alone_behaves_as_in_the_whole_app(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # restored after the test
    for extra in PER_COMMAND:
        args = (command, *extra)
        alone = app_for(list(args))
        assert [info.name for info in alone.registered_commands] == [command]
        whole = _outcome(WHOLE, args, capsys)
        assert _outcome(alone, args, capsys) == whole, f"gorgias-export {' '.join(args)}"
        assert whole[0] != 0 or "Usage: gorgias-export " in whole[1]  # it did run something


@pytest.mark.parametrize("args", ROOT, ids=lambda args: " ".join(args) or "bare")
def test_anything_but_a_command_name_first_gets_the_whole_app(args: tuple[str, ...]) -> None:
    assert app_for(list(args)) is app
