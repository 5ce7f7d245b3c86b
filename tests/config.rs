//! The configuration as an administrator meets it: real files in a temporary
//! directory, loaded through `doorguard::config`, and the messages they would read.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use doorguard::access::Policy;
use doorguard::config::{ConfigError, DEFAULT_CONFIG, Problem, Secrets, SecretsSettings, Settings};
use doorguard::vault::KdfParams;

mod common;

use common::logs::subscriber_into;

/// A config file with `text` in a fresh temporary directory.
struct ConfigFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn config_file(text: &str) -> ConfigFile {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    fs::write(&path, text).unwrap();
    ConfigFile { _dir: dir, path }
}

fn load_err(text: &str) -> (ConfigError, PathBuf, ConfigFile) {
    let file = config_file(text);
    let err = Settings::load(&file.path, true).unwrap_err();
    let path = file.path.clone();
    (err, path, file)
}

/// (line, column, message, hint) of each problem, as the administrator reads them.
fn seen(err: &ConfigError) -> Vec<(usize, usize, &str, Option<&str>)> {
    err.problems
        .iter()
        .map(|p| (p.line, p.column, p.message.as_str(), p.hint.as_deref()))
        .collect()
}

#[test]
fn unknown_key_is_reported_with_a_hint_and_its_line_and_column() {
    let (err, path, _f) =
        load_err("[kiosk]\nname = \"Lab\"\n\n[lockout]\nthreshold = 4\n  treshold = 5\n");
    assert_eq!(
        seen(&err),
        [(
            6,
            3,
            "unknown key `lockout.treshold` in [lockout]",
            Some("did you mean `lockout.threshold`?")
        )]
    );
    assert_eq!(err.problems[0].file, path);
    assert_eq!(
        err.to_string(),
        format!(
            "{0}:6:3: unknown key `lockout.treshold` in [lockout]\n  \
             hint: did you mean `lockout.threshold`?\n\
             1 problem in {0}",
            path.display()
        )
    );
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn a_key_under_the_wrong_section_is_pointed_to_its_section() {
    let (err, _, _f) = load_err("[door]\nrelay_pulse = \"3s\"\nthreshold = 5\n");
    assert_eq!(
        seen(&err),
        [(
            3,
            1,
            "unknown key `door.threshold` in [door]",
            Some("did you mean `lockout.threshold`? It belongs in [lockout]")
        )]
    );
}

#[test]
fn keys_above_the_first_section_are_reported() {
    let (err, _, _f) = load_err("name = \"Lab\"\n[kiosk]\n");
    assert_eq!(
        seen(&err),
        [(
            1,
            1,
            "key `name` is outside any section",
            Some("did you mean `kiosk.name`? It belongs in [kiosk]")
        )]
    );
}

#[test]
fn a_misspelled_section_is_reported_at_its_header() {
    let (err, _, _f) = load_err("[kiosk]\nname = \"Lab\"\n\n[lockot]\nthreshold = 5\n");
    assert_eq!(
        seen(&err),
        [(
            4,
            1,
            "unknown section [lockot]",
            Some("did you mean [lockout]?")
        )]
    );
    let (err, _, _f) = load_err("[paging.email]\nto = \"x\"\n");
    assert_eq!(err.problems[0].message, "unknown section [paging]");
    assert!(
        err.problems[0]
            .hint
            .as_deref()
            .unwrap()
            .starts_with("known sections: [kiosk], [storage]"),
        "{err}"
    );
}

#[test]
fn a_wrong_type_names_the_key_and_both_types() {
    let (err, _, _f) = load_err("[lockout]\nthreshold = \"5\"\ncapture_photo = 1\n");
    assert_eq!(
        seen(&err),
        [
            (
                2,
                1,
                "`lockout.threshold` must be an integer, found a string",
                Some("remove the quotes: `threshold = 5`")
            ),
            (
                3,
                1,
                "`lockout.capture_photo` must be true or false, found an integer",
                Some("write `capture_photo = true` or `capture_photo = false`")
            ),
        ]
    );
}

#[test]
fn a_duration_needs_quotes_and_a_unit() {
    let (err, _, _f) = load_err("[lockout]\nwindow = 300\nfirst = \"30 secs please\"\n");
    let problems = seen(&err);
    assert_eq!(
        problems[0],
        (
            2,
            1,
            "`lockout.window` must be a duration string, found an integer",
            Some(
                "durations are quoted strings with a unit, e.g. `window = \"300s\"` for 300 seconds"
            )
        )
    );
    assert_eq!((problems[1].0, problems[1].1), (3, 1));
    assert!(
        problems[1]
            .2
            .starts_with("`lockout.first` is not a valid duration: \"30 secs please\""),
        "{err}"
    );
}

#[test]
fn argon2_memory_below_owasp_is_refused() {
    let (err, _, _f) = load_err("[security]\nargon2_memory_kib = 1024\n");
    assert_eq!(err.problems.len(), 1, "{err}");
    let p = &err.problems[0];
    assert_eq!((p.line, p.column), (2, 1));
    assert_eq!(
        p.message,
        "`security.argon2_memory_kib` must be at least 19456 KiB \
         (OWASP's minimum for Argon2id: m = 19 MiB, t = 2, p = 1), found 1024"
    );
    assert_eq!(p.hint.as_deref(), Some("allowed: 19456 to 1048576 KiB"));
}

#[test]
fn out_of_range_values_state_the_allowed_range() {
    let (err, _, _f) = load_err(
        "[lockout]\nthreshold = 50\nhard_lock_after = 500\nalarm = \"10m\"\n\
         [door]\nrelay_pulse = \"0s\"\n[kiosk]\nname = \"\"\n[log]\nlevel = \"verbose\"\n",
    );
    let messages: Vec<&str> = err.problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "`lockout.threshold` must be between 1 and 20, found 50",
            "`lockout.hard_lock_after` must be at most 100 \
             (NIST SP 800-63B allows at most 100 consecutive failed attempts), found 500",
            "`lockout.alarm` must be between 0s and 5m, found 10m",
            "`door.relay_pulse` must be between 1s and 1m, found 0s",
            "`kiosk.name` must not be empty",
            "`log.level` must be one of \"error\", \"warn\", \"info\", \"debug\", \"trace\", \
             found \"verbose\"",
        ]
    );
}

