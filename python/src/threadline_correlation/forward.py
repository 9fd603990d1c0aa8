"""Carrying both IDs on: to a downstream HTTP call (any client, or httpx through its event
hooks) and into a queued job."""

from __future__ import annotations

from typing import Any, Callable, Mapping, MutableMapping, Optional, TypeVar

from .context import current_ids, use_ids
from .ids import CORRELATION_HEADER, SESSION_MEMBER, RequestIds, is_valid_id, new_id, set_baggage

T = TypeVar("T")


def forward_headers(headers: Optional[Mapping[str, str]] = None, ids: Optional[RequestIds] = None) -> dict[str, str]:
    """``headers`` plus both IDs: ``X-Correlation-ID`` (replaced) and ``session.id`` merged into
    ``baggage`` beside the caller's own members. Outside a request, ``headers`` unchanged."""
    ids = ids or current_ids()
    out = {k: v for k, v in (headers or {}).items()}
    if ids is None:
        return out
    baggage = next((v for k, v in out.items() if k.lower() == "baggage"), None)
    out = {k: v for k, v in out.items() if k.lower() not in ("baggage", CORRELATION_HEADER)}
    out[CORRELATION_HEADER] = ids.correlation_id
    if ids.session_id:
        out["baggage"] = set_baggage(baggage, SESSION_MEMBER, ids.session_id)
    elif baggage is not None:
        out["baggage"] = baggage
    return out


def _apply(headers: MutableMapping[str, str]) -> None:
    ids = current_ids()
    if ids is None:
        return
    headers[CORRELATION_HEADER] = ids.correlation_id
    if ids.session_id:
        headers["baggage"] = set_baggage(headers.get("baggage"), SESSION_MEMBER, ids.session_id)


def forward_ids(request: Any) -> None:
    """An httpx request hook: ``httpx.Client(event_hooks={"request": [forward_ids]})``."""
    _apply(request.headers)


async def aforward_ids(request: Any) -> None:
    """The same hook for ``httpx.AsyncClient``."""
    _apply(request.headers)


def job_envelope(job: T, ids: Optional[RequestIds] = None) -> dict[str, Any]:
    """``job`` wrapped with both IDs, as JSON-ready fields (the shape of the Rust
    ``JobEnvelope``): ``{"correlation_id", "session_id"?, "job"}``. Outside a request, a fresh
    correlation ID."""
    ids = ids or current_ids()
    envelope: dict[str, Any] = {"correlation_id": ids.correlation_id if ids else new_id(), "job": job}
    if ids is not None and ids.session_id:
        envelope["session_id"] = ids.session_id
    return envelope


def run_job(envelope: Mapping[str, Any], handler: Callable[[Any], T]) -> T:
    """Runs ``handler(envelope["job"])`` with the envelope's IDs as the current IDs, checked
    like a request's: an invalid correlation ID is replaced, an invalid session dropped."""
    cid = envelope.get("correlation_id")
    sid = envelope.get("session_id")
    ids = RequestIds(
        correlation_id=cid if isinstance(cid, str) and is_valid_id(cid) else new_id(),
        session_id=sid if isinstance(sid, str) and is_valid_id(sid) else None,
    )
    with use_ids(ids):
        return handler(envelope.get("job"))
