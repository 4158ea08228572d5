"""A real headless Chromium, driven over the DevTools protocol on a pipe (standard library only).

`--remote-debugging-pipe` makes Chromium read commands from fd 3 and write answers and events to
fd 4, each a JSON text ended by a NUL byte: no websocket client, no chromedriver. Every http(s)
request the browser would make goes to `--proxy-server`, a loopback listener that records each
connection and answers nothing, so a test can assert the browser tried to reach no one.

Tests skip when Chromium is absent, except when GORGIAS_EXPORT_REQUIRE_BROWSER is set (CI sets
it in .ci/run), where a missing browser is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

REQUIRE_ENV = "GORGIAS_EXPORT_REQUIRE_BROWSER"
# Read at import (collection), before conftest's autouse fixture clears every GORGIAS_* variable.
REQUIRED = bool(os.environ.get(REQUIRE_ENV))
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT = 30.0  # seconds for any one answer: bounded, a hung browser fails the test


def chromium_or_skip() -> str:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    if REQUIRED:
        pytest.fail(f"{REQUIRE_ENV} is set but no Chromium is installed ({', '.join(CANDIDATES)})")
    pytest.skip("no Chromium installed (apt-get install chromium); CI requires it")


class ConnectionRecorder:
    """A loopback listener standing in for the proxy: counts whoever connects, answers nothing."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self.seen: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(1.0)
                try:
                    self.seen.append(conn.recv(4096))
                except OSError:
                    self.seen.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()


class Browser:
    """One headless Chromium with one page, its console and network events collected."""

    def __init__(self, binary: str) -> None:
        self.proxy = ConnectionRecorder()
        self._profile = tempfile.mkdtemp(prefix="gorgias-chromium-")
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()

        def as_fd_3_and_4() -> None:  # in the child, before exec
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)

        self._process = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
                f"--user-data-dir={self._profile}",
                f"--proxy-server=http://127.0.0.1:{self.proxy.port}",
                "--proxy-bypass-list=<-loopback>",  # loopback goes to the proxy too
                "--remote-debugging-pipe",
                "about:blank",
            ],
            preexec_fn=as_fd_3_and_4,
            pass_fds=(3, 4, to_child, from_child),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)

    def call(self, method: str, params: dict[str, Any] | None = None, session: bool = False) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._receive()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def _receive(self) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError("Chromium stopped answering")
            chunk = os.read(self._read, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed its pipe")
            self._buffer += chunk
        text, _, self._buffer = self._buffer.partition(b"\0")
        parsed: dict[str, Any] = json.loads(text)
        return parsed

    def open(self, page: Path) -> None:
        """Load a page from the file system and wait for its load event."""
        start = len(self.events)
        self.call("Page.navigate", {"url": page.resolve().as_uri()}, session=True)
        deadline = time.monotonic() + TIMEOUT
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events[start:]):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{page} did not finish loading")
            self.events.append(self._receive())

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def type_text(self, text: str) -> None:
        """Real key input into whatever has the focus (input events as a user's typing)."""
        self.call("Input.insertText", {"text": text}, session=True)

    def settle(self) -> None:
        """Let pending events in (a round trip after everything queued so far)."""
        self.evaluate("1")

    def errors(self, start: int = 0) -> list[str]:
        """Console errors, uncaught exceptions and log entries of level error or warning
        (a Content-Security-Policy violation is logged as an error), from event `start` on."""
        found = []
        for event in self.events[start:]:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(json.dumps(params["exceptionDetails"])[:300])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in (
                "error",
                "warning",
            ):
                found.append(json.dumps(params.get("args"))[:300])
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(params["entry"].get("text", "")[:300])
        return found

    def requested_urls(self, start: int = 0) -> list[str]:
        """Every URL the page asked for, from event `start` on."""
        return [
            e["params"]["request"]["url"]
            for e in self.events[start:]
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError):
            self.call("Browser.close")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        os.close(self._write)
        os.close(self._read)
        self.proxy.close()
        shutil.rmtree(self._profile, ignore_errors=True)