#[test]
fn every_problem_is_reported_together_in_file_order() {
    let text = "\
# my kiosk
[kiosk]
name = \"Lab\"
colour = \"red\"

[lockout]
threshold = \"three\"
window = 300
max = \"1h\"

[security]
argon2_memory_kib = 1024

[door]
threshold = 5
relay_pulse = \"20s\"
entry_window = \"10s\"
";
    let (err, path, _f) = load_err(text);
    assert_eq!(
        seen(&err),
        [
            (
                4,
                1,
                "unknown key `kiosk.colour` in [kiosk]",
                Some("known keys in [kiosk]: name")
            ),
            (
                7,
                1,
                "`lockout.threshold` must be an integer, found a string",
                None
            ),
            (
                8,
                1,
                "`lockout.window` must be a duration string, found an integer",
                Some(
                    "durations are quoted strings with a unit, e.g. `window = \"300s\"` for 300 seconds"
                )
            ),
            (
                12,
                1,
                "`security.argon2_memory_kib` must be at least 19456 KiB \
                 (OWASP's minimum for Argon2id: m = 19 MiB, t = 2, p = 1), found 1024",
                Some("allowed: 19456 to 1048576 KiB")
            ),
            (
                15,
                1,
                "unknown key `door.threshold` in [door]",
                Some("did you mean `lockout.threshold`? It belongs in [lockout]")
            ),
            (
                17,
                1,
                "`door.entry_window` (10s) must be at least `door.relay_pulse` (20s)",
                Some(
                    "the door must be allowed to open while the relay is released: \
                     raise `door.entry_window` or lower `door.relay_pulse`"
                )
            ),
        ]
    );
    let shown = err.to_string();
    assert_eq!(shown.lines().count(), 6 + 5 + 1, "{shown}");
    assert!(
        shown.ends_with(&format!("6 problems in {}", path.display())),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "{}:12:1: `security.argon2_memory_kib` must be at least",
            path.display()
        )),
        "{shown}"
    );
}

