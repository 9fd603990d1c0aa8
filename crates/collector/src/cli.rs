//! The command line: where to listen, where the SQLite file and the credentials are, which page
//! origins may send events (CORS), how long records are kept, and every bound and timeout.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::ingest::Limits;
use crate::limits::Rate;
use crate::search::PageLimits;

/// What `--help` prints.
pub const HELP: &str = "\
threadline-collector: receives OTLP/HTTP logs and traces and finds a whole story by one ID

USAGE:
    threadline-collector [OPTIONS]

OPTIONS:
    --listen ADDR:PORT        where to listen (default 127.0.0.1:4318, the OTLP/HTTP port)
    --db PATH|URL             the SQLite file (default threadline.sqlite; created if missing),
                              or a PostgreSQL database, postgres://user[:password]@host:port/db,
                              which any number of collectors may share
    --cors-origin ORIGIN      a page origin allowed to send events, such as
                              https://shop.example.com; repeatable; * allows any (local use).
                              Never granted on the reading door.
    --retention-days N        records older than N days are removed (default 7)
    --read-token-file PATH    the read token (default DB.read-token, or threadline.read-token
                              in the working directory with PostgreSQL; written with a new
                              token if missing); THREADLINE_READ_TOKEN overrides it
    --write-token-file PATH   the write token backends send as Authorization: Bearer (default
                              DB.write-token, or threadline.write-token with PostgreSQL;
                              written if missing); THREADLINE_WRITE_TOKEN overrides it
    --trust-proxy             take the client address from X-Forwarded-For and https from
                              X-Forwarded-Proto (only behind a proxy that sets them)
    --header-timeout SECS     time to send a request's headers, counted from when the
                              connection is ready for it (default 10)
    --body-timeout SECS       time to send a request's body (default 30)
    --idle-timeout SECS       an open connection with no request in it is closed after this
                              (default 5)
    --max-connections N       connections served at once; more are closed at once (default 1024)
    --client-rate N           requests per second per client address without a credential
                              (default 20)
    --client-burst N          burst of the same (default 100)
    --origin-rate N           requests per second per page origin without a credential
                              (default 1000)
    --origin-burst N          burst of the same (default 5000)
    --max-body-bytes N        largest body, also once decompressed (default 5242880)
    --max-buffered-bytes N    body bytes held by all requests at once; past it 503 (default
                              67108864)
    --max-client-buffered-bytes N
                              the same for one client address without a credential (default
                              16777216)
    --max-records N           log records or spans per request (default 2000)
    --max-attributes N        attributes per record, span or resource (default 128)
    --max-depth N             nesting of arrays and kvlists in one value (default 8)
    --search-rows N           rows per search page (default 2000)
    --search-bytes N          bytes of rows per search page (default 4194304)
    --write-queue N           ingestion requests waiting to be written at most; past it 503
                              with Retry-After (default 1024)
    -h, --help                print this help

ENDPOINTS (ingestion, open, CORS for --cors-origin):
    POST /v1/logs             OTLP/HTTP logs: application/json, text/plain (browser beacons) or
                              application/x-protobuf; Content-Encoding gzip, deflate or none
    POST /v1/traces           OTLP/HTTP traces, the same encodings
    POST /v1/metrics          accepted and answered as OTLP asks; metrics are not kept
ENDPOINTS (reading, with the read token as a bearer token or the login cookie, no CORS):
    GET  /api/search?id=ID    one page of the story of a correlation, trace or session ID
    POST /api/login           token=…: sets the login cookie; POST /api/logout clears it
    GET  /                    the search page (asks for the read token once)
";

