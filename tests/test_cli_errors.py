"""Bad input and conflicts: one line on stderr, the documented exit code, nothing clobbered."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import requests

from gorgias_export.errors import ExitCode
from gorgias_export.jobs.state import export_lock
from gorgias_sim import NOPERM_EMAIL, Simulator
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import run_cli

pytestmark = pytest.mark.sim(seed=2, tickets=60)


def assert_one_line_error(result: object, code: ExitCode) -> str:
    exit_code = result.exit_code  # type: ignore[attr-defined]
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert exit_code == code, stderr
    assert stderr.startswith("gorgias-export: ") or stderr.startswith("Usage:"), stderr
    assert "Traceback" not in stderr
    if code != ExitCode.USAGE:
        assert stderr.count("\n") == 1, stderr
    return stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--since", "last tuesday"], "YYYY-MM-DD"),
        (["--since", "2024-05-01", "--until", "2024-04-01"], "after --until"),
        (["--out", "tickets.xlsx"], "--format csv|jsonl"),
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
    assert list(tmp_path.iterdir()) == [tmp_path / "t.csv.lock"]


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


def test_an_existing_output_without_state_is_never_overwritten(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "t.csv"
    out.write_text("my precious spreadsheet\n")
    result = run_cli(sim, "tickets", "--out", str(out))
    assert "--fresh" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert out.read_text() == "my precious spreadsheet\n"
    assert run_cli(sim, "tickets", "--out", str(out), "--fresh").exit_code == 0
    assert out.read_text().startswith("ticket_id,message_id,")


def test_a_state_from_another_export_or_a_corrupt_one_is_refused(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "t.csv"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    state = out.with_name("t.csv.state.json")
    before = (out.read_bytes(), state.read_bytes())
    result = run_cli(sim, "tickets", "--out", str(out), "--since", "2020-01-01")
    assert "since" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert (out.read_bytes(), state.read_bytes()) == before
    state.write_bytes(before[1][: len(before[1]) // 2])  # a truncated state file
    result = run_cli(sim, "tickets", "--out", str(out))
    assert "corrupt" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert out.read_bytes() == before[0]


def test_an_output_changed_behind_our_back_is_refused(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    out.write_text("someone else's data\n")
    result = run_cli(sim, "tickets", "--out", str(out))
    assert "shorter" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert out.read_text() == "someone else's data\n"


def test_a_second_run_on_the_same_export_is_refused(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    with export_lock(out):
        result = run_cli(sim, "tickets", "--out", str(out))
        assert "Another gorgias-export run" in assert_one_line_error(result, ExitCode.CONFLICT)
        # another --state does not get around it: the lock is on the output
        state = tmp_path / "elsewhere.state.json"
        result = run_cli(sim, "tickets", "--out", str(out), "--state", str(state))
        assert "Another gorgias-export run" in assert_one_line_error(result, ExitCode.CONFLICT)
    assert not out.exists()


def test_an_explicit_state_file_is_locked_too(sim: Simulator, tmp_path: Path) -> None:
    state = tmp_path / "shared.state.json"
    with export_lock(state):
        result = run_cli(sim, "tickets", "--out", str(tmp_path / "b.csv"), "--state", str(state))
    assert "Another gorgias-export run" in assert_one_line_error(result, ExitCode.CONFLICT)


def test_a_state_path_holding_other_data_is_never_overwritten(
    sim: Simulator, tmp_path: Path
) -> None:
    precious = tmp_path / "a.csv"
    precious.write_text("id,name\n1,precious\n")
    out = tmp_path / "b.csv"
    for extra in ([], ["--fresh"]):
        result = run_cli(sim, "tickets", "--out", str(out), "--state", str(precious), *extra)
        message = assert_one_line_error(result, ExitCode.CONFLICT)
        assert "not a gorgias-export state file" in message and "--fresh" not in message
    assert precious.read_text() == "id,name\n1,precious\n"
    result = run_cli(sim, "tickets", "--out", str(out), "--state", str(out))
    assert "--state must not be the --out file" in assert_one_line_error(result, ExitCode.USAGE)


def test_the_same_output_by_another_path_is_the_same_export(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "work").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "data")
    assert run_cli(sim, "tickets", "--out", str(tmp_path / "data" / "t.csv")).exit_code == 0
    monkeypatch.chdir(tmp_path / "work")
    for alias in ("../data/t.csv", str(tmp_path / "link" / "t.csv")):
        result = run_cli(sim, "tickets", "--out", alias)
        assert result.exit_code == 0 and "0 new rows" in result.stderr, result.stderr


@pytest.mark.parametrize(
    "damage",
    [
        {"seen": []},
        {"watermark_messages": 5},
        {"output_bytes": "12"},
        {"run": {"plan": "sideways"}},
        {"run": {"plan": "window", "started_at": "x", "tickets": {"after": [1, 2]}}},
    ],
)
def test_a_state_with_wrong_types_is_refused_not_a_crash(
    sim: Simulator, tmp_path: Path, damage: dict[str, object]
) -> None:
    out = tmp_path / "t.csv"
    assert run_cli(sim, "tickets", "--out", str(out)).exit_code == 0
    state_path = out.with_name("t.csv.state.json")
    document = json.loads(state_path.read_text())
    document["progress"].update(damage)
    state_path.write_text(json.dumps(document, indent=1))
    result = run_cli(sim, "tickets", "--out", str(out))
    assert "corrupt" in assert_one_line_error(result, ExitCode.CONFLICT)


def test_the_key_appears_nowhere(sim: Simulator, tmp_path: Path) -> None:
    token = base64.b64encode(f"{EMAIL}:{SECRET_KEY}".encode()).decode()
    out = tmp_path / "t.jsonl"
    outputs = [
        run_cli(sim, "tickets", "--out", str(out), "--verbose"),
        run_cli(sim, "tickets", "--out", str(out), "--verbose"),  # the incremental path too
        run_cli(
            sim,
            "tickets",
            "--out",
            str(tmp_path / "x.csv"),
            "--verbose",
            env={"GORGIAS_EMAIL": "bad@x.com"},
        ),
        run_cli(
            None,
            "tickets",
            "--out",
            "t.csv",
            "--domain",
            "a@b",
            "--api-key",
            SECRET_KEY,
            "--email",
            EMAIL,
        ),
        run_cli(sim, "tickets", "--out", "-", "--verbose", "--format", "jsonl"),
    ]
    assert "GET /tickets" in outputs[0].stderr or "GET http" in outputs[0].stderr
    texts = [o.stdout.encode() + o.stderr.encode() for o in outputs]
    texts += [path.read_bytes() for path in tmp_path.iterdir() if path.is_file()]
    scanned = sum(len(t) for t in texts)
    assert scanned > 100_000
    for text in texts:
        assert SECRET_KEY.encode() not in text and token.encode() not in text


@pytest.mark.sim(seed=4, tickets=150, rate_limit=True)  # 40 per 20 s
def test_pacing_from_the_header_avoids_429s(sim: Simulator, tmp_path: Path) -> None:
    for _ in range(35):  # another integration already used most of the bucket
        requests.get(sim.url + "/account", auth=(EMAIL, SECRET_KEY), timeout=5)
    sim.reset_stats()
    result = run_cli(sim, "tickets", "--out", str(tmp_path / "t.csv"))
    assert result.exit_code == 0, result.stderr
    assert sim.count() > 5  # enough requests to have overflowed the bucket unpaced
    assert sim.rate_limited == 0


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
