"""The Threadline correlation edge policy for Python backends.

A valid ``X-Correlation-ID`` is kept, a missing or invalid one replaced by 32 fresh hex; the
browser session comes from the ``baggage`` member ``session.id`` or ``X-Session-ID`` and is
never minted; the correlation ID is echoed on every response, errors included; both IDs are
the current IDs (a ``ContextVar``) while the request runs, so log hooks, HTTP clients, job
producers and SQL can carry them on::

    app = FastAPI()
    app.add_middleware(CorrelationMiddleware)          # Flask: CorrelationWSGIMiddleware
    handler.addFilter(CorrelationFilter())             # %(correlation_id)s %(session_id)s
    httpx.AsyncClient(event_hooks={"request": [aforward_ids]})
    queue.put(json.dumps(job_envelope({"name": "send-receipt"})))
    cursor.execute(sql_with_ids("SELECT ..."))
"""

from .asgi import CorrelationMiddleware
from .context import current_ids, use_ids
from .forward import aforward_ids, forward_headers, forward_ids, job_envelope, run_job
from .ids import CORRELATION_HEADER, SESSION_HEADER, SESSION_MEMBER, RequestIds, ids_from_headers, is_valid_id, new_id
from .logs import CorrelationFilter, add_correlation_ids
from .sqlcomment import sql_with_ids, with_comment
from .wsgi import CorrelationWSGIMiddleware

__all__ = [
    "CORRELATION_HEADER",
    "SESSION_HEADER",
    "SESSION_MEMBER",
    "CorrelationFilter",
    "CorrelationMiddleware",
    "CorrelationWSGIMiddleware",
    "RequestIds",
    "add_correlation_ids",
    "aforward_ids",
    "current_ids",
    "forward_headers",
    "forward_ids",
    "ids_from_headers",
    "is_valid_id",
    "job_envelope",
    "new_id",
    "run_job",
    "sql_with_ids",
    "use_ids",
    "with_comment",
]
