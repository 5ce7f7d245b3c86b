//! Secret values (SMTP password, API tokens) kept apart from the configuration.
//!
//! Owns reading them from the optional secrets file (`[secrets] file`, a flat TOML
//! file, mode 0600) and from systemd credentials (`$CREDENTIALS_DIRECTORY/<name>`, which
//! take precedence), and holding them in zeroized memory. It must never put a secret
//! value into a message, a log line or a `Debug` output: problems name the key and the
//! position only, [`SecretValue`] has no `Display` and its `Debug` prints `***`.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use zeroize::Zeroizing;

use super::SecretsSettings;
use super::diagnostics::{ConfigError, Problem, closest, entry_start, with_article};
use super::document::syntax_problem;

/// Every secret doorguard knows, as written in the secrets file and as systemd
/// credential names.
pub const SECRET_NAMES: &[&str] = &[
    "smtp_password",
    "whatsapp_token",
    "twilio_auth_token",
    "telegram_bot_token",
    "ntfy_token",
    "webhook_secret",
    "mqtt_password",
];

/// The environment variable systemd sets when the unit has credentials
/// (`LoadCredential=`, `SetCredentialEncrypted=`…).
pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";

/// One secret, zeroized when dropped. Deliberately not `Display`: use
/// [`expose`](SecretValue::expose) at the one place that sends it.
#[derive(Clone)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        SecretValue(Zeroizing::new(value.into()))
    }

    /// The secret itself, for the one call that needs it (an SMTP login, an
    /// `Authorization` header). Never log or display it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(***)")
    }
}

/// The secrets that are set, by name (one of [`SECRET_NAMES`]).
#[derive(Clone, Default)]
pub struct Secrets {
    values: BTreeMap<&'static str, SecretValue>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: which secrets are set is not secret, their values are.
        f.debug_map().entries(self.values.iter()).finish()
    }
}

/// The known name equal to `name`.
fn known_name(name: &str) -> Option<&'static str> {
    SECRET_NAMES.iter().copied().find(|n| *n == name)
}

impl Secrets {
    /// Loads the secrets: the secrets file of `settings` (if any), then the systemd
    /// credentials in `$CREDENTIALS_DIRECTORY` (if set), which take precedence.
    pub fn load(settings: &SecretsSettings) -> Result<Secrets, ConfigError> {
        let credentials = std::env::var_os(CREDENTIALS_DIRECTORY).map(PathBuf::from);
        Self::load_with_credentials(settings, credentials.as_deref())
    }

    /// [`load`](Secrets::load) with an explicit credentials directory instead of the
    /// environment variable (for tests and for callers that resolved it already).
    pub fn load_with_credentials(
        settings: &SecretsSettings,
        credentials_dir: Option<&Path>,
    ) -> Result<Secrets, ConfigError> {
        let mut problems = Vec::new();
        let mut secrets = Secrets::default();
        if let Some(file) = &settings.file {
            match read_secrets_file(file) {
                Ok(from_file) => secrets = from_file,
                Err(mut e) => problems.append(&mut e.problems),
            }
        }
        if let Some(dir) = credentials_dir {
            for name in SECRET_NAMES {
                match read_credential(dir, name) {
                    Ok(Some(value)) => {
                        secrets.values.insert(name, value);
                    }
                    Ok(None) => {}
                    Err(problem) => problems.push(problem),
                }
            }
        }
        if problems.is_empty() {
            Ok(secrets)
        } else {
            Err(ConfigError::new(problems))
        }
    }

    /// Parses secrets-file `text` (from `origin`, used in messages). Empty values
    /// count as not set.
    pub fn parse(text: &str, origin: &Path) -> Result<Secrets, ConfigError> {
        let document = DeTable::parse(text)
            .map_err(|e| ConfigError::new(vec![syntax_problem(&e, text, origin)]))?;
        let mut problems = Vec::new();
        let mut secrets = Secrets::default();
        for (key, value) in document.get_ref().iter() {
            let written: &str = key.get_ref();
            let offset = entry_start(&key.span(), &value.span());
            let Some(name) = known_name(written) else {
                let hint = match closest(written, SECRET_NAMES.iter().map(|n| (0.0, *n, *n))) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!("known secrets: {}", SECRET_NAMES.join(", ")),
                };
                let what = if matches!(value.get_ref(), DeValue::Table(_)) {
                    format!("unknown section [{written}] (the secrets file has no sections)")
                } else {
                    format!("unknown secret `{written}`")
                };
                problems.push(Problem::at(origin, text, offset, what).with_hint(Some(hint)));
                continue;
            };
            match value.get_ref() {
                DeValue::String(s) if s.is_empty() => {}
                DeValue::String(s) => {
                    secrets.values.insert(name, SecretValue::new(s.as_ref()));
                }
                other => problems.push(
                    Problem::at(
                        origin,
                        text,
                        offset,
                        format!(
                            "`{name}` must be a string, found {}",
                            with_article(other.type_str())
                        ),
                    )
                    .with_hint(Some("put the secret in double quotes".into())),
                ),
            }
        }
        if problems.is_empty() {
            Ok(secrets)
        } else {
            Err(ConfigError::new(problems))
        }
    }

    /// The secret called `name`, if it is set.
    pub fn get(&self, name: &str) -> Option<&SecretValue> {
        self.values.get(name)
    }

    /// The names of the secrets that are set (for `check-config`; never the values).
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.values.keys().copied()
    }
}

