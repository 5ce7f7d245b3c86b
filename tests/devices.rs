//! `doorguard devices check` through the real binary: with the real backends on a
//! machine without the hardware, and with every device simulated.

mod common;

use common::{Kiosk, stderr, stdout};

/// The table row of `device`, and the detail lines under it.
fn section<'a>(out: &'a str, device: &str) -> Vec<&'a str> {
    let mut lines = out
        .lines()
        .skip_while(|l| !l.starts_with(&format!("{device} ")));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no {device} row in:\n{out}"));
    std::iter::once(first)
        .chain(lines.take_while(|l| l.starts_with(' ')))
        .collect()
}

#[test]
fn with_the_real_backends_each_missing_device_says_why() {
    let kiosk = Kiosk::new();
    kiosk.file(
        "config.toml",
        "[speech]\ncommand = \"/nonexistent/bin/espeak-ng\"\n",
    );
    let out = kiosk.run(&["devices", "check"]);
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{text}\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("unavailable:") && err.contains("speech"),
        "{err}"
    );
    assert!(text.starts_with("DEVICE  STATUS       DETAILS\n"), "{text}");

    let speech = section(&text, "speech").join("\n");
    assert!(speech.contains("unavailable"), "{speech}");
    assert!(
        speech.contains("/nonexistent/bin/espeak-ng not found (sudo apt install espeak-ng"),
        "{speech}"
    );

    let camera = section(&text, "camera").join("\n");
    if std::path::Path::new("/dev/video0").exists() {
        eprintln!("this machine has /dev/video0; its probe said:\n{camera}");
    } else {
        assert!(camera.contains("unavailable"), "{camera}");
        assert!(
            camera.contains("/dev/video0: no such device: is the camera plugged in?"),
            "{camera}"
        );
        assert!(err.contains("camera"), "{err}");
    }

    let gpio = section(&text, "gpio").join("\n");
    if std::path::Path::new("/proc/device-tree/model").exists() {
        eprintln!("this machine may be a Raspberry Pi; its GPIO probe said:\n{gpio}");
    } else {
        assert!(gpio.contains("unavailable"), "{gpio}");
        assert!(gpio.contains("/dev/gpiomem: not a Raspberry Pi"), "{gpio}");
        assert!(err.contains("gpio"), "{err}");
    }
}

#[test]
fn with_everything_simulated_all_is_ok() {
    let kiosk = Kiosk::new();
    kiosk.file(
        "config.toml",
        "[camera]\ndevice = \"sim\"\n[gpio]\nbackend = \"sim\"\n[speech]\nenabled = false\n",
    );
    let out = kiosk.run(&["devices", "check"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    for device in ["camera", "gpio", "speech"] {
        let row = section(&text, device)[0];
        assert!(row.starts_with(&format!("{device:<8}ok ")), "{row}");
    }
    assert!(
        section(&text, "camera")[0].contains("YUYV 1280×720 at 15 fps, synthetic"),
        "{text}"
    );
    assert!(
        section(&text, "gpio")
            .join("\n")
            .contains("door relay GPIO17"),
        "{text}"
    );
}
