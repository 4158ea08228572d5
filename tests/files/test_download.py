"""FileFetcher on its own: no credentials, bounded redirects, only https or loopback, retries,
--max-size, and flat memory whatever the file's size."""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gorgias_export.api.client import GorgiasClient
from gorgias_export.api.download import (
    FileFetcher,
    Stopped,
    api_download_path,
    is_fetchable,
)
from gorgias_export.config import Secret, Settings
from gorgias_export.errors import ApiError
from gorgias_export.output.file_store import PartFile
from gorgias_sim import Simulator
from gorgias_sim.uploads import sha256_of
from tests.support.account import EMAIL, SECRET_KEY

MB = 1024 * 1024


@dataclass
class Route:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    repeat: int = 1  # the body sent this many times (a large file from one small chunk)
    drip: float = 0.0  # seconds between bytes: a body sent one byte at a time


class Files:
    """A loopback server of scripted routes that records each request's headers."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.dripped = 0  # bytes of dripping bodies sent so far
        self.first_drop = threading.Event()  # a dripping body has begun
        files = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                files.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = files.routes.get(self.path, Route(404, body=b"no"))
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body) * route.repeat))
                self.end_headers()
                try:
                    if route.drip:
                        self.wfile.flush()
                        for byte in route.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            files.dripped += 1
                            files.first_drop.set()
                            time.sleep(route.drip)  # the server's pace, not the test's wait
                        return
                    for _ in range(route.repeat):
                        self.wfile.write(route.body)
                except (ConnectionError, TimeoutError):
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def files() -> Iterator[Files]:
    server = Files()
    yield server
    server.stop()


def _fetcher(max_size: int = 100 * MB, deadline: float = 1800.0) -> FileFetcher:
    settings = Settings(base_url="http://127.0.0.1:9/api", email="a@b.c", api_key=Secret("k"))
    return FileFetcher(
        GorgiasClient(settings), max_size, sleep=lambda seconds: None, deadline=deadline
    )


def test_fetchable_urls() -> None:
    assert is_fetchable("https://uploads.gorgias.io/H/r.png")
    assert is_fetchable("http://127.0.0.1:8000/H/r.png")
    assert is_fetchable("http://localhost/x")
    for url in (
        "http://uploads.gorgias.io/H/r.png",  # plain http off loopback
        "https://user:pw@uploads.gorgias.io/x",
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
        "https://host:notaport/x",
        "https:///nohost",
        "",
    ):
        assert not is_fetchable(url), url


def test_api_download_paths() -> None:
    assert api_download_path("https://uploads.gorgias.io/H/download_4-a.png") == (
        "/attachment/download/H/download_4-a.png"
    )
    assert api_download_path("https://uploads.gorgias.io/H/写 真%20x.png") == (
        "/attachment/download/H/%E5%86%99%20%E7%9C%9F%20x.png"
    )
    assert api_download_path("https://uploads.gorgias.io/one") is None
    assert api_download_path("https://uploads.gorgias.io/H/../etc/passwd") is None
    assert api_download_path("https://uploads.gorgias.io//x") is None


def test_redirects_are_followed_without_credentials_five_at_most(
    files: Files, tmp_path: Path
) -> None:
    for hop in range(7):
        files.routes[f"/r{hop}"] = Route(307, {"Location": f"{files.url}/r{hop + 1}"})
    files.routes["/r7"] = Route(200, body=b"file")
    part = PartFile(tmp_path / "a.part")
    assert _fetcher().fetch(f"{files.url}/r2", None, part).status == "ok"  # 5 redirects
    assert _fetcher().fetch(f"{files.url}/r1", None, part).status == "forbidden"  # 6
    assert all(
        "authorization" not in headers and "cookie" not in headers for _, headers in files.seen
    )


def test_a_redirect_off_https_is_not_followed(files: Files, tmp_path: Path) -> None:
    files.routes["/x"] = Route(302, {"Location": "http://example.com/stolen"})
    assert _fetcher().fetch(f"{files.url}/x", None, PartFile(tmp_path / "a.part")).status == (
        "forbidden"
    )
    assert [path for path, _ in files.seen] == ["/x"]


def test_a_url_with_spaces_and_other_scripts_is_asked_for_encoded(
    files: Files, tmp_path: Path
) -> None:
    files.routes["/H/%E5%86%99%20x.png?a=1%202"] = Route(200, body=b"ok")
    fetched = _fetcher().fetch(f"{files.url}/H/写 x.png?a=1%202", None, PartFile(tmp_path / "p"))
    assert fetched.status == "ok"


def test_gone_and_too_large(files: Files, tmp_path: Path) -> None:
    files.routes["/gone"] = Route(410)
    files.routes["/big"] = Route(200, body=b"x" * 1000)
    part = PartFile(tmp_path / "a.part")
    assert _fetcher().fetch(f"{files.url}/gone", None, part).status == "gone"
    fetched = _fetcher(max_size=999).fetch(f"{files.url}/big", None, part)
    assert (fetched.status, fetched.size) == ("too_large", 1000)
    assert not (tmp_path / "a.part").exists()  # never started


def test_server_errors_are_tried_three_times_then_stop_the_run(
    files: Files, tmp_path: Path
) -> None:
    files.routes["/flaky"] = Route(503)
    with pytest.raises(ApiError, match="kept failing"):
        _fetcher().fetch(f"{files.url}/flaky", None, PartFile(tmp_path / "a.part"))
    assert len(files.seen) == 3


def test_memory_stays_flat_whatever_the_size(files: Files, tmp_path: Path) -> None:
    files.routes["/huge"] = Route(200, body=b"\x5a" * MB, repeat=48)
    part = PartFile(tmp_path / "huge.part")
    tracemalloc.start()
    try:
        fetched = _fetcher().fetch(f"{files.url}/huge", None, part)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    part.commit(tmp_path / "huge")
    assert fetched.status == "ok" and (tmp_path / "huge").stat().st_size == 48 * MB
    assert peak < 4 * MB, f"{peak / MB:.1f} MB held for a 48 MB file"


@pytest.mark.sim(uploads=True, tickets=40)
def test_a_dead_host_falls_back_to_the_api_download(sim: Simulator, tmp_path: Path) -> None:
    """A plain URL that never answers is tried a few times, then fetched the documented way."""
    assert sim.uploads is not None
    path = next(p for p, f in sim.uploads.files.items() if f.access == "public")
    dead = "http://127.0.0.1:9" + path  # nothing listens on port 9
    settings = Settings(base_url=sim.url, email=EMAIL, api_key=Secret(SECRET_KEY))
    fetcher = FileFetcher(GorgiasClient(settings), MB, sleep=lambda seconds: None)
    part = PartFile(tmp_path / "a.part")
    assert fetcher.fetch(dead, api_download_path(dead), part).status == "ok"
    assert part.sha256 == sha256_of(path, sim.uploads.files[path].size)
    assert [r.path for r in sim.requests] == [f"/api/attachment/download{path}"]
    with pytest.raises(ApiError, match="kept failing"):
        fetcher.fetch(dead, None, PartFile(tmp_path / "b.part"))


@pytest.mark.sim(uploads=True, tickets=40)
def test_a_host_name_that_does_not_exist_falls_back_at_once(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that does not exist is not tried again after waits (2 + 4 s a file, which made
    an archive whose files' host is gone wait for minutes): the API's download at once."""
    assert sim.uploads is not None
    path = next(p for p, f in sim.uploads.files.items() if f.access == "public")
    gone = "https://uploads.no-such-host.example" + path
    real = socket.getaddrinfo
    looked_up: list[str] = []

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "uploads.no-such-host.example":
            looked_up.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    waits: list[float] = []
    settings = Settings(base_url=sim.url, email=EMAIL, api_key=Secret(SECRET_KEY))
    fetcher = FileFetcher(GorgiasClient(settings), MB, sleep=waits.append)
    part = PartFile(tmp_path / "a.part")
    assert fetcher.fetch(gone, api_download_path(gone), part).status == "ok"
    assert part.sha256 == sha256_of(path, sim.uploads.files[path].size)
    assert looked_up == ["uploads.no-such-host.example"] and waits == []
    assert [r.path for r in sim.requests] == [f"/api/attachment/download{path}"]
    # Without the API's download to fall back on, the run stops at once with the reason.
    with pytest.raises(ApiError, match="does not exist"):
        fetcher.fetch(gone, None, PartFile(tmp_path / "b.part"))
    assert len(looked_up) == 2 and waits == []


