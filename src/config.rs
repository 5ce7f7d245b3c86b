//! The TOML configuration, resolved once into typed [`Settings`].
//!
//! Owns reading `/etc/doorguard/config.toml` (or `--config PATH`), checking it with
//! every problem reported together (file, line, column, a "did you mean" hint), merging
//! it over the shipped defaults and resolving it into typed values (durations, paths,
//! [`Policy`](crate::access::Policy), [`KdfParams`](crate::vault::KdfParams)); and the
//! [`Secrets`], which live in a separate file or in systemd credentials. The shipped
//! example `deploy/config.example.toml` ([`DEFAULT_CONFIG`]) is the only source of
//! default values: a key missing from the user's file takes the example's value, and no
//! default is written in Rust. This module must not touch devices, the database or the
//! network, must not keep running with a half-valid configuration (it returns every
//! problem instead), and must never log or display a secret value.
//!
//! How it fits together: `document.rs` walks the spanned document against `schema.rs`
//! (keys, types, ranges, cross-field rules), merges the accepted values over the
//! defaults and deserializes them into the `deny_unknown_fields` structs of `raw.rs`;
//! `diagnostics.rs` turns findings into [`Problem`]s; `secrets.rs` reads secrets.
//!
//! # Troubleshooting
//!
//! Every problem is printed as `FILE:LINE:COLUMN: message`, with a `hint:` line when
//! there is a likely fix; `doorguard check-config` lists them all without starting the
//! kiosk, and `doorguard print-default-config` prints the documented example.
//!
//! - **`unknown key `lockout.treshold` in [lockout]`**: a typo, or a key under the
//!   wrong `[section]` header; the hint names the key you probably meant, in its
//!   section (`threshold` written under `[door]` → `lockout.threshold`). Keys are never
//!   silently ignored, so a typo cannot fall back to a default unnoticed.
//! - **`key `name` is outside any section`**: keys written above the first `[section]`
//!   header. Move them under their section.
//! - **`unknown section [lockot]`**: a misspelled header, or a section from a newer
//!   doorguard than the one installed.
//! - **`TOML syntax error: string values must be quoted`**: text values need double
//!   quotes (`name = "Front door"`, `window = "5m"`). Other syntax errors (a missing
//!   `]`, a duplicate key) are reported at their position; a file with a syntax error
//!   is not checked further, so fix it and run `check-config` again.
//! - **`lockout.window` must be a duration string, found an integer**: durations are
//!   quoted strings with a unit: `"300s"`, `"5m"`, `"1h 30m"`; a bare number is refused
//!   because its unit would be a guess.
//! - **`security.argon2_memory_kib` must be at least 19456 KiB (OWASP's minimum…)**:
//!   the kiosk never hashes PINs below OWASP's Argon2id minimum (m = 19 MiB, t = 2,
//!   p = 1). Every Raspberry Pi affords it (about a tenth of a second per hash on a
//!   Pi 4); there is no override.
//! - **`lockout.max` (1h, the default) must be at least `lockout.first` (2h)**: two keys
//!   contradict each other, possibly one of yours and one default; change either.
//! - **`cannot read the configuration file: Permission denied`**: the service runs as
//!   the `doorguard` user: `chown root:doorguard /etc/doorguard/config.toml` and
//!   `chmod 640` it.
//! - **`configuration file not found`**: `--config PATH` names a file that does not
//!   exist. Without `--config`, a missing `/etc/doorguard/config.toml` means "all
//!   defaults". Start one with `doorguard print-default-config > config.toml`.
//! - **warning `secrets file is accessible by group or others`**: `chmod 600` the file
//!   named in `[secrets] file` (the kiosk still starts). Secret values never appear in
//!   any message, only their names and positions.

mod diagnostics;
mod document;
mod raw;
mod schema;
mod secrets;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use diagnostics::{ConfigError, Problem};
pub use secrets::{CREDENTIALS_DIRECTORY, SECRET_NAMES, SecretValue, Secrets};

use crate::access::Policy;
use crate::alerts::Place;
use crate::alerts::channels::email::EmailSettings;
use crate::alerts::channels::meta::MetaSettings;
use crate::alerts::channels::mqtt::MqttSettings;
use crate::alerts::channels::ntfy::NtfySettings;
use crate::alerts::channels::telegram::TelegramSettings;
use crate::alerts::channels::twilio::TwilioSettings;
use crate::alerts::channels::webhook::WebhookSettings;
use crate::hw::camera::CameraSettings;
use crate::hw::gpio::GpioSettings;
use crate::hw::speech::SpeechSettings;
use crate::vault::KdfParams;

/// The shipped example configuration: every key, its default, its unit and range.
/// Printed by `doorguard print-default-config`; the source of every default.
pub const DEFAULT_CONFIG: &str = include_str!("../deploy/config.example.toml");