/// Parsed command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The SQLite file.
    pub db: PathBuf,
    /// Origins allowed by CORS on the ingestion door; `*` allows any.
    pub cors_origins: Vec<String>,
    /// Days records are kept.
    pub retention_days: u32,
    /// The read token's file; `None`: beside the database.
    pub read_token_file: Option<PathBuf>,
    /// The write token's file; `None`: beside the database.
    pub write_token_file: Option<PathBuf>,
    /// Trust `X-Forwarded-For` and `X-Forwarded-Proto`.
    pub trust_proxy: bool,
    /// Connection timeouts and cap.
    pub connections: Connections,
    /// Rate per client address without a credential.
    pub client_rate: Rate,
    /// Rate per page origin without a credential.
    pub origin_rate: Rate,
    /// Bounds on one request.
    pub limits: Limits,
    /// Body bytes all requests may hold at once.
    pub max_buffered_bytes: usize,
    /// Body bytes one client without a credential may hold at once.
    pub max_client_buffered_bytes: usize,
    /// Bounds on one search page.
    pub page: PageLimits,
    /// Requests waiting for the writer at most; past it 503.
    pub write_queue: usize,
}

/// Timeouts and the connection cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connections {
    /// Until a request's headers are complete, from when the connection is ready for it.
    pub header_timeout: Duration,
    /// Until a request's body is complete.
    pub body_timeout: Duration,
    /// A connection with no request in it and nothing moving is closed after this.
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for Connections {
    fn default() -> Self {
        Connections {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(5),
            max_connections: 1024,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 4318)),
            db: PathBuf::from("threadline.sqlite"),
            cors_origins: Vec::new(),
            retention_days: 7,
            read_token_file: None,
            write_token_file: None,
            trust_proxy: false,
            connections: Connections::default(),
            client_rate: Rate {
                per_second: 20,
                burst: 100,
            },
            origin_rate: Rate {
                per_second: 1000,
                burst: 5000,
            },
            limits: Limits::default(),
            max_buffered_bytes: 64 * 1024 * 1024,
            max_client_buffered_bytes: 16 * 1024 * 1024,
            page: PageLimits::default(),
            write_queue: 1024,
        }
    }
}

impl Settings {
    /// The read token's file: the flag's, else beside the database.
    pub fn read_token_path(&self) -> PathBuf {
        self.read_token_file
            .clone()
            .unwrap_or_else(|| beside(&self.db, "read-token"))
    }

    /// The write token's file: the flag's, else beside the database.
    pub fn write_token_path(&self) -> PathBuf {
        self.write_token_file
            .clone()
            .unwrap_or_else(|| beside(&self.db, "write-token"))
    }
}

/// `DB.suffix` beside the database file; for a PostgreSQL database, `threadline.suffix` in the
/// working directory.
fn beside(db: &std::path::Path, suffix: &str) -> PathBuf {
    if crate::store::is_postgres(db) {
        return PathBuf::from(format!("threadline.{suffix}"));
    }
    let mut name = db.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Run with these settings.
    Run(Box<Settings>),
    /// Print [`HELP`].
    Help,
}

/// A whole number from `low` to `high`, or an error naming the flag.
fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    flag: &str,
    text: &str,
    low: T,
    high: T,
) -> Result<T, String> {
    text.parse()
        .ok()
        .filter(|n| *n >= low && *n <= high)
        .ok_or_else(|| format!("{flag}: expected a number from {low} to {high}, got {text:?}"))
}

/// Seconds (fractions allowed) from 0.05 to one hour, or an error naming the flag.
fn seconds(flag: &str, text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| (0.05..=3600.0).contains(s))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{flag}: expected seconds from 0.05 to 3600, got {text:?}"))
}

