"""Round trips from the real OpenTelemetry Python SDK and its OTLP/HTTP protobuf exporter
(pinned in requirements.txt) through the real collector, gzip and deflate: a log record and a
span sent with the write token come back from the search API field for field.

Needs the collector built (target/debug/threadline-collector); run by tests/otel-sdks.sh.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import secrets
import subprocess
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

ROOT = Path(__file__).resolve().parents[2]
READ = "python-roundtrip-read-token-0123"
WRITE = "python-roundtrip-write-token-0123"
NOW_NS = (int(time.time()) - 60) * 1_000_000_000 + 123_456_789


class Collector:
    """The real collector on a free loopback port with a fresh SQLite file."""

    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        env = {**os.environ, "THREADLINE_READ_TOKEN": READ, "THREADLINE_WRITE_TOKEN": WRITE}
        self.process = subprocess.Popen(
            [str(ROOT / "target" / "debug" / "threadline-collector"), "--listen", "127.0.0.1:0",
             "--db", str(Path(self.dir.name) / "c.sqlite")],
            env=env, stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        self.base = ""
        for line in self.process.stdout:
            found = re.search(r"listening on (http://[\d.:]+)", line)
            if found:
                self.base = found.group(1)
                break
        if not self.base:
            raise RuntimeError("the collector did not start")

    def search(self, ident: str) -> dict[str, Any]:
        request = urllib.request.Request(f"{self.base}/api/search?id={ident}",
                                         headers={"Authorization": f"Bearer {READ}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, Any] = json.load(response)
            return answer

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.dir.cleanup()


class RoundTrip(unittest.TestCase):
    collector: Collector

    @classmethod
    def setUpClass(cls) -> None:
        cls.collector = Collector()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.collector.stop()

    def send(self, compression: Compression) -> tuple[str, str, str, str, str]:
        trace_id = secrets.randbits(128) | 1
        parent_span_id = secrets.randbits(64) | 1
        linked_trace_id, linked_span_id = secrets.randbits(128) | 1, secrets.randbits(64) | 1
        linked = SpanContext(trace_id=linked_trace_id, span_id=linked_span_id, is_remote=True,
                             trace_flags=TraceFlags(1))
        parent = trace.set_span_in_context(NonRecordingSpan(SpanContext(
            trace_id=trace_id, span_id=parent_span_id, is_remote=True, trace_flags=TraceFlags(1))))
        resource = Resource.create({"service.name": f"py-{compression.value}", "host.cores": 8})
        headers = {"Authorization": f"Bearer {WRITE}"}
        logs = LoggerProvider(resource=resource)
        logs.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(
            endpoint=f"{self.collector.base}/v1/logs", headers=headers, compression=compression)))
        logs.get_logger("py-scope", "1.2.3").emit(
            timestamp=NOW_NS,
            observed_timestamp=NOW_NS + 1,
            context=parent,
            severity_number=SeverityNumber.ERROR2,
            severity_text="Error2",
            body={"reason": "card", "raw": b"\xde\xad\xbe\xef", "codes": [51, 52]},
            attributes={
                "big": 9_007_199_254_740_993,
                "min": -9_223_372_036_854_775_808,
                "nan": math.nan,
                "inf": math.inf,
                "ninf": -math.inf,
                "half": 0.5,
                "yes": True,
                "text": "deadbeef",
                "service.name": "record says otherwise",
            },
            event_name="payment.declined",
        )
        logs.shutdown()
        spans = TracerProvider(resource=resource)
        spans.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
            endpoint=f"{self.collector.base}/v1/traces", headers=headers, compression=compression)))
        span = spans.get_tracer("py-tracer", "4.5.6").start_span(
            "charge card", context=parent, kind=SpanKind.SERVER, start_time=NOW_NS,
            attributes={"http.route": "/api/pay", "attempt": 2},
            links=[Link(linked, {"link.kind": "retry-of"})])
        span.add_event("exception", {"exception.message": "deadline exceeded"}, timestamp=NOW_NS + 5)
        span.set_status(Status(StatusCode.ERROR, "card processor unavailable"))
        span.end(end_time=NOW_NS + 3_000_000_000)
        spans.shutdown()
        return (f"{trace_id:032x}", f"{parent_span_id:016x}", f"{span.get_span_context().span_id:016x}",
                f"{linked_trace_id:032x}", f"{linked_span_id:016x}")

    def check(self, compression: Compression) -> None:
        trace_id, parent_span_id, span_id, linked_trace_id, linked_span_id = self.send(compression)
        answer = self.collector.search(trace_id)
        self.assertEqual(len(answer["records"]), 1, answer)
        r = answer["records"][0]
        self.assertEqual(r["provenance"], "backend")
        self.assertEqual(r["time_unix_nano"], str(NOW_NS))
        self.assertFalse(r["time_replaced"])
        self.assertEqual(r["observed_time_unix_nano"], str(NOW_NS + 1))
        self.assertEqual(r["service"], f"py-{compression.value}")
        self.assertEqual((r["scope"], r["scope_version"]), ("py-scope", "1.2.3"))
        self.assertEqual((r["severity_number"], r["severity_text"]), (18, "Error2"))
        self.assertEqual(r["event_name"], "payment.declined")
        self.assertEqual((r["trace_id"], r["span_id"], r["flags"]), (trace_id, parent_span_id, 1))
        raw = base64.b64encode(b"\xde\xad\xbe\xef").decode()
        self.assertEqual(r["body"], {"kvlistValue": {"values": [
            {"key": "reason", "value": {"stringValue": "card"}},
            {"key": "raw", "value": {"bytesValue": raw}},
            {"key": "codes", "value": {"arrayValue": {"values": [{"intValue": "51"}, {"intValue": "52"}]}}},
        ]}})
        self.assertEqual(r["resource"]["service.name"], {"stringValue": f"py-{compression.value}"})
        self.assertEqual(r["resource"]["host.cores"], {"intValue": "8"})
        a = r["attributes"]
        self.assertEqual(a["service.name"], {"stringValue": "record says otherwise"})
        self.assertEqual(a["big"], {"intValue": "9007199254740993"})
        self.assertEqual(a["min"], {"intValue": "-9223372036854775808"})
        self.assertEqual(a["nan"], {"doubleValue": "NaN"})
        self.assertEqual(a["inf"], {"doubleValue": "Infinity"})
        self.assertEqual(a["ninf"], {"doubleValue": "-Infinity"})
        self.assertEqual(a["half"], {"doubleValue": 0.5})
        self.assertEqual(a["yes"], {"boolValue": True})
        self.assertEqual(a["text"], {"stringValue": "deadbeef"})

        self.assertEqual(len(answer["spans"]), 1, answer)
        s = answer["spans"][0]
        self.assertEqual(s["provenance"], "backend")
        self.assertEqual((s["scope"], s["scope_version"]), ("py-tracer", "4.5.6"))
        self.assertEqual((s["name"], s["kind"]), ("charge card", 2))
        self.assertEqual((s["trace_id"], s["span_id"], s["parent_span_id"]), (trace_id, span_id, parent_span_id))
        self.assertEqual(s["start_time_unix_nano"], str(NOW_NS))
        self.assertEqual(s["end_time_unix_nano"], str(NOW_NS + 3_000_000_000))
        self.assertEqual((s["status_code"], s["status_message"]), (2, "card processor unavailable"))
        self.assertEqual(s["attributes"]["http.route"], {"stringValue": "/api/pay"})
        self.assertEqual(s["attributes"]["attempt"], {"intValue": "2"})
        self.assertEqual(s["events"], [{"time_unix_nano": str(NOW_NS + 5), "name": "exception",
                                        "attributes": {"exception.message": {"stringValue": "deadline exceeded"}}}])
        self.assertEqual(s["links"], [{"trace_id": linked_trace_id, "span_id": linked_span_id,
                                       "attributes": {"link.kind": {"stringValue": "retry-of"}}}])

    def test_gzip_round_trip_keeps_every_field(self) -> None:
        self.check(Compression.Gzip)

    def test_deflate_round_trip_keeps_every_field(self) -> None:
        self.check(Compression.Deflate)


if __name__ == "__main__":
    unittest.main()
