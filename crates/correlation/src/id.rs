//! The IDs a request carries: what a valid one looks like and how a fresh one is made.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Whether `text` is 16 to 64 letters, digits, `-` or `_`: the rule for every ID Threadline
/// accepts from the outside, the recorder's own (`threadline::id::is_acceptable_id`).
pub fn is_valid_id(text: &str) -> bool {
    threadline::id::is_acceptable_id(text)
}

/// Why a text is not an ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidId;

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an ID is 16 to 64 letters, digits, '-' or '_'")
    }
}

impl std::error::Error for InvalidId {}

/// A request's correlation ID: valid by construction (16 to 64 of `A-Z a-z 0-9 - _`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CorrelationId(String);

/// The browser session a request comes from: valid by construction, like [`CorrelationId`].
/// Only ever read from the request, never minted by the backend: a request without one has no
/// session.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionId(String);

macro_rules! id_type {
    ($name:ident) => {
        impl $name {
            /// Accepts `text` if it is 16 to 64 letters, digits, `-` or `_`.
            pub fn parse(text: &str) -> Result<$name, InvalidId> {
                if is_valid_id(text) {
                    Ok($name(text.to_owned()))
                } else {
                    Err(InvalidId)
                }
            }

            /// The ID as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(text: String) -> Result<Self, InvalidId> {
                $name::parse(&text)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

id_type!(CorrelationId);
id_type!(SessionId);

impl CorrelationId {
    /// A fresh ID: 128 bits from the OS's CSPRNG as 32 lowercase hex (a W3C trace-id). Falls
    /// back to time and a counter only if the OS has no randomness to give.
    pub fn generate() -> CorrelationId {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            bytes = fallback_bytes();
        }
        CorrelationId(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
}

fn fallback_bytes() -> [u8; 16] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let n = u128::from(COUNTER.fetch_add(1, Ordering::Relaxed));
    (nanos ^ (n << 64) | 1).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_accepted_by_length_and_alphabet() {
        for good in [
            "0af7651916cd43dd8448eb211c80319c",
            "req_0123456789ab",
            &"a-".repeat(32),
        ] {
            assert!(CorrelationId::parse(good).is_ok(), "{good}");
            assert!(SessionId::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "short",
            "0123456789abcde",
            &"a".repeat(65),
            "0af7651916cd43dd 8448eb211c80319c",
            "0af7651916cd43dd8448eb211c80319c\n",
            "<script>alert(1)</script>",
            "ünïcödé0123456789",
        ] {
            assert_eq!(CorrelationId::parse(bad), Err(InvalidId), "{bad:?}");
            assert_eq!(SessionId::parse(bad), Err(InvalidId), "{bad:?}");
        }
    }

    #[test]
    fn generated_ids_are_fresh_w3c_trace_ids() {
        let a = CorrelationId::generate();
        let b = CorrelationId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(
            a.as_str()
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert!(CorrelationId::parse(a.as_str()).is_ok());
    }
}