/// Where the kiosk looks for its configuration when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/doorguard/config.toml";

/// The whole configuration, typed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `[kiosk]`
    pub kiosk: KioskSettings,
    /// `[storage]`
    pub storage: StorageSettings,
    /// `[security]`
    pub security: SecuritySettings,
    /// `[lockout]`, `[admin]` and `[door]`: the rules of the access state machine.
    pub access: Policy,
    /// `[camera]`
    pub camera: CameraSettings,
    /// `[gpio]` and `[buzzer]`
    pub gpio: GpioSettings,
    /// `[speech]`
    pub speech: SpeechSettings,
    /// `[alerts]` and `[location]`
    pub alerts: AlertSettings,
    /// `[display]`
    pub display: DisplaySettings,
    /// `[log]`
    pub log: LogSettings,
    /// `[secrets]`
    pub secrets: SecretsSettings,
}

/// `[alerts]` and `[location]`: how alerts are kept and what they say of the kiosk.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSettings {
    /// A delivery not done this long after its alert is given up (default 7 days).
    pub max_age: Duration,
    /// How long the sealed evidence photos are kept (default 90 days).
    pub evidence_retention: Duration,
    /// Where the public IP is learned; `None` to leave it out.
    pub public_ip_url: Option<String>,
    /// The kiosk's address and coordinates, if configured.
    pub place: Option<Place>,
    /// `[email]`, when enabled (the password comes from the secrets).
    pub email: Option<EmailSettings>,
    /// `[ntfy]`, when enabled (the token comes from the secrets).
    pub ntfy: Option<NtfySettings>,
    /// `[whatsapp]` (Meta Cloud API), when enabled.
    pub whatsapp: Option<MetaSettings>,
    /// `[twilio]` (WhatsApp through Twilio), when enabled.
    pub twilio: Option<TwilioSettings>,
    /// `[telegram]`, when enabled.
    pub telegram: Option<TelegramSettings>,
    /// `[webhook]`, when enabled.
    pub webhook: Option<WebhookSettings>,
    /// `[mqtt]`, when enabled.
    pub mqtt: Option<MqttSettings>,
}

/// `[kiosk]`: this kiosk's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskSettings {
    /// Shown on the idle screen and in alerts; 1 to 64 characters.
    pub name: String,
}

/// `[storage]`: where data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSettings {
    /// The SQLite database file.
    pub database: PathBuf,
}

/// `[security]`: cryptographic cost parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecuritySettings {
    /// Argon2id parameters for new hashes; never below OWASP's minimum.
    pub kdf: KdfParams,
}

/// `[display]`: the touchscreen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplaySettings {
    /// Slint's backend: `None` lets Slint choose (a window on a desktop, the
    /// framebuffer without one); `Some("winit")` or `Some("linuxkms")` forces one.
    pub backend: Option<String>,
    /// Fill the screen (the kiosk); `false` for a window on a desktop.
    pub fullscreen: bool,
    /// The screens' language (`en`, `de`).
    pub language: String,
    /// Shuffle the digit keys for every PIN, so smudges and onlookers learn nothing.
    pub scrambled_keypad: bool,
}

/// `[log]`: logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// Least severe level written.
    pub level: tracing::Level,
}

/// `[secrets]`: where secret values come from (besides systemd credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsSettings {
    /// The secrets file; `None` when `file = ""`.
    pub file: Option<PathBuf>,
}

impl Settings {
    /// Reads and checks the configuration file at `path`.
    ///
    /// A missing file is an error naming the path when `must_exist` (the user gave
    /// `--config`), and means the shipped defaults otherwise.
    pub fn load(path: &Path, must_exist: bool) -> Result<Settings, ConfigError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound && !must_exist => {
                tracing::info!(
                    path = %path.display(),
                    "no configuration file; using the shipped defaults"
                );
                return Ok(Settings::defaults());
            }
            Err(e) => return Err(ConfigError::new(vec![read_problem(path, &e)])),
        };
        match String::from_utf8(bytes) {
            Ok(text) => Settings::parse(&text, path),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes());
                let mut problem =
                    Problem::at(path, &text, valid, "the file is not valid UTF-8 text");
                problem.hint = Some("save the file as UTF-8".into());
                Err(ConfigError::new(vec![problem]))
            }
        }
    }

    /// Checks configuration `text`; `origin` is the file name used in problems.
    /// Keys not in `text` take their value from [`DEFAULT_CONFIG`].
    pub fn parse(text: &str, origin: &Path) -> Result<Settings, ConfigError> {
        document::check(text, origin).map(raw::RawConfig::resolve)
    }

    /// The shipped defaults ([`DEFAULT_CONFIG`] resolved).
    pub fn defaults() -> Settings {
        match Settings::parse(DEFAULT_CONFIG, Path::new("deploy/config.example.toml")) {
            Ok(settings) => settings,
            // The example is compiled in and checked by a unit test: only a broken
            // build gets here.
            Err(e) => panic!("the shipped example configuration is invalid:\n{e}"),
        }
    }

    /// The shipped defaults with every device simulated (GPIO, camera), speech off and
    /// no public IP lookup: what the demo, the tests and the benchmarks run on.
    pub fn simulated() -> Settings {
        let mut settings = Settings::defaults();
        settings.gpio.backend = crate::hw::gpio::GpioBackend::Sim;
        settings.camera.source = crate::hw::camera::CameraSource::Sim;
        settings.speech.enabled = false;
        settings.alerts.public_ip_url = None;
        settings
    }
}

