"""Over real HTTP (uvicorn on loopback): the body limit while streaming, no reset after errors."""

from __future__ import annotations

import http.client
import socket
from pathlib import Path

import orjson
import pytest

from tests.api.live import Live, live_api
from tests.signals.helpers import burst

MIB = 1 << 20


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Live:
    with live_api(tmp_path_factory.mktemp("live")) as server:
        yield server  # type: ignore[misc]


def _headers(role: str = "ingest") -> dict[str, str]:
    return {"Authorization": f"Bearer tok-{role}", "Content-Type": "application/json"}


def chunked_upload(live: Live, path: str, total: int, chunk: int = MIB) -> tuple[int, bytes, int]:
    """POST `total` bytes with Transfer-Encoding: chunked (no Content-Length), on a raw socket.

    Returns the status, the body and how many bytes went out before the server stopped reading
    (it answers and closes; the rest of our upload then fails to send, as for any client).
    """
    sock = socket.create_connection((live.host, live.port), timeout=60)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {live.host}\r\nTransfer-Encoding: chunked\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in _headers().items())
        + "\r\n"
    )
    sent = 0
    piece = b"[" + b" " * (chunk - 1)  # valid JSON so far: only the size can refuse it
    try:
        sock.sendall(head.encode())
        while sent < total:
            sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            sent += len(piece)
            piece = b" " * chunk
        sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered early and closed: read what it said
    response = http.client.HTTPResponse(sock)
    try:
        response.begin()
        return response.status, response.read(), sent
    finally:
        sock.close()


def test_chunked_body_over_the_limit_is_413_and_memory_stays_bounded(live: Live) -> None:
    before = live.peak_rss_bytes()
    status, body, sent = chunked_upload(live, "/api/v1/signals", total=400 * MIB)
    grown = live.peak_rss_bytes() - before
    assert status == 413, body
    assert "over 64 MiB" in orjson.loads(body)["detail"]
    assert sent < 400 * MIB  # the server stopped reading; it did not take it all
    # The body is held up to the limit (64 MiB), never the 400 MiB sent (1.2 GB before).
    assert grown < 160 * MIB, f"server peak memory grew by {grown // MIB} MiB"


def test_declared_length_over_the_limit_is_413_before_reading(live: Live) -> None:
    conn = http.client.HTTPConnection(live.host, live.port, timeout=30)
    conn.putrequest("POST", "/api/v1/incidents")
    for key, value in {**_headers("lead"), "Content-Length": str(65 * MIB)}.items():
        conn.putheader(key, value)
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413
    assert "over 64 MiB" in orjson.loads(response.read())["detail"]
    conn.close()


def test_chunked_body_under_the_limit_is_stored(live: Live) -> None:
    conn = http.client.HTTPConnection(live.host, live.port, timeout=30)
    body = orjson.dumps(burst(3, prefix="chunked"))
    conn.request("POST", "/api/v1/signals", body=iter([body[:10], body[10:]]), headers=_headers())
    response = conn.getresponse()
    assert response.status == 200, response.read()
    assert orjson.loads(response.read())["accepted"] == 3


def test_errors_answer_and_keep_the_connection(live: Live) -> None:
    """A 500 (an unforeseen bug), a 422, a 404 and a 401 in a row on one keep-alive connection."""
    conn = http.client.HTTPConnection(live.host, live.port, timeout=30)
    asks = [
        ("GET", "/boom", {}, 500),
        ("GET", "/late-boom", {}, 200),
        ("GET", f"/api/v1/incidents/{2**70}", _headers("lead"), 422),
        ("GET", "/api/v1/incidents/12345", _headers("lead"), 404),
        ("GET", "/api/v1/incidents", {}, 401),
        ("GET", "/healthz", {}, 200),
    ]
    first_socket = None
    for method, path, headers, expected in asks:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        body = orjson.loads(response.read())
        assert response.status == expected, (path, body)
        assert response.getheader("connection") != "close", path
        first_socket = first_socket or conn.sock
        assert conn.sock is first_socket, f"the connection was closed after {path}"
        if expected >= 400:
            assert set(body) <= {"detail", "errors"} and isinstance(body["detail"], str)
    conn.close()


def test_500_body_has_no_internals(live: Live, tmp_path: Path) -> None:
    conn = http.client.HTTPConnection(live.host, live.port, timeout=30)
    conn.request("GET", "/boom")
    response = conn.getresponse()
    text = response.read().decode()
    assert response.status == 500
    assert "reference" in text and "secret internals" not in text and "Traceback" not in text
