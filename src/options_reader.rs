//! Reads the options `init` was given into a validated [`Config`]: which option sets what, what
//! each accepts, and the error naming the option and what was expected. The page's values reach
//! it through [`OptionValue`], which the web shell implements for JavaScript values and native
//! tests for their own, so every rule is tested without a browser.

use alloc::string::String;
use alloc::vec::Vec;

use crate::allowlist::OriginPattern;
#[cfg(not(feature = "events"))]
use crate::options::is_event_option;
use crate::options::{
    Config, NumberRule, OptionError, RETRY_WINDOW, SEND_SESSION_EXPECTED, SESSION_IDLE,
    SESSION_MAX, check_option_name,
};
use crate::propagation::{SessionTo, is_settable_header_name};
use crate::text::{concat, decimal};
#[cfg(feature = "events")]
use crate::{
    event::Severity,
    options::{
        FLUSH_INTERVAL, LEVEL_EXPECTED, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_QUEUE_BYTES,
        MAX_STORAGE_BYTES, UPLOAD_TIMEOUT,
    },
    origin::Origin,
    redact::Redactor,
};

/// One option's value as the page gave it.
pub trait OptionValue: Sized {
    /// Whether it is absent (`undefined` or `null`): the default stands.
    fn is_absent(&self) -> bool;
    /// The text, if it is a string.
    fn text(&self) -> Option<String>;
    /// The value, if it is a boolean.
    fn boolean(&self) -> Option<bool>;
    /// The value, if it is a number.
    fn number(&self) -> Option<f64>;
    /// The entries of an array, in order.
    type Items: Iterator<Item = Self>;
    /// What the page runs a `RegExp` entry of `propagateTo` as.
    type Pattern;
    /// The entries, if it is an array.
    fn items(&self) -> Option<Self::Items>;
    /// The pattern, if it is a `RegExp` (which only the page can run).
    fn pattern(&self) -> Option<Self::Pattern>;
    /// A short description for an error message: `"api.shop.com"`, `42`, `an array`.
    fn describe(&self) -> String;
    /// The description of a text, as [`OptionValue::describe`] gives it for a string.
    fn describe_text(text: &str) -> String;
}

/// The options read: the config, and the `RegExp` entries of `propagateTo`.
pub struct ReadOptions<P> {
    /// The validated settings.
    pub config: Config,
    /// The `RegExp` entries of `propagateTo`, in order.
    pub regexes: Vec<P>,
}

const HEADER_EXPECTED: &str = "a header name a page may set, such as \"X-Correlation-ID\"";
#[cfg(feature = "events")]
const ENDPOINT_EXPECTED: &str = "an http(s) URL such as \"https://collector.example.com/v1/logs\"";

/// Reads the options' `(name, value)` entries in order; `resolve` makes the `endpoint` absolute
/// against the page's URL (`None`: not a URL).
#[cfg_attr(not(feature = "events"), allow(unused_variables))]
pub fn read_options<V: OptionValue>(
    entries: impl IntoIterator<Item = (String, V)>,
    resolve: impl Fn(&str) -> Option<String>,
) -> Result<ReadOptions<V::Pattern>, OptionError> {
    let mut out = ReadOptions {
        config: Config::default(),
        regexes: Vec::new(),
    };
    let config = &mut out.config;
    let mut session_to = None;
    for (name, value) in entries {
        if value.is_absent() {
            // Absent: the default stands, but a misspelt name is still an error.
            check_option_name(&name)?;
            continue;
        }
        #[cfg(not(feature = "events"))]
        if is_event_option(&name) {
            return Err(OptionError::events_only(&name));
        }
        let value = &value;
        match name.as_str() {
            #[cfg(feature = "events")]
            "endpoint" => config.endpoint = Some(read_endpoint(value, &resolve)?),
            #[cfg(feature = "events")]
            "service" => {
                config.service =
                    read_text(value, "service", "a non-empty service name such as \"web\"")?
            }
            "header" => {
                let header = read_text(value, "header", HEADER_EXPECTED)?;
                if !is_settable_header_name(&header) {
                    return Err(bad("header", HEADER_EXPECTED, value));
                }
                config.propagation.header = header;
            }
            "traceparent" => config.propagation.traceparent = read_bool(value, "traceparent")?,
            "sameOrigin" => config.same_origin = read_bool(value, "sameOrigin")?,
            "autoActions" => config.auto_actions = read_bool(value, "autoActions")?,
            "retryWindowSeconds" => config.retry_window = read_number(value, &RETRY_WINDOW)?,
            "sessionIdleMinutes" => config.session.idle = read_number(value, &SESSION_IDLE)?,
            "sessionMaxHours" => config.session.max_age = read_number(value, &SESSION_MAX)?,
            #[cfg(feature = "events")]
            "minLevel" => {
                config.min_level = value
                    .text()
                    .and_then(|level| Severity::parse(&level))
                    .ok_or_else(|| bad("minLevel", LEVEL_EXPECTED, value))?
            }
            #[cfg(feature = "events")]
            "maxBatchEvents" => config.limits.max_events = read_size(value, &MAX_BATCH_EVENTS)?,
            #[cfg(feature = "events")]
            "maxBatchBytes" => config.limits.max_bytes = read_size(value, &MAX_BATCH_BYTES)?,
            #[cfg(feature = "events")]
            "flushIntervalMs" => {
                config.limits.flush_interval = read_number(value, &FLUSH_INTERVAL)?
            }
            #[cfg(feature = "events")]
            "maxQueueBytes" => config.limits.max_queue_bytes = read_size(value, &MAX_QUEUE_BYTES)?,
            #[cfg(feature = "events")]
            "maxStorageBytes" => config.max_storage_bytes = read_size(value, &MAX_STORAGE_BYTES)?,
            #[cfg(feature = "events")]
            "captureErrors" => config.capture_errors = read_bool(value, "captureErrors")?,
            #[cfg(feature = "events")]
            "captureConsole" => config.capture_console = read_bool(value, "captureConsole")?,
            #[cfg(feature = "events")]
            "keepQueryString" => config.keep_query = read_bool(value, "keepQueryString")?,
            #[cfg(feature = "events")]
            "redactKeys" => config.redactor = read_redact_keys(value)?,
            #[cfg(feature = "events")]
            "uploadTimeoutMs" => config.upload_timeout = read_number(value, &UPLOAD_TIMEOUT)?,
            "sendSession" => {
                session_to = Some(match (value.text().as_deref(), value.boolean()) {
                    (Some("same-origin"), _) => SessionTo::SameOrigin,
                    (Some("all"), _) => SessionTo::All,
                    (_, Some(false)) => SessionTo::Nowhere,
                    _ => return Err(bad("sendSession", SEND_SESSION_EXPECTED, value)),
                })
            }
            "sessionHeader" => {
                const EXPECTED: &str = "a header name a page may set, such as \"X-Session-ID\"";
                let name = read_text(value, "sessionHeader", EXPECTED)?;
                if !is_settable_header_name(&name) || name.eq_ignore_ascii_case("baggage") {
                    return Err(bad("sessionHeader", EXPECTED, value));
                }
                config.propagation.session_header = Some(name);
            }
            "userInBaggage" => {
                config.propagation.user_in_baggage = read_bool(value, "userInBaggage")?
            }
            "propagateTo" => {
                let Some(items) = value.items() else {
                    return Err(bad("propagateTo", "an array of origins or RegExps", value));
                };
                read_propagate_to::<V>(items, config, &mut out.regexes)?
            }
            _ => return Err(OptionError::unknown(&name)),
        }
    }
    // With `traceparent: true` the session has always gone wherever the trace goes.
    let propagation = &mut config.propagation;
    propagation.session_to = session_to.unwrap_or(if propagation.traceparent {
        SessionTo::All
    } else {
        SessionTo::SameOrigin
    });
    if propagation
        .session_header
        .as_ref()
        .is_some_and(|h| h.eq_ignore_ascii_case(&propagation.header))
    {
        return Err(OptionError::expected(
            "sessionHeader",
            "a header name other than the correlation header's",
            &V::describe_text(&propagation.header),
        ));
    }
    Ok(out)
}

