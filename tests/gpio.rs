//! The GPIO with the simulated backend and a controlled clock: the access rules'
//! commands played on the lines (patterns, pulses, lockout hold), inputs debounced
//! into events, and the fail-secure paths (start, drop, panic, polarity). Also what
//! the rppal backend says on a machine that is not a Raspberry Pi.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, TimeZone, Utc};
use doorguard::access::{AccessMachine, Command, Event, PinOutcome, Timestamp};
use doorguard::config::Settings;
use doorguard::hw::gpio::{
    self, Applied, Driver, Gpio, GpioBackend, GpioSettings, Input, Level, Line, OnSignal, Report,
    Request, SimGpio,
};
use doorguard::ids::PersonId;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Settings from a TOML snippet over the defaults, with the simulated GPIO.
fn settings(toml: &str) -> Settings {
    let text = format!("[gpio]\nbackend = \"sim\"\n{toml}");
    Settings::parse(&text, Path::new("test.toml")).expect("valid test configuration")
}

/// The access rules and the GPIO driven by one controlled clock.
struct Kiosk {
    machine: AccessMachine,
    driver: Driver,
    sim: SimGpio,
    gpio: GpioSettings,
    t0: Instant,
    utc0: Timestamp,
    reports: Vec<Report>,
}

impl Kiosk {
    fn new(settings: &Settings) -> Kiosk {
        let t0 = Instant::now();
        let sim = SimGpio::new(&settings.gpio, t0);
        let driver = Driver::new(&settings.gpio, sim.lines(), t0);
        Kiosk {
            machine: AccessMachine::new(settings.access.clone()),
            driver,
            sim,
            gpio: settings.gpio.clone(),
            t0,
            utc0: Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap(),
            reports: Vec::new(),
        }
    }

    /// Runs the driver up to `at`, then hands `event` to the access rules at `at`
    /// and every command they return to the GPIO, as the shell does.
    fn event(&mut self, at: Duration, event: Event) -> Vec<Command> {
        self.run_until(at);
        let now = self.utc0 + TimeDelta::from_std(at).unwrap();
        let commands = self.machine.handle(event, now);
        for command in &commands {
            self.driver
                .apply(&Request::Command(command.clone()), self.t0 + at);
        }
        commands
    }

    fn run_until(&mut self, at: Duration) {
        let reports = self.driver.run_until(self.t0 + at);
        self.reports.extend(reports);
    }

    fn open(&self) -> Level {
        self.gpio.relay_open_level
    }

    fn secure(&self) -> Level {
        self.gpio.relay_secure_level()
    }
}

/// A pattern played once from `start`: on, off, on, … then off at its end.
fn once(steps: &[Duration], start: Duration) -> Vec<(Duration, Level)> {
    let mut out = Vec::new();
    let mut t = start;
    for (i, step) in steps.iter().enumerate() {
        out.push((t, if i % 2 == 0 { Level::High } else { Level::Low }));
        t += *step;
    }
    if steps.len() % 2 == 1 {
        out.push((t, Level::Low));
    }
    out
}

/// An even-length pattern repeated from `start` and cut off `length` later.
fn repeated(steps: &[Duration], start: Duration, length: Duration) -> Vec<(Duration, Level)> {
    assert_eq!(steps.len() % 2, 0, "this helper repeats on/off pairs");
    let end = start + length;
    let mut out = Vec::new();
    let mut t = start;
    for i in 0.. {
        if t >= end {
            break;
        }
        out.push((t, if i % 2 == 0 { Level::High } else { Level::Low }));
        t += steps[i % steps.len()];
    }
    if out.last().is_some_and(|(_, level)| *level == Level::High) {
        out.push((end, Level::Low));
    }
    out
}

fn wrong_attempt_plays(settings: &Settings) {
    let mut k = Kiosk::new(settings);
    let commands = k.event(ms(1000), Event::Pin(PinOutcome::Wrong));
    assert!(commands.iter().any(|c| matches!(c, Command::Buzzer { .. })));
    k.run_until(ms(5000));
    let mut expected = vec![(Duration::ZERO, Level::Low)]; // silenced at start
    expected.extend(once(&settings.gpio.patterns.wrong.0, ms(1000)));
    assert_eq!(k.sim.timeline_of(Line::Buzzer), expected);
    assert_eq!(
        k.sim.timeline_of(Line::Relay),
        vec![(Duration::ZERO, k.secure())],
        "a wrong PIN never moves the relay"
    );
}

#[test]
fn a_wrong_attempt_plays_the_configured_pattern() {
    wrong_attempt_plays(&settings(""));
}

#[test]
fn a_wrong_attempt_plays_a_non_default_pattern() {
    let s = settings("[buzzer]\nwrong = [50, 30, 70, 30, 200]\n");
    assert_eq!(
        s.gpio.patterns.wrong.0,
        vec![ms(50), ms(30), ms(70), ms(30), ms(200)]
    );
    wrong_attempt_plays(&s);
}

