//! What a configuration may contain: every section, every key, its type and its
//! allowed range, and the rules that tie two keys together.
//!
//! Owns the checks of single values (type, parse, range) and of the cross-field rules,
//! producing messages that name the key. It must not hold default values: those live
//! only in `deploy/config.example.toml` (a test checks both list the same keys), and it
//! does no I/O.

use std::cmp::Ordering;
use std::time::Duration;

use toml::de::DeValue;

use super::diagnostics::{closest, with_article};
use crate::vault::KdfParams;

/// The sections, in the order of the example file.
pub(crate) const SECTIONS: &[&str] = &[
    "kiosk", "storage", "security", "lockout", "admin", "door", "camera", "gpio", "buzzer",
    "speech", "alerts", "location", "email", "whatsapp", "twilio", "telegram", "ntfy", "webhook",
    "mqtt", "display", "log", "secrets",
];

/// The levels a GPIO line can have.
pub(crate) const LEVELS: &[&str] = &["low", "high"];
/// `gpio.backend`.
pub(crate) const GPIO_BACKENDS: &[&str] = &["rppal", "sim"];
/// `gpio.buzzer`.
pub(crate) const BUZZER_KINDS: &[&str] = &["active", "pwm"];

/// The log levels `log.level` accepts.
pub(crate) const LOG_LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];

/// The ways the kiosk can put its window on screen.
pub(crate) const DISPLAY_BACKENDS: &[&str] = &["auto", "winit", "linuxkms"];

/// The languages the screens are translated into.
pub(crate) const LANGUAGES: &[&str] = &["en", "de"];

/// The type and range of one key.
#[derive(Debug)]
pub(crate) enum Kind {
    /// Text shown to people: 1 to `max_chars` characters, no control characters.
    Text { max_chars: usize },
    /// A file path; `optional` allows "" (meaning none).
    Path { optional: bool },
    /// An integer in `min..=max`; a note says why a bound is what it is.
    Integer {
        min: i64,
        max: i64,
        unit: &'static str,
        min_note: Option<&'static str>,
        max_note: Option<&'static str>,
    },
    /// A humantime duration string in `min..=max`.
    Duration { min: Duration, max: Duration },
    /// `true` or `false`.
    Bool,
    /// One of a fixed set of words (case-insensitive).
    Choice(&'static [&'static str]),
    /// A buzzer pattern: 1 to 20 integers (milliseconds on, off, on, …), each 10 to 5000.
    Pattern,
    /// A BCM GPIO number 2 to 27, or 0 for "not wired" when `optional`.
    Pin { optional: bool },
    /// Like `Text`, but "" means "not given".
    OptionalText { max_chars: usize },
    /// An `http://` or `https://` URL; "" means "none" when `optional`.
    Url { optional: bool },
    /// "latitude, longitude" in decimal degrees, or "" for none.
    Coordinates,
    /// An array of up to `max_items` non-empty texts of at most `max_chars` each.
    TextList { max_items: usize, max_chars: usize },
    /// An e-mail address, optionally with a display name (`Name <a@b.org>`).
    Mailbox,
    /// An array of up to 20 e-mail addresses.
    MailboxList,
    /// A server URL of one protocol (`smtps://…`, `mqtt://…`) without a password.
    ServerUrl(&'static Server),
    /// A phone number in international form (`+4915112345678`), or "" for none.
    Phone,
    /// An MQTT topic level or path without wildcards: 1 to 64 characters.
    Topic,
}

/// One key of one section.
#[derive(Debug)]
pub(crate) struct KeySpec {
    pub section: &'static str,
    pub key: &'static str,
    pub kind: Kind,
}

const fn key(section: &'static str, key: &'static str, kind: Kind) -> KeySpec {
    KeySpec { section, key, kind }
}

const fn int(min: i64, max: i64) -> Kind {
    Kind::Integer {
        min,
        max,
        unit: "",
        min_note: None,
        max_note: None,
    }
}

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

const OWASP_NOTE: &str = "OWASP's minimum for Argon2id: m = 19 MiB, t = 2, p = 1";

