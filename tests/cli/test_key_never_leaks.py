"""The API key and the OAuth access token appear nowhere: not in stdout, stderr, --verbose logs
or any file an export leaves, whether the run succeeds or fails."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from gorgias_sim import Simulator
from tests.support.account import EMAIL, SECRET_KEY, SECRET_TOKEN
from tests.support.cli import oauth_env_for, run_cli

pytestmark = pytest.mark.sim(seed=2, tickets=60)


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


def test_the_access_token_appears_nowhere(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "t.jsonl"
    oauth = oauth_env_for(sim)

    def run(*args: str, env: dict[str, str] | None = None) -> Any:
        return run_cli(None, *args, "--verbose", env={**oauth, **(env or {})})

    outputs = [
        run("tickets", "--out", str(out)),
        run("tickets", "--out", str(out)),  # the incremental path too
        run("check"),
        run("tickets", "--out", "-", "--format", "jsonl"),
        run("tickets", "--out", str(tmp_path / "x.csv"), env={"GORGIAS_ACCESS_TOKEN": "oat-x"}),
        run_cli(
            None, "tickets", "--out", "t.csv", "--domain", "a@b", "--access-token", SECRET_TOKEN
        ),
        run("tickets", "--out", "t.csv", env={"GORGIAS_ACCESS_TOKEN": SECRET_TOKEN + " x"}),
    ]
    sim.config.token_lifetime = sim.count() + 3  # it expires three requests into the next run
    outputs.append(run("tickets", "--out", str(tmp_path / "expired.csv")))
    stderrs = [o.stderr for o in outputs]
    assert "GET http" in stderrs[0] and "mid-run" in stderrs[-1]
    texts = [o.stdout.encode() + o.stderr.encode() for o in outputs]
    texts += [path.read_bytes() for path in tmp_path.iterdir() if path.is_file()]
    assert sum(len(t) for t in texts) > 100_000
    for text in texts:
        assert SECRET_TOKEN.encode() not in text and b"Bearer" not in text
