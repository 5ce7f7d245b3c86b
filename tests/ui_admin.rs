//! The admin screens driven like a person would, through Slint's testing backend: the
//! sign-in typed on the on-screen keyboard, a person enrolled by typing and tapping
//! capture and save, and the session ending by itself after the inactivity timeout.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use common::{Kiosk, PASSPHRASE};
use doorguard::config::Settings;
use doorguard::hw::camera::Camera;
use doorguard::hw::gpio::Gpio;
use doorguard::kiosk::{Core, Parts, View};
use doorguard::store::Store;
use doorguard::ui::{AppState, AppWindow, EnrollAdapter, Screen, door};
use doorguard::vault::Passphrase;
use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use slint::ComponentHandle;

/// Taps the first button or tab labelled `label`.
fn tap(app: &AppWindow, label: &str) {
    let button = ElementHandle::find_by_accessible_label(app, label)
        .find(|e| {
            matches!(
                e.accessible_role(),
                Some(AccessibleRole::Button | AccessibleRole::Tab)
            )
        })
        .unwrap_or_else(|| panic!("no button {label:?}"));
    assert_ne!(
        button.accessible_enabled(),
        Some(false),
        "{label:?} is disabled"
    );
    button.invoke_accessible_default_action();
}

/// Types on the on-screen keyboard, key by key (shift for capitals, the symbol layer
/// for digits).
fn type_on_keyboard(app: &AppWindow, text: &str) {
    for c in text.chars() {
        match c {
            ' ' => tap(app, "Space"),
            d if d.is_ascii_digit() => {
                tap(app, "Digits and symbols");
                tap(app, &d.to_string());
                tap(app, "Letters");
            }
            u if u.is_uppercase() => {
                tap(app, "Shift");
                tap(app, &u.to_string());
            }
            other => tap(app, &other.to_string()),
        }
    }
}

#[test]
fn an_administrator_enrolls_a_person_on_the_touchscreen_and_the_session_times_out() {
    i_slint_backend_testing::init_no_event_loop();
    let (kiosk, recovery_code) = Kiosk::initialized();
    let settings = Settings::simulated();
    let gpio = Gpio::start(&settings.gpio, |_| {}).unwrap();
    let (camera, _) = Camera::start(&settings.camera, |_| {}).unwrap();
    assert!(camera.handle().wait_until_ready(Duration::from_secs(10)));
    let parts = Parts::devices(gpio.handle(), Some(camera.handle()));
    let store = Store::open(&kiosk.db).unwrap();
    let (core, _) = Core::open(settings.clone(), store, parts, vec![], Utc::now()).unwrap();
    let core = Rc::new(RefCell::new(core));
    let app = AppWindow::new().unwrap();
    let (_door, _admin) =
        doorguard::ui::connect_inline(&app, Rc::clone(&core), Some(camera.handle()), gpio.handle());
    door::show_now(View::Idle);
    let screen = || app.global::<AppState>().get_screen();

    // The recovery code works at the kiosk too (typed without dashes, in lower case);
    // a wrong one is refused and counts as a failed attempt.
    tap(&app, "Administrator");
    tap(&app, "Use recovery code");
    type_on_keyboard(&app, "aaaabbbbccccddddeeeeffff");
    tap(&app, "Unlock");
    let login = app.global::<doorguard::ui::AdminLoginAdapter>();
    assert!(login.get_refused(), "a wrong recovery code is refused");
    assert_eq!(core.borrow().current_view(Utc::now()), View::Idle);
    let typed: String = recovery_code.replace('-', "").to_lowercase();
    type_on_keyboard(&app, &typed);
    tap(&app, "Unlock");
    assert_eq!(
        screen(),
        Screen::Idle,
        "the right code clears and returns to the keypad"
    );
    let audit = Store::open(&kiosk.db).unwrap().recent_audit(5).unwrap();
    assert!(
        audit.iter().any(|e| e.kind == "recovery_failed"),
        "{:?}",
        audit.iter().map(|e| &e.kind).collect::<Vec<_>>()
    );

    // Sign in: a long press on the kiosk's name, the passphrase on the keyboard.
    tap(&app, "Administrator");
    assert_eq!(screen(), Screen::AdminLogin);
    type_on_keyboard(&app, PASSPHRASE);
    tap(&app, "Unlock");
    assert_eq!(screen(), Screen::AdminHome);
    assert!(core.borrow().is_admin());

    // Enroll: name, a PIN, the photo.
    tap(&app, "Enroll a person");
    assert_eq!(screen(), Screen::Enroll);
    type_on_keyboard(&app, "Zelda Quux");
    let enroll = app.global::<EnrollAdapter>();
    assert_eq!(enroll.get_name(), "Zelda Quux", "typed on the keyboard");
    tap(&app, "PIN");
    type_on_keyboard(&app, "482913");
    assert_eq!(
        enroll.get_pin_length(),
        6,
        "the screen knows the length only"
    );
    tap(&app, "Duress");
    tap(&app, "Photo ›");
    assert_eq!(
        enroll.get_step(),
        1,
        "the details pass: {:?}",
        enroll.get_name_error()
    );
    tap(&app, "Take photo");
    assert_eq!(enroll.get_countdown(), 3);
    for left in [2, 1, 0] {
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(1000));
        assert_eq!(enroll.get_countdown(), left);
    }
    assert!(enroll.get_has_photo(), "{}", enroll.get_save_error());
    tap(&app, "Save");
    assert_eq!(screen(), Screen::AdminHome);

    // The person is in the database, with the photo.
    let check = Store::open(&kiosk.db).unwrap();
    let admin = check.resolve_admin(None).unwrap();
    let session = check
        .unlock(admin, &Passphrase::parse(PASSPHRASE).unwrap())
        .unwrap();
    let people: Vec<_> = check
        .people(&session)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(people.len(), 1);
    assert_eq!(people[0].details.name, "Zelda Quux");
    assert!(people[0].has_photo);
    let photo = check.photo(&session, people[0].id).unwrap().unwrap();
    let (_, w, h) = doorguard::hw::camera::decode_jpeg(&photo).unwrap();
    assert_eq!((w, h), (1280, 720), "the camera's photo");

    // Nobody touches the screen: the session ends, the key is dropped, the keypad is back.
    let later = Utc::now()
        + TimeDelta::from_std(settings.access.admin_timeout).unwrap()
        + TimeDelta::seconds(1);
    let view = core
        .borrow_mut()
        .tick(later)
        .expect("the session timed out");
    door::show_now(view);
    assert_eq!(screen(), Screen::Idle);
    assert!(!core.borrow().is_admin(), "the data key is gone");
}