/// Every key, in the order of the example file.
pub(crate) const KEYS: &[KeySpec] = &[
    key("kiosk", "name", Kind::Text { max_chars: 64 }),
    key("storage", "database", Kind::Path { optional: false }),
    key(
        "security",
        "argon2_memory_kib",
        Kind::Integer {
            min: KdfParams::OWASP_MINIMUM.memory_kib as i64,
            max: 1024 * 1024,
            unit: " KiB",
            min_note: Some(OWASP_NOTE),
            max_note: Some("1 GiB"),
        },
    ),
    key(
        "security",
        "argon2_iterations",
        Kind::Integer {
            min: KdfParams::OWASP_MINIMUM.iterations as i64,
            max: 20,
            unit: "",
            min_note: Some(OWASP_NOTE),
            max_note: None,
        },
    ),
    key(
        "security",
        "argon2_parallelism",
        Kind::Integer {
            min: KdfParams::OWASP_MINIMUM.parallelism as i64,
            max: 8,
            unit: "",
            min_note: Some(OWASP_NOTE),
            max_note: None,
        },
    ),
    key("lockout", "threshold", int(1, 20)),
    key(
        "lockout",
        "window",
        Kind::Duration {
            min: secs(1),
            max: secs(24 * 3600),
        },
    ),
    key(
        "lockout",
        "first",
        Kind::Duration {
            min: secs(1),
            max: secs(24 * 3600),
        },
    ),
    key("lockout", "factor", int(1, 10)),
    key(
        "lockout",
        "max",
        Kind::Duration {
            min: secs(1),
            max: secs(24 * 3600),
        },
    ),
    key(
        "lockout",
        "hard_lock_after",
        Kind::Integer {
            min: 1,
            max: 100,
            unit: "",
            min_note: None,
            max_note: Some("NIST SP 800-63B allows at most 100 consecutive failed attempts"),
        },
    ),
    key("lockout", "capture_photo", Kind::Bool),
    key(
        "lockout",
        "alarm",
        Kind::Duration {
            min: secs(0),
            max: secs(5 * 60),
        },
    ),
    key(
        "admin",
        "session_timeout",
        Kind::Duration {
            min: secs(10),
            max: secs(3600),
        },
    ),
    key(
        "door",
        "relay_pulse",
        Kind::Duration {
            min: secs(1),
            max: secs(60),
        },
    ),
    key(
        "door",
        "entry_window",
        Kind::Duration {
            min: secs(1),
            max: secs(120),
        },
    ),
    key(
        "door",
        "held_open_after",
        Kind::Duration {
            min: secs(5),
            max: secs(3600),
        },
    ),
    key("door", "exit_button_during_lockout", Kind::Bool),
    key("camera", "device", Kind::Path { optional: false }),
    key("camera", "width", int(160, 3840)),
    key("camera", "height", int(120, 2160)),
    key("camera", "fps", int(1, 60)),
    key(
        "camera",
        "pre_roll",
        Kind::Duration {
            min: Duration::from_millis(500),
            max: secs(10),
        },
    ),
    key("camera", "burst", int(1, 15)),
    key("camera", "preview_fps", int(1, 15)),
    key("camera", "preview_width", int(80, 1280)),
    key("camera", "jpeg_quality", int(30, 100)),
    key("gpio", "backend", Kind::Choice(GPIO_BACKENDS)),
    key("gpio", "relay_pin", Kind::Pin { optional: false }),
    key("gpio", "relay_open_level", Kind::Choice(LEVELS)),
    key("gpio", "buzzer_pin", Kind::Pin { optional: false }),
    key("gpio", "buzzer", Kind::Choice(BUZZER_KINDS)),
    key("gpio", "buzzer_frequency", int(100, 10_000)),
    key("gpio", "door_contact_pin", Kind::Pin { optional: true }),
    key("gpio", "door_open_level", Kind::Choice(LEVELS)),
    key("gpio", "tamper_pin", Kind::Pin { optional: true }),
    key("gpio", "tamper_active_level", Kind::Choice(LEVELS)),
    key("gpio", "exit_button_pin", Kind::Pin { optional: true }),
    key("gpio", "exit_pressed_level", Kind::Choice(LEVELS)),
    key(
        "gpio",
        "debounce",
        Kind::Duration {
            min: Duration::from_millis(5),
            max: secs(1),
        },
    ),
    key("buzzer", "keypress", Kind::Pattern),
    key("buzzer", "wrong", Kind::Pattern),
    key("buzzer", "lockout", Kind::Pattern),
    key("buzzer", "door", Kind::Pattern),
    key("speech", "enabled", Kind::Bool),
    key("speech", "command", Kind::Text { max_chars: 256 }),
    key("speech", "voice", Kind::Text { max_chars: 64 }),
    key("speech", "speed", int(80, 450)),
    key("speech", "text", Kind::Text { max_chars: 500 }),
    key("speech", "wav", Kind::Path { optional: true }),
    key(
        "speech",
        "timeout",
        Kind::Duration {
            min: secs(1),
            max: secs(120),
        },
    ),
    key(
        "alerts",
        "max_age",
        Kind::Duration {
            min: secs(3600),
            max: secs(30 * 86_400),
        },
    ),
    key(
        "alerts",
        "evidence_retention",
        Kind::Duration {
            min: secs(86_400),
            max: secs(3650 * 86_400),
        },
    ),
    key("alerts", "public_ip_url", Kind::Url { optional: true }),
    key("location", "address", Kind::OptionalText { max_chars: 200 }),
    key("location", "coordinates", Kind::Coordinates),
    key("email", "enabled", Kind::Bool),
    key("email", "server", Kind::ServerUrl(&SMTP)),
    key("email", "from", Kind::Mailbox),
    key("email", "to", Kind::MailboxList),
    key("email", "username", Kind::OptionalText { max_chars: 256 }),
    key("email", "timeout", CHANNEL_TIMEOUT),
    key("ntfy", "enabled", Kind::Bool),
    key("ntfy", "base_url", Kind::Url { optional: false }),
    key("ntfy", "topic", Kind::OptionalText { max_chars: 64 }),
    key("ntfy", "priority", int(1, 5)),
    key(
        "ntfy",
        "tags",
        Kind::TextList {
            max_items: 10,
            max_chars: 64,
        },
    ),
    key("ntfy", "timeout", CHANNEL_TIMEOUT),
    key("whatsapp", "enabled", Kind::Bool),
    key("whatsapp", "base_url", Kind::Url { optional: false }),
    key(
        "whatsapp",
        "phone_number_id",
        Kind::OptionalText { max_chars: 32 },
    ),
    key("whatsapp", "to", Kind::Phone),
    key(
        "whatsapp",
        "template",
        Kind::OptionalText { max_chars: 512 },
    ),
    key(
        "whatsapp",
        "template_language",
        Kind::OptionalText { max_chars: 16 },
    ),
    key("whatsapp", "timeout", CHANNEL_TIMEOUT),
    key("twilio", "enabled", Kind::Bool),
    key("twilio", "base_url", Kind::Url { optional: false }),
    key(
        "twilio",
        "account_sid",
        Kind::OptionalText { max_chars: 34 },
    ),
    key("twilio", "from", Kind::Phone),
    key("twilio", "to", Kind::Phone),
    key(
        "twilio",
        "content_sid",
        Kind::OptionalText { max_chars: 34 },
    ),
    key(
        "twilio",
        "public_media_base_url",
        Kind::Url { optional: true },
    ),
    key("twilio", "timeout", CHANNEL_TIMEOUT),
    key("telegram", "enabled", Kind::Bool),
    key("telegram", "base_url", Kind::Url { optional: false }),
    key("telegram", "chat_id", Kind::OptionalText { max_chars: 64 }),
    key("telegram", "timeout", CHANNEL_TIMEOUT),
    key("webhook", "enabled", Kind::Bool),
    key("webhook", "url", Kind::Url { optional: true }),
    key("webhook", "timeout", CHANNEL_TIMEOUT),
    key("mqtt", "enabled", Kind::Bool),
    key("mqtt", "server", Kind::ServerUrl(&MQTT)),
    key("mqtt", "username", Kind::OptionalText { max_chars: 256 }),
    key("mqtt", "topic_prefix", Kind::Topic),
    key("mqtt", "discovery_prefix", Kind::Topic),
    key("mqtt", "timeout", CHANNEL_TIMEOUT),
    key("display", "backend", Kind::Choice(DISPLAY_BACKENDS)),
    key("display", "fullscreen", Kind::Bool),
    key("display", "language", Kind::Choice(LANGUAGES)),
    key("display", "scrambled_keypad", Kind::Bool),
    key("log", "level", Kind::Choice(LOG_LEVELS)),
    key("secrets", "file", Kind::Path { optional: true }),
];

