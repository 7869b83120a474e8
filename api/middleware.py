"""ASGI middleware: the body limit while streaming, and the last line against a 500 reset.

Both are plain ASGI (not `BaseHTTPMiddleware`) so that a body is never buffered on the way
and the limit holds for every route, whatever reads the body (FastAPI's model parsing, a
raw `request.body()`, Slack's signature check).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("firebreak.api")

MAX_BODY_BYTES = 64 * 1024 * 1024


def too_large_message(limit: int) -> str:
    size = f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit} bytes"
    return f"The request body is over {size}: split it into smaller requests"


class BodyTooLarge(HTTPException):
    """Raised from `receive` when the bytes read so far pass the limit (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit), headers={"Connection": "close"})


async def _send_json(send: Send, status: int, body: dict[str, Any], close: bool = False) -> None:
    payload = orjson.dumps(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class BodyLimit:
    """Refuse a body over `limit` bytes: from its Content-Length, else as the chunks arrive.

    A chunked upload has no Content-Length: the bytes are counted as the app reads them, and
    reading past the limit raises `BodyTooLarge`, which the app's handler turns into a 413 (or
    this middleware does, if the response has not started). Memory stays at most one limit.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await _send_json(send, 413, {"detail": too_large_message(self.limit)}, close=True)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await _send_json(send, 413, {"detail": exc.detail}, close=True)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before we see it
    return None


class CatchAll:
    """Any exception a route lets through becomes a 500 JSON body without internals.

    Starlette's own handler for `Exception` answers and then re-raises to the server, which
    closes the connection (clients see a reset). Here the error is logged with its traceback
    under a reference, answered, and not re-raised: the connection stays usable. An error after
    the response was complete (a background task) is only logged: the client has its answer.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = finished = False

        async def watched_send(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as exc:
            reference = uuid.uuid4().hex[:12]
            when = "after its response" if finished else "on"
            log.error(
                "Unhandled error %s %s %s %s",
                reference,
                when,
                scope.get("method"),
                scope.get("path"),
                exc_info=exc,
            )
            if finished:
                return
            if started:  # half a response is out: nothing truthful can follow, so end it
                raise
            await _send_json(send, 500, internal_error_body(reference))


def internal_error_body(reference: str) -> dict[str, Any]:
    return {"detail": f"Internal server error (reference {reference}); see the server log"}
