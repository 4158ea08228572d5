"""Wrong input or a broken environment is one line and a documented exit code, never exit 1
"Internal error" (issue 12, Lower 10), and the traps that used to succeed quietly (Lower 14)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gorgias_export.errors import ExitCode
from gorgias_sim import Simulator
from tests.support.cli import REPO, assert_one_line_error, env_for, run_cli

pytestmark = pytest.mark.sim(seed=2, tickets=30, scope="module")


def run_shell(sim: Simulator, command: str) -> subprocess.CompletedProcess[bytes]:
    """`gorgias-export` in a shell, for redirections CliRunner cannot make (`>&-`)."""
    program = f"{sys.executable} -m gorgias_export"
    return subprocess.run(
        ["sh", "-c", command.replace("gorgias-export", program)],
        env={**os.environ, **env_for(sim)},
        cwd=REPO,
        capture_output=True,
        timeout=60,
    )


def test_an_output_path_that_is_not_utf8_is_a_usage_error(sim: Simulator, tmp_path: Path) -> None:
    for args in (
        ("tags", "--out", f"{tmp_path}/\udcff.csv"),
        ("tickets", "--out", f"{tmp_path}/\udcff.db"),
        ("tags", "--out", str(tmp_path / "t.csv"), "--state", f"{tmp_path}/\udcff.json"),
        ("all", "--out-dir", f"{tmp_path}/\udcff"),
    ):
        assert "UTF-8" in assert_one_line_error(run_cli(sim, *args), ExitCode.USAGE)
    assert list(tmp_path.iterdir()) == []


def test_extreme_dates_are_not_internal_errors(sim: Simulator, tmp_path: Path) -> None:
    assert run_cli(sim, "tickets", "--out", str(tmp_path / "a.csv"), "--since", "0001-01-01")
    result = run_cli(sim, "tickets", "--out", str(tmp_path / "a.csv"), "--since", "0001-01-01")
    assert result.exit_code == 0, result.stderr
    result = run_cli(sim, "tickets", "--out", str(tmp_path / "u.csv"), "--until", "9999-12-31")
    assert result.exit_code == 0, result.stderr
    # A future --since can match nothing: said, not 0 rows and exit 0 (Lower 14).
    result = run_cli(sim, "tickets", "--out", str(tmp_path / "b.csv"), "--since", "9999-12-31")
    assert "in the future" in assert_one_line_error(result, ExitCode.USAGE)
    assert not (tmp_path / "b.csv").exists()


@pytest.mark.parametrize("variable", ["GORGIAS_API_KEY", "GORGIAS_EMAIL"])
def test_a_credential_outside_latin1_is_not_an_internal_error(
    sim: Simulator, variable: str
) -> None:
    result = run_cli(sim, "check", env={variable: "k€y-ü"})
    assert_one_line_error(result, ExitCode.AUTH)


def test_a_closed_stdout_or_stderr_is_not_an_internal_error(sim: Simulator, tmp_path: Path) -> None:
    for command in ("gorgias-export check >&-", "gorgias-export tags --out - >&-"):
        result = run_shell(sim, command)
        assert result.returncode == ExitCode.IO, result.stderr
        assert result.stderr.startswith(b"gorgias-export: ") and b"stdout" in result.stderr
        assert result.stderr.count(b"\n") == 1, result.stderr
    # A run that prints nothing to stdout does not need it; one without stderr still exits 0.
    result = run_shell(sim, f"gorgias-export tags --out {tmp_path}/t.csv >&- 2>&-")
    assert result.returncode == 0
    assert (tmp_path / "t.csv").read_bytes().startswith(b"id,")


def test_check_into_a_closed_pipe_is_one_line(sim: Simulator) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "gorgias_export", "check"],
        env={**os.environ, **env_for(sim)},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader goes away before anything is printed
    stderr = child.stderr.read()
    assert child.wait(timeout=60) == ExitCode.IO, stderr
    assert stderr.startswith(b"gorgias-export: Could not write to stdout")
    assert stderr.count(b"\n") == 1, stderr


def test_check_quiet_prints_nothing_on_success(sim: Simulator) -> None:
    result = run_cli(sim, "check", "--quiet")
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""


def test_verbose_lines_carry_a_utc_time(sim: Simulator, tmp_path: Path) -> None:
    result = run_cli(sim, "tags", "--out", str(tmp_path / "t.csv"), "--verbose")
    logged = [line for line in result.stderr.splitlines() if "GET " in line]
    assert logged, result.stderr
    stamp = re.compile(r"^gorgias-export: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ GET ")
    assert all(stamp.match(line) for line in logged), logged