/// `option` held `value` where `expected` was wanted.
#[cold]
#[inline(never)]
fn bad<V: OptionValue>(option: &str, expected: &str, value: &V) -> OptionError {
    OptionError::expected(option, expected, &value.describe())
}

fn read_propagate_to<V: OptionValue>(
    items: V::Items,
    config: &mut Config,
    regexes: &mut Vec<V::Pattern>,
) -> Result<(), OptionError> {
    for (i, entry) in items.enumerate() {
        let option = || concat(&["propagateTo[", &decimal(i as u64), "]"]);
        if let Some(text) = entry.text() {
            let pattern =
                OriginPattern::parse(&text).map_err(|expected| bad(&option(), expected, &entry))?;
            config.propagate_to.push(pattern);
        } else if let Some(pattern) = entry.pattern() {
            regexes.push(pattern);
        } else {
            return Err(bad(&option(), "an origin string or a RegExp", &entry));
        }
    }
    Ok(())
}

#[cfg(feature = "events")]
fn read_endpoint<V: OptionValue>(
    value: &V,
    resolve: &impl Fn(&str) -> Option<String>,
) -> Result<String, OptionError> {
    value
        .text()
        .filter(|t| !t.trim_ascii().is_empty())
        .and_then(|text| resolve(&text))
        .filter(|href| Origin::parse_url(href).is_some())
        .ok_or_else(|| bad("endpoint", ENDPOINT_EXPECTED, value))
}

fn read_text<V: OptionValue>(
    value: &V,
    option: &str,
    expected: &str,
) -> Result<String, OptionError> {
    value
        .text()
        .filter(|text| !text.is_empty() && text.len() <= 256)
        .ok_or_else(|| bad(option, expected, value))
}

fn read_bool<V: OptionValue>(value: &V, option: &str) -> Result<bool, OptionError> {
    value
        .boolean()
        .ok_or_else(|| bad(option, "true or false", value))
}

fn read_number<V: OptionValue>(value: &V, rule: &NumberRule) -> Result<u64, OptionError> {
    rule.read(value.number(), &value.describe())
}

#[cfg(feature = "events")]
fn read_size<V: OptionValue>(value: &V, rule: &NumberRule) -> Result<usize, OptionError> {
    // Every rule's maximum fits in 32 bits.
    read_number(value, rule).map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

#[cfg(feature = "events")]
fn read_redact_keys<V: OptionValue>(value: &V) -> Result<Redactor, OptionError> {
    const EXPECTED: &str = "an array of key fragments such as [\"password\", \"ssn\"]";
    let Some(items) = value.items() else {
        return Err(bad("redactKeys", EXPECTED, value));
    };
    let mut words = Vec::new();
    for entry in items {
        match entry.text().filter(|w| !w.is_empty()) {
            Some(word) => words.push(word),
            None => return Err(bad("redactKeys", EXPECTED, &entry)),
        }
    }
    Ok(Redactor::new(words.iter().map(String::as_str)))
}
