//! The door screens driven like a person would, through Slint's testing backend: keys
//! tapped on the keypad by their labels, the kiosk core checking PINs against a real
//! database, the simulated GPIO recording the relay and the buzzer, the simulated
//! camera giving the photos.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{Kiosk, stdout};
use doorguard::config::Settings;
use doorguard::hw::camera::Camera;
use doorguard::hw::gpio::{Gpio, Level, Line};
use doorguard::kiosk::{Core, Parts, Request, View};
use doorguard::store::{DeliveryState, Store};
use doorguard::ui::door::Door;
use doorguard::ui::{AppState, AppWindow, IdleAdapter, LockoutAdapter, Screen, WrongAdapter};
use i_slint_backend_testing::ElementHandle;
use slint::ComponentHandle;

const GOOD_PIN: &str = "482913";

fn tap(app: &AppWindow, label: &str) {
    let keys: Vec<_> = ElementHandle::find_by_accessible_label(app, label)
        .filter(|e| e.accessible_role() == Some(i_slint_backend_testing::AccessibleRole::Button))
        .collect();
    assert_eq!(keys.len(), 1, "one key labelled {label:?}");
    keys[0].invoke_accessible_default_action();
}

/// Types `pin` a key every `pace` (a person's pace is about 150 ms).
fn type_pin(app: &AppWindow, pin: &str, pace: Duration) {
    for digit in pin.chars() {
        tap(app, &digit.to_string());
        thread::sleep(pace);
    }
    assert_eq!(
        app.global::<IdleAdapter>().get_pin_length() as usize,
        pin.len(),
        "a dot per digit"
    );
    tap(app, "OK");
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn good_pin_opens_and_three_wrong_pins_lock_out_with_alarm_photo_and_alert() {
    i_slint_backend_testing::init_no_event_loop();
    let (kiosk, _code) = Kiosk::initialized();
    let pin_file = kiosk.file("pin", &format!("{GOOD_PIN}\n"));
    let out = kiosk.ok(&[
        "users",
        "add",
        "--name",
        "Zelda Quux",
        "--pin-file",
        pin_file.to_str().unwrap(),
        "--passphrase-file",
        kiosk.passphrase_arg(),
    ]);
    assert!(stdout(&out).contains("Zelda Quux") || out.status.success());

    let settings = Settings::simulated();
    // The inputs' events reach the test as they would reach the kiosk's core.
    let (inputs, input_events) = std::sync::mpsc::channel();
    let gpio = Gpio::start(&settings.gpio, move |report| {
        if let doorguard::hw::gpio::Report::Input { event, .. } = report {
            let _ = inputs.send(event);
        }
    })
    .unwrap();
    let sim = gpio.sim().unwrap().clone();
    let (camera, _) = Camera::start(&settings.camera, |_| {}).unwrap();
    wait_for("the camera's first frames", || {
        matches!(
            camera.handle().status(),
            doorguard::hw::camera::Status::Ok { .. }
        )
    });
    thread::sleep(Duration::from_millis(300));
    let secure = settings.gpio.relay_secure_level();
    let parts = Parts::devices(gpio.handle(), Some(camera.handle()));
    let store = Store::open(&kiosk.db).unwrap();
    let (core, first) =
        Core::open(settings.clone(), store, parts, vec!["email"], Utc::now()).unwrap();
    assert_eq!(first, View::Idle);

    // The UI hands PINs to the core synchronously here; the views come back through
    // the same `show` the core thread's posts use.
    let core = Rc::new(RefCell::new(core));
    let views: Rc<RefCell<Vec<View>>> = Rc::default();
    let app = AppWindow::new().unwrap();
    let (c, v) = (Rc::clone(&core), Rc::clone(&views));
    let keypress = gpio.handle();
    let door = Door::connect(
        &app,
        Box::new(move |request| {
            match request {
                Request::Pin(digits, at) => {
                    v.borrow_mut()
                        .push(c.borrow_mut().pin(&digits, at, Utc::now()))
                }
                Request::Job(job) => job(&mut c.borrow_mut()),
                Request::Device(_) => {}
            }
            true
        }),
        Box::new(move || {
            let _ = keypress.keypress();
        }),
        false,
    );
    door.show(View::Idle);
    let submit = |pin: &str, pace: Duration| {
        type_pin(&app, pin, pace);
        assert!(
            app.global::<IdleAdapter>().get_checking(),
            "the keypad says it is checking, in the same frame as OK"
        );
        let view = views.borrow_mut().pop().expect("the core answered");
        door.show(view);
    };

    // A good PIN: the granted screen and a relay pulse.
    submit(GOOD_PIN, Duration::from_millis(120));
    assert_eq!(app.global::<AppState>().get_screen(), Screen::Granted);
    assert!(!app.global::<IdleAdapter>().get_checking());
    wait_for("the relay to open", || {
        sim.timeline_of(Line::Relay)
            .iter()
            .any(|(_, level)| *level == secure.other())
    });
    // The 30 ms keypress tick: on and off for each of the six keys.
    let ticks = sim
        .timeline_of(Line::Buzzer)
        .iter()
        .filter(|(_, level)| *level == Level::High)
        .count();
    assert_eq!(ticks, GOOD_PIN.len(), "a tick per key");

    // Three wrong PINs: wrong, wrong, lockout.
    door.show(View::Idle);
    submit("111111", Duration::ZERO);
    assert_eq!(app.global::<AppState>().get_screen(), Screen::Wrong);
    assert_eq!(app.global::<WrongAdapter>().get_remaining(), 2);
    door.show(View::Idle);
    submit("222222", Duration::ZERO);
    assert_eq!(app.global::<WrongAdapter>().get_remaining(), 1);
    door.show(View::Idle);
    let before_alarm = sim.timeline_of(Line::Buzzer).len();
    submit("333333", Duration::ZERO);
    assert_eq!(app.global::<AppState>().get_screen(), Screen::Lockout);
    let lockout = app.global::<LockoutAdapter>();
    assert!(!lockout.get_hard());
    assert_eq!(lockout.get_attempts(), 3);
    assert!(lockout.get_photo_taken(), "the camera gave a photo");
    // The countdown starts at the configured first lockout (a second may have passed).
    let first = settings.access.lockout_first.as_secs();
    let shown = |s: u64| format!("{}:{:02}", s / 60, s % 60);
    let countdown = lockout.get_countdown().to_string();
    assert!(
        countdown == shown(first) || countdown == shown(first - 1),
        "a {first} s countdown: {countdown}"
    );

    // The relay is held secure, the alarm sounds.
    wait_for("the lockout alarm", || {
        sim.timeline_of(Line::Buzzer).len() > before_alarm + 4
    });
    assert_eq!(sim.level(Line::Relay), Some(secure));
    let relay = sim.timeline_of(Line::Relay);
    assert_eq!(relay.last().map(|(_, l)| *l), Some(secure));

    // Each wrong PIN's photo is kept as sealed evidence, linked to its audit record,
    // readable with an administrator's passphrase only.
    let check = Store::open(&kiosk.db).unwrap();
    let wrong: Vec<_> = check
        .recent_audit(20)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "wrong_pin")
        .collect();
    assert_eq!(wrong.len(), 3);
    let admin = check.resolve_admin(None).unwrap();
    let session = check
        .unlock(
            admin,
            &doorguard::vault::Passphrase::parse(common::PASSPHRASE).unwrap(),
        )
        .unwrap();
    for entry in &wrong {
        let evidence = entry.evidence.expect("a photo of the attempt");
        let jpeg = check.evidence_photo(&session, evidence).unwrap().unwrap();
        let (_, w, h) = doorguard::hw::camera::decode_jpeg(&jpeg).unwrap();
        assert_eq!((w, h), (1280, 720));
    }

    // The alert is in the outbox with its photo, waiting for the e-mail channel.
    let store = Store::open(&kiosk.db).unwrap();
    let alerts = store.alerts(10).unwrap();
    assert_eq!(alerts.len(), 1, "one lockout alert");
    let alert = &alerts[0];
    assert_eq!(alert.kind.as_str(), "lockout");
    assert!(alert.photos_held >= 1, "{alert:?}");
    assert_eq!(alert.deliveries[0].channel, "email");
    assert_eq!(alert.deliveries[0].state, DeliveryState::Pending);

    // The administrator clears the lockout from the shell: the running kiosk takes it
    // over at its next tick, and the good PIN opens again.
    kiosk.ok(&["unlock", "--passphrase-file", kiosk.passphrase_arg()]);
    let view = core.borrow_mut().tick(Utc::now());
    assert_eq!(view, Some(View::Idle), "the keypad is back");
    door.show(View::Idle);
    let pulses = |sim: &doorguard::hw::gpio::SimGpio| {
        sim.timeline_of(Line::Relay)
            .iter()
            .filter(|(_, level)| *level == secure.other())
            .count()
    };
    let opened_before = pulses(&sim);
    submit(GOOD_PIN, Duration::ZERO);
    assert_eq!(app.global::<AppState>().get_screen(), Screen::Granted);
    wait_for("the relay to open again", || pulses(&sim) > opened_before);

    // Later, the door is pulled open without a grant: forced. (The clock the core is
    // given runs past the entry window of the good PIN above.)
    sim.set_door_open(true);
    let opened = loop {
        let event = input_events
            .recv_timeout(Duration::from_secs(5))
            .expect("the door contact's event");
        if event == doorguard::access::Event::DoorOpened {
            break event;
        }
    };
    let later = Utc::now()
        + chrono::TimeDelta::from_std(settings.access.entry_window).unwrap()
        + chrono::TimeDelta::seconds(60);
    core.borrow_mut().device(opened, later);
    let kinds: Vec<String> = store
        .alerts(10)
        .unwrap()
        .into_iter()
        .map(|a| a.kind)
        .collect();
    assert!(
        kinds.iter().any(|k| k == "door_forced"),
        "a door-forced alert: {kinds:?}"
    );
}