fn read_problem(path: &Path, what: &str, error: &io::Error) -> Problem {
    let hint = match error.kind() {
        io::ErrorKind::NotFound => Some(
            "create it (mode 0600, owned by the doorguard user) or set `secrets.file = \"\"`"
                .to_string(),
        ),
        io::ErrorKind::PermissionDenied => Some(format!(
            "the doorguard user must be able to read it: `chown doorguard: {0}` and `chmod 600 {0}`",
            path.display()
        )),
        _ => None,
    };
    // The io::Error text names the OS error only, never the file's content.
    Problem::whole_file(path, format!("cannot read {what}: {error}")).with_hint(hint)
}

fn read_secrets_file(path: &Path) -> Result<Secrets, ConfigError> {
    let bytes = std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| ConfigError::new(vec![read_problem(path, "the secrets file", &e)]))?;
    warn_if_readable_by_others(path);
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        // Position only: the text around it may be a secret.
        let (line, column) = super::diagnostics::line_column(
            std::str::from_utf8(valid).unwrap_or_default(),
            e.valid_up_to(),
        );
        ConfigError::new(vec![Problem {
            file: path.to_path_buf(),
            line,
            column,
            message: "the secrets file is not valid UTF-8".into(),
            hint: None,
        }])
    })?;
    Secrets::parse(text, path)
}

/// Warns (does not fail) when group or others may read the secrets file.
fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(path) {
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format_args!("{mode:04o}"),
                    "secrets file is accessible by group or others; run `chmod 600 {}`",
                    path.display()
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Reads `$CREDENTIALS_DIRECTORY/<name>` if it exists, without its trailing newline.
fn read_credential(dir: &Path, name: &'static str) -> Result<Option<SecretValue>, Problem> {
    let path = dir.join(name);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => Zeroizing::new(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_problem(&path, "the systemd credential", &e)),
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Err(Problem::whole_file(
            &path,
            format!("the systemd credential `{name}` is not valid UTF-8"),
        ));
    };
    let text = text.trim_end_matches(['\n', '\r']);
    if text.is_empty() {
        return Ok(None);
    }
    Ok(Some(SecretValue::new(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "hunter2-very-secret";

    #[test]
    fn debug_never_shows_values() {
        let secrets = Secrets::parse(
            &format!("smtp_password = \"{SECRET}\"\n"),
            Path::new("s.toml"),
        )
        .unwrap();
        let value = secrets.get("smtp_password").unwrap();
        assert_eq!(value.expose(), SECRET);
        assert_eq!(format!("{value:?}"), "SecretValue(***)");
        let debug = format!("{secrets:?}");
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(debug.contains("smtp_password"), "{debug}");
        assert!(format!("{secrets:#?}").find(SECRET).is_none());
    }

    #[test]
    fn unknown_key_and_wrong_type_name_the_key_not_the_value() {
        let text = format!("smtp_pasword = \"{SECRET}\"\nntfy_token = 12345\n");
        let err = Secrets::parse(&text, Path::new("/etc/doorguard/secrets.toml")).unwrap_err();
        let shown = err.to_string();
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(!shown.contains("12345"), "{shown}");
        assert_eq!(err.problems.len(), 2);
        assert_eq!(
            (err.problems[0].line, err.problems[0].column),
            (1, 1),
            "{shown}"
        );
        assert_eq!(err.problems[0].message, "unknown secret `smtp_pasword`");
        assert_eq!(
            err.problems[0].hint.as_deref(),
            Some("did you mean `smtp_password`?")
        );
        assert_eq!(
            err.problems[1].message,
            "`ntfy_token` must be a string, found an integer"
        );
    }

    #[test]
    fn syntax_error_does_not_echo_the_value() {
        for text in [
            format!("smtp_password = \"{SECRET}\n"),
            format!("smtp_password = {SECRET}\n"),
            format!("smtp_password = \"{SECRET}\" trailing\n"),
            format!("smtp_password = \"a\"\nsmtp_password = \"{SECRET}\"\n"),
        ] {
            let err = Secrets::parse(&text, Path::new("s.toml")).unwrap_err();
            let shown = err.to_string();
            assert!(!shown.contains(SECRET), "{shown}");
            assert!(!shown.contains("hunter"), "{shown}");
            assert!(err.problems[0].line >= 1, "{shown}");
        }
    }

    #[test]
    fn empty_values_are_unset() {
        let secrets = Secrets::parse("ntfy_token = \"\"\n", Path::new("s.toml")).unwrap();
        assert!(secrets.get("ntfy_token").is_none());
    }
}