/// "`greater` must be at least `lesser`": (section, key) of each.
pub(crate) struct AtLeast {
    pub greater: (&'static str, &'static str),
    pub lesser: (&'static str, &'static str),
    /// Why, for the hint.
    pub why: &'static str,
}

/// The rules between keys, checked on the merged configuration (the user's values
/// over the defaults).
pub(crate) const RULES: &[AtLeast] = &[
    AtLeast {
        greater: ("lockout", "hard_lock_after"),
        lesser: ("lockout", "threshold"),
        why: "the hard lock cannot come before the first lockout",
    },
    AtLeast {
        greater: ("lockout", "max"),
        lesser: ("lockout", "first"),
        why: "the longest lockout cannot be shorter than the first",
    },
    AtLeast {
        greater: ("door", "entry_window"),
        lesser: ("door", "relay_pulse"),
        why: "the door must be allowed to open while the relay is released",
    },
];

/// How long one try of a channel may take.
const CHANNEL_TIMEOUT: Kind = Kind::Duration {
    min: secs(5),
    max: secs(300),
};

/// A key that must be set (not "" nor []) when its section's `enabled` is true.
pub(crate) struct NeededWhenEnabled {
    pub section: &'static str,
    pub key: &'static str,
    pub hint: &'static str,
}

/// The keys a channel cannot work without.
pub(crate) const NEEDED_WHEN_ENABLED: &[NeededWhenEnabled] = &[
    NeededWhenEnabled {
        section: "email",
        key: "to",
        hint: "list who gets the alerts, e.g. `to = [\"owner@example.org\"]`",
    },
    NeededWhenEnabled {
        section: "ntfy",
        key: "topic",
        hint: "the topic your phone subscribes to; on ntfy.sh make it long and unguessable",
    },
    NeededWhenEnabled {
        section: "whatsapp",
        key: "phone_number_id",
        hint: "the sending number's id, shown in Meta's WhatsApp Manager under API Setup",
    },
    NeededWhenEnabled {
        section: "whatsapp",
        key: "to",
        hint: "the owner's number in international form, e.g. \"+4915112345678\"",
    },
    NeededWhenEnabled {
        section: "twilio",
        key: "account_sid",
        hint: "the account SID (AC…) from the Twilio console",
    },
    NeededWhenEnabled {
        section: "twilio",
        key: "from",
        hint: "the WhatsApp sender number enabled on the Twilio account",
    },
    NeededWhenEnabled {
        section: "twilio",
        key: "to",
        hint: "the owner's number in international form, e.g. \"+4915112345678\"",
    },
    NeededWhenEnabled {
        section: "telegram",
        key: "chat_id",
        hint: "the chat's id: send a message to the bot, then read it from getUpdates",
    },
    NeededWhenEnabled {
        section: "webhook",
        key: "url",
        hint: "the URL that receives the alerts, e.g. \"https://home.example.org/doorguard\"",
    },
];

