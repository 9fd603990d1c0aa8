//! The recorder's settings after validation, and the one error type `init` rejects with: the
//! option names, number rules and wording. `options_reader` applies them to the options `init`
//! was given.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use core::fmt;

use crate::Millis;
use crate::allowlist::OriginPattern;
use crate::batcher::Limits;
use crate::event::Severity;
use crate::propagation::Propagation;
use crate::redact::Redactor;
use crate::session::SessionPolicy;
use crate::text::{concat, decimal, split_byte};

/// Validated settings. Defaults are what `init({})` gives.
#[derive(Clone, Debug)]
pub struct Config {
    /// Ingestion URL (absolute); `None` means propagate headers only.
    pub endpoint: Option<String>,
    /// `service.name` on every event.
    pub service: String,
    /// Textual `propagateTo` entries (`RegExp` entries are kept by the web shell).
    pub propagate_to: Vec<OriginPattern>,
    /// Header names and the `traceparent` switch.
    pub propagation: Propagation,
    /// Whether the page's own origin gets headers.
    pub same_origin: bool,
    /// Whether clicks and submits start actions by themselves.
    pub auto_actions: bool,
    /// How long after a failure a repeat of the same request keeps its ID.
    pub retry_window: Millis,
    /// When sessions rotate.
    pub session: SessionPolicy,
    /// Events below this severity are not recorded.
    pub min_level: Severity,
    /// Batching and in-memory bounds.
    pub limits: Limits,
    /// Most bytes of unsent events kept in storage when the page is left (0: none).
    pub max_storage_bytes: usize,
    /// Whether uncaught errors and unhandled rejections are recorded.
    pub capture_errors: bool,
    /// Whether `console.warn` and `console.error` lines are recorded.
    pub capture_console: bool,
    /// Whether `http.request` events keep the URL's query string.
    pub keep_query: bool,
    /// Which attribute keys hold secrets.
    pub redactor: Redactor,
    /// How long an upload may take before it is aborted and retried like a network error.
    pub upload_timeout: Millis,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: None,
            service: "web".to_owned(),
            propagate_to: Vec::new(),
            propagation: Propagation::default(),
            same_origin: true,
            auto_actions: true,
            retry_window: 30_000,
            session: SessionPolicy::default(),
            min_level: Severity::Info,
            limits: Limits::default(),
            max_storage_bytes: 1024 * 1024,
            capture_errors: true,
            capture_console: false,
            keep_query: false,
            redactor: Redactor::default(),
            upload_timeout: 10_000,
        }
    }
}

impl Config {
    /// Every setting as `name=value` lines in a fixed order, so that a second `init` can be
    /// compared with the first even from another copy of Threadline. `regexes` are the `RegExp`
    /// entries of `propagateTo`, as text.
    pub fn fingerprint(&self, regexes: &[String]) -> String {
        let mut out = String::new();
        let mut line = |name: &str, value: &str| {
            out.push_str(name);
            out.push('=');
            out.push_str(value);
            out.push('\n');
        };
        let flag = |on: bool| if on { "true" } else { "false" };
        let number = |n: u64| decimal(n);
        let size = |n: usize| decimal(n as u64);
        let mut targets = String::new();
        for pattern in &self.propagate_to {
            targets.push_str(&pattern.text());
            targets.push(' ');
        }
        for re in regexes {
            targets.push_str(re);
            targets.push(' ');
        }
        let mut words = String::new();
        for word in self.redactor.words() {
            words.push_str(word);
            words.push(' ');
        }
        line("endpoint", self.endpoint.as_deref().unwrap_or(""));
        line("service", &self.service);
        line("propagateTo", &targets);
        line("header", &self.propagation.header);
        line("traceparent", flag(self.propagation.traceparent));
        line("sameOrigin", flag(self.same_origin));
        line("autoActions", flag(self.auto_actions));
        line("retryWindowSeconds", &number(self.retry_window));
        line("sessionIdleMinutes", &number(self.session.idle));
        line("sessionMaxHours", &number(self.session.max_age));
        line("minLevel", self.min_level.text());
        line("maxBatchEvents", &size(self.limits.max_events));
        line("maxBatchBytes", &size(self.limits.max_bytes));
        line("flushIntervalMs", &number(self.limits.flush_interval));
        line("maxQueueBytes", &size(self.limits.max_queue_bytes));
        line("maxStorageBytes", &size(self.max_storage_bytes));
        line("captureErrors", flag(self.capture_errors));
        line("captureConsole", flag(self.capture_console));
        line("keepQueryString", flag(self.keep_query));
        line("redactKeys", &words);
        line("uploadTimeoutMs", &number(self.upload_timeout));
        line("sendSession", self.propagation.session_to.name());
        line(
            "sessionHeader",
            self.propagation.session_header.as_deref().unwrap_or(""),
        );
        line("userInBaggage", flag(self.propagation.user_in_baggage));
        out
    }
}

