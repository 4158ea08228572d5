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


@pytest.mark.sim(seed=2, tickets=5)
@pytest.mark.parametrize("where", ["environ", "dotenv"])
def test_check_with_a_domain_flag_sends_nothing_to_a_base_url_from_environ_or_dotenv(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Regression (issue 12, High 2): with GORGIAS_BASE_URL in the environment or a .env,
    `check --domain acme` sent email:key to the base URL's host (here, the simulator)."""
    from gorgias_export.api import http

    hosts: list[str] = []

    def answer(
        self: http.Transport, path: str, params: object, within: object = None
    ) -> http.Answer:
        hosts.append(self._host)  # where the request (and the key) would have gone
        body = b'{"domain": "acme", "name": "Acme"}'
        return http.Answer(200, {}, body, self._base_url + path)

    monkeypatch.setattr(http.Transport, "get", answer)
    monkeypatch.chdir(tmp_path)
    env = {"GORGIAS_BASE_URL": sim.url} if where == "environ" else {"GORGIAS_BASE_URL": ""}
    if where == "dotenv":
        (tmp_path / ".env").write_text(f"GORGIAS_BASE_URL={sim.url}\n")
    result = run_cli(sim, "check", "--domain", "acme", env=env)
    assert hosts and set(hosts) == {"acme.gorgias.com"}, result.stderr
    assert sim.requests == []
