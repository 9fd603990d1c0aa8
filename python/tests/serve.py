"""``python -m tests.serve fastapi|flask``: one of the test apps on a free loopback port, for the
end-to-end tests in the browser. Prints ``{"listening": PORT}``, then every log line as JSON
(``correlation_id``, ``session.id``, ``message``), until stdin closes."""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import asdict

from .apps import APPS, Line
from .servers import serve_asgi, serve_wsgi

_print_lock = threading.Lock()


def _print(value: object) -> None:
    with _print_lock:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()


def _emit(line: Line) -> None:
    fields = asdict(line)
    _print({"correlation_id": fields["correlation_id"], "session.id": fields["session_id"], "message": fields["message"]})


def main() -> None:
    name = sys.argv[1]
    app, worker = APPS[name](_emit)
    server = (serve_asgi if name == "fastapi" else serve_wsgi)(app)
    base = next(server)
    _print({"listening": int(base.rsplit(":", 1)[1])})
    sys.stdin.read()
    server.close()
    worker.stop()


if __name__ == "__main__":
    main()