DRIP = b"d" * 400  # 400 bytes, one every 20 ms: 8 s a try, were it waited for whole


def test_a_dripping_file_gives_up_at_its_deadline_not_at_its_last_byte(
    files: Files, tmp_path: Path
) -> None:
    """The deadline holds during a read: a chunk read does not wait for the whole chunk."""
    files.routes["/drip"] = Route(200, body=DRIP, drip=0.02)
    with pytest.raises(ApiError, match="kept failing"):
        _fetcher(deadline=0.5).fetch(f"{files.url}/drip", None, PartFile(tmp_path / "a.part"))
    # The deadline is the file's, across its tries: about 0.5 s of drops (~25 bytes) in all;
    # reads that wait for a whole chunk would take every byte of each of the 3 tries.
    assert files.dripped < len(DRIP) // 2, f"{files.dripped} bytes read past the deadline"


def test_stop_ends_a_read_in_flight(files: Files, tmp_path: Path) -> None:
    files.routes["/drip"] = Route(200, body=DRIP, drip=0.02)
    fetcher = _fetcher()
    failures: list[BaseException] = []

    def fetch() -> None:
        try:
            fetcher.fetch(f"{files.url}/drip", None, PartFile(tmp_path / "a.part"))
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=fetch, daemon=True)
    worker.start()
    assert files.first_drop.wait(10)
    fetcher.stop()
    worker.join(10)
    assert not worker.is_alive()
    assert [type(exc) for exc in failures] == [Stopped]
    assert files.dripped < len(DRIP) // 2, f"{files.dripped} bytes read after stop()"
