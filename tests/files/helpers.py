"""What a correct `attachments` run leaves in DIR, from the simulator's own files."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from gorgias_sim import Simulator
from gorgias_sim.uploads import sha256_of


def expected_files(sim: Simulator) -> dict[str, tuple[str, str | None]]:
    """url -> (status, sha256) of every attachment and recording the account has."""
    uploads = sim.uploads
    assert uploads is not None
    expected: dict[str, tuple[str, str | None]] = {}
    urls = [a["url"] for m in sim.dataset.messages for a in m.get("attachments") or []]
    urls += [r["url"] for r in sim.dataset.entity_items("phone/voice-call-recordings") if r["url"]]
    for url in urls:
        path = url.removeprefix(uploads.url)
        stored = uploads.files[path]
        if stored.access == "gone":
            expected[url] = ("gone", None)
        else:
            expected[url] = ("ok", sha256_of(path, stored.size))
    return expected


def private_recordings(sim: Simulator) -> int:
    return sum(1 for r in sim.dataset.entity_items("phone/voice-call-recordings") if not r["url"])


def manifest(out: Path) -> list[dict[str, Any]]:
    """The manifest's rows, checked to be the same in CSV and JSONL."""
    with open(out / "manifest.csv", newline="", encoding="utf-8") as handle:
        csv_rows = list(csv.DictReader(handle))
    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(csv_rows) == len(rows)
    for from_csv, row in zip(csv_rows, rows, strict=True):
        assert from_csv == {k: "" if v is None else str(v) for k, v in row.items()}
    return rows


def check_directory(out: Path, sim: Simulator) -> list[dict[str, Any]]:
    """Every file once, with the right bytes; gone ones as gone; nothing else in DIR's tree."""
    rows = manifest(out)
    expected = expected_files(sim)
    by_url = [row["url"] for row in rows if row["url"]]
    assert len(by_url) == len(set(by_url)), "a file listed twice"
    assert set(by_url) == set(expected)
    assert sum(1 for row in rows if not row["url"]) == private_recordings(sim)
    listed = set()
    for row in rows:
        if not row["url"]:
            assert row["status"] == "forbidden"
            continue
        status, digest = expected[row["url"]]
        assert row["status"] == status, row
        if status == "ok":
            path = out / row["path"]
            assert path.resolve().is_relative_to(out.resolve())
            data = path.read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest == row["sha256"]
            assert len(data) == row["size"]
            listed.add(row["path"])
    stored = {
        str(Path(root, name).relative_to(out))
        for top in ("files", "recordings")
        for root, _, names in os.walk(out / top)
        for name in names
    }
    assert stored == listed, "a file in DIR that the manifest does not list"
    assert not list((out / ".tmp").iterdir()), "a partial download left behind"
    return rows


def no_credentials_reached_uploads(sim: Simulator) -> None:
    assert sim.uploads is not None
    seen = sim.uploads.requests
    assert seen, "the uploads host was never asked"
    assert not [r for r in seen if r.credentials]
