"""Log hooks that put both current IDs on every line: a ``logging.Filter`` and a structlog
processor."""

from __future__ import annotations

import logging
from typing import Any, MutableMapping

from .context import current_ids


class CorrelationFilter(logging.Filter):
    """Adds ``correlation_id`` and ``session_id`` to every record (``"-"`` outside a request or
    without a session), for formats such as
    ``"%(asctime)s %(correlation_id)s %(session_id)s %(message)s"``. Attach it to handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = current_ids()
        record.correlation_id = ids.correlation_id if ids else "-"
        record.session_id = (ids.session_id if ids else None) or "-"
        return True


def add_correlation_ids(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: ``correlation_id`` and, with a session, ``session.id`` on every
    event logged inside a request or job."""
    ids = current_ids()
    if ids is not None:
        event_dict.setdefault("correlation_id", ids.correlation_id)
        if ids.session_id:
            event_dict.setdefault("session.id", ids.session_id)
    return event_dict
