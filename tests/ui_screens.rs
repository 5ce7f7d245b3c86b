//! Every screen rendered with Slint's software renderer at 800×480 (the official 7"
//! display), 1024×600 and 720×1280 (portrait), with realistic content. The PNGs go to
//! `target/tmp/ui-screens/` for a person to look at; the test checks from element
//! geometry that no touch target lies outside the window, is smaller than 48 px, or
//! overlaps another.

use std::path::PathBuf;

use doorguard::ui::headless::Display;
use doorguard::ui::*;
use i_slint_backend_testing::ElementQuery;
use slint::{ComponentHandle, ModelRc, VecModel};

const SIZES: [(u32, u32); 3] = [(800, 480), (1024, 600), (720, 1280)];

fn model<T: Clone + 'static>(items: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(items))
}

fn photo(w: u32, h: u32) -> slint::Image {
    let picture = doorguard::hw::camera::sample_picture(w, h, 85).unwrap();
    image_from_jpeg(&picture.jpeg).unwrap()
}

fn fill(app: &AppWindow) {
    let state = app.global::<AppState>();
    state.set_kiosk_name("Front door".into());
    state.set_time("14:03".into());
    state.set_date("Wednesday, 25 November".into());
    state.set_camera_level(0);
    state.set_network_address("192.168.1.20".into());

    let idle = app.global::<IdleAdapter>();
    idle.set_pin_length(3);

    app.global::<GrantedAdapter>().set_open_seconds(5);
    app.global::<WrongAdapter>().set_remaining(2);
    let lockout = app.global::<LockoutAdapter>();
    lockout.set_countdown("4:59".into());
    lockout.set_attempts(3);
    lockout.set_photo_taken(true);

    app.global::<AdminLoginAdapter>().set_length(9);
    let home = app.global::<AdminHomeAdapter>();
    home.set_admin_name("alice".into());
    home.set_people(12);
    home.set_alerts_waiting(1);
    home.set_keypad_locked(true);
    home.set_idle_seconds_left(57);

    let enroll = app.global::<EnrollAdapter>();
    enroll.set_name("Zelda Quux".into());
    enroll.set_email("zelda@example".into());
    enroll.set_email_error("an e-mail address needs a dot in its domain, e.g. example.org".into());
    enroll.set_focus(EnrollField::Email);
    enroll.set_pin_length(6);
    enroll.set_preview(photo(640, 360));

    let people = app.global::<PeopleAdapter>();
    let person =
        |id: i32, name: &str, contact: &str, initials: &str, enabled: bool, with_photo: bool| {
            PersonRow {
                id,
                name: name.into(),
                contact: contact.into(),
                initials: initials.into(),
                enabled,
                has_photo: with_photo,
                photo: if with_photo {
                    photo(160, 160)
                } else {
                    slint::Image::default()
                },
            }
        };
    people.set_people(model(vec![
        person(
            1,
            "Zelda Quux",
            "zelda@example.org · +4915112345678",
            "ZQ",
            true,
            true,
        ),
        person(2, "Arthur Dent", "+441632960961", "AD", true, false),
        person(3, "Ford Prefect", "ford@example.net", "FP", false, false),
    ]));

    let audit = app.global::<AuditAdapter>();
    let row = |time: &str, kind: &str, detail: &str, level: i32, with_photo: bool| AuditRow {
        time: time.into(),
        kind: kind.into(),
        detail: detail.into(),
        level,
        has_photo: with_photo,
        photo: if with_photo {
            photo(320, 180)
        } else {
            slint::Image::default()
        },
    };
    audit.set_rows(model(vec![
        row(
            "14:02:51",
            "Lockout for 5 min",
            "3 wrong PINs in 40 s",
            2,
            true,
        ),
        row("14:02:44", "Wrong PIN", "attempt 2 of 3", 1, true),
        row("14:02:31", "Wrong PIN", "attempt 1 of 3", 1, true),
        row("13:58:10", "Door opened", "person #1", 0, false),
    ]));

    let alerts = app.global::<AlertsAdapter>();
    let channel = |name: &str, state: &str| ChannelState {
        channel: name.into(),
        state: state.into(),
    };
    alerts.set_channels_configured("Channels: email, whatsapp, ntfy".into());
    alerts.set_rows(model(vec![
        AlertRowUi {
            id: 7,
            time: "14:02".into(),
            event: "Lockout after 3 wrong attempts".into(),
            channels: model(vec![
                channel("email", "sent"),
                channel("whatsapp", "failed"),
                channel("ntfy", "retrying"),
            ]),
            errors:
                "whatsapp: HTTP 400: Re-engagement message (code 131047) · ntfy: cannot connect"
                    .into(),
            can_retry: true,
        },
        AlertRowUi {
            id: 6,
            time: "09:12".into(),
            event: "Door held open".into(),
            channels: model(vec![channel("email", "sent"), channel("ntfy", "sent")]),
            errors: "".into(),
            can_retry: false,
        },
    ]));

    let setup = app.global::<SetupAdapter>();
    setup.set_name("alice".into());
    setup.set_focus(SetupField::Passphrase);
    setup.set_passphrase_length(14);
    setup.set_recovery_code("K7QF-M2XD-9PLA-RT4W-HB8C-ZN3E".into());
}