#[test]
fn cross_field_rules_blame_the_key_the_user_wrote() {
    // `first` above the default `max`: reported at `first`, naming the default.
    let (err, _, _f) = load_err("[lockout]\nfirst = \"2h\"\n");
    assert_eq!(
        seen(&err),
        [(
            2,
            1,
            "`lockout.max` (1h, the default) must be at least `lockout.first` (2h)",
            Some(
                "the longest lockout cannot be shorter than the first: \
                 raise `lockout.max` or lower `lockout.first`"
            )
        )]
    );
    // Both written: reported at the one that must be larger.
    let (err, _, _f) = load_err("[lockout]\nhard_lock_after = 5\nthreshold = 10\n");
    assert_eq!(
        (err.problems[0].line, err.problems[0].column),
        (2, 1),
        "reported at hard_lock_after: {err}"
    );
    assert_eq!(
        err.problems[0].message,
        "`lockout.hard_lock_after` (5) must be at least `lockout.threshold` (10)"
    );
    // An invalid value is reported once, not again through a rule.
    let (err, _, _f) = load_err("[lockout]\nfirst = \"2 fortnights\"\nmax = \"1m\"\n");
    assert_eq!(err.problems.len(), 1, "{err}");
}

#[test]
fn a_syntax_error_is_one_problem_at_its_position() {
    let (err, path, _f) = load_err("[kiosk]\nname = Front door\n");
    assert_eq!(err.problems.len(), 1);
    let p = &err.problems[0];
    assert_eq!((p.line, p.column), (2, 8), "{err}");
    assert!(p.message.starts_with("TOML syntax error: "), "{err}");
    assert!(p.message.contains("quoted"), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{}:2:8: ", path.display()))
    );

    let (err, _, _f) = load_err("[lockout]\nthreshold = 3\n\n[lockout\n");
    assert_eq!(
        (err.problems[0].line, err.problems[0].column),
        (4, 9),
        "{err}"
    );

    let (err, _, _f) = load_err("[lockout]\nthreshold = 3\nthreshold = 4\n");
    assert_eq!(
        seen(&err),
        [(3, 1, "TOML syntax error: duplicate key `threshold`", None)]
    );
}

#[test]
fn a_partial_file_takes_the_other_values_from_the_defaults() {
    let file = config_file(
        "[kiosk]\nname = \"Reception\"\n\n[lockout]\nthreshold = 5\nwindow = \"10m\"\n\
         [log]\nlevel = \"debug\"\n",
    );
    let settings = Settings::load(&file.path, true).unwrap();
    let defaults = Settings::defaults();
    assert_eq!(settings.kiosk.name, "Reception");
    assert_eq!(settings.access.threshold, 5);
    assert_eq!(settings.access.window, Duration::from_secs(600));
    assert_eq!(settings.log.level, tracing::Level::DEBUG);
    assert_eq!(
        settings.access,
        Policy {
            threshold: 5,
            window: Duration::from_secs(600),
            ..defaults.access.clone()
        }
    );
    assert_eq!(settings.storage, defaults.storage);
    assert_eq!(settings.security, defaults.security);
    assert_eq!(settings.secrets, defaults.secrets);

    // Dotted keys and an empty file work too.
    let file = config_file("door.relay_pulse = \"2s\"\n");
    let settings = Settings::load(&file.path, true).unwrap();
    assert_eq!(settings.access.relay_pulse, Duration::from_secs(2));
    let file = config_file("");
    assert_eq!(Settings::load(&file.path, true).unwrap(), defaults);
}

#[test]
fn a_missing_file_means_defaults_unless_it_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere.toml");
    assert_eq!(Settings::load(&path, false).unwrap(), Settings::defaults());

    let err = Settings::load(&path, true).unwrap_err();
    assert_eq!(err.problems.len(), 1);
    let p = &err.problems[0];
    assert_eq!(p.file, path);
    assert_eq!((p.line, p.column), (0, 0));
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("{}: configuration file not found", path.display())),
        "{shown}"
    );
    assert!(shown.contains("print-default-config"), "{shown}");
}

#[test]
fn a_file_that_is_not_utf8_is_reported_at_the_bad_byte() {
    let file = config_file("");
    fs::write(&file.path, b"[kiosk]\nname = \"Caf\xe9\"\n").unwrap();
    let err = Settings::load(&file.path, true).unwrap_err();
    assert_eq!(
        seen(&err),
        [(
            2,
            12,
            "the file is not valid UTF-8 text",
            Some("save the file as UTF-8")
        )]
    );
}

