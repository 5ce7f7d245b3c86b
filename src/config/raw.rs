//! The configuration as serde reads it: one struct per section, every key required,
//! unknown keys refused (`deny_unknown_fields`).
//!
//! Owns the final typed step after the document walk: the merged document (the user's
//! values over the shipped defaults) is deserialized into these structs and resolved
//! into [`Settings`](super::Settings). It must not hold defaults (the merged document
//! always has every key) nor report problems itself: the walk in `document.rs` has
//! already checked every value with its position, so a failure here is a bug.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer, de};

use super::schema::{LOG_LEVELS, parse_choice, parse_duration};
use super::{
    KioskSettings, LogSettings, SecretsSettings, SecuritySettings, Settings, StorageSettings,
};
use crate::access::Policy;
use crate::vault::KdfParams;

/// A humantime duration string ("30s", "5m", "1h 30m").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text)
            .map(HumanDuration)
            .map_err(|e| de::Error::custom(format!("invalid duration \"{text}\": {e}")))
    }
}

/// A `log.level` word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawLevel(pub tracing::Level);

impl<'de> Deserialize<'de> for RawLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let level = match parse_choice(&text, LOG_LEVELS) {
            Some(0) => tracing::Level::ERROR,
            Some(1) => tracing::Level::WARN,
            Some(2) => tracing::Level::INFO,
            Some(3) => tracing::Level::DEBUG,
            Some(4) => tracing::Level::TRACE,
            _ => return Err(de::Error::custom(format!("invalid log level \"{text}\""))),
        };
        Ok(RawLevel(level))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub kiosk: RawKiosk,
    pub storage: RawStorage,
    pub security: RawSecurity,
    pub lockout: RawLockout,
    pub admin: RawAdmin,
    pub door: RawDoor,
    pub log: RawLog,
    pub secrets: RawSecrets,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKiosk {
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStorage {
    pub database: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSecurity {
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLockout {
    pub threshold: u32,
    pub window: HumanDuration,
    pub first: HumanDuration,
    pub factor: u32,
    pub max: HumanDuration,
    pub hard_lock_after: u32,
    pub capture_photo: bool,
    pub alarm: HumanDuration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAdmin {
    pub session_timeout: HumanDuration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDoor {
    pub relay_pulse: HumanDuration,
    pub entry_window: HumanDuration,
    pub held_open_after: HumanDuration,
    pub exit_button_during_lockout: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLog {
    pub level: RawLevel,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSecrets {
    pub file: PathBuf,
}

impl RawConfig {
    /// The typed settings. Infallible: every value was checked during the walk.
    pub(crate) fn resolve(self) -> Settings {
        let RawConfig {
            kiosk,
            storage,
            security,
            lockout,
            admin,
            door,
            log,
            secrets,
        } = self;
        Settings {
            kiosk: KioskSettings { name: kiosk.name },
            storage: StorageSettings {
                database: storage.database,
            },
            security: SecuritySettings {
                kdf: KdfParams {
                    memory_kib: security.argon2_memory_kib,
                    iterations: security.argon2_iterations,
                    parallelism: security.argon2_parallelism,
                },
            },
            access: Policy {
                threshold: lockout.threshold,
                window: lockout.window.0,
                lockout_first: lockout.first.0,
                lockout_factor: lockout.factor,
                lockout_max: lockout.max.0,
                hard_lock_after: lockout.hard_lock_after,
                capture_on_failure: lockout.capture_photo,
                alarm_duration: lockout.alarm.0,
                admin_timeout: admin.session_timeout.0,
                relay_pulse: door.relay_pulse.0,
                entry_window: door.entry_window.0,
                held_open_after: door.held_open_after.0,
                exit_during_lockout: door.exit_button_during_lockout,
            },
            log: LogSettings { level: log.level.0 },
            secrets: SecretsSettings {
                file: (!secrets.file.as_os_str().is_empty()).then_some(secrets.file),
            },
        }
    }
}