/// The spec of `section.key`, if it exists.
pub(crate) fn lookup(section: &str, key: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|k| k.section == section && k.key == key)
}

/// Keys of one section, in file order.
pub(crate) fn keys_of(section: &str) -> impl Iterator<Item = &'static KeySpec> + '_ {
    KEYS.iter().filter(move |k| k.section == section)
}

/// A value that failed its check: what is wrong and, maybe, how to fix it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub message: String,
    pub hint: Option<String>,
}

impl Invalid {
    fn new(message: String) -> Self {
        Invalid {
            message,
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// A checked value that can be compared by the cross-field rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Ordered {
    Integer(i64),
    Duration(Duration),
}

impl Ordered {
    fn compare(&self, other: &Ordered) -> Option<Ordering> {
        match (self, other) {
            (Ordered::Integer(a), Ordered::Integer(b)) => Some(a.cmp(b)),
            (Ordered::Duration(a), Ordered::Duration(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// True when `self < other` (values of different kinds never compare).
    pub(crate) fn is_less_than(&self, other: &Ordered) -> bool {
        self.compare(other) == Some(Ordering::Less)
    }
}

impl std::fmt::Display for Ordered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ordered::Integer(n) => write!(f, "{n}"),
            Ordered::Duration(d) => write!(f, "{}", humantime::format_duration(*d)),
        }
    }
}

/// Parses a humantime duration ("30s", "5m", "1h 30m").
pub(crate) fn parse_duration(text: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(text.trim())
}

/// The position of `text` among `choices`, ignoring ASCII case.
pub(crate) fn parse_choice(text: &str, choices: &[&str]) -> Option<usize> {
    choices
        .iter()
        .position(|c| c.eq_ignore_ascii_case(text.trim()))
}

fn integer_value(value: &DeValue<'_>) -> Option<Result<i64, ()>> {
    match value {
        DeValue::Integer(i) => Some(i64::from_str_radix(i.as_str(), i.radix()).map_err(|_| ())),
        _ => None,
    }
}

/// Checks that `s` is an absolute `http` or `https` URL with a host.
pub(crate) fn check_url(s: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(s).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme must be http or https, not {}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("there is no host".to_owned());
    }
    Ok(())
}

/// The strings of an array value, or `None` if it is not an array of strings.
fn strings<'a>(value: &'a DeValue<'_>) -> Option<Vec<&'a str>> {
    let DeValue::Array(items) = value else {
        return None;
    };
    items
        .iter()
        .map(|i| match i.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            _ => None,
        })
        .collect()
}

fn check_mailbox(name: &str, s: &str) -> Result<(), Invalid> {
    s.parse::<lettre::message::Mailbox>()
        .map(drop)
        .map_err(|e| {
            Invalid::new(format!("`{name}`: \"{s}\" is not an e-mail address ({e})"))
                .hint("write `someone@example.org` or `Name <someone@example.org>`")
        })
}

/// The protocol of a [`Kind::ServerUrl`].
#[derive(Debug)]
pub(crate) struct Server {
    /// The plain and the TLS scheme, e.g. `smtp` and `smtps`.
    pub schemes: [&'static str; 2],
    /// The secret that holds the password.
    pub secret: &'static str,
    /// Examples for the hint.
    pub examples: &'static str,
}

pub(crate) const SMTP: Server = Server {
    schemes: ["smtp", "smtps"],
    secret: "smtp_password",
    examples: "\"smtps://mail.example.org:465\", \"smtp://mail.example.org:587?tls=required\" or \"smtp://127.0.0.1:25\"",
};

pub(crate) const MQTT: Server = Server {
    schemes: ["mqtt", "mqtts"],
    secret: "mqtt_password",
    examples: "\"mqtt://homeassistant.local:1883\" or \"mqtts://broker.example.org:8883\"",
};

fn check_server_url(name: &str, s: &str, server: &Server) -> Result<(), Invalid> {
    let hint = format!("e.g. {}", server.examples);
    let url = reqwest::Url::parse(s).map_err(|e| {
        Invalid::new(format!("`{name}` is not a URL: \"{s}\" ({e})")).hint(hint.clone())
    })?;
    let [plain, tls] = server.schemes;
    if url.scheme() != plain && url.scheme() != tls {
        return Err(Invalid::new(format!(
            "`{name}` must start with {plain}:// or {tls}://, found {}://",
            url.scheme()
        ))
        .hint(hint));
    }
    if url.password().is_some() {
        // The value is not repeated: it holds a password.
        return Err(
            Invalid::new(format!("`{name}` must not contain a password")).hint(format!(
                "put the password in the secrets file as `{}`",
                server.secret
            )),
        );
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Invalid::new(format!("`{name}` has no host: \"{s}\"")).hint(hint));
    }
    Ok(())
}

/// Reads "latitude, longitude" in decimal degrees.
pub(crate) fn parse_coordinates(s: &str) -> Result<(f64, f64), String> {
    let (lat, lon) = s
        .split_once(',')
        .ok_or_else(|| "two numbers separated by a comma".to_owned())?;
    let number = |t: &str| t.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    let lat = number(lat).ok_or_else(|| "the latitude is not a number".to_owned())?;
    let lon = number(lon).ok_or_else(|| "the longitude is not a number".to_owned())?;
    if !(-90.0..=90.0).contains(&lat) {
        return Err(format!("the latitude must be -90 to 90, found {lat}"));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(format!("the longitude must be -180 to 180, found {lon}"));
    }
    Ok((lat, lon))
}

fn quoted_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    quoted.join(", ")
}

