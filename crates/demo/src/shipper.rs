//! Ships every log line to the collector as OTLP/HTTP JSON logs: a `tracing` layer turns each
//! event into a log record carrying the fields of its spans (the request's `correlation_id`
//! among them), and a task posts them in batches. `service.name` is the module the line comes
//! from (`checkout`, `payments`, `worker`). Spans (the middleware's `request` span, the worker's
//! `job` span) are shipped as OTLP spans of the service whose lines they hold, with an error
//! status when an error was logged in them, so the story shows each request as a bar. Posts carry the collector's write token from
//! `THREADLINE_WRITE_TOKEN` (`Authorization: Bearer`), so the lines are shown as backend lines.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// How often batches are posted.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// One line or span on its way: its service and its OTLP JSON record or span.
pub struct Line {
    service: String,
    record: Value,
    is_span: bool,
}

/// What the layer keeps on a span while it is open.
struct SpanState {
    span_id: String,
    start_ns: u128,
    service: Option<String>,
    failed: bool,
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

fn is_trace_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Field values of a span or event.
#[derive(Default, Clone)]
struct Fields(BTreeMap<String, Value>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), json!(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), json!(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), json!(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), json!(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), json!(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), json!(value));
    }
}

/// The `tracing` layer; pair it with [`run_sender`].
pub struct OtlpLayer {
    lines: mpsc::UnboundedSender<Line>,
}

/// A layer and the receiving end its lines go to.
pub fn channel() -> (OtlpLayer, mpsc::UnboundedReceiver<Line>) {
    let (lines, receiver) = mpsc::unbounded_channel();
    (OtlpLayer { lines }, receiver)
}

fn any_value(value: &Value) -> Value {
    match value {
        Value::Bool(b) => json!({ "boolValue": b }),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({ "intValue": n.to_string() }),
        Value::Number(n) => json!({ "doubleValue": n }),
        Value::String(s) => json!({ "stringValue": s }),
        other => json!({ "stringValue": other.to_string() }),
    }
}

fn severity(level: &Level) -> (u8, &'static str) {
    match *level {
        Level::ERROR => (17, "ERROR"),
        Level::WARN => (13, "WARN"),
        Level::INFO => (9, "INFO"),
        Level::DEBUG => (5, "DEBUG"),
        Level::TRACE => (1, "TRACE"),
    }
}

fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl<S> Layer<S> for OtlpLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            let mut extensions = span.extensions_mut();
            extensions.insert(fields);
            extensions.insert(SpanState {
                span_id: random_hex::<8>(),
                start_ns: now_ns(),
                service: None,
                failed: false,
            });
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let (span_id, start_ns, failed, service) = {
            let extensions = span.extensions();
            let Some(state) = extensions.get::<SpanState>() else {
                return;
            };
            let Some(service) = state.service.clone() else {
                return; // Only spans that hold the demo's own lines are shipped.
            };
            (state.span_id.clone(), state.start_ns, state.failed, service)
        };
        let mut all = Fields::default();
        for ancestor in span.scope().from_root() {
            if let Some(f) = ancestor.extensions().get::<Fields>() {
                all.0.extend(f.0.clone());
            }
        }
        let parent = span
            .parent()
            .and_then(|p| p.extensions().get::<SpanState>().map(|s| s.span_id.clone()));
        let trace_id = all
            .0
            .get("correlation_id")
            .and_then(Value::as_str)
            .filter(|id| is_trace_id(id))
            .map(str::to_ascii_lowercase)
            .unwrap_or_else(random_hex::<16>);
        let attributes: Vec<Value> = all
            .0
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": any_value(v) }))
            .collect();
        let mut record = json!({
            "traceId": trace_id,
            "spanId": span_id,
            "name": span.name(),
            "kind": if span.name() == "request" { 2 } else { 1 },
            "startTimeUnixNano": start_ns.to_string(),
            "endTimeUnixNano": now_ns().to_string(),
            "attributes": attributes,
            "status": { "code": if failed { 2 } else { 0 } },
        });
        if let (Some(parent), Some(object)) = (parent, record.as_object_mut()) {
            object.insert("parentSpanId".into(), json!(parent));
        }
        let _ = self.lines.send(Line {
            service,
            record,
            is_span: true,
        });
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let target = event.metadata().target();
        let Some(service) = target
            .strip_prefix("threadline_demo::")
            .map(|s| s.split("::").next().unwrap_or(s).to_owned())
        else {
            return; // Only the demo's own lines are shipped.
        };
        let mut fields = Fields::default();
        let mut span_id = None;
        if let Some(span) = ctx.event_span(event) {
            if let Some(state) = span.extensions_mut().get_mut::<SpanState>() {
                state.service.get_or_insert_with(|| service.clone());
                state.failed |= *event.metadata().level() == Level::ERROR;
                span_id = Some(state.span_id.clone());
            }
        }
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(span_fields) = span.extensions().get::<Fields>() {
                    fields.0.extend(span_fields.0.clone());
                }
            }
        }
        event.record(&mut fields);
        let message = fields
            .0
            .remove("message")
            .and_then(|m| m.as_str().map(str::to_owned))
            .unwrap_or_default();
        let correlation = fields
            .0
            .get("correlation_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        fields
            .0
            .insert("event.id".into(), json!(random_hex::<16>()));
        let attributes: Vec<Value> = fields
            .0
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": any_value(v) }))
            .collect();
        let nanos = now_ns();
        let (number, text) = severity(event.metadata().level());
        let mut record = json!({
            "timeUnixNano": nanos.to_string(),
            "severityNumber": number,
            "severityText": text,
            "body": { "stringValue": message },
            "attributes": attributes,
        });
        if let (Some(id), Some(object)) = (correlation, record.as_object_mut()) {
            if is_trace_id(&id) {
                object.insert("traceId".into(), json!(id.to_ascii_lowercase()));
                if let Some(span_id) = span_id {
                    object.insert("spanId".into(), json!(span_id));
                }
            }
        }
        let _ = self.lines.send(Line {
            service,
            record,
            is_span: false,
        });
    }
}

