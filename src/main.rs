//! The `doorguard` binary: parses the command line, runs it, and turns an error into a
//! message on stderr and an exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = doorguard::cli::Cli::parse();
    match doorguard::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = err.exit_code();
            let report = anyhow::Error::new(err);
            eprintln!("error: {report:#}");
            ExitCode::from(code)
        }
    }
}