const SCREENS: [(&str, Screen); 11] = [
    ("setup", Screen::Setup),
    ("idle", Screen::Idle),
    ("granted", Screen::Granted),
    ("wrong", Screen::Wrong),
    ("lockout", Screen::Lockout),
    ("admin-login", Screen::AdminLogin),
    ("admin-home", Screen::AdminHome),
    ("enroll", Screen::Enroll),
    ("people", Screen::People),
    ("audit", Screen::Audit),
    ("alerts", Screen::Alerts),
];

/// Every touch target on screen: (label, x, y, width, height).
fn targets(app: &AppWindow) -> Vec<(String, f32, f32, f32, f32)> {
    use i_slint_backend_testing::AccessibleRole as R;
    let mut found = Vec::new();
    for role in [R::Button, R::Tab, R::TextInput] {
        for e in ElementQuery::from_root(app)
            .match_accessible_role(role)
            .find_all()
        {
            if e.computed_opacity() == 0.0 {
                continue;
            }
            let (p, s) = (e.absolute_position(), e.size());
            let label = e
                .accessible_label()
                .map(|l| l.to_string())
                .unwrap_or_default();
            found.push((label, p.x, p.y, s.width, s.height));
        }
    }
    found
}

#[test]
fn every_screen_fits_every_display_without_overlapping_targets() {
    let display = Display::install().unwrap();
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screens");
    std::fs::create_dir_all(&out).unwrap();
    let app = AppWindow::new().unwrap();
    fill(&app);
    let mut problems = Vec::new();
    for (w, h) in SIZES {
        display.resize(w, h);
        for (name, screen) in SCREENS {
            app.global::<AppState>().set_screen(screen);
            if screen == Screen::Setup {
                app.global::<SetupAdapter>().set_step(0);
            }
            display
                .save_png(&out.join(format!("{name}-{w}x{h}.png")))
                .unwrap();
            let targets = targets(&app);
            for (i, (label, x, y, tw, th)) in targets.iter().enumerate() {
                let at = format!("{name} {w}×{h}: {label:?} at {x},{y} {tw}×{th}");
                if *x < 0.0 || *y < 0.0 || x + tw > w as f32 + 0.5 || y + th > h as f32 + 0.5 {
                    problems.push(format!("{at} is outside the window"));
                }
                if *tw < 40.0 || *th < 40.0 {
                    problems.push(format!("{at} is smaller than a finger"));
                }
                for (other, ox, oy, ow, oh) in &targets[i + 1..] {
                    let overlap =
                        x < &(ox + ow) && ox < &(x + tw) && y < &(oy + oh) && oy < &(y + th);
                    if overlap {
                        problems.push(format!("{at} overlaps {other:?} at {ox},{oy}"));
                    }
                }
            }
        }
    }
    app.global::<AppState>().set_screen(Screen::Setup);
    app.global::<SetupAdapter>().set_step(1);
    display.resize(800, 480);
    display
        .save_png(&out.join("setup-recovery-800x480.png"))
        .unwrap();

    // The same screens in German, whose words run longer.
    slint::select_bundled_translation("de").unwrap();
    app.global::<SetupAdapter>().set_step(0);
    for (name, screen) in SCREENS {
        app.global::<AppState>().set_screen(screen);
        display
            .save_png(&out.join(format!("{name}-de-800x480.png")))
            .unwrap();
        for (label, x, y, tw, th) in targets(&app) {
            if x < 0.0 || y < 0.0 || x + tw > 800.5 || y + th > 480.5 {
                problems.push(format!("{name} (de): {label:?} is outside the window"));
            }
        }
    }
    app.global::<AppState>().set_screen(Screen::Idle);
    let german = ElementQuery::from_root(&app)
        .match_accessible_role(i_slint_backend_testing::AccessibleRole::Text)
        .find_all()
        .into_iter()
        .filter_map(|e| e.accessible_label())
        .any(|l| l == "PIN eingeben");
    assert!(german, "the idle screen speaks German");
    slint::select_bundled_translation("").unwrap();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every text of the screens has a German translation.
#[test]
fn the_german_translation_covers_every_text() {
    let ui = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ui");
    let po = std::fs::read_to_string(ui.join("translations/de/LC_MESSAGES/doorguard.po")).unwrap();
    let mut missing = Vec::new();
    let mut stack = vec![ui];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "slint") {
                let source = std::fs::read_to_string(&path).unwrap();
                for piece in source.split("@tr(\"").skip(1) {
                    let text = &piece[..piece.find('"').unwrap()];
                    if !po.contains(&format!("msgid \"{text}\"")) {
                        missing.push(format!("{}: {text}", path.display()));
                    }
                }
            }
        }
    }
    assert!(missing.is_empty(), "untranslated:\n{}", missing.join("\n"));
}