#[test]
fn a_grant_pulses_the_relay_for_exactly_the_configured_length() {
    for (toml, length) in [
        ("", ms(5000)),
        ("[door]\nrelay_pulse = \"2500ms\"\n", ms(2500)),
    ] {
        let s = settings(toml);
        assert_eq!(s.access.relay_pulse, length);
        let mut k = Kiosk::new(&s);
        k.event(ms(700), Event::Pin(PinOutcome::Granted(PersonId(1))));
        k.run_until(ms(20_000));
        assert_eq!(
            k.sim.timeline_of(Line::Relay),
            vec![
                (Duration::ZERO, k.secure()),
                (ms(700), k.open()),
                (ms(700) + length, k.secure())
            ]
        );
    }
}

#[test]
fn a_lockout_holds_the_relay_secure_and_sounds_the_alarm_for_its_duration() {
    let s = settings("[buzzer]\nlockout = [300, 100, 100, 100]\n");
    let mut k = Kiosk::new(&s);
    k.event(ms(1000), Event::Pin(PinOutcome::Wrong));
    k.event(ms(2000), Event::Pin(PinOutcome::Wrong));
    let third = k.event(ms(3000), Event::Pin(PinOutcome::Wrong));
    assert!(third.contains(&Command::HoldRelaySecure), "{third:?}");
    let lockout = k.machine.lockout_remaining(k.utc0 + TimeDelta::seconds(3));
    assert_eq!(lockout, Some(Duration::from_secs(30)));

    // The shell ticks every second; a pulse arrives in the middle of the lockout, and
    // a valid PIN (refused by the rules themselves).
    let mut refused = Vec::new();
    for second in 4..=40u64 {
        if second == 10 {
            k.run_until(ms(10_000));
            let applied = k.driver.apply(
                &Request::Command(Command::PulseRelay(ms(5000))),
                k.t0 + ms(10_000),
            );
            refused.push(applied);
        }
        if second == 12 {
            let commands = k.event(ms(12_000), Event::Pin(PinOutcome::Granted(PersonId(1))));
            assert!(!commands.iter().any(|c| matches!(c, Command::PulseRelay(_))));
        }
        k.event(Duration::from_secs(second), Event::Tick);
    }
    assert_eq!(refused, vec![Applied::PulseRefused(ms(5000))]);
    assert!(
        k.reports
            .contains(&Report::PulseRefused { length: ms(5000) }),
        "the refusal is reported for the audit log: {:?}",
        k.reports
    );
    // Not once open during the lockout (3 s to 33 s), nor after: nothing asked.
    assert_eq!(
        k.sim.timeline_of(Line::Relay),
        vec![(Duration::ZERO, k.secure())]
    );
    assert!(
        !k.driver.outputs().is_held(),
        "the hold ended with the lockout"
    );

    // The lockout alarm: the configured pattern from 3 s, repeated for `alarm` (10 s).
    let alarm = s.access.alarm_duration;
    assert_eq!(alarm, Duration::from_secs(10));
    let buzzer = k.sim.timeline_of(Line::Buzzer);
    let from_lockout: Vec<_> = buzzer.into_iter().filter(|(t, _)| *t >= ms(3000)).collect();
    assert_eq!(
        from_lockout,
        repeated(&s.gpio.patterns.lockout.0, ms(3000), alarm)
    );

    // After the lockout a grant opens the door again.
    k.event(ms(45_000), Event::Pin(PinOutcome::Granted(PersonId(1))));
    k.run_until(ms(60_000));
    assert_eq!(
        k.sim.timeline_of(Line::Relay),
        vec![
            (Duration::ZERO, k.secure()),
            (ms(45_000), k.open()),
            (ms(50_000), k.secure())
        ]
    );
}

#[test]
fn the_exit_button_opens_during_a_lockout_only_as_an_egress_pulse() {
    let s = settings("");
    let mut k = Kiosk::new(&s);
    for second in 1..=3 {
        k.event(Duration::from_secs(second), Event::Pin(PinOutcome::Wrong));
    }
    // The rules let people leave during a lockout (the default policy): the shell
    // sends the pulse that follows an exit-button press as an egress pulse.
    let commands = k.event(ms(5000), Event::ExitButton);
    let length = commands
        .iter()
        .find_map(|c| match c {
            Command::PulseRelay(d) => Some(*d),
            _ => None,
        })
        .expect("the exit button pulses the relay");
    assert_eq!(
        k.driver.apply(
            &Request::Command(Command::PulseRelay(length)),
            k.t0 + ms(5000)
        ),
        Applied::PulseRefused(length),
        "as a plain pulse it is refused"
    );
    assert_eq!(
        k.driver
            .apply(&Request::EgressPulse(length), k.t0 + ms(5000)),
        Applied::Done
    );
    k.run_until(ms(20_000));
    assert_eq!(
        k.sim.timeline_of(Line::Relay),
        vec![
            (Duration::ZERO, k.secure()),
            (ms(5000), k.open()),
            (ms(5000) + length, k.secure())
        ]
    );
    assert!(k.driver.outputs().is_held(), "still locked out");
}

