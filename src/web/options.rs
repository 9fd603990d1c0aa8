//! Reads the JavaScript options object into a validated [`Config`]; every refusal names the
//! option and what was expected. The rules and the wording live in the core (`options`,
//! `allowlist`, `propagation`); this file only reads JavaScript values.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::{Array, Object, Reflect, RegExp};
use wasm_bindgen::{JsCast, JsValue};

use crate::allowlist::OriginPattern;
#[cfg(not(feature = "events"))]
use crate::options::is_event_option;
use crate::options::{
    Config, NumberRule, OptionError, RETRY_WINDOW, SEND_SESSION_EXPECTED, SESSION_IDLE,
    SESSION_MAX, check_option_name,
};
use crate::propagation::{SessionTo, is_settable_header_name};
use crate::text::{concat, decimal};
use crate::web::glue::{describe, is_options_object, stateless_regexp};
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

/// Validated options: the core's config plus the `RegExp` entries of `propagateTo`.
pub(crate) struct WebOptions {
    pub config: Config,
    pub regexes: Vec<RegExp>,
}

impl WebOptions {
    /// The settings as text, to compare a second `init` with the first (see
    /// [`Config::fingerprint`]).
    pub fn fingerprint(&self) -> String {
        let regexes: Vec<String> = self
            .regexes
            .iter()
            .map(|re| String::from(re.to_string()))
            .collect();
        self.config.fingerprint(&regexes)
    }
}

const HEADER_EXPECTED: &str = "a header name a page may set, such as \"X-Correlation-ID\"";
#[cfg(feature = "events")]
const ENDPOINT_EXPECTED: &str = "an http(s) URL such as \"https://collector.example.com/v1/logs\"";

/// Reads `options` (undefined means all defaults; `null` values count as absent); `page_url`
/// resolves a relative `endpoint`.
#[cfg_attr(not(feature = "events"), allow(unused_variables))]
pub(crate) fn read_options(options: &JsValue, page_url: &str) -> Result<WebOptions, OptionError> {
    let mut out = WebOptions {
        config: Config::default(),
        regexes: Vec::new(),
    };
    if options.is_undefined() {
        return Ok(out);
    }
    if !is_options_object(options) {
        return Err(bad(
            "options",
            "an object such as { propagateTo: [\"https://api.example.com\"] }",
            options,
        ));
    }
    let config = &mut out.config;
    let mut session_to = None;
    for key in Object::keys(options.unchecked_ref::<Object>()).iter() {
        let name = key.as_string().unwrap_or_default();
        let value = Reflect::get(options, &key).unwrap_or(JsValue::UNDEFINED);
        if value.is_undefined() || value.is_null() {
            // Absent: the default stands, but a misspelt name is still an error.
            check_option_name(&name)?;
            continue;
        }
        #[cfg(not(feature = "events"))]
        if is_event_option(&name) {
            return Err(OptionError::events_only(&name));
        }
        match name.as_str() {
            #[cfg(feature = "events")]
            "endpoint" => config.endpoint = Some(read_endpoint(&value, page_url)?),
            #[cfg(feature = "events")]
            "service" => {
                config.service = read_text(
                    &value,
                    "service",
                    "a non-empty service name such as \"web\"",
                )?
            }
            "header" => {
                let header = read_text(&value, "header", HEADER_EXPECTED)?;
                if !is_settable_header_name(&header) {
                    return Err(bad("header", HEADER_EXPECTED, &value));
                }
                config.propagation.header = header;
            }
            "traceparent" => config.propagation.traceparent = read_bool(&value, "traceparent")?,
            "sameOrigin" => config.same_origin = read_bool(&value, "sameOrigin")?,
            "autoActions" => config.auto_actions = read_bool(&value, "autoActions")?,
            "retryWindowSeconds" => config.retry_window = read_number(&value, &RETRY_WINDOW)?,
            "sessionIdleMinutes" => config.session.idle = read_number(&value, &SESSION_IDLE)?,
            "sessionMaxHours" => config.session.max_age = read_number(&value, &SESSION_MAX)?,
            #[cfg(feature = "events")]
            "minLevel" => {
                config.min_level = value
                    .as_string()
                    .and_then(|level| Severity::parse(&level))
                    .ok_or_else(|| bad("minLevel", LEVEL_EXPECTED, &value))?
            }
            #[cfg(feature = "events")]
            "maxBatchEvents" => config.limits.max_events = read_size(&value, &MAX_BATCH_EVENTS)?,
            #[cfg(feature = "events")]
            "maxBatchBytes" => config.limits.max_bytes = read_size(&value, &MAX_BATCH_BYTES)?,
            #[cfg(feature = "events")]
            "flushIntervalMs" => {
                config.limits.flush_interval = read_number(&value, &FLUSH_INTERVAL)?
            }
            #[cfg(feature = "events")]
            "maxQueueBytes" => config.limits.max_queue_bytes = read_size(&value, &MAX_QUEUE_BYTES)?,
            #[cfg(feature = "events")]
            "maxStorageBytes" => config.max_storage_bytes = read_size(&value, &MAX_STORAGE_BYTES)?,
            #[cfg(feature = "events")]
            "captureErrors" => config.capture_errors = read_bool(&value, "captureErrors")?,
            #[cfg(feature = "events")]
            "captureConsole" => config.capture_console = read_bool(&value, "captureConsole")?,
            #[cfg(feature = "events")]
            "keepQueryString" => config.keep_query = read_bool(&value, "keepQueryString")?,
            #[cfg(feature = "events")]
            "redactKeys" => config.redactor = read_redact_keys(&value)?,
            #[cfg(feature = "events")]
            "uploadTimeoutMs" => config.upload_timeout = read_number(&value, &UPLOAD_TIMEOUT)?,
            "sendSession" => {
                session_to = Some(match (value.as_string().as_deref(), value.as_bool()) {
                    (Some("same-origin"), _) => SessionTo::SameOrigin,
                    (Some("all"), _) => SessionTo::All,
                    (_, Some(false)) => SessionTo::Nowhere,
                    _ => return Err(bad("sendSession", SEND_SESSION_EXPECTED, &value)),
                })
            }
            "sessionHeader" => {
                const EXPECTED: &str = "a header name a page may set, such as \"X-Session-ID\"";
                let name = read_text(&value, "sessionHeader", EXPECTED)?;
                if !is_settable_header_name(&name) || name.eq_ignore_ascii_case("baggage") {
                    return Err(bad("sessionHeader", EXPECTED, &value));
                }
                config.propagation.session_header = Some(name);
            }
            "userInBaggage" => {
                config.propagation.user_in_baggage = read_bool(&value, "userInBaggage")?
            }
            "propagateTo" => read_propagate_to(&value, config, &mut out.regexes)?,
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
            &describe(&JsValue::from_str(propagation.header.as_str())),
        ));
    }
    Ok(out)
}