/// The option names whose settings differ between two [`Config::fingerprint`]s.
pub fn differences<'a>(running: &'a str, wanted: &str) -> Vec<&'a str> {
    let mut wanted_lines = split_byte(wanted, b'\n');
    split_byte(running, b'\n')
        .filter(|line| wanted_lines.next() != Some(*line))
        .filter_map(|line| split_byte(line, b'=').next())
        .filter(|name| !name.is_empty())
        .collect()
}

/// `init` was called again, with options that differ from the running recorder's in `names`.
pub fn already_running(names: &[&str]) -> OptionError {
    let mut list = String::new();
    for name in names {
        if !list.is_empty() {
            list.push_str(", ");
        }
        list.push_str(name);
    }
    OptionError {
        message: concat(&[
            PREFIX,
            "Threadline is already running on this page with other options (",
            &list,
            "); call shutdown() on it first, or pass the same options (or none) to get it",
        ]),
    }
}

/// Every option `init` understands, once; anything else is refused so typos surface at once.
/// The first [`EVENT_OPTIONS`] configure the event pipeline, which the propagation-only build
/// refuses.
const OPTIONS: [&str; 24] = [
    "endpoint",
    "service",
    "minLevel",
    "maxBatchEvents",
    "maxBatchBytes",
    "flushIntervalMs",
    "maxQueueBytes",
    "maxStorageBytes",
    "captureErrors",
    "captureConsole",
    "keepQueryString",
    "redactKeys",
    "uploadTimeoutMs",
    "propagateTo",
    "header",
    "traceparent",
    "sameOrigin",
    "autoActions",
    "retryWindowSeconds",
    "sessionIdleMinutes",
    "sessionMaxHours",
    "sendSession",
    "sessionHeader",
    "userInBaggage",
];

/// How many of [`OPTIONS`], from the first, configure the event pipeline.
const EVENT_OPTIONS: usize = 13;

/// Whether `name` configures the event pipeline.
pub fn is_event_option(name: &str) -> bool {
    OPTIONS
        .get(..EVENT_OPTIONS)
        .is_some_and(|events| events.contains(&name))
}

/// A bad option: which one, and what was expected instead. Its text is what a developer reads
/// in the console, e.g. `propagateTo[0]: expected an origin such as …, got "api.example.com"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionError {
    message: String,
}

impl OptionError {
    /// `option` held `got` where `expected` was wanted.
    pub fn expected(option: &str, expected: &str, got: &str) -> Self {
        OptionError {
            message: concat(&[PREFIX, option, ": expected ", expected, ", got ", got]),
        }
    }

    /// `name` is not an option; suggests the closest known one.
    pub fn unknown(name: &str) -> Self {
        let hint = match closest_option(name) {
            Some(known) => concat(&[" (did you mean \"", known, "\"?)"]),
            None => {
                let mut list = String::from(" (known options: ");
                for (n, name) in OPTIONS.iter().enumerate() {
                    if n > 0 {
                        list.push_str(", ");
                    }
                    list.push_str(name);
                }
                list.push(')');
                list
            }
        };
        OptionError {
            message: concat(&[PREFIX, name, ": unknown option", &hint]),
        }
    }
}