#[test]
fn the_relay_is_secure_at_start_and_after_drop_with_either_polarity() {
    for (open, secure) in [("high", Level::Low), ("low", Level::High)] {
        let s = settings(&format!("relay_open_level = \"{open}\"\n"));
        assert_eq!(s.gpio.relay_secure_level(), secure);
        let t0 = Instant::now();
        let sim = SimGpio::new(&s.gpio, t0);
        assert_eq!(sim.level(Line::Relay), None, "not driven before the driver");
        let mut driver = Driver::new(&s.gpio, sim.lines(), t0);
        assert_eq!(sim.level(Line::Relay), Some(secure), "secure at start");
        driver.apply(
            &Request::Command(Command::PulseRelay(ms(5000))),
            t0 + ms(100),
        );
        driver.run_until(t0 + ms(1000));
        assert_eq!(
            sim.level(Line::Relay),
            Some(secure.other()),
            "open during the pulse"
        );
        drop(driver); // in the middle of the pulse
        assert_eq!(sim.level(Line::Relay), Some(secure), "secure after drop");
        let timeline = sim.timeline_of(Line::Relay);
        assert_eq!(timeline[0], (Duration::ZERO, secure));
        assert_eq!(timeline[1], (ms(100), secure.other()));
        assert_eq!(timeline.last().map(|e| e.1), Some(secure));
    }
}

#[test]
fn inputs_are_debounced_into_access_events() {
    let s = settings("debounce = \"50ms\"\n");
    let door = s.gpio.door_contact.expect("wired by default");
    let t0 = Instant::now();
    let sim = SimGpio::new(&s.gpio, t0);
    let mut driver = Driver::new(&s.gpio, sim.lines(), t0);
    let mut reports = Vec::new();
    let mut at = |t: u64, f: &dyn Fn()| {
        reports.extend(driver.run_until(t0 + ms(t)));
        f();
    };
    // Inputs are sampled every 5 ms; a level set at T is first read at T + 5 ms.
    // Door closed at start: no event. Then it opens with contact bounce (every change
    // is read), and stays open from 120 ms (read from 125 ms).
    at(100, &|| {
        sim.set_input_level(Input::DoorContact, door.active)
    });
    at(105, &|| {
        sim.set_input_level(Input::DoorContact, door.active.other())
    });
    at(110, &|| {
        sim.set_input_level(Input::DoorContact, door.active)
    });
    at(115, &|| {
        sim.set_input_level(Input::DoorContact, door.active.other())
    });
    at(120, &|| {
        sim.set_input_level(Input::DoorContact, door.active)
    });
    at(1000, &|| sim.set_door_open(false));
    at(2000, &|| sim.set_exit_button(true));
    at(2030, &|| sim.set_exit_button(false)); // too short: not a press
    at(2100, &|| sim.set_exit_button(true));
    at(2200, &|| sim.set_exit_button(false));
    at(3000, &|| sim.set_tamper(true));
    at(4000, &|| sim.set_tamper(false));
    at(5000, &|| ());
    let input = |event, t| Report::Input {
        event,
        at: t0 + ms(t),
    };
    assert_eq!(
        reports,
        vec![
            // One opening, the debounce time after the last bounce.
            input(Event::DoorOpened, 175),
            input(Event::DoorClosed, 1055),
            input(Event::ExitButton, 2155),
            input(Event::Tamper { active: true }, 3055),
            input(Event::Tamper { active: false }, 4055),
        ]
    );
}

/// Tests that touch the process-wide fail-secure paths (panic hook, armed relays) run
/// one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Waits (bounded) until `f` holds; the bound only keeps a broken test from hanging.
fn eventually(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(10), "never: {what}");
        thread::sleep(ms(2));
    }
}

