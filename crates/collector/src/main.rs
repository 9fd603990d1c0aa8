//! `threadline-collector`: see `--help`.

use std::process::ExitCode;

use threadline_collector::cli::{self, Command, HELP};

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Run(settings)) => *settings,
        Ok(Command::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("threadline-collector: {message}");
            return ExitCode::from(2);
        }
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match threadline_collector::run(settings, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("threadline-collector: {message}");
            ExitCode::FAILURE
        }
    }
}