#[test]
fn the_shipped_example_parses_to_the_defaults() {
    let file = config_file(DEFAULT_CONFIG);
    let settings = Settings::load(&file.path, true).unwrap();
    assert_eq!(settings, Settings::defaults());
    assert_eq!(settings.access, Policy::default());
    assert_eq!(settings.security.kdf, KdfParams::OWASP_MINIMUM);

    // A customised file keeps escapes and overrides only what it names.
    let custom = config_file(
        "[kiosk]\nname = \"Lab \\\"B\\\"\"\n[lockout]\nmax = \"2h 30m\"\nalarm = \"0s\"\n\
         [secrets]\nfile = \"/etc/doorguard/secrets.toml\"\n",
    );
    let settings = Settings::load(&custom.path, true).unwrap();
    assert_eq!(settings.kiosk.name, "Lab \"B\"");
    assert_eq!(
        settings.secrets.file.as_deref(),
        Some(Path::new("/etc/doorguard/secrets.toml"))
    );
    assert_eq!(settings.access.lockout_max, Duration::from_secs(9000));
    assert_eq!(settings.access.alarm_duration, Duration::ZERO);
    assert_eq!(settings.access.window, Policy::default().window);
}

// ---- secrets ----

const SECRET: &str = "s3cr3t-Token-value";

fn secrets_file(dir: &Path, text: &str, mode: u32) -> PathBuf {
    let path = dir.join("secrets.toml");
    let mut f = fs::File::create(&path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    set_mode(&path, mode);
    path
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

/// Runs `f` with a tracing subscriber that writes into the returned buffer.
fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let result = tracing::subscriber::with_default(subscriber_into(&buffer), f);
    let logs = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
    (result, logs)
}

#[test]
fn secrets_come_from_the_file_and_credentials_take_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let file = secrets_file(
        dir.path(),
        &format!("smtp_password = \"{SECRET}\"\nntfy_token = \"from-file\"\n"),
        0o600,
    );
    let credentials = dir.path().join("credentials");
    fs::create_dir(&credentials).unwrap();
    fs::write(credentials.join("ntfy_token"), "from-systemd\n").unwrap();
    fs::write(credentials.join("mqtt_password"), "mqtt-pass\r\n").unwrap();

    let settings = SecretsSettings { file: Some(file) };
    let (secrets, logs) =
        capture_logs(|| Secrets::load_with_credentials(&settings, Some(&credentials)).unwrap());
    assert_eq!(secrets.get("smtp_password").unwrap().expose(), SECRET);
    assert_eq!(secrets.get("ntfy_token").unwrap().expose(), "from-systemd");
    assert_eq!(secrets.get("mqtt_password").unwrap().expose(), "mqtt-pass");
    assert!(secrets.get("webhook_secret").is_none());
    assert!(logs.is_empty(), "a 0600 file is fine: {logs}");

    let debug = format!("{secrets:?} {:?}", secrets.get("smtp_password"));
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(!debug.contains("from-systemd"), "{debug}");
    assert!(debug.contains("SecretValue(***)"), "{debug}");

    // No file, no credentials: nothing set, no error.
    let none = Secrets::load_with_credentials(&SecretsSettings { file: None }, None).unwrap();
    assert_eq!(none.names().count(), 0);
}

#[cfg(unix)]
#[test]
fn a_secrets_file_readable_by_others_is_a_warning_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = secrets_file(
        dir.path(),
        &format!("webhook_secret = \"{SECRET}\"\n"),
        0o644,
    );
    let settings = SecretsSettings {
        file: Some(file.clone()),
    };
    let (secrets, logs) = capture_logs(|| Secrets::load_with_credentials(&settings, None).unwrap());
    assert_eq!(secrets.get("webhook_secret").unwrap().expose(), SECRET);
    assert!(logs.contains("WARN"), "{logs}");
    assert!(
        logs.contains(&format!("chmod 600 {}", file.display())),
        "{logs}"
    );
    assert!(!logs.contains(SECRET), "{logs}");
}

