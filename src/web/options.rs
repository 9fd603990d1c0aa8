//! Reads the JavaScript options object into a validated [`Config`]; every refusal names the
//! option and what was expected.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::{Array, Object, Reflect, RegExp};
use wasm_bindgen::{JsCast, JsValue};

use crate::allowlist::OriginPattern;
use crate::options::{
    Config, DurationRule, OptionError, RETRY_WINDOW, SESSION_IDLE, SESSION_MAX, check_option_name,
};
use crate::origin::Origin;
use crate::propagation::is_settable_header_name;
use crate::web::glue::{describe, is_options_object, stateless_regexp};

/// Validated options: the core's config plus the `RegExp` entries of `propagateTo`.
pub(crate) struct WebOptions {
    pub config: Config,
    pub regexes: Vec<RegExp>,
}

/// Reads `options` (undefined means all defaults); `page_url` resolves a relative `endpoint`.
pub(crate) fn read_options(options: &JsValue, page_url: &str) -> Result<WebOptions, OptionError> {
    let mut out = WebOptions {
        config: Config::default(),
        regexes: Vec::new(),
    };
    if options.is_undefined() {
        return Ok(out);
    }
    if !is_options_object(options) {
        return Err(OptionError::expected(
            "options",
            "an object such as { propagateTo: [\"https://api.example.com\"] }",
            &describe(options),
        ));
    }
    for key in Object::keys(options.unchecked_ref::<Object>()).iter() {
        check_option_name(&key.as_string().unwrap_or_default())?;
    }
    // `null` counts as absent, like `undefined`.
    let get = |name: &str| {
        Reflect::get(options, &JsValue::from_str(name))
            .ok()
            .filter(|v| !v.is_null())
            .unwrap_or(JsValue::UNDEFINED)
    };
    let config = &mut out.config;

    let endpoint = get("endpoint");
    if !endpoint.is_undefined() {
        config.endpoint = Some(read_endpoint(&endpoint, page_url)?);
    }
    if let Some(service) = read_string(
        &get("service"),
        "service",
        "a non-empty service name such as \"web\"",
    )? {
        config.service = service;
    }
    if let Some(header) = read_string(&get("header"), "header", HEADER_EXPECTED)? {
        if !is_settable_header_name(&header) {
            return Err(OptionError::expected(
                "header",
                HEADER_EXPECTED,
                &describe(&JsValue::from(header)),
            ));
        }
        config.propagation.header = header;
    }
    read_bool(
        &get("traceparent"),
        "traceparent",
        &mut config.propagation.traceparent,
    )?;
    read_bool(&get("sameOrigin"), "sameOrigin", &mut config.same_origin)?;
    read_bool(&get("autoActions"), "autoActions", &mut config.auto_actions)?;
    read_duration(
        &get("retryWindowSeconds"),
        &RETRY_WINDOW,
        &mut config.retry_window,
    )?;
    read_duration(
        &get("sessionIdleMinutes"),
        &SESSION_IDLE,
        &mut config.session.idle,
    )?;
    read_duration(
        &get("sessionMaxHours"),
        &SESSION_MAX,
        &mut config.session.max_age,
    )?;

    let propagate_to = get("propagateTo");
    if !propagate_to.is_undefined() {
        if !Array::is_array(&propagate_to) {
            return Err(OptionError::expected(
                "propagateTo",
                "an array of origins or RegExps",
                &describe(&propagate_to),
            ));
        }
        for (i, entry) in Array::from(&propagate_to).iter().enumerate() {
            let option =
                crate::text::concat(&["propagateTo[", &crate::text::decimal(i as u64), "]"]);
            if let Some(text) = entry.as_string() {
                let pattern = OriginPattern::parse(&text).map_err(|expected| {
                    OptionError::expected(&option, expected, &describe(&entry))
                })?;
                config.propagate_to.push(pattern);
            } else if entry.is_instance_of::<RegExp>() {
                out.regexes.push(stateless_regexp(&entry));
            } else {
                return Err(OptionError::expected(
                    &option,
                    "an origin string or a RegExp",
                    &describe(&entry),
                ));
            }
        }
    }
    Ok(out)
}

const HEADER_EXPECTED: &str = "a header name a page may set, such as \"X-Correlation-ID\"";

fn read_endpoint(value: &JsValue, page_url: &str) -> Result<String, OptionError> {
    const EXPECTED: &str = "an http(s) URL such as \"https://collector.example.com/v1/logs\"";
    let text = value
        .as_string()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| OptionError::expected("endpoint", EXPECTED, &describe(value)))?;
    web_sys::Url::new_with_base(&text, page_url)
        .ok()
        .map(|url| url.href())
        .filter(|href| Origin::parse_url(href).is_some())
        .ok_or_else(|| OptionError::expected("endpoint", EXPECTED, &describe(value)))
}

fn read_string(
    value: &JsValue,
    option: &str,
    expected: &str,
) -> Result<Option<String>, OptionError> {
    if value.is_undefined() {
        return Ok(None);
    }
    match value.as_string() {
        Some(text) if !text.is_empty() && text.len() <= 256 => Ok(Some(text)),
        _ => Err(OptionError::expected(option, expected, &describe(value))),
    }
}

fn read_bool(value: &JsValue, option: &str, slot: &mut bool) -> Result<(), OptionError> {
    if value.is_undefined() {
        return Ok(());
    }
    *slot = value
        .as_bool()
        .ok_or_else(|| OptionError::expected(option, "true or false", &describe(value)))?;
    Ok(())
}

fn read_duration(value: &JsValue, rule: &DurationRule, slot: &mut u64) -> Result<(), OptionError> {
    if value.is_undefined() {
        return Ok(());
    }
    *slot = rule.to_millis(value.as_f64(), &describe(value))?;
    Ok(())
}