#[test]
fn a_panic_in_a_worker_thread_leaves_the_relay_secure() {
    let _serial = serial();
    let s = settings("");
    let secure = s.gpio.relay_secure_level();
    let gpio = Gpio::start(&s.gpio, |_| {}).unwrap();
    let sim = gpio.sim().expect("sim backend").clone();
    let handle = gpio.handle();
    handle
        .send(Command::PulseRelay(Duration::from_secs(60)))
        .unwrap();
    eventually("the relay opens", || {
        sim.level(Line::Relay) == Some(secure.other())
    });

    let worker = thread::spawn(|| panic!("a worker fails while the door is open"));
    assert!(worker.join().is_err());
    assert_eq!(
        sim.level(Line::Relay),
        Some(secure),
        "secured by the panic hook"
    );

    // The driver learnt of it: the old pulse does not come back, a new one works.
    thread::sleep(ms(50));
    assert_eq!(sim.level(Line::Relay), Some(secure));
    handle
        .send(Command::PulseRelay(Duration::from_secs(60)))
        .unwrap();
    eventually("a new pulse opens", || {
        sim.level(Line::Relay) == Some(secure.other())
    });
    drop(gpio);
    assert_eq!(sim.level(Line::Relay), Some(secure), "secure after drop");
    assert!(handle.keypress().is_err(), "the driver has stopped");
}

#[test]
fn sigterm_secures_the_relay_for_good_and_notifies_the_shell() {
    let _serial = serial();
    let shutdown = Arc::new(AtomicBool::new(false));
    gpio::secure_on_signals(OnSignal::Notify(shutdown.clone())).unwrap();
    let s = settings("");
    let secure = s.gpio.relay_secure_level();
    let (tx, rx) = mpsc::channel();
    let gpio = Gpio::start(&s.gpio, move |r| {
        let _ = tx.send(r);
    })
    .unwrap();
    let sim = gpio.sim().expect("sim backend").clone();
    gpio.handle()
        .send(Command::PulseRelay(Duration::from_secs(60)))
        .unwrap();
    eventually("the relay opens", || {
        sim.level(Line::Relay) == Some(secure.other())
    });

    signal_hook::low_level::raise(signal_hook::consts::SIGTERM).unwrap();
    eventually("the shell is told", || shutdown.load(Ordering::SeqCst));
    assert_eq!(sim.level(Line::Relay), Some(secure));
    // Shutting down: no pulse opens the door any more.
    gpio.handle()
        .send(Command::PulseRelay(Duration::from_secs(60)))
        .unwrap();
    let refused = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        matches!(refused, Report::PulseRefused { .. }),
        "{refused:?}"
    );
    assert_eq!(sim.level(Line::Relay), Some(secure));
}

#[test]
fn the_gpio_thread_reports_inputs_and_plays_commands_in_real_time() {
    let _serial = serial();
    let s = settings("debounce = \"10ms\"\n");
    let (tx, rx) = mpsc::channel();
    let gpio = Gpio::start(&s.gpio, move |r| {
        let _ = tx.send(r);
    })
    .unwrap();
    let sim = gpio.sim().expect("sim backend").clone();
    assert_eq!(sim.level(Line::Relay), Some(s.gpio.relay_secure_level()));
    sim.set_door_open(true);
    let report = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(matches!(
        report,
        Report::Input {
            event: Event::DoorOpened,
            ..
        }
    ));
    gpio.handle()
        .send(Command::Buzzer {
            pattern: doorguard::access::Pattern::Wrong,
            duration: None,
        })
        .unwrap();
    // Not about the GPIO: accepted and dropped.
    gpio.handle().send(Command::Persist).unwrap();
    let beeps = s.gpio.patterns.wrong.0.len().div_ceil(2);
    eventually("the double beep", || {
        let t = sim.timeline_of(Line::Buzzer);
        t.iter().filter(|(_, l)| *l == Level::High).count() == beeps
            && t.last().map(|e| e.1) == Some(Level::Low)
    });
}

#[test]
fn on_this_machine_the_rppal_backend_explains_it_is_not_a_raspberry_pi() {
    let mut s = Settings::defaults().gpio;
    s.backend = GpioBackend::Rppal;
    let probe = gpio::probe(&s);
    if probe.ok {
        eprintln!(
            "skipped: this machine has a reachable GPIO: {:?}",
            probe.lines
        );
        return;
    }
    let text = probe.lines.join("\n");
    assert!(text.contains("/dev/gpiomem: not a Raspberry Pi"), "{text}");
    let err = Gpio::start(&s, |_| {}).expect_err("no GPIO here");
    assert!(matches!(err, gpio::Error::NotRaspberryPi), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("/dev/gpiomem: not a Raspberry Pi"),
        "{err}"
    );
}

#[test]
fn the_sim_probes_ok_and_a_pin_used_twice_is_refused() {
    let s = settings("");
    let probe = gpio::probe(&s.gpio);
    assert!(probe.ok, "{probe:?}");
    let twice = settings("buzzer_pin = 17\n");
    let probe = gpio::probe(&twice.gpio);
    assert!(!probe.ok);
    assert_eq!(
        probe.lines,
        vec!["GPIO17 is configured for both the door relay and the buzzer".to_owned()]
    );
    assert!(matches!(
        Gpio::start(&twice.gpio, |_| {}),
        Err(gpio::Error::PinTwice { pin: 17, .. })
    ));
}