impl OptionError {
    /// `name` configures events, which the propagation-only build neither records nor sends.
    pub fn events_only(name: &str) -> Self {
        OptionError {
            message: concat(&[
                PREFIX,
                name,
                ": threadline/propagate only propagates IDs and sends no events; import \"threadline\" (the full entry, or its threadline.js script) to record and send events",
            ]),
        }
    }

    /// The whole message, as the `Error` that `init` rejects with carries it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Every message starts by saying where it comes from.
const PREFIX: &str = "Threadline init: ";

impl core::error::Error for OptionError {}

/// Refuses option names `init` does not know.
pub fn check_option_name(name: &str) -> Result<(), OptionError> {
    if OPTIONS.contains(&name) {
        Ok(())
    } else {
        Err(OptionError::unknown(name))
    }
}

/// The known option closest to a misspelt one, if any is close.
fn closest_option(name: &str) -> Option<&'static str> {
    let mut best: Option<(usize, &'static str)> = None;
    for known in OPTIONS {
        let d = edit_distance(name.as_bytes(), known.as_bytes());
        if d <= 2.max(name.len() / 4) && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, known));
        }
    }
    best.map(|(_, known)| known)
}

/// Levenshtein distance over ASCII-case-folded bytes (option names are ASCII and short; a
/// `b` longer than 31 bytes is compared on its first 31).
fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    let mut row = [0usize; 32];
    let b = b.get(..b.len().min(31)).unwrap_or(b);
    for (j, slot) in row.iter_mut().enumerate() {
        *slot = j;
    }
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = i;
        let mut left = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let Some(up) = row.get(j + 1).copied() else {
                break;
            };
            let cost = diagonal + usize::from(!ca.eq_ignore_ascii_case(cb));
            left = cost.min(up + 1).min(left + 1);
            diagonal = up;
            if let Some(slot) = row.get_mut(j + 1) {
                *slot = left;
            }
        }
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
    }
    row.get(b.len()).copied().unwrap_or(0)
}

/// A numeric option (a duration in a human unit, a count, a size), with its allowed range.
#[derive(Clone, Copy, Debug)]
pub struct NumberRule {
    /// The option's name, for the error.
    pub option: &'static str,
    /// The unit's name in the error (`seconds`, `minutes`, `hours`, `events`, `bytes`).
    pub unit: &'static str,
    /// What one unit is worth in the setting (milliseconds per unit for durations, else 1).
    pub scale: f64,
    /// Whether 0 is allowed.
    pub allow_zero: bool,
    /// Smallest allowed value above 0, in units (0: any positive value).
    pub min: u32,
    /// Largest allowed value, in units.
    pub max: u32,
}

/// `retryWindowSeconds`: 0 (off) to one hour.
pub const RETRY_WINDOW: NumberRule = NumberRule {
    option: "retryWindowSeconds",
    unit: "seconds",
    scale: 1_000.0,
    allow_zero: true,
    min: 0,
    max: 3_600,
};
/// `sessionIdleMinutes`: more than 0, at most a day.
pub const SESSION_IDLE: NumberRule = NumberRule {
    option: "sessionIdleMinutes",
    unit: "minutes",
    scale: 60_000.0,
    allow_zero: false,
    min: 0,
    max: 1_440,
};
/// `sessionMaxHours`: more than 0, at most 30 days.
pub const SESSION_MAX: NumberRule = NumberRule {
    option: "sessionMaxHours",
    unit: "hours",
    scale: 3_600_000.0,
    allow_zero: false,
    min: 0,
    max: 720,
};

/// `maxBatchEvents`: events per upload.
pub const MAX_BATCH_EVENTS: NumberRule = NumberRule {
    option: "maxBatchEvents",
    unit: "events",
    scale: 1.0,
    allow_zero: false,
    min: 1,
    max: 1_000,
};

/// `maxBatchBytes`: bytes of events per upload.
pub const MAX_BATCH_BYTES: NumberRule = NumberRule {
    option: "maxBatchBytes",
    unit: "bytes",
    scale: 1.0,
    allow_zero: false,
    min: 1_024,
    max: 1_048_576,
};

