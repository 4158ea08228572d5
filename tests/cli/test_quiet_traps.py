"""Traps that used to succeed quietly (issue 12, Lower 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gorgias_export.errors import ExitCode
from gorgias_sim import Simulator
from tests.support.cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.sim(seed=2, tickets=30)


def test_customers_email_that_matches_nothing_is_said_and_its_refusal_shows_no_repr(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "c.csv"
    result = run_cli(sim, "customers", "--out", str(out), "--email", "me@example.com")
    assert result.exit_code == 0, result.stderr
    assert "No customers matched --email me@example.com" in result.stderr
    assert "--api-user" in result.stderr
    result = run_cli(sim, "customers", "--out", str(out), "--email", "you@example.com")
    message = assert_one_line_error(result, ExitCode.CONFLICT)
    assert '"me@example.com"' in message and "('" not in message and "['" not in message


def test_localhost_and_127_0_0_1_are_the_same_server(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    assert "127.0.0.1" in sim.url
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    other = sim.url.replace("127.0.0.1", "localhost")
    result = run_cli(sim, "tickets", "--out", str(out), env={"GORGIAS_BASE_URL": other})
    assert result.exit_code == 0 and "0 new rows" in result.stderr, result.stderr
    # Another host is another account, still refused.
    result = run_cli(
        sim, "tickets", "--out", str(out), env={"GORGIAS_BASE_URL": "https://acme.gorgias.com/api"}
    )
    assert "api" in assert_one_line_error(result, ExitCode.CONFLICT)
