//! `doorguard demo` as a person runs it: one command, no display, no hardware; it must
//! finish, and what it writes must be what it says — a PNG of every screen at 800×480,
//! each alert as an e-mail with its photo and as JSON, the GPIO timeline, a summary.

mod common;

use std::process::Command;

use common::{stderr, stdout};
use doorguard::hw::camera::decode_jpeg;
use mail_parser::MessageParser;

#[test]
fn the_demo_plays_the_story_and_writes_every_screen_and_alert() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let run = Command::new(env!("CARGO_BIN_EXE_doorguard"))
        .args(["demo", "--out"])
        .arg(&out)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}\n{}", stdout(&run), stderr(&run));
    assert!(stdout(&run).contains("14 screens"), "{}", stdout(&run));

    let mut screens: Vec<_> = std::fs::read_dir(out.join("screens"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    screens.sort();
    let names: Vec<String> = screens
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "setup",
        "recovery-code",
        "idle",
        "admin-sign-in",
        "admin-home",
        "enroll-form-check",
        "enroll-camera",
        "enroll-photo",
        "granted",
        "wrong-pin",
        "lockout",
        "audit-log",
        "alerts",
    ] {
        assert!(
            names.iter().any(|n| n.contains(expected)),
            "{expected}: {names:?}"
        );
    }
    for screen in &screens {
        let png = image::open(screen).unwrap();
        assert_eq!(
            (png.width(), png.height()),
            (800, 480),
            "{}",
            screen.display()
        );
    }

    // Two alerts: the duress PIN and the lockout, each with a photo from the camera.
    let outbox = out.join("outbox");
    for (id, event) in [(1, "duress"), (2, "lockout")] {
        let json: serde_json::Value = serde_json::from_slice(
            &std::fs::read(outbox.join(format!("alert-{id}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(json["event"], event);
        assert_eq!(json["kiosk"], "Front door");
        let eml = std::fs::read(outbox.join(format!("alert-{id}.eml"))).unwrap();
        let message = MessageParser::default().parse(&eml).unwrap();
        assert!(message.subject().unwrap().starts_with("Front door: "));
        let photo = message.attachment(0).expect("a photo attached");
        let (_, w, h) = decode_jpeg(photo.contents()).unwrap();
        assert_eq!((w, h), (1280, 720));
    }

    let timeline = std::fs::read_to_string(out.join("gpio-timeline.txt")).unwrap();
    assert!(
        timeline.contains("relay   High"),
        "the good PIN opened: {timeline}"
    );
    assert!(
        timeline
            .lines()
            .filter(|l| l.contains("buzzer  High"))
            .count()
            >= 4
    );
    let summary = std::fs::read_to_string(out.join("summary.txt")).unwrap();
    assert!(summary.contains("alert 2: wrote alert-2.eml"), "{summary}");
}
