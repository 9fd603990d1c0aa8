//! A private PostgreSQL 15 for the tests of one test binary (`scripts/postgres.sh` on a free
//! loopback port, as a non-root user), started on first use and stopped when the binary exits;
//! each test gets a fresh database in it. If the server cannot start, the test fails with why.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/postgres.sh")
}

/// The server's URL (its `postgres` database).
fn server() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!(
            "threadline-collector-pg-{}-{}",
            std::process::id(),
            super::now_ns()
        ));
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(&dir)
            .output()
            .expect("run scripts/postgres.sh");
        assert!(
            out.status.success(),
            "PostgreSQL did not start (scripts/postgres.sh start): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Stops the server once this test binary has exited, however it exits: it outlives us.
        #[allow(clippy::zombie_processes)]
        let _stopper = Command::new("bash")
            .arg("-c")
            .arg(r#"while kill -0 "$0" 2>/dev/null; do sleep 0.5; done; bash "$1" stop "$2""#)
            .arg(std::process::id().to_string())
            .arg(script())
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server's stopper");
        std::fs::read_to_string(dir.join("url"))
            .unwrap()
            .trim()
            .to_owned()
    })
}

/// A fresh, empty database on the private server, as a `postgres://` URL.
pub async fn database() -> String {
    let url = tokio::task::spawn_blocking(server).await.unwrap();
    let name = format!("t{}", super::now_ns());
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    format!("{}/{name}", url.trim_end_matches("/postgres"))
}

/// A connection to `url`, for asserting what the database holds.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}
