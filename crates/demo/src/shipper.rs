//! Ships every log line to the collector as OTLP/HTTP JSON logs: a `tracing` layer turns each
//! event into a log record carrying the fields of its spans (the request's `correlation_id`
//! among them), and a task posts them in batches. `service.name` is the module the line comes
//! from (`checkout`, `payments`, `worker`). Posts carry the collector's write token from
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

/// One line on its way: its service and its OTLP JSON record.
pub struct Line {
    service: String,
    record: Value,
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

fn random_hex() -> String {
    let mut bytes = [0u8; 16];
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
            span.extensions_mut().insert(fields);
        }
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
        fields.0.insert("event.id".into(), json!(random_hex()));
        let attributes: Vec<Value> = fields
            .0
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": any_value(v) }))
            .collect();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let (number, text) = severity(event.metadata().level());
        let mut record = json!({
            "timeUnixNano": nanos.to_string(),
            "severityNumber": number,
            "severityText": text,
            "body": { "stringValue": message },
            "attributes": attributes,
        });
        let is_trace_id = |id: &str| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
        if let (Some(id), Some(object)) = (correlation, record.as_object_mut()) {
            if is_trace_id(&id) {
                object.insert("traceId".into(), json!(id.to_ascii_lowercase()));
            }
        }
        let _ = self.lines.send(Line { service, record });
    }
}

/// Posts lines to `endpoint` (the collector's `/v1/logs`) every 250 ms, one request per
/// service, with the write token from `THREADLINE_WRITE_TOKEN` if set; a failed post is retried
/// with the next batch, at most 10,000 lines are kept.
pub async fn run_sender(mut lines: mpsc::UnboundedReceiver<Line>, endpoint: String) {
    let client = reqwest::Client::new();
    let write_token = std::env::var("THREADLINE_WRITE_TOKEN")
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
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
        let mut by_service: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
        for line in &pending {
            by_service
                .entry(&line.service)
                .or_default()
                .push(&line.record);
        }
        let mut all_sent = true;
        for (service, records) in by_service {
            let body = json!({ "resourceLogs": [{
                "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": service } }] },
                "scopeLogs": [{ "scope": { "name": "threadline-demo" }, "logRecords": records }]
            }]});
            let mut request = client
                .post(&endpoint)
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