/// Posts lines to `endpoint` (the collector's `/v1/logs`) and spans beside it (`/v1/traces`)
/// every 250 ms, one request per service and signal, with the write token from `THREADLINE_WRITE_TOKEN` if set; a failed post is retried
/// with the next batch, at most 10,000 lines are kept.
pub async fn run_sender(mut lines: mpsc::UnboundedReceiver<Line>, endpoint: String) {
    let client = reqwest::Client::new();
    let write_token = std::env::var("THREADLINE_WRITE_TOKEN")
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let traces_endpoint = endpoint
        .strip_suffix("/v1/logs")
        .map_or_else(|| endpoint.clone(), |base| format!("{base}/v1/traces"));
    let mut pending: Vec<Line> = Vec::new();
    loop {
        tokio::time::sleep(FLUSH_EVERY).await;
        while let Ok(line) = lines.try_recv() {
            pending.push(line);
        }
        if pending.len() > 10_000 {
            pending.drain(..pending.len() - 10_000);
        }
        if pending.is_empty() {
            continue;
        }
        let mut by_service: BTreeMap<(bool, &str), Vec<&Value>> = BTreeMap::new();
        for line in &pending {
            by_service
                .entry((line.is_span, &line.service))
                .or_default()
                .push(&line.record);
        }
        let mut all_sent = true;
        for ((is_span, service), records) in by_service {
            let resource = json!({ "attributes": [{ "key": "service.name", "value": { "stringValue": service } }] });
            let scope = json!({ "name": "threadline-demo" });
            let (body, url) = if is_span {
                (
                    json!({ "resourceSpans": [{ "resource": resource, "scopeSpans": [{ "scope": scope, "spans": records }] }] }),
                    traces_endpoint.as_str(),
                )
            } else {
                (
                    json!({ "resourceLogs": [{ "resource": resource, "scopeLogs": [{ "scope": scope, "logRecords": records }] }] }),
                    endpoint.as_str(),
                )
            };
            let mut request = client
                .post(url)
                .header("Content-Type", "application/json")
                .body(body.to_string())
                .timeout(Duration::from_secs(5));
            if let Some(token) = &write_token {
                request = request.bearer_auth(token);
            }
            let sent = request.send().await.is_ok_and(|r| r.status().is_success());
            all_sent &= sent;
        }
        if all_sent {
            pending.clear();
        }
    }
}