/// `option` held `value` where `expected` was wanted.
#[cold]
#[inline(never)]
fn bad(option: &str, expected: &str, value: &JsValue) -> OptionError {
    OptionError::expected(option, expected, &describe(value))
}

fn read_propagate_to(
    value: &JsValue,
    config: &mut Config,
    regexes: &mut Vec<RegExp>,
) -> Result<(), OptionError> {
    if !Array::is_array(value) {
        return Err(bad("propagateTo", "an array of origins or RegExps", value));
    }
    for (i, entry) in Array::from(value).iter().enumerate() {
        let option = || concat(&["propagateTo[", &decimal(i as u64), "]"]);
        if let Some(text) = entry.as_string() {
            let pattern =
                OriginPattern::parse(&text).map_err(|expected| bad(&option(), expected, &entry))?;
            config.propagate_to.push(pattern);
        } else if entry.is_instance_of::<RegExp>() {
            regexes.push(stateless_regexp(&entry));
        } else {
            return Err(bad(&option(), "an origin string or a RegExp", &entry));
        }
    }
    Ok(())
}

#[cfg(feature = "events")]
fn read_endpoint(value: &JsValue, page_url: &str) -> Result<String, OptionError> {
    value
        .as_string()
        .filter(|t| !t.trim_ascii().is_empty())
        .and_then(|text| web_sys::Url::new_with_base(&text, page_url).ok())
        .map(|url| url.href())
        .filter(|href| Origin::parse_url(href).is_some())
        .ok_or_else(|| bad("endpoint", ENDPOINT_EXPECTED, value))
}

fn read_text(value: &JsValue, option: &str, expected: &str) -> Result<String, OptionError> {
    value
        .as_string()
        .filter(|text| !text.is_empty() && text.len() <= 256)
        .ok_or_else(|| bad(option, expected, value))
}

fn read_bool(value: &JsValue, option: &str) -> Result<bool, OptionError> {
    value
        .as_bool()
        .ok_or_else(|| bad(option, "true or false", value))
}

fn read_number(value: &JsValue, rule: &NumberRule) -> Result<u64, OptionError> {
    rule.read(value.as_f64(), &describe(value))
}

#[cfg(feature = "events")]
fn read_size(value: &JsValue, rule: &NumberRule) -> Result<usize, OptionError> {
    // Every rule's maximum fits in 32 bits.
    read_number(value, rule).map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

#[cfg(feature = "events")]
fn read_redact_keys(value: &JsValue) -> Result<Redactor, OptionError> {
    const EXPECTED: &str = "an array of key fragments such as [\"password\", \"ssn\"]";
    if !Array::is_array(value) {
        return Err(bad("redactKeys", EXPECTED, value));
    }
    let mut words = Vec::new();
    for entry in Array::from(value).iter() {
        match entry.as_string().filter(|w| !w.is_empty()) {
            Some(word) => words.push(word),
            None => return Err(bad("redactKeys", EXPECTED, &entry)),
        }
    }
    Ok(Redactor::new(words.iter().map(String::as_str)))
}