/// `flushIntervalMs`: longest wait before a non-full batch goes (0: at once).
pub const FLUSH_INTERVAL: NumberRule = NumberRule {
    option: "flushIntervalMs",
    unit: "milliseconds",
    scale: 1.0,
    allow_zero: true,
    min: 0,
    max: 600_000,
};

/// `maxQueueBytes`: the in-memory bound.
pub const MAX_QUEUE_BYTES: NumberRule = NumberRule {
    option: "maxQueueBytes",
    unit: "bytes",
    scale: 1.0,
    allow_zero: false,
    min: 16_384,
    max: 67_108_864,
};

/// `maxStorageBytes`: what page exit may keep in storage (0: nothing).
pub const MAX_STORAGE_BYTES: NumberRule = NumberRule {
    option: "maxStorageBytes",
    unit: "bytes",
    scale: 1.0,
    allow_zero: true,
    min: 0,
    max: 4_194_304,
};

/// `uploadTimeoutMs`: how long an upload may take before it is aborted (1 s to 2 minutes).
pub const UPLOAD_TIMEOUT: NumberRule = NumberRule {
    option: "uploadTimeoutMs",
    unit: "milliseconds",
    scale: 1.0,
    allow_zero: false,
    min: 1_000,
    max: 120_000,
};

/// What `sendSession` expects.
pub const SEND_SESSION_EXPECTED: &str = "\"same-origin\", \"all\" or false";

/// What `minLevel` expects.
pub const LEVEL_EXPECTED: &str = "\"debug\", \"info\", \"warn\" or \"error\"";