#[test]
fn a_bad_secrets_file_is_reported_without_its_values() {
    let dir = tempfile::tempdir().unwrap();
    let file = secrets_file(
        dir.path(),
        &format!("# tokens\ntelegram_bot_tokn = \"{SECRET}\"\nmqtt_password = 4242\n"),
        0o600,
    );
    let settings = SecretsSettings {
        file: Some(file.clone()),
    };
    let err = Secrets::load_with_credentials(&settings, None).unwrap_err();
    let shown = err.to_string();
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!shown.contains("4242"), "{shown}");
    assert_eq!(
        seen(&err),
        [
            (
                2,
                1,
                "unknown secret `telegram_bot_tokn`",
                Some("did you mean `telegram_bot_token`?")
            ),
            (
                3,
                1,
                "`mqtt_password` must be a string, found an integer",
                Some("put the secret in double quotes")
            ),
        ]
    );
    assert!(
        shown.contains(&format!("{}:2:1: ", file.display())),
        "{shown}"
    );

    // A syntax error in the middle of a secret does not echo it either.
    fs::write(
        &file,
        format!("smtp_password = \"{SECRET}\nntfy_token = \"x\"\n"),
    )
    .unwrap();
    let err = Secrets::load_with_credentials(&settings, None).unwrap_err();
    let shown = err.to_string();
    assert!(!shown.contains(SECRET), "{shown}");
    assert_eq!(err.problems[0].line, 1, "{shown}");
    assert_eq!(err.exit_code(), 2);

    // A configured secrets file that is missing is an error naming it.
    let settings = SecretsSettings {
        file: Some(dir.path().join("missing.toml")),
    };
    let err = Secrets::load_with_credentials(&settings, None).unwrap_err();
    let p: &Problem = &err.problems[0];
    assert_eq!(p.file, dir.path().join("missing.toml"));
    assert!(
        p.message.starts_with("cannot read the secrets file"),
        "{err}"
    );
}

// ---- devices ----

#[test]
fn device_settings_resolve_to_typed_values() {
    use doorguard::hw::camera::CameraSource;
    use doorguard::hw::gpio::{BuzzerKind, GpioBackend, InputLine, Level};
    let file = config_file(
        "[camera]\ndevice = \"sim:/srv/faces\"\n[gpio]\nbackend = \"sim\"\nrelay_open_level = \"low\"\n\
         buzzer = \"pwm\"\nbuzzer_frequency = 3000\ntamper_pin = 0\n[buzzer]\nwrong = [200, 100, 200, 100, 200]\n\
         [speech]\nwav = \"/usr/share/doorguard/warning.wav\"\n",
    );
    let s = Settings::load(&file.path, true).unwrap();
    assert_eq!(
        s.camera.source,
        CameraSource::SimDir(PathBuf::from("/srv/faces"))
    );
    assert_eq!(s.gpio.backend, GpioBackend::Sim);
    assert_eq!(s.gpio.relay_open_level, Level::Low);
    assert_eq!(
        s.gpio.buzzer,
        BuzzerKind::Pwm {
            frequency_hz: 3000.0
        }
    );
    assert_eq!(s.gpio.tamper, None, "pin 0 means not wired");
    assert_eq!(
        s.gpio.door_contact,
        Some(InputLine {
            pin: 27,
            active: Level::High
        })
    );
    let ms: Vec<u128> = s
        .gpio
        .patterns
        .wrong
        .0
        .iter()
        .map(Duration::as_millis)
        .collect();
    assert_eq!(ms, [200, 100, 200, 100, 200]);
    assert_eq!(
        s.speech.wav.as_deref(),
        Some(Path::new("/usr/share/doorguard/warning.wav"))
    );

    let defaults = Settings::defaults();
    assert_eq!(
        defaults.camera.source,
        CameraSource::Device(PathBuf::from("/dev/video0"))
    );
    assert_eq!((defaults.camera.width, defaults.camera.height), (1280, 720));
    assert_eq!(defaults.gpio.backend, GpioBackend::Rppal);
    assert_eq!(defaults.speech.wav, None);
    let sim = config_file("[camera]\ndevice = \"sim\"\n");
    assert_eq!(
        Settings::load(&sim.path, true).unwrap().camera.source,
        CameraSource::Sim
    );
}

