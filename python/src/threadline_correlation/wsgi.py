"""WSGI middleware (Flask, Django, any WSGI app): the edge policy on every request."""

from __future__ import annotations

import json
import logging
from types import TracebackType
from typing import Any, Callable, Iterable, Iterator, Optional, Type, Union

from .context import reset_ids, set_ids
from .ids import CORRELATION_HEADER, RequestIds, ids_from_headers

ExcInfo = tuple[Type[BaseException], BaseException, Optional[TracebackType]]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_log = logging.getLogger(__name__)


class CorrelationWSGIMiddleware:
    """``app.wsgi_app = CorrelationWSGIMiddleware(app.wsgi_app)`` (Flask) or around Django's
    ``get_wsgi_application()``.

    Reads both IDs (``environ["threadline.ids"]``), keeps them as the current IDs while the app
    runs and its body is sent, and echoes the correlation ID on every response. An exception
    that escapes the app is logged and answered with a 500 carrying the ID.
    """

    def __init__(self, app: WSGIApp, header: str = CORRELATION_HEADER) -> None:
        self.app = app
        self.header = header.lower()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        def header(name: str) -> Optional[str]:
            value = environ.get("HTTP_" + name.upper().replace("-", "_"))
            return value if isinstance(value, str) else None

        ids = ids_from_headers(header, self.header)
        environ["threadline.ids"] = ids
        token = set_ids(ids)

        def start_with_echo(
            status: str, headers: list[tuple[str, str]], exc_info: Optional[ExcInfo] = None
        ) -> Callable[[bytes], object]:
            kept = [(k, v) for k, v in headers if k.lower() != self.header]
            return start_response(status, [*kept, (self.header, ids.correlation_id)], exc_info)

        try:
            body = self.app(environ, start_with_echo)
        except Exception:
            _log.exception("unhandled error")
            reset_ids(token)
            return _internal_error(start_with_echo, ids)
        return _Body(body, token)


def _internal_error(start: Callable[..., object], ids: RequestIds) -> list[bytes]:
    body = json.dumps(
        {"error": {"code": "internal_error", "message": "Internal Server Error", "correlation_id": ids.correlation_id}}
    ).encode()
    start("500 Internal Server Error", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class _Body:
    """The app's body, sent with the IDs still current; they are reset when the server closes
    it, as WSGI requires every server to."""

    def __init__(self, body: Iterable[bytes], token: object) -> None:
        self._body = body
        self._token: Union[object, None] = token

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if callable(close):
                close()
        finally:
            if self._token is not None:
                reset_ids(self._token)
                self._token = None
