"""Fixtures: each framework's app served for real on loopback, and a downstream service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import pytest

from .apps import APPS, Line
from .servers import Downstream, serve_asgi, serve_wsgi


@dataclass
class Served:
    """An app on loopback and the log lines it has written so far."""

    name: str
    base: str
    lines: list[Line]

    def lines_of(self, correlation_id: str) -> list[Line]:
        return [line for line in self.lines if line.correlation_id == correlation_id]


@pytest.fixture(scope="session")
def downstream() -> Iterator[Downstream]:
    service = Downstream()
    yield service
    service.close()


@pytest.fixture(scope="module", params=sorted(APPS))
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    name: str = request.param
    lines: list[Line] = []
    app, worker = APPS[name](lines.append)
    serve = serve_asgi if name == "fastapi" else serve_wsgi
    server = serve(app)
    base = next(server)
    yield Served(name, base, lines)
    server.close()
    worker.stop()
