//! Reads the JavaScript options object for the core's reader (`options_reader`), which holds
//! every rule and message: this file only says what a JavaScript value is.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::{Array, Object, Reflect, RegExp};
use wasm_bindgen::{JsCast, JsValue};

use crate::options::{Config, OptionError};
use crate::options_reader::{OptionValue, read_options as read_entries};
use crate::web::glue::{describe, is_options_object, stateless_regexp};

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

impl OptionValue for JsValue {
    fn is_absent(&self) -> bool {
        self.is_undefined() || self.is_null()
    }

    fn text(&self) -> Option<String> {
        self.as_string()
    }

    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }

    fn number(&self) -> Option<f64> {
        self.as_f64()
    }

    type Items = js_sys::ArrayIntoIter;
    type Pattern = RegExp;

    fn items(&self) -> Option<js_sys::ArrayIntoIter> {
        Array::is_array(self).then(|| Array::from(self).into_iter())
    }

    fn pattern(&self) -> Option<RegExp> {
        self.is_instance_of::<RegExp>()
            .then(|| stateless_regexp(self))
    }

    fn describe(&self) -> String {
        describe(self)
    }

    fn describe_text(text: &str) -> String {
        describe(&JsValue::from_str(text))
    }
}

/// Reads `options` (undefined means all defaults; `null` values count as absent); `page_url`
/// resolves a relative `endpoint`.
pub(crate) fn read_options(options: &JsValue, page_url: &str) -> Result<WebOptions, OptionError> {
    if !options.is_undefined() && !is_options_object(options) {
        return Err(OptionError::expected(
            "options",
            "an object such as { propagateTo: [\"https://api.example.com\"] }",
            &describe(options),
        ));
    }
    // No options: no entries, every default (`Object.keys(undefined)` would throw).
    let keys = if options.is_undefined() {
        Array::new()
    } else {
        Object::keys(options.unchecked_ref::<Object>())
    };
    let entries = keys.into_iter().map(|key| {
        let value = Reflect::get(options, &key).unwrap_or(JsValue::UNDEFINED);
        (key.as_string().unwrap_or_default(), value)
    });
    let resolve = |text: &str| {
        web_sys::Url::new_with_base(text, page_url)
            .ok()
            .map(|url| url.href())
    };
    let read = read_entries(entries, resolve)?;
    Ok(WebOptions {
        config: read.config,
        regexes: read.regexes,
    })
}
