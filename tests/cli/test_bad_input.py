"""Bad input: one line on stderr, the documented exit code, nothing created or clobbered.

The reliability suite's bad-input table (tests/reliability/scenarios.py) names the tests
here and in jobs/test_refusals.py that already run its rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from gorgias_export.errors import ExitCode
from gorgias_sim import NOPERM_EMAIL, Simulator
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.sim(seed=2, tickets=60)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--since", "last tuesday"], "YYYY-MM-DD"),
        (["--since", "2024-05-01", "--until", "2024-04-01"], "after --until"),
        (["--out", "tickets.ods"], "--format csv|jsonl|sqlite|xlsx"),
    ],
)
def test_usage_errors_exit_2(sim: Simulator, args: list[str], needle: str) -> None:
    base = [] if "--out" in args else ["--out", "t.csv"]
    result = run_cli(sim, "tickets", *base, *args)
    assert needle in assert_one_line_error(result, ExitCode.USAGE)
    assert not Path("t.csv").exists()


@pytest.mark.parametrize("extra", [["--fresh"], ["--state", "s.json"]])
def test_resume_options_make_no_sense_on_stdout(sim: Simulator, extra: list[str]) -> None:
    result = run_cli(sim, "tickets", "--out", "-", *extra)
    assert "stdout has no resume" in assert_one_line_error(result, ExitCode.USAGE)


def test_an_unknown_format_is_a_usage_error(sim: Simulator) -> None:
    result = run_cli(sim, "tickets", "--out", "t.csv", "--format", "xml")
    assert result.exit_code == ExitCode.USAGE and "xml" in result.stderr


def test_missing_settings_name_what_and_where() -> None:
    result = run_cli(None, "tickets", "--out", "t.csv")
    message = assert_one_line_error(result, ExitCode.CONFIG)
    assert "GORGIAS_DOMAIN" in message and "GORGIAS_API_KEY" in message


@pytest.mark.parametrize("domain", ["acme.evil.com/x", "acme@evil"])
def test_malformed_domains_are_refused_before_any_request(domain: str) -> None:
    env = {"GORGIAS_EMAIL": EMAIL, "GORGIAS_API_KEY": SECRET_KEY}
    result = run_cli(None, "tickets", "--out", "t.csv", "--domain", domain, env=env)
    assert "subdomain" in assert_one_line_error(result, ExitCode.CONFIG)


def test_plain_http_to_a_remote_host_is_refused() -> None:
    env = {
        "GORGIAS_EMAIL": EMAIL,
        "GORGIAS_API_KEY": SECRET_KEY,
        "GORGIAS_BASE_URL": "http://example.com/api",
    }
    result = run_cli(None, "tickets", "--out", "t.csv", env=env)
    assert "https" in assert_one_line_error(result, ExitCode.CONFIG)


def test_a_wrong_key_exits_4_and_creates_nothing(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    result = run_cli(sim, "tickets", "--out", str(out), env={"GORGIAS_API_KEY": "wrong"})
    assert "GORGIAS_API_KEY" in assert_one_line_error(result, ExitCode.AUTH)
    assert list(tmp_path.iterdir()) == []  # not even a lock file (issue 12)


def test_a_user_without_permission_exits_4(sim: Simulator, tmp_path: Path) -> None:
    result = run_cli(
        sim, "tickets", "--out", str(tmp_path / "t.csv"), env={"GORGIAS_EMAIL": NOPERM_EMAIL}
    )
    assert "403" in assert_one_line_error(result, ExitCode.AUTH)


def test_output_path_problems_exit_6(sim: Simulator, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    cases = [
        (tmp_path / "missing" / "t.csv", "does not exist"),
        (blocker / "t.csv", "not a directory"),
        (tmp_path, "is a directory"),
    ]
    for command in (["tickets"], ["tags"], ["get", "/api/tags"]):  # no extension to guess from
        result = run_cli(sim, *command, "--out", str(tmp_path))
        assert "is a directory" in assert_one_line_error(result, ExitCode.IO)
    for out, needle in cases:
        result = run_cli(sim, "tickets", "--out", str(out), "--format", "csv")
        assert needle in assert_one_line_error(result, ExitCode.IO)
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("port", ["99999", "abc"])
def test_a_base_url_with_a_bad_port_is_a_config_error_not_an_internal_one(port: str) -> None:
    """Regression (found by the review of the redesign): validate_base_url never reads the port;
    api/http.Transport does (urlsplit's .port raises ValueError), so `check` ends in "Internal
    error (ValueError); please report it", exit 1, for a typo in GORGIAS_BASE_URL."""
    env = {
        "GORGIAS_EMAIL": EMAIL,
        "GORGIAS_API_KEY": SECRET_KEY,
        "GORGIAS_BASE_URL": f"https://acme.gorgias.com:{port}/api",
    }
    result = run_cli(None, "check", env=env)
    assert "GORGIAS_BASE_URL" in assert_one_line_error(result, ExitCode.CONFIG)


def test_a_proxy_with_a_bad_port_is_a_config_error_and_keeps_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression (found by the review of the redesign): api/http._https_proxy reads
    `parts.port` unguarded: HTTPS_PROXY with a port typo ends in "Internal error (ValueError)",
    exit 1."""
    for name in ("https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://user:proxy-pw-123@proxy.example:31 28")
    env = {"GORGIAS_EMAIL": EMAIL, "GORGIAS_API_KEY": SECRET_KEY, "GORGIAS_DOMAIN": "acme"}
    result = run_cli(None, "check", env=env)
    message = assert_one_line_error(result, ExitCode.CONFIG)
    assert "HTTPS_PROXY" in message and "proxy-pw-123" not in message


def test_a_base_url_path_with_non_ascii_is_not_an_internal_error(sim: Simulator) -> None:
    """Regression (found by the review of the redesign): requests percent-encoded the URL
    (0.1.0: a 404, exit 5, "The API has no /account"); http.client refuses non-ASCII in the
    request line with UnicodeEncodeError, which api/http.Transport.get does not catch: "Internal
    error", exit 1. (A space in the path raises InvalidURL, which is retried as a connection
    error for the 60 s first-contact budget instead.)"""
    env = {"GORGIAS_BASE_URL": sim.url.removesuffix("/api") + "/äpi"}
    result = run_cli(sim, "check", env=env)
    assert result.exit_code != ExitCode.INTERNAL, result.stderr
    assert_one_line_error(result, ExitCode(result.exit_code))
