"""The IDs of the request or job being handled, for any code below it (log hooks, HTTP
clients, job producers), in a ``ContextVar`` so concurrent requests never mix."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, Optional

from .ids import RequestIds

_current: ContextVar[Optional[RequestIds]] = ContextVar("threadline_request_ids", default=None)


def current_ids() -> Optional[RequestIds]:
    """The IDs of the request or job running now, or ``None`` outside one."""
    return _current.get()


@contextmanager
def use_ids(ids: RequestIds) -> Iterator[RequestIds]:
    """Makes ``ids`` the current IDs inside the ``with`` block."""
    token = _current.set(ids)
    try:
        yield ids
    finally:
        _current.reset(token)


def set_ids(ids: Optional[RequestIds]) -> object:
    """Sets the current IDs; returns a token for :func:`reset_ids`."""
    return _current.set(ids)


def reset_ids(token: object) -> None:
    """Undoes a :func:`set_ids`."""
    _current.reset(token)  # type: ignore[arg-type]
