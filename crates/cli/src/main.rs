//! `rapport-cli`: Rapport's command-line client. See docs/cli.md.

mod account;
mod args;
mod context;
mod exit;
mod input;
mod local;
mod online;
mod output;
mod rooms;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use context::Context;
use exit::CliResult;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.global.verbose);
    rapport_engine::init_crypto();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("rapport-cli: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn run(cli: Cli) -> CliResult {
    let context = Context::new(cli.global)?;
    match cli.command {
        Command::Account(command) => account::run(&context, command),
        Command::History(args) => local::history(&context, args),
        Command::Conversations { json } => local::conversations(&context, json),
        command => online::run(&context, command),
    }
}

/// Logs go to stderr and are off unless `-v` or `RUST_LOG` asks for them. Raw XML (which can
/// include credentials with SASL PLAIN) is only logged when RUST_LOG names it explicitly.
fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.is_empty() => EnvFilter::new(value),
        _ => EnvFilter::new(match verbose {
            0 => "off",
            1 => "info",
            2 => "info,rapport_engine=debug,rapport_cli=debug,tokio_xmpp=debug",
            _ => "trace,tokio_xmpp::xmlstream=debug",
        }),
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter)
        .try_init();
}
