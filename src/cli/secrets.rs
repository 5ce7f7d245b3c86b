//! Reading passphrases, PINs and recovery codes from a file or the terminal, without
//! echo. The value never reaches an error message.

use std::path::Path;

use zeroize::Zeroizing;

use super::CliError;
use crate::vault::{Passphrase, Pin, RecoveryCode};

/// Reads a one-line secret from `file` (one trailing newline is dropped) or asks for it
/// on the terminal.
fn read_secret(
    file: Option<&Path>,
    prompt: &str,
    option: &str,
) -> Result<Zeroizing<String>, CliError> {
    match file {
        Some(path) => {
            let text = Zeroizing::new(std::fs::read_to_string(path).map_err(CliError::io(path))?);
            let line = text.strip_suffix('\n').unwrap_or(&text);
            let line = line.strip_suffix('\r').unwrap_or(line);
            Ok(Zeroizing::new(line.to_owned()))
        }
        None => rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|e| {
                CliError::Input(format!(
                    "cannot ask on the terminal ({e}); give {option} FILE instead"
                ))
            }),
    }
}

/// Reads a secret twice from the terminal (or once from a file) and checks both match.
fn read_new_secret(
    file: Option<&Path>,
    prompt: &str,
    option: &str,
) -> Result<Zeroizing<String>, CliError> {
    let first = read_secret(file, prompt, option)?;
    if file.is_none() {
        let again = read_secret(None, "Again, to be sure: ", option)?;
        if *again != *first {
            return Err(CliError::Input(
                "the two entries differ; nothing was changed".into(),
            ));
        }
    }
    Ok(first)
}

/// An administrator passphrase.
pub fn passphrase(file: Option<&Path>, prompt: &str) -> Result<Passphrase, CliError> {
    let text = read_secret(file, prompt, "--passphrase-file")?;
    Passphrase::parse(&text).map_err(|e| CliError::Input(format!("passphrase{}: {e}", from(file))))
}

/// A new passphrase (asked twice on a terminal).
pub fn new_passphrase(file: Option<&Path>, option: &str) -> Result<Passphrase, CliError> {
    let text = read_new_secret(
        file,
        "New administrator passphrase (8-64 characters): ",
        option,
    )?;
    Passphrase::parse(&text)
        .map_err(|e| CliError::Input(format!("new passphrase{}: {e}", from(file))))
}

/// A PIN (asked twice on a terminal).
pub fn new_pin(file: Option<&Path>, prompt: &str, option: &str) -> Result<Pin, CliError> {
    let text = read_new_secret(file, prompt, option)?;
    Pin::parse(text.trim()).map_err(|e| {
        CliError::Input(format!(
            "{}{}: {e}",
            option.trim_start_matches("--").trim_end_matches("-file"),
            from(file)
        ))
    })
}

/// The recovery code.
pub fn recovery_code(file: Option<&Path>) -> Result<RecoveryCode, CliError> {
    let text = read_secret(file, "Recovery code: ", "--recovery-code-file")?;
    RecoveryCode::parse(&text)
        .map_err(|e| CliError::Input(format!("recovery code{}: {e}", from(file))))
}

fn from(file: Option<&Path>) -> String {
    file.map(|p| format!(" in {}", p.display()))
        .unwrap_or_default()
}
