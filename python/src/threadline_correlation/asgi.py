"""ASGI middleware (FastAPI, Starlette, any ASGI app): the edge policy on every HTTP request."""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, MutableMapping

from .context import use_ids
from .ids import CORRELATION_HEADER, ids_from_headers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class CorrelationMiddleware:
    """``app.add_middleware(CorrelationMiddleware)`` or ``CorrelationMiddleware(app)``.

    Reads both IDs, runs the request with them as the current IDs (``scope["state"]`` gets
    ``correlation_id`` and ``session_id`` too), and echoes the correlation ID on every
    response. An exception that escapes before any response started is answered with a 500
    carrying the ID in the header and a JSON error body, then re-raised for the server to log.
    """

    def __init__(self, app: ASGIApp, header: str = CORRELATION_HEADER) -> None:
        self.app = app
        self.header = header.lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw: dict[str, str] = {}
        for key, value in scope.get("headers", []):
            name = key.decode("latin-1").lower()
            text = value.decode("latin-1")
            raw[name] = f"{raw[name]},{text}" if name in raw else text
        ids = ids_from_headers(raw.get, self.header)
        state = scope.setdefault("state", {})
        state["correlation_id"] = ids.correlation_id
        state["session_id"] = ids.session_id
        echo = (self.header.encode("latin-1"), ids.correlation_id.encode("latin-1"))
        started = False

        async def send_with_echo(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != echo[0]]
                message["headers"] = [*headers, echo]
            await send(message)

        with use_ids(ids):
            try:
                await self.app(scope, receive, send_with_echo)
            except Exception:
                if not started:
                    await _internal_error(send_with_echo, ids.correlation_id)
                raise


async def _internal_error(send: Send, correlation_id: str) -> None:
    body = json.dumps(
        {"error": {"code": "internal_error", "message": "Internal Server Error", "correlation_id": correlation_id}}
    ).encode()
    headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