impl KeySpec {
    /// `section.key`, as messages name it.
    pub(crate) fn name(&self) -> String {
        format!("{}.{}", self.section, self.key)
    }

    /// What the key expects, for "must be …" messages.
    fn expected(&self) -> &'static str {
        match self.kind {
            Kind::Text { .. }
            | Kind::OptionalText { .. }
            | Kind::Path { .. }
            | Kind::Choice(_)
            | Kind::Url { .. }
            | Kind::Coordinates
            | Kind::Mailbox
            | Kind::ServerUrl(_)
            | Kind::Phone
            | Kind::Topic => "a string",
            Kind::TextList { .. } | Kind::MailboxList => "an array of strings",
            Kind::Integer { .. } => "an integer",
            Kind::Duration { .. } => "a duration string",
            Kind::Bool => "true or false",
            Kind::Pattern => "an array of milliseconds",
            Kind::Pin { .. } => "an integer",
        }
    }

    fn wrong_type(&self, value: &DeValue<'_>) -> Invalid {
        let found = with_article(value.type_str());
        let invalid = Invalid::new(format!(
            "`{}` must be {}, found {found}",
            self.name(),
            self.expected()
        ));
        let key = self.key;
        match (&self.kind, value) {
            (Kind::Duration { .. }, DeValue::Integer(i)) => invalid.hint(format!(
                "durations are quoted strings with a unit, e.g. `{key} = \"{}s\"` for {} seconds",
                i.as_str(),
                i.as_str()
            )),
            (Kind::Duration { .. }, _) => invalid.hint(format!(
                "durations are quoted strings with a unit, e.g. `{key} = \"30s\"`, \"5m\" or \"1h 30m\""
            )),
            (Kind::Integer { .. }, DeValue::String(s)) if s.trim().parse::<i64>().is_ok() => {
                invalid.hint(format!("remove the quotes: `{key} = {}`", s.trim()))
            }
            (Kind::Integer { .. }, DeValue::Float(_)) => {
                invalid.hint("write a whole number, without a decimal point")
            }
            (Kind::Bool, DeValue::String(s))
                if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
            {
                invalid.hint(format!("remove the quotes: `{key} = {}`", s.to_ascii_lowercase()))
            }
            (Kind::Bool, _) => invalid.hint(format!("write `{key} = true` or `{key} = false`")),
            (Kind::TextList { .. } | Kind::MailboxList, DeValue::String(v)) => {
                invalid.hint(format!("write a list in brackets: `{key} = [\"{v}\"]`"))
            }
            (Kind::Pattern, _) => invalid.hint(format!(
                "write milliseconds on, off, on, …, e.g. `{key} = [120, 80, 120]`"
            )),
            (Kind::Coordinates, DeValue::Float(_) | DeValue::Integer(_) | DeValue::Array(_)) => {
                invalid.hint(format!("write both in one string: `{key} = \"52.520008, 13.404954\"`"))
            }
            (
                Kind::Text { .. }
                | Kind::OptionalText { .. }
                | Kind::Path { .. }
                | Kind::Choice(_)
                | Kind::Url { .. }
                | Kind::Mailbox
                | Kind::ServerUrl(_)
                | Kind::Phone
                | Kind::Topic,
                DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_),
            ) => invalid.hint("put the value in double quotes"),
            _ => invalid,
        }
    }

    /// Checks one value: its type, that it parses, that it is in range. On success
    /// returns the value as the cross-field rules compare it, if they can.
    pub(crate) fn check(&self, value: &DeValue<'_>) -> Result<Option<Ordered>, Invalid> {
        let name = self.name();
        match &self.kind {
            Kind::Text { max_chars } => {
                let DeValue::String(s) = value else {
                    return Err(self.wrong_type(value));
                };
                let chars = s.chars().count();
                if s.trim().is_empty() {
                    return Err(Invalid::new(format!("`{name}` must not be empty")));
                }
                if chars > *max_chars {
                    return Err(Invalid::new(format!(
                        "`{name}` must be 1 to {max_chars} characters long, found {chars}"
                    )));
                }
                if s.chars().any(char::is_control) {
                    return Err(Invalid::new(format!(
                        "`{name}` must not contain control characters (newlines, tabs)"
                    )));
                }
                Ok(None)
            }
            Kind::OptionalText { max_chars } => {
                let DeValue::String(s) = value else {
                    return Err(self.wrong_type(value));
                };
                let chars = s.chars().count();
                if chars > *max_chars {
                    return Err(Invalid::new(format!(
                        "`{name}` must be at most {max_chars} characters long, found {chars}"
                    )));
                }
                if s.chars().any(char::is_control) {
                    return Err(Invalid::new(format!(
                        "`{name}` must not contain control characters (newlines, tabs)"
                    )));
                }
                Ok(None)
            }
            Kind::Url { optional } => {
                let DeValue::String(s) = value else {
                    return Err(self.wrong_type(value));
                };
                if s.is_empty() && *optional {
                    return Ok(None);
                }
                check_url(s).map_err(|why| {
                    Invalid::new(format!("`{name}` is not a usable URL: \"{s}\" ({why})"))
                        .hint("write a full URL such as \"https://example.org/path\"")
                })?;
                Ok(None)
            }
            Kind::TextList {
                max_items,
                max_chars,
            } => {
                let items = strings(value).ok_or_else(|| self.wrong_type(value))?;
                if items.len() > *max_items {
                    return Err(Invalid::new(format!(
                        "`{name}` may have at most {max_items} entries, found {}",
                        items.len()
                    )));
                }
                for item in items {
                    if item.trim().is_empty()
                        || item.chars().count() > *max_chars
                        || item.chars().any(char::is_control)
                    {
                        return Err(Invalid::new(format!(
                            "`{name}`: each entry must be 1 to {max_chars} characters without control characters, found \"{item}\""
                        )));
                    }
                }
                Ok(None)
            }
            Kind::Mailbox => {
                let DeValue::String(s) = value else {
                    return Err(self.wrong_type(value));
                };
                check_mailbox(&name, s)?;
                Ok(None)
            }
            Kind::MailboxList => {
                let items = strings(value).ok_or_else(|| self.wrong_type(value))?;
                if items.len() > 20 {
                    return Err(Invalid::new(format!(
                        "`{name}` may have at most 20 addresses, found {}",
                        items.len()
                    )));
                }
                for item in items {
                    check_mailbox(&name, item)?;
                }
                Ok(None)
            }
            Kind::ServerUrl(server) => {
                let DeValue::String(s) = value else {
                    return Err(self.wrong_type(value));
                };
                check_server_url(&name, s, server)?;
                Ok(None)
            }
            Kind::Topic => {
                let DeValue::String(s) = value else {
                    return Err(self.wrong_type(value));
                };
                let bad = s.is_empty()
                    || s.chars().count() > 64
                    || s.starts_with('/')
                    || s.ends_with('/')
                    || s.chars().any(|c| {
                        matches!(c, '+' | '#' | '\0') || c.is_control() || c.is_whitespace()
                    });
                if bad {
                    return Err(Invalid::new(format!(
                        "`{name}` must be 1 to 64 characters without spaces, `+`, `#` or a leading or trailing `/`, found \"{s}\""
                    ))
                    .hint("e.g. \"doorguard\" or \"home/doors\""));
                }
                Ok(None)
            }
            Kind::Phone => {
                let DeValue::String(s) = value else {
                    return Err(self.wrong_type(value));
                };
                let digits = s.trim().strip_prefix('+').unwrap_or(s.trim());
                let ok = digits.is_empty()
                    || ((6..=15).contains(&digits.len())
                        && digits.chars().all(|c| c.is_ascii_digit()));
                if !ok {
                    return Err(Invalid::new(format!(
                        "`{name}` must be a phone number in international form, found \"{s}\""
                    ))
                    .hint("country code and number, digits only: \"+4915112345678\""));
                }
                Ok(None)
            }
            Kind::Coordinates => {
                let DeValue::String(s) = value else {
                    return Err(self.wrong_type(value));
                };
                if s.trim().is_empty() {
                    return Ok(None);
                }
                parse_coordinates(s).map_err(|why| {
                    Invalid::new(format!(
                        "`{name}` must be \"latitude, longitude\", found \"{s}\" ({why})"
                    ))
                    .hint("decimal degrees as a map shows them, e.g. \"52.520008, 13.404954\"")
                })?;
                Ok(None)
            }
            Kind::Path { optional } => {
                let DeValue::String(s) = value else {
                    return Err(self.wrong_type(value));
                };
                if s.is_empty() && !optional {
                    return Err(Invalid::new(format!("`{name}` must not be empty"))
                        .hint("write the path of the file"));
                }
                if s.contains('\0') {
                    return Err(Invalid::new(format!(
                        "`{name}` must not contain a NUL character"
                    )));
                }
                Ok(None)
            }
            Kind::Integer {
                min,
                max,
                unit,
                min_note,
                max_note,
            } => {
                let Some(parsed) = integer_value(value) else {
                    return Err(self.wrong_type(value));
                };
                let range = format!("{min} to {max}{unit}");
                let found = match value {
                    DeValue::Integer(i) => i.to_string(),
                    _ => String::new(),
                };
                let n = match parsed {
                    Ok(n) => n,
                    Err(()) => {
                        return Err(Invalid::new(format!(
                            "`{name}` must be between {min} and {max}{unit}, found {found}"
                        )));
                    }
                };
                if n < *min {
                    return Err(match min_note {
                        Some(note) => Invalid::new(format!(
                            "`{name}` must be at least {min}{unit} ({note}), found {n}"
                        ))
                        .hint(format!("allowed: {range}")),
                        None => Invalid::new(format!(
                            "`{name}` must be between {min} and {max}{unit}, found {n}"
                        )),
                    });
                }
                if n > *max {
                    return Err(match max_note {
                        Some(note) => Invalid::new(format!(
                            "`{name}` must be at most {max}{unit} ({note}), found {n}"
                        ))
                        .hint(format!("allowed: {range}")),
                        None => Invalid::new(format!(
                            "`{name}` must be between {min} and {max}{unit}, found {n}"
                        )),
                    });
                }
                Ok(Some(Ordered::Integer(n)))
            }
            Kind::Duration { min, max } => {
                let DeValue::String(s) = value else {
                    return Err(self.wrong_type(value));
                };
                let d = parse_duration(s).map_err(|e| {
                    Invalid::new(format!("`{name}` is not a valid duration: \"{s}\" ({e})"))
                        .hint("write a number and a unit, e.g. \"30s\", \"5m\" or \"1h 30m\"")
                })?;
                if d < *min || d > *max {
                    return Err(Invalid::new(format!(
                        "`{name}` must be between {} and {}, found {}",
                        humantime::format_duration(*min),
                        humantime::format_duration(*max),
                        humantime::format_duration(d)
                    )));
                }
                Ok(Some(Ordered::Duration(d)))
            }
            Kind::Bool => match value {
                DeValue::Boolean(_) => Ok(None),
                _ => Err(self.wrong_type(value)),
            },
            Kind::Pattern => {
                let DeValue::Array(items) = value else {
                    return Err(self.wrong_type(value));
                };
                if !(1..=20).contains(&items.len()) {
                    return Err(Invalid::new(format!(
                        "`{name}` must have 1 to 20 steps, found {}",
                        items.len()
                    )));
                }
                for item in items {
                    match integer_value(item.get_ref()) {
                        Some(Ok(ms)) if (10..=5000).contains(&ms) => {}
                        Some(Ok(ms)) => {
                            return Err(Invalid::new(format!(
                                "`{name}`: each step must be 10 to 5000 ms, found {ms}"
                            )));
                        }
                        _ => return Err(self.wrong_type(value)),
                    }
                }
                Ok(None)
            }
            Kind::Pin { optional } => {
                let Some(Ok(pin)) = integer_value(value) else {
                    return Err(self.wrong_type(value));
                };
                if (2..=27).contains(&pin) || (*optional && pin == 0) {
                    return Ok(None);
                }
                let allowed = if *optional {
                    "0 (not wired) or 2 to 27"
                } else {
                    "2 to 27"
                };
                Err(Invalid::new(format!(
                    "`{name}` must be a BCM GPIO number, {allowed}, found {pin}"
                ))
                .hint("BCM numbers, not header pin numbers: GPIO17 is header pin 11"))
            }
            Kind::Choice(choices) => {
                let DeValue::String(s) = value else {
                    return Err(self.wrong_type(value));
                };
                if parse_choice(s, choices).is_some() {
                    return Ok(None);
                }
                let invalid = Invalid::new(format!(
                    "`{name}` must be one of {}, found \"{s}\"",
                    quoted_list(choices)
                ));
                Err(match closest(s, choices.iter().map(|c| (0.0, *c, *c))) {
                    Some(c) => invalid.hint(format!("did you mean \"{c}\"?")),
                    None => invalid,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(section: &str, key: &str, toml_value: &str) -> Result<Option<Ordered>, Invalid> {
        let spec = lookup(section, key).unwrap();
        let value = DeValue::parse(toml_value).unwrap();
        spec.check(value.get_ref())
    }

    #[test]
    fn every_key_is_in_a_known_section_once() {
        for (i, k) in KEYS.iter().enumerate() {
            assert!(SECTIONS.contains(&k.section), "{}", k.name());
            assert!(
                !KEYS[..i]
                    .iter()
                    .any(|o| o.section == k.section && o.key == k.key),
                "duplicate {}",
                k.name()
            );
        }
    }

    #[test]
    fn integers() {
        assert_eq!(
            check("lockout", "threshold", "5"),
            Ok(Some(Ordered::Integer(5)))
        );
        let e = check("lockout", "threshold", "0").unwrap_err();
        assert_eq!(
            e.message,
            "`lockout.threshold` must be between 1 and 20, found 0"
        );
        let e = check("lockout", "threshold", "99999999999999999999").unwrap_err();
        assert!(e.message.contains("between 1 and 20"), "{}", e.message);
        let e = check("lockout", "threshold", "\"5\"").unwrap_err();
        assert_eq!(
            e.message,
            "`lockout.threshold` must be an integer, found a string"
        );
        assert_eq!(
            e.hint.as_deref(),
            Some("remove the quotes: `threshold = 5`")
        );
        let e = check("lockout", "threshold", "2.5").unwrap_err();
        assert_eq!(
            e.message,
            "`lockout.threshold` must be an integer, found a float"
        );
        let e = check("security", "argon2_memory_kib", "0x400").unwrap_err();
        assert!(e.message.contains("OWASP"), "{}", e.message);
        assert!(e.message.ends_with("found 1024"), "{}", e.message);
        let e = check("lockout", "hard_lock_after", "101").unwrap_err();
        assert!(e.message.contains("NIST SP 800-63B"), "{}", e.message);
    }

    #[test]
    fn durations() {
        assert_eq!(
            check("lockout", "window", "\"1h 30m\""),
            Ok(Some(Ordered::Duration(Duration::from_secs(5400))))
        );
        let e = check("lockout", "alarm", "\"10m\"").unwrap_err();
        assert_eq!(
            e.message,
            "`lockout.alarm` must be between 0s and 5m, found 10m"
        );
        let e = check("lockout", "window", "\"5 minuts\"").unwrap_err();
        assert!(
            e.message
                .starts_with("`lockout.window` is not a valid duration: \"5 minuts\"")
        );
        let e = check("lockout", "window", "300").unwrap_err();
        assert_eq!(
            e.message,
            "`lockout.window` must be a duration string, found an integer"
        );
        assert!(e.hint.unwrap().contains("\"300s\""));
    }

    #[test]
    fn text_bool_choice_path() {
        assert!(check("kiosk", "name", "\"\"").is_err());
        assert!(check("kiosk", "name", &format!("\"{}\"", "x".repeat(65))).is_err());
        assert!(check("kiosk", "name", "\"Back door\\n\"").is_err());
        assert_eq!(
            check("kiosk", "name", &format!("\"{}\"", "é".repeat(64))),
            Ok(None)
        );
        let e = check("lockout", "capture_photo", "\"true\"").unwrap_err();
        assert_eq!(
            e.hint.as_deref(),
            Some("remove the quotes: `capture_photo = true`")
        );
        assert_eq!(check("log", "level", "\"DEBUG\""), Ok(None));
        let e = check("log", "level", "\"warning\"").unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("did you mean \"warn\"?"));
        assert!(check("storage", "database", "\"\"").is_err());
        assert_eq!(check("secrets", "file", "\"\""), Ok(None));
    }
}
