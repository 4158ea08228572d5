"""The simulator's files host: public, private (signed redirect from the API) and gone files,
deterministic bytes, and every request carrying credentials refused and recorded."""

from __future__ import annotations

import hashlib

import pytest
import requests

from gorgias_sim import Simulator
from gorgias_sim.uploads import DOMAIN_HASH, file_bytes
from tests.support.sim_http import session

pytestmark = pytest.mark.sim(uploads=True, tickets=40)


def _plain() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def _by_access(sim: Simulator, access: str) -> str:
    assert sim.uploads is not None
    return next(p for p, f in sim.uploads.files.items() if f.access == access)


def test_every_attachment_points_at_the_files_host(sim: Simulator) -> None:
    assert sim.uploads is not None
    urls = [a["url"] for m in sim.dataset.messages for a in m.get("attachments") or []]
    assert urls and all(url.startswith(f"{sim.uploads.url}/{DOMAIN_HASH}/") for url in urls)
    accesses = {f.access for f in sim.uploads.files.values()}
    assert accesses == {"public", "private", "gone"}


def test_public_private_and_gone(sim: Simulator) -> None:
    assert sim.uploads is not None
    public = _by_access(sim, "public")
    answer = _plain().get(sim.uploads.url + public)
    size = sim.uploads.files[public].size
    assert answer.status_code == 200 and answer.content == file_bytes(public, size)
    assert (
        hashlib.sha256(answer.content).hexdigest()
        == hashlib.sha256(file_bytes(public, size)).hexdigest()
    )
    private = _by_access(sim, "private")
    assert _plain().get(sim.uploads.url + private).status_code == 403
    redirect = session(sim).get(f"{sim.url}/attachment/download{private}", allow_redirects=False)
    assert redirect.status_code == 307
    signed = _plain().get(redirect.headers["Location"])
    assert signed.status_code == 200
    assert signed.content == file_bytes(private, sim.uploads.files[private].size)
    assert _plain().get(redirect.headers["Location"] + "0").status_code == 403  # bad signature
    gone = _by_access(sim, "gone")
    assert _plain().get(sim.uploads.url + gone).status_code == 404
    assert session(sim).get(f"{sim.url}/attachment/download{gone}").status_code == 404
    # The API's download path wants credentials like every endpoint.
    assert _plain().get(f"{sim.url}/attachment/download{private}").status_code == 401


def test_credentials_are_refused_and_recorded(sim: Simulator) -> None:
    assert sim.uploads is not None
    public = _by_access(sim, "public")
    answer = _plain().get(sim.uploads.url + public, headers={"Authorization": "Basic eDp5"})
    assert answer.status_code == 400
    assert _plain().get(sim.uploads.url + public, headers={"Cookie": "s=1"}).status_code == 400
    seen = sim.uploads.requests
    assert [r.credentials for r in seen] == [True, True]
