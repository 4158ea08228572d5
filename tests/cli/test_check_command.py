"""`check`: one request that reports the account and the rate-limit bucket, or why not."""

from __future__ import annotations

from pathlib import Path

import pytest

from gorgias_export.errors import ExitCode
from gorgias_sim import Simulator
from tests.support.account import SECRET_KEY
from tests.support.cli import assert_one_line_error, run_cli


@pytest.mark.sim(seed=2, tickets=20, rate_limit=True)  # bucket on
def test_check_reports_the_account_and_the_bucket(sim: Simulator, tmp_path: Path) -> None:
    result = run_cli(sim, "check")
    assert result.exit_code == 0, result.stderr
    assert "accepts these credentials for account 'acme'" in result.stdout
    assert "Rate limit: 1 of 40 requests" in result.stdout
    assert [record.path for record in sim.requests] == ["/api/account"]
    wrong = run_cli(sim, "check", env={"GORGIAS_API_KEY": "wrong"})
    assert "GORGIAS_API_KEY" in assert_one_line_error(wrong, ExitCode.AUTH)
    assert SECRET_KEY not in result.stdout + result.stderr + wrong.stdout + wrong.stderr
