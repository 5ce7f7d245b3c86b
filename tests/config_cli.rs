//! A bad configuration is refused by `check-config` and by every other command, with
//! file:line:column, a hint, and exit status 2.

mod common;

use common::{Kiosk, stderr, stdout};

#[test]
fn every_command_refuses_a_bad_config_with_its_position() {
    let k = Kiosk::new();
    let bad = k.file(
        "bad.toml",
        "[kiosk]\nname = \"Door\"\n\n[lockout]\ntreshold = 3\nwindow = 300\n\n[security]\nargon2_memory_kib = 1024\n",
    );
    let bad = bad.to_str().unwrap();
    for args in [
        vec!["check-config"],
        vec!["users", "list"],
        vec!["audit"],
        vec!["init", "--admin", "alice"],
        vec!["backup", "/tmp/never-written.db"],
        vec!["unlock"],
        vec!["passwd"],
        vec!["run"],
        vec!["users", "add", "--name", "Zelda Quux"],
        vec!["users", "show", "1"],
        vec!["users", "export"],
        vec!["users", "import", "people.csv"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_doorguard"))
            .args(&args)
            .args(["--config", bad, "--db"])
            .arg(&k.db)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!("{bad}:5:1")),
            "{args:?} names line 5 column 1: {err}"
        );
        assert!(
            err.contains("lockout.threshold"),
            "{args:?} hints at the right key: {err}"
        );
        assert!(
            err.contains(&format!("{bad}:6:")),
            "{args:?} reports the wrong type too: {err}"
        );
        assert!(
            err.contains(&format!("{bad}:9:")),
            "{args:?} reports the range too: {err}"
        );
        assert!(
            !k.db.exists(),
            "{args:?} touched the database despite a bad config"
        );
    }
}

#[test]
fn the_shipped_defaults_pass_check_config() {
    let k = Kiosk::new();
    let defaults = std::process::Command::new(env!("CARGO_BIN_EXE_doorguard"))
        .arg("print-default-config")
        .output()
        .unwrap();
    assert!(defaults.status.success());
    let file = k.file("default.toml", &stdout(&defaults));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_doorguard"))
        .args(["check-config", "--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("configuration OK"));

    let missing = k.path("missing.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_doorguard"))
        .args(["check-config", "--config", missing.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an explicitly named config must exist"
    );
    assert!(stderr(&out).contains("missing.toml"));
}

#[test]
fn check_config_names_the_enabled_channels_and_a_missing_secret() {
    let k = Kiosk::new();
    let secrets = k.file("secrets.toml", "");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    k.file(
        "config.toml",
        &format!(
            "[telegram]\nenabled = true\nchat_id = \"-1001\"\n\
             [ntfy]\nenabled = true\ntopic = \"door-x\"\n\
             [secrets]\nfile = \"{}\"\n",
            secrets.display()
        ),
    );
    let out = k.run(&["check-config"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("telegram: the `telegram_bot_token` secret is not set"),
        "{}",
        stderr(&out)
    );

    std::fs::write(&secrets, "telegram_bot_token = \"123:tg-secret-token\"\n").unwrap();
    let out = k.run(&["check-config"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("secrets set: telegram_bot_token"), "{text}");
    assert!(text.contains("alert channels: telegram, ntfy"), "{text}");
    assert!(!text.contains("tg-secret-token") && !stderr(&out).contains("tg-secret-token"));
}
