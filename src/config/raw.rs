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

use super::schema::{LOG_LEVELS, parse_choice, parse_coordinates, parse_duration};
use super::{
    AlertSettings, DisplaySettings, KioskSettings, LogSettings, SecretsSettings, SecuritySettings,
    Settings, StorageSettings,
};
use crate::access::Policy;
use crate::alerts::Place;
use crate::alerts::channels::email::EmailSettings;
use crate::alerts::channels::meta::MetaSettings;
use crate::alerts::channels::mqtt::MqttSettings;
use crate::alerts::channels::ntfy::NtfySettings;
use crate::alerts::channels::telegram::TelegramSettings;
use crate::alerts::channels::twilio::TwilioSettings;
use crate::alerts::channels::webhook::WebhookSettings;
use crate::hw::camera::{CameraSettings, CameraSource};
use crate::hw::gpio::{
    BeepPattern, BuzzerKind, BuzzerPatterns, GpioBackend, GpioSettings, InputLine, Level,
};
use crate::hw::speech::SpeechSettings;
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
    pub camera: RawCamera,
    pub gpio: RawGpio,
    pub buzzer: RawBuzzer,
    pub speech: RawSpeech,
    pub alerts: RawAlerts,
    pub location: RawLocation,
    pub email: RawEmail,
    pub whatsapp: RawWhatsapp,
    pub twilio: RawTwilio,
    pub telegram: RawTelegram,
    pub ntfy: RawNtfy,
    pub webhook: RawWebhook,
    pub mqtt: RawMqtt,
    pub display: RawDisplay,
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
pub(crate) struct RawCamera {
    pub device: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub pre_roll: HumanDuration,
    pub burst: u32,
    pub preview_fps: u32,
    pub preview_width: u32,
    pub jpeg_quality: u8,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGpio {
    pub backend: Word,
    pub relay_pin: u8,
    pub relay_open_level: Word,
    pub buzzer_pin: u8,
    pub buzzer: Word,
    pub buzzer_frequency: u32,
    pub door_contact_pin: u8,
    pub door_open_level: Word,
    pub tamper_pin: u8,
    pub tamper_active_level: Word,
    pub exit_button_pin: u8,
    pub exit_pressed_level: Word,
    pub debounce: HumanDuration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBuzzer {
    pub keypress: Vec<u64>,
    pub wrong: Vec<u64>,
    pub lockout: Vec<u64>,
    pub door: Vec<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSpeech {
    pub enabled: bool,
    pub command: String,
    pub voice: String,
    pub speed: u32,
    pub text: String,
    pub wav: PathBuf,
    pub timeout: HumanDuration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlerts {
    pub max_age: HumanDuration,
    pub evidence_retention: HumanDuration,
    pub public_ip_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLocation {
    pub address: String,
    pub coordinates: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEmail {
    pub enabled: bool,
    pub server: String,
    pub from: String,
    pub to: Vec<String>,
    pub username: String,
    pub timeout: HumanDuration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNtfy {
    pub enabled: bool,
    pub base_url: String,
    pub topic: String,
    pub priority: u8,
    pub tags: Vec<String>,
    pub timeout: HumanDuration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWhatsapp {
    pub enabled: bool,
    pub base_url: String,
    pub phone_number_id: String,
    pub to: String,
    pub template: String,
    pub template_language: String,
    pub timeout: HumanDuration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTwilio {
    pub enabled: bool,
    pub base_url: String,
    pub account_sid: String,
    pub from: String,
    pub to: String,
    pub content_sid: String,
    pub public_media_base_url: String,
    pub timeout: HumanDuration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTelegram {
    pub enabled: bool,
    pub base_url: String,
    pub chat_id: String,
    pub timeout: HumanDuration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWebhook {
    pub enabled: bool,
    pub url: String,
    pub timeout: HumanDuration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMqtt {
    pub enabled: bool,
    pub server: String,
    pub username: String,
    pub topic_prefix: String,
    pub discovery_prefix: String,
    pub timeout: HumanDuration,
}

/// The folder for photos published to Twilio: `media` next to the database.
fn media_dir(database: &std::path::Path) -> std::path::PathBuf {
    database
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("media")
}

/// Text that may be "" for "not given".
fn given(text: String) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The place from `[location]`: `None` when neither an address nor coordinates is set.
fn place(location: RawLocation) -> Option<Place> {
    let coordinates = parse_coordinates(&location.coordinates).ok();
    if location.address.trim().is_empty() && coordinates.is_none() {
        return None;
    }
    Some(Place {
        address: location.address.trim().to_owned(),
        latitude: coordinates.map(|c| c.0),
        longitude: coordinates.map(|c| c.1),
    })
}

/// A word from a fixed list (`Choice` in the schema), compared without case.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub(crate) struct Word(String);

impl Word {
    fn is(&self, word: &str) -> bool {
        self.0.trim().eq_ignore_ascii_case(word)
    }

    fn level(&self) -> Level {
        if self.is("low") {
            Level::Low
        } else {
            Level::High
        }
    }
}

fn pattern(ms: Vec<u64>) -> BeepPattern {
    BeepPattern(ms.into_iter().map(Duration::from_millis).collect())
}

fn input(pin: u8, active: &Word) -> Option<InputLine> {
    (pin != 0).then(|| InputLine {
        pin,
        active: active.level(),
    })
}

fn camera_source(device: &str) -> CameraSource {
    match device.strip_prefix("sim") {
        Some("") => CameraSource::Sim,
        Some(rest) if rest.starts_with(':') => CameraSource::SimDir(PathBuf::from(&rest[1..])),
        _ => CameraSource::Device(PathBuf::from(device)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDisplay {
    pub backend: Word,
    pub fullscreen: bool,
    pub language: Word,
    pub scrambled_keypad: bool,
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
            camera,
            gpio,
            buzzer,
            speech,
            alerts,
            location,
            email,
            whatsapp,
            twilio,
            telegram,
            ntfy,
            webhook,
            mqtt,
            display,
            log,
            secrets,
        } = self;
        let media = media_dir(&storage.database);
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
            camera: CameraSettings {
                source: camera_source(&camera.device),
                width: camera.width,
                height: camera.height,
                fps: camera.fps,
                pre_roll: camera.pre_roll.0,
                burst: camera.burst,
                preview_fps: camera.preview_fps,
                preview_width: camera.preview_width,
                jpeg_quality: camera.jpeg_quality,
            },
            gpio: GpioSettings {
                backend: if gpio.backend.is("sim") {
                    GpioBackend::Sim
                } else {
                    GpioBackend::Rppal
                },
                relay_pin: gpio.relay_pin,
                relay_open_level: gpio.relay_open_level.level(),
                buzzer_pin: gpio.buzzer_pin,
                buzzer: if gpio.buzzer.is("pwm") {
                    BuzzerKind::Pwm {
                        frequency_hz: f64::from(gpio.buzzer_frequency),
                    }
                } else {
                    BuzzerKind::Active
                },
                patterns: BuzzerPatterns {
                    keypress: pattern(buzzer.keypress),
                    wrong: pattern(buzzer.wrong),
                    lockout: pattern(buzzer.lockout),
                    door: pattern(buzzer.door),
                },
                door_contact: input(gpio.door_contact_pin, &gpio.door_open_level),
                tamper: input(gpio.tamper_pin, &gpio.tamper_active_level),
                exit_button: input(gpio.exit_button_pin, &gpio.exit_pressed_level),
                debounce: gpio.debounce.0,
            },
            speech: SpeechSettings {
                enabled: speech.enabled,
                command: speech.command,
                voice: speech.voice,
                speed: speech.speed,
                text: speech.text,
                wav: (!speech.wav.as_os_str().is_empty()).then_some(speech.wav),
                timeout: speech.timeout.0,
            },
            alerts: AlertSettings {
                max_age: alerts.max_age.0,
                evidence_retention: alerts.evidence_retention.0,
                public_ip_url: given(alerts.public_ip_url),
                place: place(location),
                email: email.enabled.then(|| EmailSettings {
                    server: email.server,
                    from: email.from,
                    to: email.to,
                    username: given(email.username),
                    password: None,
                    timeout: email.timeout.0,
                }),
                ntfy: ntfy.enabled.then_some(NtfySettings {
                    base_url: ntfy.base_url,
                    topic: ntfy.topic,
                    priority: ntfy.priority,
                    tags: ntfy.tags,
                    token: None,
                    timeout: ntfy.timeout.0,
                }),
                whatsapp: whatsapp.enabled.then(|| MetaSettings {
                    base_url: whatsapp.base_url,
                    phone_number_id: whatsapp.phone_number_id.trim().to_owned(),
                    to: whatsapp.to.trim().to_owned(),
                    template: given(whatsapp.template),
                    template_language: given(whatsapp.template_language)
                        .unwrap_or_else(|| "en".to_owned()),
                    timeout: whatsapp.timeout.0,
                }),
                twilio: twilio.enabled.then(|| TwilioSettings {
                    base_url: twilio.base_url,
                    account_sid: twilio.account_sid.trim().to_owned(),
                    from: twilio.from.trim().to_owned(),
                    to: twilio.to.trim().to_owned(),
                    content_sid: given(twilio.content_sid),
                    public_media_base_url: given(twilio.public_media_base_url),
                    media_dir: media,
                    timeout: twilio.timeout.0,
                }),
                telegram: telegram.enabled.then(|| TelegramSettings {
                    base_url: telegram.base_url,
                    chat_id: telegram.chat_id.trim().to_owned(),
                    timeout: telegram.timeout.0,
                }),
                webhook: webhook.enabled.then(|| WebhookSettings {
                    url: webhook.url.trim().to_owned(),
                    timeout: webhook.timeout.0,
                }),
                mqtt: mqtt.enabled.then(|| MqttSettings {
                    server: mqtt.server,
                    username: given(mqtt.username),
                    topic_prefix: mqtt.topic_prefix,
                    discovery_prefix: mqtt.discovery_prefix,
                    timeout: mqtt.timeout.0,
                }),
            },
            display: DisplaySettings {
                backend: (!display.backend.is("auto"))
                    .then(|| display.backend.0.trim().to_ascii_lowercase()),
                fullscreen: display.fullscreen,
                language: display.language.0.trim().to_ascii_lowercase(),
                scrambled_keypad: display.scrambled_keypad,
            },
            log: LogSettings { level: log.level.0 },
            secrets: SecretsSettings {
                file: (!secrets.file.as_os_str().is_empty()).then_some(secrets.file),
            },
        }
    }
}
