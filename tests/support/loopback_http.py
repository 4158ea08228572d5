"""The plumbing the tests' scripted HTTP servers share (fake_api.py, hostile.py): a keep-alive
HTTP/1.1 server on 127.0.0.1 in a daemon thread, and the two ways they answer: whole, or a byte
at a time.

Each server decides what to answer; this module only serves it:

    server = LoopbackServer(on_get=lambda handler: send_answer(handler, 200, {}, b"{}"))
    ...
    server.close()
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handle = Callable[[BaseHTTPRequestHandler], None]


class LoopbackServer:
    """Serves GETs with `on_get(handler)` and other methods with `on_other(handler)` (by default
    405), each request in its own daemon thread; counts the connections it accepts and the
    bytes it dripped."""

    def __init__(
        self,
        on_get: Handle,
        on_other: Handle | None = None,
        tls: ssl.SSLContext | None = None,
        poll_interval: float = 0.01,
    ) -> None:
        self.connections = 0  # TCP connections accepted
        self.dripped = 0  # bytes sent a byte at a time so far (see `drip_answer`)
        self.stopping = threading.Event()  # set by close(): a drip or a delay ends at once
        owner = self
        refuse: Handle = on_other or (lambda handler: handler.send_error(405))

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real API

            def do_GET(self) -> None:
                on_get(self)

            def _other(self) -> None:
                refuse(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = _other

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[socket.socket, Any]:
                accepted = super().get_request()
                owner.connections += 1
                return accepted

        self._server = Server(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        """scheme://127.0.0.1:port, without a path."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()


def send_answer(
    handler: BaseHTTPRequestHandler,
    status: int,
    headers: dict[str, str],
    body: bytes,
    close: bool = False,
) -> None:
    """Answer whole, with a Content-Length; `close`: then end the connection without saying
    so (a keep-alive the server drops)."""
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
    if close:
        handler.close_connection = True


def drip_answer(
    server: LoopbackServer,
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    seconds: float,
) -> None:
    """Answer a byte at a time, status line and headers too, `seconds` apart (the server's
    pace, not a test's wait), counting each byte sent in `server.dripped`; stops when the
    client goes or the server closes, and ends the connection."""
    head = f"HTTP/1.1 {status} OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    try:
        for byte in head + body:
            if server.stopping.wait(seconds):
                break
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            server.dripped += 1
    except OSError:
        pass  # the client gave up: that is what a drip tests
    handler.close_connection = True
