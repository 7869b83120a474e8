"""The shared machinery of the loopback emulators: HTTP server, request recorder, fault injection.

Each emulator is a plain object with `handle(request) -> Reply`; `EmulatorServer` puts it behind a
stdlib `ThreadingHTTPServer` in a daemon thread (starts in milliseconds, no event loop to share
with the code under test). Every request is recorded before faults are applied, so a test sees the
retries a client made.
"""

from __future__ import annotations

import json
import re
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    """One request as an emulator saw it."""

    service: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw: bytes
    at: float
    fault: str | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["raw"] = self.raw.decode("utf-8", errors="replace")
        return data


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


def json_reply(body: Any, status: int = 200, **headers: str) -> Reply:
    return Reply(status, body, {"Content-Type": "application/json; charset=utf-8", **headers})


class Emulator(Protocol):
    service: str

    def handle(self, request: Request) -> Reply: ...
    def fault_reply(self, status: int, retry_after: int | None) -> Reply: ...
    def reset(self) -> None: ...
    def state(self) -> dict[str, Any]: ...


def parse_body(content_type: str, raw: bytes) -> Any:
    """JSON or form bodies decoded; anything else kept as text. Undecodable JSON stays raw."""
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    if content_type == "application/json":
        try:
            return json.loads(text)
        except ValueError:
            return text
    if content_type == "application/x-www-form-urlencoded":
        return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
    return text


@dataclass
class Fault:
    """A rule applied to matching requests: `match` is a regex searched in "METHOD /path"."""

    service: str
    match: str
    status: int | None = 429
    retry_after: int | None = 1
    times: int | None = 1  # None: until reset
    seconds: float = 0.0  # a delay before answering (slow) or before the error
    after: int = 0  # let this many matching requests through first (fail the 2nd POST, say)
    hits: int = 0
    passed: int = 0

    def applies(self, service: str, target: str) -> bool:
        if self.service != service or (self.times is not None and self.hits >= self.times):
            return False
        if re.search(self.match, target) is None:
            return False
        if self.passed < self.after:
            self.passed += 1
            return False
        return True


class Hub:
    """What all emulators of one sandbox share: the recorder and the fault rules (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._faults: list[Fault] = []
        self.emulators: dict[str, Emulator] = {}

    def record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def requests(self, service: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self._requests if service is None or r.service == service]

    def add_fault(self, fault: Fault) -> None:
        if fault.service not in self.emulators:
            raise ValueError(
                f"unknown service {fault.service!r}; expected one of {sorted(self.emulators)}"
            )
        try:
            re.compile(fault.match)
        except re.error as e:
            raise ValueError(f"'match' is not a valid regular expression: {e}") from None
        with self._lock:
            self._faults.append(fault)

    def take_fault(self, service: str, target: str) -> Fault | None:
        """The first live rule matching this request, its hit counted."""
        with self._lock:
            for fault in self._faults:
                if fault.applies(service, target):
                    fault.hits += 1
                    return fault
        return None

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._faults.clear()
        for emulator in self.emulators.values():
            emulator.reset()


ControlHandler = Callable[[str, str, dict[str, str], Any], Reply]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real services offer
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client waits for
    # its delayed ACK (~40 ms) before the body arrives.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log: the recorder is the log."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        body = parse_body(content_type, raw)
        if split.path.startswith("/_sandbox/"):
            reply = self.server.control(self.command, split.path, query, body)
        else:
            reply = self.server.dispatch(
                Request(
                    service=self.server.emulator.service,
                    method=self.command,
                    path=split.path,
                    query=query,
                    headers=headers,
                    body=body,
                    raw=raw,
                    at=time.time(),
                )
            )
        payload = reply.encoded()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        emulator: Emulator,
        hub: Hub,
        control: ControlHandler,
    ) -> None:
        self.emulator = emulator
        self.hub = hub
        self.control = control
        self._state_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up or rejects our certificate is its own business, not a crash."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | ssl.SSLError | TimeoutError):
            super().handle_error(request, client_address)

    def dispatch(self, request: Request) -> Reply:
        fault = self.hub.take_fault(request.service, f"{request.method} {request.path}")
        if fault is not None:
            if fault.seconds:
                time.sleep(fault.seconds)
            if fault.status is not None:
                self.hub.record(_with_fault(request, f"{fault.status}"))
                return self.emulator.fault_reply(fault.status, fault.retry_after)
            self.hub.record(_with_fault(request, f"slow {fault.seconds}s"))
        else:
            self.hub.record(request)
        # One request at a time per emulator: state changes stay simple and ordered.
        with self._state_lock:
            return self.emulator.handle(request)


def _with_fault(request: Request, fault: str) -> Request:
    return replace(request, fault=fault)


class EmulatorServer:
    """An emulator served on `host:port` (0: ephemeral) in a daemon thread, optionally over TLS."""

    def __init__(
        self,
        emulator: Emulator,
        hub: Hub,
        control: ControlHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.emulator = emulator
        self._server = _Server((host, port), emulator, hub, control)
        self.scheme = "http"
        if tls is not None:
            # Handshake lazily in the handler thread, so a slow client cannot stall accept().
            self._server.socket = tls.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
            self.scheme = "https"
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{emulator.service}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