fn read_problem(path: &Path, error: &io::Error) -> Problem {
    let (message, hint) = match error.kind() {
        io::ErrorKind::NotFound => (
            "configuration file not found".to_string(),
            format!(
                "check the --config path, or start from the example: \
                 `doorguard print-default-config > {}`",
                path.display()
            ),
        ),
        io::ErrorKind::PermissionDenied => (
            format!("cannot read the configuration file: {error}"),
            format!(
                "the doorguard user must be able to read it: \
                 `chown root:doorguard {0}` and `chmod 640 {0}`",
                path.display()
            ),
        ),
        _ => (
            format!("cannot read the configuration file: {error}"),
            "check that the path names a readable file".to_string(),
        ),
    };
    Problem::whole_file(path, message).with_hint(Some(hint))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde::Deserialize;
    use toml::de::{DeTable, DeValue};

    use super::*;

    #[test]
    fn defaults_resolve_to_the_documented_values() {
        let settings = Settings::defaults();
        assert_eq!(settings.access, Policy::default());
        assert_eq!(settings.security.kdf, KdfParams::OWASP_MINIMUM);
        assert_eq!(settings.kiosk.name, "Front door");
        assert_eq!(
            settings.storage.database,
            PathBuf::from("/var/lib/doorguard/doorguard.db")
        );
        assert_eq!(settings.log.level, tracing::Level::INFO);
        assert_eq!(settings.secrets.file, None);
    }

    /// (section, key) of every key in the example file, with whether a comment line
    /// directly precedes it.
    fn example_keys() -> Vec<(String, String, bool)> {
        let mut keys = Vec::new();
        let mut section = String::new();
        let mut previous = "";
        for line in DEFAULT_CONFIG.lines() {
            let line = line.trim();
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.to_string();
            } else if let Some((key, _)) = line.split_once('=')
                && !line.starts_with('#')
            {
                keys.push((
                    section.clone(),
                    key.trim().to_string(),
                    previous.starts_with('#'),
                ));
            }
            previous = line;
        }
        keys
    }

    #[test]
    fn the_example_and_the_schema_list_the_same_keys() {
        let example: BTreeSet<(String, String)> =
            example_keys().into_iter().map(|(s, k, _)| (s, k)).collect();
        let schema: BTreeSet<(String, String)> = schema::KEYS
            .iter()
            .map(|k| (k.section.to_string(), k.key.to_string()))
            .collect();
        assert_eq!(example, schema);
        // And the parsed document agrees with the line scan above.
        let doc = DeTable::parse(DEFAULT_CONFIG).unwrap();
        let mut parsed = BTreeSet::new();
        for (section, table) in doc.get_ref().iter() {
            let DeValue::Table(table) = table.get_ref() else {
                panic!("top-level key {section:?} in the example")
            };
            for (key, _) in table.iter() {
                parsed.insert((section.get_ref().to_string(), key.get_ref().to_string()));
            }
        }
        assert_eq!(parsed, schema);
        let sections: BTreeSet<&str> = schema::SECTIONS.iter().copied().collect();
        let parsed_sections: BTreeSet<&str> =
            doc.get_ref().keys().map(|k| k.get_ref().as_ref()).collect();
        assert_eq!(parsed_sections, sections);
    }

    #[test]
    fn every_example_key_is_documented() {
        for (section, key, commented) in example_keys() {
            assert!(commented, "{section}.{key} has no comment in the example");
        }
    }

    #[test]
    fn default_values_are_valid_and_satisfy_the_cross_field_rules() {
        // Settings::defaults() would panic otherwise; this says why.
        if let Err(e) = Settings::parse(DEFAULT_CONFIG, Path::new("example")) {
            panic!("{e}");
        }
    }

    #[test]
    fn the_raw_structs_refuse_unknown_fields() {
        let mut text = DEFAULT_CONFIG.to_string();
        text.push_str("\n[lockout2]\nx = 1\n");
        let doc = DeTable::parse(&text).unwrap();
        let err = raw::RawConfig::deserialize(toml::de::Deserializer::from(doc)).unwrap_err();
        assert!(err.message().contains("unknown field"), "{}", err.message());
    }
}