impl NumberRule {
    /// Converts a number in this rule's unit to the setting (rounded), or says what was expected.
    /// `got` describes the value for the error when it is not a number at all.
    pub fn read(&self, value: Option<f64>, got: &str) -> Result<Millis, OptionError> {
        match value {
            Some(v)
                if v.is_finite()
                    && v <= f64::from(self.max)
                    && v >= f64::from(self.min)
                    && (v > 0.0 || (self.allow_zero && v == 0.0)) =>
            {
                // Non-negative and far below 2^53: adding 0.5 then truncating rounds to the nearest ms.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Ok((v * self.scale + 0.5) as Millis)
            }
            _ => {
                let min = decimal(self.min.into());
                let range: [&str; 3] = match (self.allow_zero, self.min) {
                    (true, _) => ["from 0", " to ", ""],
                    (false, 0) => ["greater than 0 and", " at most ", ""],
                    (false, _) => ["from ", &min, " to "],
                };
                let expected = concat(&[
                    "a number of ",
                    self.unit,
                    " ",
                    range[0],
                    range[1],
                    range[2],
                    &decimal(self.max.into()),
                ]);
                Err(OptionError::expected(self.option, &expected, got))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_options_are_told_apart() {
        assert!(is_event_option("endpoint"));
        assert!(is_event_option("uploadTimeoutMs"));
        assert!(!is_event_option("propagateTo"));
        assert!(!is_event_option("sessionHeader"));
        assert!(!is_event_option("nonsense"));
    }

    #[test]
    fn event_options_in_the_propagation_only_build_point_to_the_full_entry() {
        let message = OptionError::events_only("endpoint").message().to_owned();
        assert!(message.starts_with("Threadline init: endpoint: threadline/propagate"));
        assert!(message.contains("import \"threadline\""), "{message}");
    }

    #[test]
    fn unknown_options_suggest_the_nearest_name() {
        assert_eq!(
            OptionError::unknown("propagateTO").to_string(),
            "Threadline init: propagateTO: unknown option (did you mean \"propagateTo\"?)"
        );
        assert!(
            OptionError::unknown("tracePropagationTargets")
                .to_string()
                .contains("known options: endpoint")
        );
        assert!(
            OptionError::unknown("endpont")
                .to_string()
                .contains("\"endpoint\"")
        );
        assert!(
            OptionError::unknown("sessionIdleMinute")
                .to_string()
                .contains("\"sessionIdleMinutes\"")
        );
        assert!(check_option_name("autoActions").is_ok());
        assert!(check_option_name("constructor").is_err());
    }

    #[test]
    fn a_name_far_from_every_option_lists_them_all() {
        let message = OptionError::unknown("tracePropagationTargets").to_string();
        assert!(
            message.ends_with("(known options: endpoint, service, minLevel, maxBatchEvents, maxBatchBytes, flushIntervalMs, maxQueueBytes, maxStorageBytes, captureErrors, captureConsole, keepQueryString, redactKeys, uploadTimeoutMs, propagateTo, header, traceparent, sameOrigin, autoActions, retryWindowSeconds, sessionIdleMinutes, sessionMaxHours, sendSession, sessionHeader, userInBaggage)"),
            "{message}"
        );
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance(b"header", b"header"), 0);
        assert_eq!(edit_distance(b"Header", b"header"), 0);
        assert_eq!(edit_distance(b"heder", b"header"), 1);
        assert_eq!(edit_distance(b"headers", b"header"), 1);
        assert_eq!(edit_distance(b"kitten", b"sitting"), 3);
        assert_eq!(edit_distance(b"", b"abc"), 3);
    }

    #[test]
    fn durations_convert_and_refuse_out_of_range() {
        assert_eq!(RETRY_WINDOW.read(Some(30.0), "30"), Ok(30_000));
        assert_eq!(RETRY_WINDOW.read(Some(0.0), "0"), Ok(0));
        assert_eq!(SESSION_IDLE.read(Some(0.5), "0.5"), Ok(30_000));
        assert_eq!(SESSION_MAX.read(Some(24.0), "24"), Ok(86_400_000));
        assert_eq!(
            SESSION_IDLE.read(Some(0.0), "0").unwrap_err().to_string(),
            "Threadline init: sessionIdleMinutes: expected a number of minutes greater than 0 and at most 1440, got 0"
        );
        assert_eq!(
            RETRY_WINDOW.read(None, "\"30\"").unwrap_err().to_string(),
            "Threadline init: retryWindowSeconds: expected a number of seconds from 0 to 3600, got \"30\""
        );
        for bad in [f64::NAN, f64::INFINITY, -1.0, 3_601.0] {
            assert!(RETRY_WINDOW.read(Some(bad), "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_and_counts_have_a_floor() {
        assert_eq!(MAX_BATCH_BYTES.read(Some(2_048.0), "2048"), Ok(2_048));
        assert_eq!(MAX_BATCH_EVENTS.read(Some(1.0), "1"), Ok(1));
        assert_eq!(FLUSH_INTERVAL.read(Some(0.0), "0"), Ok(0));
        assert_eq!(
            MAX_BATCH_BYTES
                .read(Some(100.0), "100")
                .unwrap_err()
                .to_string(),
            "Threadline init: maxBatchBytes: expected a number of bytes from 1024 to 1048576, got 100"
        );
        assert!(MAX_BATCH_EVENTS.read(Some(0.0), "0").is_err());
        assert!(MAX_QUEUE_BYTES.read(Some(1e9), "1e9").is_err());
        assert_eq!(MAX_STORAGE_BYTES.read(Some(0.0), "0"), Ok(0));
    }

    #[test]
    fn a_second_init_is_compared_setting_by_setting() {
        let first = Config::default();
        let same = Config::default();
        assert_eq!(first.fingerprint(&[]), same.fingerprint(&[]));
        assert!(differences(&first.fingerprint(&[]), &same.fingerprint(&[])).is_empty());
        let mut other = Config::default();
        other.propagation.header = "X-Other".into();
        other.propagate_to = vec![OriginPattern::parse("https://*.shop.test").unwrap()];
        let running = first.fingerprint(&[]);
        let wanted = other.fingerprint(&["/^https:\\/\\/api$/".into()]);
        assert!(
            wanted.contains("propagateTo=https://*.shop.test /^https:\\/\\/api$/ \n"),
            "{wanted}"
        );
        assert_eq!(differences(&running, &wanted), ["propagateTo", "header"]);
        let message = already_running(&["propagateTo", "header"]).to_string();
        assert!(
            message.contains("other options (propagateTo, header)"),
            "{message}"
        );
        assert!(message.starts_with("Threadline init: "));
    }
}
