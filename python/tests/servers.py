"""Real servers on loopback for the tests: uvicorn for ASGI apps, werkzeug for WSGI apps, a
downstream service that records what it is sent, and a worker thread draining a job queue."""

from __future__ import annotations

import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Generator, Optional, TypeVar

import uvicorn
from werkzeug.serving import make_server

from threadline_correlation import run_job
from threadline_correlation.asgi import ASGIApp
from threadline_correlation.wsgi import WSGIApp

T = TypeVar("T")


def serve_asgi(app: ASGIApp) -> Generator[str, None, None]:
    """Serves ``app`` under uvicorn until the generator is closed; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    eventually(lambda: server.started)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def serve_wsgi(app: WSGIApp) -> Generator[str, None, None]:
    """Serves ``app`` under werkzeug's threaded server until the generator is closed."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


class Downstream:
    """A real HTTP service on loopback that answers 200 and keeps every request's headers."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                received.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Worker:
    """A thread, started outside any request, that runs queued JSON envelopes with
    ``run_job``: a job's IDs can only come from its envelope."""

    def __init__(self, handle: Callable[[Any], None]) -> None:
        self.jobs: queue.Queue[Optional[str]] = queue.Queue()
        self.thread = threading.Thread(target=self._run, args=(handle,), daemon=True)
        self.thread.start()

    def _run(self, handle: Callable[[Any], None]) -> None:
        while (text := self.jobs.get()) is not None:
            run_job(json.loads(text), handle)

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join(5)


def eventually(check: Callable[[], Optional[T]]) -> T:
    """Waits until ``check()`` is truthy (at most 5 s) and returns it."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("timed out waiting")