/// Reads the arguments (without the program name). Errors name the flag and what was expected.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut s = Settings::default();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = |expected: &str| {
            args.next()
                .ok_or_else(|| format!("{flag}: expected {expected}"))
        };
        const BIG: usize = 1 << 40;
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--listen" => {
                let text = value("ADDR:PORT, such as 127.0.0.1:4318")?;
                s.listen = text.parse().map_err(|_| {
                    format!("--listen: expected ADDR:PORT, such as 127.0.0.1:4318, got {text:?}")
                })?;
            }
            "--db" => s.db = PathBuf::from(value("a file path or a postgres:// URL")?),
            "--cors-origin" => {
                let origin = value("an origin such as https://shop.example.com, or *")?;
                if origin != "*" && !is_origin(&origin) {
                    return Err(format!(
                        "--cors-origin: expected an origin such as https://shop.example.com (scheme, host, optional port, no path), or *, got {origin:?}"
                    ));
                }
                s.cors_origins.push(origin);
            }
            "--retention-days" => {
                let text = value("a number of days from 1 to 3650")?;
                s.retention_days = text
                    .parse()
                    .ok()
                    .filter(|d| (1..=3650).contains(d))
                    .ok_or_else(|| format!("--retention-days: expected a number of days from 1 to 3650, got {text:?}"))?;
            }
            "--read-token-file" => s.read_token_file = Some(PathBuf::from(value("a file path")?)),
            "--write-token-file" => s.write_token_file = Some(PathBuf::from(value("a file path")?)),
            "--trust-proxy" => s.trust_proxy = true,
            "--header-timeout" => {
                s.connections.header_timeout = seconds(&flag, &value("seconds")?)?
            }
            "--body-timeout" => s.connections.body_timeout = seconds(&flag, &value("seconds")?)?,
            "--idle-timeout" => s.connections.idle_timeout = seconds(&flag, &value("seconds")?)?,
            "--max-connections" => {
                s.connections.max_connections = number(&flag, &value("a number")?, 1, 1_000_000)?;
            }
            "--client-rate" => {
                s.client_rate.per_second = number(&flag, &value("a number")?, 1, 1_000_000)?
            }
            "--client-burst" => {
                s.client_rate.burst = number(&flag, &value("a number")?, 1, 1_000_000)?
            }
            "--origin-rate" => {
                s.origin_rate.per_second = number(&flag, &value("a number")?, 1, 1_000_000)?
            }
            "--origin-burst" => {
                s.origin_rate.burst = number(&flag, &value("a number")?, 1, 1_000_000)?
            }
            "--max-body-bytes" => {
                s.limits.max_body_bytes = number(&flag, &value("a number")?, 1024, BIG)?
            }
            "--max-buffered-bytes" => {
                s.max_buffered_bytes = number(&flag, &value("a number")?, 1024, BIG)?
            }
            "--max-client-buffered-bytes" => {
                s.max_client_buffered_bytes = number(&flag, &value("a number")?, 1024, BIG)?
            }
            "--max-records" => {
                s.limits.max_records = number(&flag, &value("a number")?, 1, 1_000_000)?
            }
            "--max-attributes" => {
                s.limits.max_attributes = number(&flag, &value("a number")?, 1, 100_000)?
            }
            "--max-depth" => s.limits.max_depth = number(&flag, &value("a number")?, 1, 64)?,
            "--search-rows" => s.page.rows = number(&flag, &value("a number")?, 1, 1_000_000)?,
            "--search-bytes" => s.page.bytes = number(&flag, &value("a number")?, 1024, BIG)?,
            "--write-queue" => s.write_queue = number(&flag, &value("a number")?, 1, 1_000_000)?,
            other => return Err(format!("{other}: unknown option (see --help)")),
        }
    }
    if s.max_buffered_bytes < s.limits.max_body_bytes {
        return Err("--max-buffered-bytes: expected at least --max-body-bytes".into());
    }
    Ok(Command::Run(Box::new(s)))
}

