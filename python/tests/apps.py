"""The same shop routes in FastAPI (logging with ``CorrelationFilter``) and in Flask
(structlog with ``add_correlation_ids``), each handing its parsed log lines to ``emit`` (the
tests keep them in a list; ``serve.py`` prints them).

Routes: ``GET /ok`` logs twice and answers both IDs; ``GET /status/<n>`` answers n;
``GET /throw`` raises; ``GET /forward?to=URL`` calls URL with httpx and its own
``baggage: user.tier=gold``; ``GET /job`` enqueues a job the worker logs as "job ran"."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, Callable, Optional

import flask
import httpx
import structlog
from fastapi import FastAPI, HTTPException, Request

from threadline_correlation import (
    CorrelationFilter,
    CorrelationMiddleware,
    CorrelationWSGIMiddleware,
    add_correlation_ids,
    aforward_ids,
    current_ids,
    forward_ids,
    job_envelope,
)

from .servers import Worker


@dataclass
class Line:
    """One captured log line, parsed back."""

    correlation_id: Optional[str]
    session_id: Optional[str]
    message: str


def _answer() -> dict[str, Optional[str]]:
    ids = current_ids()
    assert ids is not None
    return {"correlation_id": ids.correlation_id, "session_id": ids.session_id}


Emit = Callable[[Line], None]


class _LineHandler(logging.Handler):
    def __init__(self, emit: Emit) -> None:
        super().__init__()
        self.emit_line = emit
        self.addFilter(CorrelationFilter())
        self.setFormatter(logging.Formatter("%(correlation_id)s %(session_id)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        cid, sid, message = self.format(record).split(" ", 2)
        self.emit_line(Line(None if cid == "-" else cid, None if sid == "-" else sid, message))


def fastapi_app(emit: Emit) -> tuple[Any, Worker]:
    log = logging.getLogger("shop.fastapi")
    log.setLevel(logging.INFO)
    log.propagate = False
    log.handlers = [_LineHandler(emit)]
    worker = Worker(lambda job: log.info("job ran"))
    app = FastAPI()
    app.add_middleware(CorrelationMiddleware)

    @app.get("/ok")
    async def ok(request: Request) -> dict[str, Optional[str]]:
        log.info("ok started")
        await asyncio.sleep(0.005)
        log.info("ok done")
        assert request.state.correlation_id == _answer()["correlation_id"]
        return _answer()

    @app.get("/status/{n}")
    async def status(n: int) -> None:
        raise HTTPException(status_code=n, detail="as asked")

    @app.get("/throw")
    async def throw() -> None:
        raise RuntimeError("boom")

    @app.get("/forward")
    async def forward(to: str) -> dict[str, int]:
        async with httpx.AsyncClient(event_hooks={"request": [aforward_ids]}) as client:
            answer = await client.get(to, headers={"baggage": "user.tier=gold"})
        return {"status": answer.status_code}

    @app.get("/job", status_code=202)
    def job() -> None:  # a sync endpoint: FastAPI runs it in a thread, the IDs go with it
        worker.jobs.put(json.dumps(job_envelope({"name": "send-receipt"})))

    return app, worker


class _Sink:
    def __init__(self, emit: Emit) -> None:
        self.emit = emit

    def write(self, text: str) -> None:
        for raw in filter(None, text.split("\n")):
            event = json.loads(raw)
            self.emit(Line(event.get("correlation_id"), event.get("session.id"), event["event"]))

    def flush(self) -> None:
        pass


def flask_app(emit: Emit) -> tuple[Any, Worker]:
    log = structlog.wrap_logger(
        structlog.WriteLogger(_Sink(emit)),  # type: ignore[arg-type]
        processors=[add_correlation_ids, structlog.processors.JSONRenderer()],
    )
    worker = Worker(lambda job: log.info("job ran"))
    app = flask.Flask("shop")
    app.wsgi_app = CorrelationWSGIMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app.logger.disabled = True

    @app.get("/ok")
    def ok() -> dict[str, Optional[str]]:
        log.info("ok started")
        log.info("ok done")
        assert flask.request.environ["threadline.ids"] == current_ids()
        return _answer()

    @app.get("/status/<int:n>")
    def status(n: int) -> Any:
        flask.abort(n)

    @app.get("/throw")
    def throw() -> Any:
        raise RuntimeError("boom")

    @app.get("/forward")
    def forward() -> dict[str, int]:
        with httpx.Client(event_hooks={"request": [forward_ids]}) as client:
            answer = client.get(flask.request.args["to"], headers={"baggage": "user.tier=gold"})
        return {"status": answer.status_code}

    @app.get("/job")
    def job() -> Any:
        worker.jobs.put(json.dumps(job_envelope({"name": "send-receipt"})))
        return "", 202

    return app, worker


APPS: dict[str, Callable[[Emit], tuple[Any, Worker]]] = {"fastapi": fastapi_app, "flask": flask_app}