#[test]
fn bad_pins_and_patterns_are_reported_with_their_rule() {
    let (err, _, _file) = load_err(
        "[gpio]\nrelay_pin = 40\ntamper_pin = 1\n[buzzer]\nwrong = []\nlockout = [500, 3]\ndoor = \"long\"\n",
    );
    let found = seen(&err);
    assert_eq!(found.len(), 5, "{err}");
    assert_eq!(found[0].0, 2);
    assert!(
        found[0].2.contains("BCM GPIO number, 2 to 27, found 40"),
        "{err}"
    );
    assert!(found[0].3.unwrap().contains("header pin"), "{err}");
    assert!(
        found[1].2.contains("0 (not wired) or 2 to 27, found 1"),
        "{err}"
    );
    assert!(found[2].2.contains("1 to 20 steps, found 0"), "{err}");
    assert!(found[3].2.contains("10 to 5000 ms, found 3"), "{err}");
    assert!(found[4].2.contains("array of milliseconds"), "{err}");
    assert!(found[4].3.unwrap().contains("[120, 80, 120]"), "{err}");
}

#[test]
fn alert_settings_resolve_and_bad_urls_and_coordinates_are_explained() {
    let file = config_file(
        "[alerts]\nmax_age = \"2d\"\npublic_ip_url = \"\"\n\
         [location]\naddress = \"Back door, 1 Test Street\"\ncoordinates = \"52.520008, 13.404954\"\n",
    );
    let s = Settings::load(&file.path, true).unwrap();
    assert_eq!(s.alerts.max_age, Duration::from_secs(2 * 86400));
    assert_eq!(
        s.alerts.public_ip_url, None,
        "\"\" leaves the public IP out"
    );
    let place = s.alerts.place.unwrap();
    assert_eq!(place.address, "Back door, 1 Test Street");
    assert_eq!(
        (place.latitude, place.longitude),
        (Some(52.520008), Some(13.404954))
    );
    let defaults = Settings::defaults();
    assert_eq!(defaults.alerts.place, None);
    assert_eq!(
        defaults.alerts.evidence_retention,
        Duration::from_secs(90 * 86400)
    );
    assert!(
        defaults
            .alerts
            .public_ip_url
            .unwrap()
            .starts_with("https://")
    );

    let (err, _, _f) = load_err(
        "[alerts]\npublic_ip_url = \"ftp://example.org/ip\"\n\
         [location]\ncoordinates = \"91.5, 13.4\"\n",
    );
    let found = seen(&err);
    assert_eq!(found.len(), 2, "{err}");
    assert_eq!(found[0].0, 2);
    assert!(
        found[0]
            .2
            .contains("the scheme must be http or https, not ftp"),
        "{err}"
    );
    assert!(
        found[1]
            .2
            .contains("the latitude must be -90 to 90, found 91.5"),
        "{err}"
    );
    let (err, _, _f) = load_err("[location]\ncoordinates = 52.5\n");
    assert!(seen(&err)[0].3.unwrap().contains("one string"), "{err}");
}

#[test]
fn channel_sections_resolve_and_their_mistakes_are_explained() {
    let file = config_file(
        "[email]\nenabled = true\nserver = \"smtps://mail.example.org:465\"\n\
         from = \"Front door <kiosk@example.org>\"\nto = [\"owner@example.org\", \"Guard <guard@example.org>\"]\n\
         username = \"kiosk\"\n\
         [ntfy]\nenabled = true\ntopic = \"door-8f3k2\"\npriority = 4\ntags = [\"warning\"]\n",
    );
    let s = Settings::load(&file.path, true).unwrap();
    let email = s.alerts.email.expect("[email] is enabled");
    assert_eq!(email.server, "smtps://mail.example.org:465");
    assert_eq!(email.to.len(), 2);
    assert_eq!(email.username.as_deref(), Some("kiosk"));
    assert_eq!(email.password, None, "passwords come from the secrets only");
    let ntfy = s.alerts.ntfy.expect("[ntfy] is enabled");
    assert_eq!((ntfy.topic.as_str(), ntfy.priority), ("door-8f3k2", 4));
    assert_eq!(ntfy.base_url, "https://ntfy.sh");
    let defaults = Settings::defaults();
    assert!(defaults.alerts.email.is_none() && defaults.alerts.ntfy.is_none());

    let (err, _, _f) = load_err(
        "[email]\nenabled = true\nserver = \"smtp://kiosk:hunter2@mail.example.org:587\"\n\
         from = \"not an address\"\nto = \"owner@example.org\"\n\
         [ntfy]\nenabled = true\ntags = [\"a\", 3]\n",
    );
    let text = err.to_string();
    assert!(
        !text.contains("hunter2"),
        "the password is never echoed: {text}"
    );
    let found = seen(&err);
    assert!(
        found.iter().any(|p| p.0 == 3
            && p.2.contains("must not contain a password")
            && p.3.is_some_and(|h| h.contains("smtp_password"))),
        "{text}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.0 == 4 && p.2.contains("\"not an address\" is not an e-mail address")),
        "{text}"
    );
    assert!(
        found.iter().any(|p| p.0 == 5
            && p.3
                .is_some_and(|h| h.contains("to = [\"owner@example.org\"]"))),
        "a single address is shown as the list it should be: {text}"
    );
    assert!(found.iter().any(|p| p.0 == 8), "a non-text tag: {text}");

    let (err, _, _f) = load_err("[ntfy]\nenabled = true\n");
    let found = seen(&err);
    assert_eq!(found.len(), 1, "{err}");
    assert_eq!(found[0].0, 2, "blamed on `enabled`, which the user wrote");
    assert!(
        found[0]
            .2
            .contains("`ntfy.topic` must be set when `ntfy.enabled = true`"),
        "{err}"
    );
}

