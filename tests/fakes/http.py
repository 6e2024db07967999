"""A tiny threaded HTTP server for tests: routes answer from handlers or queued responses, every request is recorded."""

from __future__ import annotations

import json
import socket
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body or b"null")


@dataclass
class Response:
    """What the fake answers; `delay` seconds of sleep first (for timeouts); `drop` closes without answering."""

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        body = self.body
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        return body, headers


Handler = Callable[[Request], Response]


class FakeServer:
    """Start with `with FakeServer() as srv:`; `srv.url` is its base URL."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._routes: dict[tuple[str, str], Handler] = {}
        self._queued: dict[tuple[str, str], deque[Response]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        fake = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body go out as two writes: without this, Nagle's algorithm and the
                # client's delayed ACK add ~40 ms to every answer, which is not the fake's latency.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Request(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
                with fake._lock:
                    fake.requests.append(req)
                resp = fake._respond(req)
                if resp.delay:
                    fake._stop.wait(resp.delay)
                if resp.drop:
                    self.close_connection = True
                    return
                data, headers = resp.encoded()
                try:
                    self.send_response(resp.status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (its timeout): nothing to answer

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self._server.daemon_threads = True
        # A short poll interval: shutting the fake down at the end of a test takes milliseconds, not 0.5 s.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Answer METHOD path with handler(request)."""
        self._routes[(method.upper(), path)] = handler

    def queue(self, method: str, path: str, *responses: Response) -> None:
        """Answer the next requests to METHOD path with these responses, in order (before any route)."""
        with self._lock:
            self._queued[(method.upper(), path)].extend(responses)

    def _respond(self, req: Request) -> Response:
        key = (req.method, req.path)
        with self._lock:
            if self._queued[key]:
                return self._queued[key].popleft()
        handler = self._routes.get(key)
        if handler is None:
            return Response(404, {"error": f"no route for {req.method} {req.path}"})
        return handler(req)

    def received(self, method: str, path: str) -> list[Request]:
        """The requests received for METHOD path."""
        with self._lock:
            return [r for r in self.requests if r.method == method.upper() and r.path == path]

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
