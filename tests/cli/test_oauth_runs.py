"""Whole runs with an OAuth access token against the simulator: an export with no email or key
at all, a token that expires mid-run and a rerun with a new one that resumes, the refusals, and
the 403's reason on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gorgias_export.errors import ExitCode
from gorgias_sim import NOPERM_EMAIL, Simulator
from tests.support.account import SECRET_TOKEN
from tests.support.cli import assert_one_line_error, oauth_env_for, run_cli
from tests.support.outputs import read_csv, read_jsonl, row_ids
from tests.support.simulator import expected_ids

pytestmark = pytest.mark.sim(seed=5, tickets=300, rate_limit=True)
FRESH = "oat-TEST-fresh-token-of-the-rerun"


def run_oauth(sim: Simulator, *args: str, token: str = SECRET_TOKEN) -> Any:
    """The CLI with only a base URL and a token: no email, no key anywhere."""
    return run_cli(None, *args, env=oauth_env_for(sim, token))


def test_an_oauth_only_export_completes_exactly(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    result = run_oauth(sim, "tickets", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert row_ids(read_csv(out)) == expected_ids(sim)
    assert {r.scheme for r in sim.requests} == {"Bearer"}
    assert {r.status for r in sim.requests} == {200} and sim.rate_limited == 0


@pytest.mark.sim(seed=5, tickets=300, token_lifetime=6)
def test_an_expired_token_mid_run_then_a_new_one_resumes_exactly_once(
    sim: Simulator, tmp_path: Path
) -> None:
    clean = tmp_path / "clean.csv"
    assert run_cli(sim, "tickets", "--out", str(clean)).exit_code == 0  # with the key
    clean_requests = sim.count()
    sim.reset_stats()

    out = tmp_path / "t.csv"
    expired = run_oauth(sim, "tickets", "--out", str(out))
    stderr = assert_one_line_error(expired, ExitCode.AUTH)
    assert "expired" in stderr and "progress is saved" in stderr and "24 hours" in stderr
    assert "GORGIAS_ACCESS_TOKEN" in stderr
    assert 0 < out.stat().st_size < clean.stat().st_size  # rows were written, not all

    sim.config.access_token = FRESH  # the app got a new token, which lasts
    sim.config.token_lifetime = None
    sim.reset_stats()
    resumed = run_oauth(sim, "tickets", "--out", str(out), token=FRESH)
    assert resumed.exit_code == 0, resumed.stderr
    assert out.read_bytes() == clean.read_bytes()  # every row once, as an uninterrupted run
    assert sim.count() < clean_requests  # resumed, not started over


@pytest.mark.sim(seed=5, tickets=300, token_lifetime=4)
def test_an_expired_token_to_stdout_says_what_was_printed_is_complete(sim: Simulator) -> None:
    result = run_oauth(sim, "messages", "--out", "-")
    stderr = assert_one_line_error(result, ExitCode.AUTH)
    assert "expired" in stderr and "rows printed so far are complete" in stderr
    assert "progress is saved" not in stderr


def test_a_refused_token_on_the_first_request_exits_4_and_creates_nothing(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "t.csv"
    result = run_oauth(sim, "tickets", "--out", str(out), token="oat-wrong")
    stderr = assert_one_line_error(result, ExitCode.AUTH)
    assert "refused the access token" in stderr and "mid-run" not in stderr
    assert list(tmp_path.iterdir()) == []  # not even a lock file (issue 12)


def test_check_reports_the_80_request_bucket(sim: Simulator) -> None:
    result = run_oauth(sim, "check")
    assert result.exit_code == 0, result.stderr
    assert "1 of 80 requests" in result.stdout


def test_a_key_given_as_a_flag_beats_a_token_in_the_environment(
    sim: Simulator, tmp_path: Path
) -> None:
    env = {**oauth_env_for(sim), "GORGIAS_EMAIL": sim.config.email}
    args = ("tags", "--out", str(tmp_path / "tags.jsonl"), "--api-key", sim.config.api_key)
    assert run_cli(None, *args, env=env).exit_code == 0
    assert {r.scheme for r in sim.requests} == {"Basic"}
    sim.reset_stats()
    env["GORGIAS_API_KEY"] = sim.config.api_key  # a tie: the token
    assert run_cli(None, "tags", "--out", str(tmp_path / "t2.jsonl"), env=env).exit_code == 0
    assert {r.scheme for r in sim.requests} == {"Bearer"}
    assert read_jsonl(tmp_path / "t2.jsonl") == read_jsonl(tmp_path / "tags.jsonl")


def test_a_403_prints_the_servers_reason_after_ours(sim: Simulator, tmp_path: Path) -> None:
    sim.config.forbidden_reason = (
        "You do not have enough permissions to perform this action. Messaging quota exceeded."
    )
    result = run_cli(
        sim, "tickets", "--out", str(tmp_path / "t.csv"), env={"GORGIAS_EMAIL": NOPERM_EMAIL}
    )
    stderr = assert_one_line_error(result, ExitCode.AUTH)
    assert "may not read /tickets (403); use a key whose user's role has access" in stderr
    assert stderr.rstrip().endswith("The API said: " + sim.config.forbidden_reason)


def test_the_token_is_read_from_dotenv_like_every_setting(sim: Simulator) -> None:
    Path(".env").write_text(f"GORGIAS_BASE_URL={sim.url}\nGORGIAS_ACCESS_TOKEN={SECRET_TOKEN}\n")
    result = run_cli(None, "check")  # the working directory is the test's own (conftest)
    assert result.exit_code == 0, result.stderr
    assert [r.scheme for r in sim.requests] == ["Bearer"]