#[test]
fn messaging_sections_resolve_and_check_numbers_urls_and_topics() {
    let file = config_file(
        "[storage]\ndatabase = \"/srv/door/door.db\"\n\
         [whatsapp]\nenabled = true\nphone_number_id = \"106540352242922\"\nto = \"+4915112345678\"\n\
         [twilio]\nenabled = true\naccount_sid = \"AC0123456789abcdef0123456789abcdef\"\n\
         from = \"+14155238886\"\nto = \"+4915112345678\"\n\
         [telegram]\nenabled = true\nchat_id = \"-1001234567890\"\n\
         [webhook]\nenabled = true\nurl = \"https://home.example.org/door\"\n\
         [mqtt]\nenabled = true\nserver = \"mqtts://broker.example.org\"\nusername = \"kiosk\"\n",
    );
    let s = Settings::load(&file.path, true).unwrap();
    let whatsapp = s.alerts.whatsapp.unwrap();
    assert_eq!(whatsapp.template, None);
    assert_eq!(whatsapp.template_language, "en");
    let twilio = s.alerts.twilio.unwrap();
    assert_eq!(twilio.public_media_base_url, None);
    assert_eq!(
        twilio.media_dir,
        PathBuf::from("/srv/door/media"),
        "next to the database"
    );
    assert_eq!(
        s.alerts.telegram.unwrap().base_url,
        "https://api.telegram.org"
    );
    assert_eq!(
        s.alerts.webhook.unwrap().url,
        "https://home.example.org/door"
    );
    let mqtt = s.alerts.mqtt.unwrap();
    assert_eq!(
        (mqtt.topic_prefix.as_str(), mqtt.discovery_prefix.as_str()),
        ("doorguard", "homeassistant")
    );

    let (err, _, _f) = load_err(
        "[whatsapp]\nenabled = true\nphone_number_id = \"1065\"\nto = \"0151 1234 5678x\"\n\
         [twilio]\nenabled = true\n\
         [mqtt]\nserver = \"mqtt://kiosk:pw-secret@broker\"\ntopic_prefix = \"door/#\"\n",
    );
    let text = err.to_string();
    assert!(!text.contains("pw-secret"), "{text}");
    let found = seen(&err);
    assert!(
        found
            .iter()
            .any(|p| p.0 == 4 && p.2.contains("must be a phone number in international form")),
        "{text}"
    );
    for key in ["account_sid", "from", "to"] {
        assert!(
            text.contains(&format!(
                "`twilio.{key}` must be set when `twilio.enabled = true`"
            )),
            "{key}: {text}"
        );
    }
    assert!(
        found.iter().any(|p| p.0 == 8
            && p.2.contains("must not contain a password")
            && p.3.is_some_and(|h| h.contains("mqtt_password"))),
        "{text}"
    );
    assert!(
        found.iter().any(|p| p.0 == 9 && p.2.contains("`+`, `#`")),
        "{text}"
    );
}