/// `scheme://host[:port]` with nothing after it.
fn is_origin(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#', '@', ' '])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_and_every_flag() {
        assert_eq!(parse(args(&[])), Ok(Command::Run(Box::default())));
        assert_eq!(parse(args(&["--help"])), Ok(Command::Help));
        let Ok(Command::Run(s)) = parse(args(&[
            "--listen",
            "0.0.0.0:9000",
            "--db",
            "/tmp/x.sqlite",
            "--cors-origin",
            "https://shop.test",
            "--cors-origin",
            "*",
            "--retention-days",
            "30",
        ])) else {
            panic!("expected settings")
        };
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.db, PathBuf::from("/tmp/x.sqlite"));
        assert_eq!(s.cors_origins, ["https://shop.test", "*"]);
        assert_eq!(s.retention_days, 30);
        assert_eq!(
            s.read_token_path(),
            PathBuf::from("/tmp/x.sqlite.read-token")
        );
        assert_eq!(
            s.write_token_path(),
            PathBuf::from("/tmp/x.sqlite.write-token")
        );
        let Ok(Command::Run(s)) = parse(args(&["--db", "postgres://u:secret@127.0.0.1:5433/t"]))
        else {
            panic!("expected settings")
        };
        assert_eq!(s.read_token_path(), PathBuf::from("threadline.read-token"));
        assert_eq!(
            crate::store::describe(&s.db),
            "postgres://127.0.0.1:5433/t",
            "the start-up line never shows the password"
        );
        let Ok(Command::Run(s)) = parse(args(&[
            "--read-token-file",
            "/r",
            "--write-token-file",
            "/w",
            "--trust-proxy",
            "--header-timeout",
            "0.5",
            "--body-timeout",
            "2",
            "--idle-timeout",
            "3",
            "--max-connections",
            "7",
            "--client-rate",
            "1",
            "--client-burst",
            "2",
            "--origin-rate",
            "3",
            "--origin-burst",
            "4",
            "--max-body-bytes",
            "2048",
            "--max-buffered-bytes",
            "4096",
            "--max-client-buffered-bytes",
            "3000",
            "--max-records",
            "5",
            "--max-attributes",
            "6",
            "--max-depth",
            "3",
            "--search-rows",
            "9",
            "--search-bytes",
            "10000",
            "--write-queue",
            "11",
        ])) else {
            panic!("expected settings")
        };
        assert_eq!(
            (s.read_token_path(), s.write_token_path()),
            ("/r".into(), "/w".into())
        );
        assert_eq!(s.write_queue, 11);
        assert!(s.trust_proxy);
        assert_eq!(
            s.connections,
            Connections {
                header_timeout: Duration::from_millis(500),
                body_timeout: Duration::from_secs(2),
                idle_timeout: Duration::from_secs(3),
                max_connections: 7,
            }
        );
        assert_eq!(
            (s.client_rate, s.origin_rate),
            (
                Rate {
                    per_second: 1,
                    burst: 2
                },
                Rate {
                    per_second: 3,
                    burst: 4
                }
            )
        );
        assert_eq!(
            s.limits,
            Limits {
                max_body_bytes: 2048,
                max_records: 5,
                max_attributes: 6,
                max_depth: 3
            }
        );
        assert_eq!(
            (
                s.max_buffered_bytes,
                s.page.rows,
                s.page.bytes,
                s.max_client_buffered_bytes
            ),
            (4096, 9, 10000, 3000)
        );
    }

    #[test]
    fn bad_input_is_named() {
        for (input, fragment) in [
            (
                &["--listen", "localhost"][..],
                "--listen: expected ADDR:PORT",
            ),
            (&["--listen"][..], "--listen: expected ADDR:PORT"),
            (
                &["--cors-origin", "shop.test"][..],
                "--cors-origin: expected an origin",
            ),
            (
                &["--cors-origin", "https://shop.test/app"][..],
                "--cors-origin",
            ),
            (
                &["--retention-days", "0"][..],
                "--retention-days: expected a number of days",
            ),
            (&["--port", "1"][..], "--port: unknown option"),
            (
                &["--header-timeout", "0"][..],
                "--header-timeout: expected seconds",
            ),
            (
                &["--max-connections", "x"][..],
                "--max-connections: expected a number",
            ),
            (
                &[
                    "--max-body-bytes",
                    "99999999",
                    "--max-buffered-bytes",
                    "2048",
                ][..],
                "--max-buffered-bytes",
            ),
        ] {
            let err = parse(args(input)).unwrap_err();
            assert!(err.contains(fragment), "{err}");
        }
    }
}
