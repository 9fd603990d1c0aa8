"""The README's two lines for backends already on OpenTelemetry, with the real SDK: the W3C
propagators read what the recorder sends (``traceparent: true``), and the baggage span
processor copies ``session.id``, and nothing else, onto the span."""

from __future__ import annotations

from opentelemetry import context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.processor.baggage import BaggageSpanProcessor
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

CID = "0af7651916cd43dd8448eb211c80319c"
SID = "5e55101d5e55101d5e55101d5e55101d"


def test_the_session_in_baggage_lands_on_the_span_and_the_action_id_is_its_trace_id() -> None:
    propagator = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
    provider = TracerProvider()
    provider.add_span_processor(BaggageSpanProcessor(lambda key: key == "session.id"))
    exported = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    tracer = provider.get_tracer("shop")

    incoming = {"traceparent": f"00-{CID}-b7ad6b7169203331-01", "baggage": f"user.tier=gold,session.id={SID}"}
    # What OpenTelemetry's ASGI and WSGI instrumentations do with a request's headers.
    token = context.attach(propagator.extract(incoming))
    try:
        with tracer.start_as_current_span("POST /api/checkout"):
            with tracer.start_as_current_span("charge card"):
                pass
    finally:
        context.detach(token)

    spans = exported.get_finished_spans()
    assert [span.name for span in spans] == ["charge card", "POST /api/checkout"]
    for span in spans:
        assert format(span.context.trace_id, "032x") == CID
        assert dict(span.attributes or {}) == {"session.id": SID}
