"""The pure parts: baggage, sqlcommenter, envelopes with forged IDs, forwarding headers, and
the WSGI middleware's own answer when an app raises."""

from __future__ import annotations

import json
from typing import Any, Iterable

import httpx

from threadline_correlation import (
    CorrelationWSGIMiddleware,
    RequestIds,
    current_ids,
    forward_headers,
    ids_from_headers,
    job_envelope,
    run_job,
    sql_with_ids,
    use_ids,
    with_comment,
)
from threadline_correlation.wsgi import StartResponse

from .servers import serve_wsgi

CID = "0af7651916cd43dd8448eb211c80319c"
SID = "5e55101d5e55101d5e55101d5e55101d"


def test_the_session_is_read_from_a_baggage_list_with_spaces_properties_and_encoding() -> None:
    headers = {"x-correlation-id": CID, "baggage": "a=1, session.id = 5e55101d%2D5e55101d5e55 ;ttl=3,b=2"}
    assert ids_from_headers(headers.get) == RequestIds(CID, "5e55101d-5e55101d5e55")
    assert ids_from_headers({"baggage": "session.idx=5e55101d5e55101d5e55"}.get).session_id is None


def test_forwarded_headers_replace_only_threadlines_baggage_member() -> None:
    out = forward_headers({"Baggage": "user.tier=gold,session.id=old", "X-Other": "1"}, RequestIds(CID, SID))
    assert out == {"x-correlation-id": CID, "baggage": f"user.tier=gold,session.id={SID}", "X-Other": "1"}
    assert forward_headers({"a": "b"}) == {"a": "b"}, "outside a request nothing is added"


def test_sqlcommenter_comments_are_sorted_encoded_before_the_semicolon_never_doubled() -> None:
    assert with_comment("SELECT 1;", {"session_id": "s-1", "correlation_id": "c_1"}) == "SELECT 1 /*correlation_id='c_1',session_id='s-1'*/;"
    assert with_comment("SELECT 1", {"a b": "it's /x"}) == "SELECT 1 /*a%20b='it%27s%20%2Fx'*/"
    assert with_comment("SELECT 1 -- mine", {"k": "v"}) == "SELECT 1 -- mine"
    with use_ids(RequestIds(CID, SID)):
        assert sql_with_ids("SELECT 1") == f"SELECT 1 /*correlation_id='{CID}',session_id='{SID}'*/"


def test_envelopes_round_trip_and_forged_ids_are_not_taken() -> None:
    with use_ids(RequestIds(CID, SID)):
        envelope = json.loads(json.dumps(job_envelope({"n": 1})))
    assert envelope == {"correlation_id": CID, "session_id": SID, "job": {"n": 1}}
    assert run_job(envelope, lambda job: (job["n"], current_ids())) == (1, RequestIds(CID, SID))
    forged = run_job({"correlation_id": "x\ny", "session_id": "a b", "job": 0}, lambda _: current_ids())
    assert forged is not None and len(forged.correlation_id) == 32 and forged.session_id is None
    assert current_ids() is None


def test_a_wsgi_app_that_raises_gets_a_500_with_the_id() -> None:
    def broken(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raise RuntimeError("boom")

    server = serve_wsgi(CorrelationWSGIMiddleware(broken))
    base = next(server)
    try:
        r = httpx.get(base, headers={"X-Correlation-ID": CID})
    finally:
        server.close()
    assert r.status_code == 500
    assert r.headers["x-correlation-id"] == CID
    assert r.json()["error"]["correlation_id"] == CID
