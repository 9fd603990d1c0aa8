//! Keeps secrets and oversized values out of shipped events: attribute keys that look like
//! secrets have their values replaced, and long strings are cut at a character boundary with a
//! visible mark.

use alloc::string::String;
use alloc::vec::Vec;

/// What a secret's value becomes.
pub const REDACTED: &str = "[redacted]";
/// Appended to a string that was cut.
pub const TRUNCATED_MARK: &str = "…[truncated]";

/// Key fragments that mark a secret by default, matched case-insensitively anywhere in the key:
/// `password|passwd|secret|token|authorization|cookie|api[-_]?key`.
pub const DEFAULT_SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "cookie",
    "apikey",
    "api-key",
    "api_key",
];

/// Decides which attribute keys hold secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redactor {
    words: Vec<String>,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new(DEFAULT_SECRET_WORDS.iter().copied())
    }
}

impl Redactor {
    /// A redactor for these key fragments (matched case-insensitively anywhere in a key).
    pub fn new<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        Redactor {
            words: words
                .into_iter()
                .filter(|w| !w.is_empty())
                .map(str::to_ascii_lowercase)
                .collect(),
        }
    }

    /// The key fragments, in lower case.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.words.iter().map(String::as_str)
    }

    /// Whether the value under `key` must be replaced by [`REDACTED`].
    pub fn is_secret(&self, key: &str) -> bool {
        let key = key.as_bytes();
        self.words.iter().any(|word| {
            let word = word.as_bytes();
            key.windows(word.len())
                .any(|w| w.eq_ignore_ascii_case(word))
        })
    }
}

/// The longest prefix of `text` of at most `max_bytes` bytes that ends at a character boundary,
/// and whether anything was cut (the writer then appends [`TRUNCATED_MARK`]).
pub fn cut(text: &str, max_bytes: usize) -> (&str, bool) {
    if text.len() <= max_bytes {
        return (text, false);
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) && end > 0 {
        end -= 1;
    }
    (text.get(..end).unwrap_or(""), true)
}

/// `text` cut to at most `max_bytes` bytes plus [`TRUNCATED_MARK`] if it was longer.
pub fn truncate(text: &str, max_bytes: usize) -> String {
    let (kept, was_cut) = cut(text, max_bytes);
    let mut out = String::with_capacity(kept.len() + TRUNCATED_MARK.len());
    out.push_str(kept);
    if was_cut {
        out.push_str(TRUNCATED_MARK);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_words_catch_common_secret_keys() {
        let r = Redactor::default();
        for key in [
            "password",
            "userPassword",
            "PASSWD",
            "client_secret",
            "accessToken",
            "Authorization",
            "set-cookie",
            "apiKey",
            "x-api-key",
            "API_KEY",
        ] {
            assert!(r.is_secret(key), "{key}");
        }
        for key in [
            "user",
            "email",
            "total",
            "api",
            "key",
            "tokens_remaining_is_fine?",
        ] {
            assert_eq!(r.is_secret(key), key.contains("token"), "{key}");
        }
    }

    #[test]
    fn custom_words_replace_the_defaults() {
        let r = Redactor::new(["ssn", "", "CardNumber"]);
        assert!(r.is_secret("customer.SSN"));
        assert!(r.is_secret("cardnumber"));
        assert!(!r.is_secret("password"));
    }

    #[test]
    fn truncation_keeps_whole_characters_and_marks_the_cut() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("abcdef", 3), "abc…[truncated]");
        // "é" is two bytes: a cut inside it backs off to the boundary before it.
        assert_eq!(truncate("aé", 2), "a…[truncated]");
        assert_eq!(cut("aé", 2), ("a", true));
        assert_eq!(cut("aé", 3), ("aé", false));
        let huge = "x".repeat(1 << 20);
        assert_eq!(truncate(&huge, 8_192).len(), 8_192 + TRUNCATED_MARK.len());
    }
}
