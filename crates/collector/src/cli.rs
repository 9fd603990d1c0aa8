//! The command line: where to listen, where the SQLite file is, which page origins may send
//! events (CORS) and how long records are kept.

use std::net::SocketAddr;
use std::path::PathBuf;

/// What `--help` prints.
pub const HELP: &str = "\
threadline-collector: receives OTLP/HTTP logs and finds a whole story by one ID

USAGE:
    threadline-collector [OPTIONS]

OPTIONS:
    --listen ADDR:PORT      where to listen (default 127.0.0.1:4318, the OTLP/HTTP port)
    --db PATH               the SQLite file (default threadline.sqlite; created if missing)
    --cors-origin ORIGIN    a page origin allowed to send events and search, such as
                            https://shop.example.com; repeatable; * allows any (local use)
    --retention-days N      records older than N days are removed (default 7)
    -h, --help              print this help

ENDPOINTS:
    POST /v1/logs           OTLP/HTTP logs: application/json, text/plain (browser beacons) or
                            application/x-protobuf, optionally Content-Encoding: gzip; 5 MiB max
    GET  /api/search?id=ID  every record whose correlation ID, trace ID or session ID is ID,
                            oldest first, as JSON
    GET  /                  the search page
";

/// Parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The SQLite file.
    pub db: PathBuf,
    /// Origins allowed by CORS; `*` allows any.
    pub cors_origins: Vec<String>,
    /// Days records are kept.
    pub retention_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 4318)),
            db: PathBuf::from("threadline.sqlite"),
            cors_origins: Vec::new(),
            retention_days: 7,
        }
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Run with these settings.
    Run(Settings),
    /// Print [`HELP`].
    Help,
}

/// Reads the arguments (without the program name). Errors name the flag and what was expected.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut settings = Settings::default();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = |expected: &str| {
            args.next()
                .ok_or_else(|| format!("{flag}: expected {expected}"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--listen" => {
                let text = value("ADDR:PORT, such as 127.0.0.1:4318")?;
                settings.listen = text.parse().map_err(|_| {
                    format!("--listen: expected ADDR:PORT, such as 127.0.0.1:4318, got {text:?}")
                })?;
            }
            "--db" => settings.db = PathBuf::from(value("a file path")?),
            "--cors-origin" => {
                let origin = value("an origin such as https://shop.example.com, or *")?;
                if origin != "*" && !is_origin(&origin) {
                    return Err(format!(
                        "--cors-origin: expected an origin such as https://shop.example.com (scheme, host, optional port, no path), or *, got {origin:?}"
                    ));
                }
                settings.cors_origins.push(origin);
            }
            "--retention-days" => {
                let text = value("a number of days from 1 to 3650")?;
                settings.retention_days = text
                    .parse()
                    .ok()
                    .filter(|d| (1..=3650).contains(d))
                    .ok_or_else(|| format!("--retention-days: expected a number of days from 1 to 3650, got {text:?}"))?;
            }
            other => return Err(format!("{other}: unknown option (see --help)")),
        }
    }
    Ok(Command::Run(settings))
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
        assert_eq!(parse(args(&[])), Ok(Command::Run(Settings::default())));
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
        ] {
            let err = parse(args(input)).unwrap_err();
            assert!(err.contains(fragment), "{err}");
        }
    }
}
