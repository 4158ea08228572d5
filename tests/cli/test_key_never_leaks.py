"""The API key appears nowhere: not in stdout, stderr, --verbose logs or any file an export
leaves, whether the run succeeds or fails."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from gorgias_sim import Simulator
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import run_cli

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
