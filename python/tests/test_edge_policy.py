"""The edge policy over real HTTP, the same scenarios for FastAPI under uvicorn and Flask under
werkzeug: what the client gets back, what a downstream service receives, and what the log
lines say."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import httpx
import pytest

from .conftest import Served
from .servers import Downstream, eventually

CID = "0af7651916cd43dd8448eb211c80319c"
SID = "5e55101d5e55101d5e55101d5e55101d"
HEX32 = re.compile(r"[0-9a-f]{32}")


def get(served: Served, path: str, headers: Optional[dict[str, str]] = None) -> httpx.Response:
    return httpx.get(served.base + path, headers=headers or {}, timeout=10)


def ok_lines(served: Served, cid: str) -> list[str]:
    return [line.message for line in served.lines_of(cid) if line.message.startswith("ok ")]


def test_a_valid_id_and_the_session_in_baggage_are_on_every_line(served: Served) -> None:
    cid = f"{served.name}-baggage-000001"
    r = get(served, "/ok", {"X-Correlation-ID": cid, "baggage": f"user.tier=gold, session.id={SID};ttl=1"})
    assert r.status_code == 200
    assert r.headers["x-correlation-id"] == cid
    assert r.json() == {"correlation_id": cid, "session_id": SID}
    eventually(lambda: len(ok_lines(served, cid)) == 2)
    assert [line.session_id for line in served.lines_of(cid)] == [SID, SID]


def test_the_plain_header_serves_without_baggage_and_baggage_wins(served: Served) -> None:
    cid = f"{served.name}-plain-0000001"
    assert get(served, "/ok", {"X-Correlation-ID": cid, "X-Session-ID": SID}).json()["session_id"] == SID
    both = get(served, "/ok", {"X-Correlation-ID": cid, "X-Session-ID": "ignored-00000000000", "baggage": f"session.id={SID}"})
    assert both.json()["session_id"] == SID


@pytest.mark.parametrize(
    "headers",
    [{}, {"baggage": "session.id=short"}, {"X-Session-ID": "<script>alert(1)</script>"}, {"baggage": "session.id=%FF%FE%FF%FE%FF%FE%FF%FE"}],
)
def test_an_invalid_or_missing_session_is_absent_and_never_minted(served: Served, headers: dict[str, str]) -> None:
    cid = f"{served.name}-nosession-{len(served.lines):06d}"
    r = get(served, "/ok", {"X-Correlation-ID": cid, **headers})
    assert r.json() == {"correlation_id": cid, "session_id": None}
    eventually(lambda: len(ok_lines(served, cid)) == 2)
    assert all(line.session_id is None for line in served.lines_of(cid))


@pytest.mark.parametrize("given", [None, "short", "a" * 65, "bad id with spaces!!", "0af7651916cd43dd'; DROP--"])
def test_missing_or_invalid_ids_are_replaced_by_fresh_ones(served: Served, given: Optional[str]) -> None:
    r = get(served, "/ok", {} if given is None else {"X-Correlation-ID": given})
    echoed = r.headers["x-correlation-id"]
    assert HEX32.fullmatch(echoed)
    assert echoed != given
    assert r.json()["correlation_id"] == echoed


@pytest.mark.parametrize("path,status", [("/status/404", 404), ("/status/503", 503), ("/throw", 500), ("/nowhere", 404)])
def test_errors_and_unknown_routes_echo_the_id(served: Served, path: str, status: int) -> None:
    r = get(served, path, {"X-Correlation-ID": CID, "baggage": f"session.id={SID}"})
    assert r.status_code == status
    assert r.headers["x-correlation-id"] == CID


def test_a_downstream_call_gets_both_ids_and_keeps_the_apps_baggage(served: Served, downstream: Downstream) -> None:
    cid = f"{served.name}-forward-000001"
    r = get(served, "/forward?to=" + downstream.url, {"X-Correlation-ID": cid, "baggage": f"session.id={SID}"})
    assert r.json() == {"status": 200}
    sent = next(h for h in downstream.received if h.get("x-correlation-id") == cid)
    assert sent["baggage"] == f"user.tier=gold,session.id={SID}"


def test_a_job_carries_both_ids_to_a_worker_outside_the_request(served: Served) -> None:
    cid = f"{served.name}-job-0000000001"
    assert get(served, "/job", {"X-Correlation-ID": cid, "baggage": f"session.id={SID}"}).status_code == 202
    line = eventually(lambda: next((line for line in served.lines_of(cid) if line.message == "job ran"), None))
    assert line.session_id == SID


def test_concurrent_requests_never_mix_their_ids(served: Served) -> None:
    pairs = [(f"{served.name}-many-{i:010d}", f"session-{i:016d}") for i in range(20)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda p: get(served, "/ok", {"X-Correlation-ID": p[0], "X-Session-ID": p[1]}).json(), pairs))
    assert answers == [{"correlation_id": c, "session_id": s} for c, s in pairs]
    for cid, sid in pairs:
        eventually(lambda: len(ok_lines(served, cid)) == 2)
        assert [line.session_id for line in served.lines_of(cid)] == [sid, sid]
