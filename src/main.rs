//! The `doorguard` binary: parses the command line, runs it, and turns an error into a
//! message on stderr and an exit code. Everything else lives in the library, whose
//! typed errors already say what failed and why (so no `anyhow` chain is needed).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = doorguard::cli::Cli::parse();
    match doorguard::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Every message already carries its cause, so the chain is not printed again.
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}
