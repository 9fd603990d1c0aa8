//! The two credentials: the read token opens the reading door (search API and page data), the
//! write token marks what a backend sends. Each comes from an environment variable, else a file
//! (generated with 128 random bits on first start, readable by its owner only). Checks are
//! constant-time.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use axum::http::{HeaderMap, header};
use subtle::ConstantTimeEq;

/// The cookie the login form sets.
pub const COOKIE: &str = "threadline_read";

/// Shortest token accepted from a file or the environment.
const MIN_TOKEN_LEN: usize = 16;

/// A secret a request must present.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    /// A token from its text (tests and callers that hold one already).
    pub fn new(text: impl Into<String>) -> Token {
        Token(text.into())
    }

    /// The token's text, to print or hand to a sender.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// Whether `given` is this token (constant-time in the token's content).
    pub fn matches(&self, given: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(given.as_bytes()))
    }
}

/// Where a token came from, for the start-up line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The named environment variable.
    Env(&'static str),
    /// An existing file.
    File(PathBuf),
    /// A file written now with a new token.
    Generated(PathBuf),
}

/// The token from `env` if set, else from `file`, writing a new one there if it is missing.
pub fn load(env: &'static str, file: &Path) -> Result<(Token, Source), String> {
    if let Ok(text) = std::env::var(env) {
        let text = text.trim().to_owned();
        if text.len() < MIN_TOKEN_LEN {
            return Err(format!(
                "{env}: expected at least {MIN_TOKEN_LEN} characters"
            ));
        }
        return Ok((Token(text), Source::Env(env)));
    }
    match std::fs::read_to_string(file) {
        Ok(text) => {
            let text = text.trim().to_owned();
            if text.len() < MIN_TOKEN_LEN {
                return Err(format!(
                    "{}: expected a token of at least {MIN_TOKEN_LEN} characters",
                    file.display()
                ));
            }
            Ok((Token(text), Source::File(file.to_owned())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let token = generate()?;
            write_private(file, token.reveal())
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            Ok((token, Source::Generated(file.to_owned())))
        }
        Err(e) => Err(format!("cannot read {}: {e}", file.display())),
    }
}

/// 128 random bits in hex.
fn generate() -> Result<Token, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for a token: {e}"))?;
    Ok(Token(crate::ingest::hex(&bytes)))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "{text}")
}

/// The bearer token of an `Authorization` header, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The value of the login cookie, if sent.
pub fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then_some(value)
        })
}

/// Whether a request carries the read token, as a bearer token or the login cookie.
pub fn may_read(headers: &HeaderMap, token: &Token) -> bool {
    bearer(headers)
        .into_iter()
        .chain(cookie(headers))
        .any(|given| token.matches(given))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_missing_file_gets_a_new_private_token_and_a_later_start_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("read-token");
        let (first, source) = load("THREADLINE_TEST_UNSET_TOKEN", &path).unwrap();
        assert_eq!(source, Source::Generated(path.clone()));
        assert_eq!(first.reveal().len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, source) = load("THREADLINE_TEST_UNSET_TOKEN", &path).unwrap();
        assert_eq!(source, Source::File(path.clone()));
        assert!(again.matches(first.reveal()));
        std::fs::write(&path, "short\n").unwrap();
        assert!(load("THREADLINE_TEST_UNSET_TOKEN", &path).is_err());
    }

    #[test]
    fn bearer_or_cookie_opens_the_door() {
        let token = Token::new("0123456789abcdef0123");
        let mut headers = HeaderMap::new();
        assert!(!may_read(&headers, &token));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; threadline_read=nope"),
        );
        assert!(!may_read(&headers, &token));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; threadline_read=0123456789abcdef0123"),
        );
        assert!(may_read(&headers, &token));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer 0123456789abcdef0123"),
        );
        assert!(may_read(&headers, &token));
        assert!(!token.matches("0123456789abcdef012"));
    }
}
