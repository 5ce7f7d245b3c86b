//! GPIO: the door relay, the buzzer and the inputs (door contact, tamper switch, exit
//! button), on the Raspberry Pi through rppal or simulated.
//!
//! Owns every GPIO line: no other module opens `/dev/gpiomem`. It carries out the
//! access rules' output [`Command`]s and reports the inputs as access [`Event`]s; it
//! must not decide access (a pulse during a lockout is refused because the relay is
//! held, never because this module judged the person) and must not block its caller:
//! the lines are driven by their own thread.
//!
//! # How it fits together
//!
//! - `outputs.rs`: [`Outputs`], the pure scheduler of the relay and buzzer levels
//!   (pulses, the secure hold, patterns, repetition).
//! - `debounce.rs`: [`Debouncer`] and [`InputTracker`], pure debouncing of input samples
//!   into [`Event`]s.
//! - `driver.rs`: [`Driver`], which joins the scheduler, the debouncer and the lines;
//!   step by step with a supplied clock (tests) or inside [`Gpio`].
//! - `service.rs`: [`Gpio`], the driver on its own thread, with a [`GpioHandle`] to
//!   send commands and a callback for [`Report`]s.
//! - `failsafe.rs`: the fail-secure paths (panic hook, signals).
//! - `rppal.rs` and `sim.rs`: the backends behind the [`DoorRelay`], [`Buzzer`] and
//!   [`Inputs`] traits; the choice is [`GpioSettings::backend`], never the target.
//!
//! # Fail-secure
//!
//! The relay is in its secure level (the opposite of
//! [`GpioSettings::relay_open_level`]) in every one of these cases:
//!
//! - **At start**: [`Driver::new`] writes the secure level before anything else (the
//!   rppal backend also switches the pin to output *at* that level, so it never
//!   glitches open).
//! - **During a lockout**: [`Command::HoldRelaySecure`] holds it; pulses are refused.
//! - **On normal exit**: dropping [`Driver`] (and so [`Gpio`]) writes the secure level;
//!   the rppal relay pin is set not to reset on drop and writes the secure level in its
//!   own `Drop`, so the line stays driven secure after the process ends instead of
//!   floating.
//! - **On SIGINT/SIGTERM**: [`Gpio::start`] makes sure a signal-hook thread is
//!   listening; on a signal it secures every armed relay, holds it secure for good,
//!   then either ends the process with the signal's default action ([`OnSignal::Exit`],
//!   the default) or sets the shell's shutdown flag ([`OnSignal::Notify`]), chosen with
//!   [`secure_on_signals`]. A second signal always ends the process.
//! - **After a panic in any thread**: [`Gpio::start`] installs (once) a panic hook that
//!   chains the previous one. It reaches the relay through a dedicated path shared with
//!   the driver (an `Arc` registered in a process-wide list, never a lock the shell
//!   might hold), takes the line's lock only with a bounded `try_lock` (a panicking
//!   thread that holds it cannot deadlock the hook; the unwinding then drops the driver,
//!   whose `Drop` secures the line), bumps an atomic counter the driver checks before
//!   every write (so a pulse decided just before cannot reopen the door), and writes
//!   the secure level. Later pulses work again: a panicking camera thread must not
//!   lock people out for good. With `panic = "abort"` the hook still runs first.
//!
//! A [`Driver`] made directly (tests) is armed only by [`Driver::arm_fail_secure`].
//! `kill -9` and power cuts cannot be caught: wire the lock so that the relay's
//! *unpowered* state is secure (see `deploy/config.example.toml`).
//!
//! # Troubleshooting
//!
//! - **`/dev/gpiomem: not a Raspberry Pi`**: rppal could not identify the board (it
//!   reads `/proc/device-tree/compatible` and `/proc/cpuinfo`). On a laptop or a build
//!   machine use `gpio.backend = "sim"`. On a Pi, a container without `/proc/device-tree`
//!   or a very new model (update rppal) gives the same error.
//! - **`permission denied on /dev/gpiomem: add the user to group gpio`**: run
//!   `sudo usermod -aG gpio doorguard` (or your user) and restart the service or log in
//!   again; the packaged systemd unit already adds the group. Raspberry Pi OS ships a
//!   udev rule that gives `/dev/gpiomem` to group `gpio`; other distributions need one.
//! - **`GPIO17 (door relay) is busy`**: two lines are configured on the same pin, or
//!   another program claims it (`gpioinfo` lists the owners; pigpiod, a `dtoverlay`
//!   such as `gpio-shutdown` or a 1-Wire/PWM overlay). Pick another pin or free it.
//! - **`GPIO28 … does not exist`**: pins are BCM numbers 2 to 27, not header pins
//!   (GPIO17 is header pin 11).
//! - **The door opens when the kiosk stops**: the relay module is active-low; set
//!   `relay_open_level = "low"` so the secure level is high.
//! - **An input never changes**: inputs use the internal pull-up, so a switch must
//!   connect the pin to ground; check `*_level` for the active level.

mod debounce;
mod driver;
mod failsafe;
mod outputs;
mod rppal;
mod service;
mod sim;

use std::collections::HashMap;
use std::io;
use std::time::{Duration, Instant};

use super::Probe;

pub use debounce::{Debouncer, Input, InputTracker, Transition};
pub use driver::{Driver, Report, Request};
pub use failsafe::{OnSignal, secure_on_signals};
pub use outputs::{Applied, Change, Line, Outputs, Sound};
pub use service::{Gpio, GpioHandle};
pub use sim::{SimGpio, TimelineEntry};

#[cfg(doc)]
use crate::access::{Command, Event};

/// Which GPIO implementation drives the lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpioBackend {
    /// The Raspberry Pi's GPIO through rppal.
    Rppal,
    /// Simulated lines that record a timeline of every change.
    Sim,
}

/// A line level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// 0 V.
    Low,
    /// 3.3 V.
    High,
}

impl Level {
    /// The other level.
    pub fn other(self) -> Level {
        match self {
            Level::Low => Level::High,
            Level::High => Level::Low,
        }
    }
}

/// A buzzer pattern: alternating on and off times, starting with on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeepPattern(pub Vec<Duration>);

/// The named buzzer patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuzzerPatterns {
    /// A key was pressed (default 30 ms).
    pub keypress: BeepPattern,
    /// A wrong attempt: double beep (default 120 on, 80 off, 120 on).
    pub wrong: BeepPattern,
    /// The lockout alarm, repeated for `[lockout] alarm` (default 500 on, 250 off).
    pub lockout: BeepPattern,
    /// Door forced / held open / tamper, repeated until it stops (default 1000 on, 500 off).
    pub door: BeepPattern,
}

/// How the buzzer is driven.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BuzzerKind {
    /// An active buzzer: the line on or off.
    Active,
    /// A passive buzzer driven by software PWM at this frequency (Hz).
    Pwm {
        /// Tone frequency in Hz.
        frequency_hz: f64,
    },
}

/// An input line: BCM pin and the level that means "active" (door open, tamper
/// triggered, button pressed). Inputs use the internal pull-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLine {
    /// BCM GPIO number.
    pub pin: u8,
    /// The level read when the input is active.
    pub active: Level,
}

/// `[gpio]` and `[buzzer]` settings, resolved from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct GpioSettings {
    /// rppal or sim.
    pub backend: GpioBackend,
    /// BCM pin of the door relay (default 17).
    pub relay_pin: u8,
    /// The level that releases (opens) the door; the other level is the secure state.
    pub relay_open_level: Level,
    /// BCM pin of the buzzer (default 18).
    pub buzzer_pin: u8,
    /// Active buzzer or PWM tone.
    pub buzzer: BuzzerKind,
    /// Named patterns.
    pub patterns: BuzzerPatterns,
    /// Door contact (reed switch), if wired; active = door open.
    pub door_contact: Option<InputLine>,
    /// Tamper switch, if wired; active = tampered.
    pub tamper: Option<InputLine>,
    /// Exit button (inside), if wired; active = pressed.
    pub exit_button: Option<InputLine>,
    /// An input must hold a level this long to count (default 50 ms).
    pub debounce: Duration,
}

impl GpioSettings {
    /// The relay level that keeps the door locked.
    pub fn relay_secure_level(&self) -> Level {
        self.relay_open_level.other()
    }

    /// Every configured pin with what it is for, outputs first.
    pub fn pins(&self) -> Vec<(u8, &'static str)> {
        let mut pins = vec![(self.relay_pin, "door relay"), (self.buzzer_pin, "buzzer")];
        for input in Input::ALL {
            if let Some(line) = input.line(self) {
                pins.push((line.pin, input.describe()));
            }
        }
        pins
    }

    /// Fails if two lines share a pin.
    pub fn check_pins(&self) -> Result<(), Error> {
        let mut seen: HashMap<u8, &'static str> = HashMap::new();
        for (pin, role) in self.pins() {
            if let Some(first) = seen.insert(pin, role) {
                return Err(Error::PinTwice {
                    pin,
                    first,
                    second: role,
                });
            }
        }
        Ok(())
    }
}

/// The door relay's line. Implementations must be quick and must not panic: the
/// fail-secure paths call [`DoorRelay::set`] from a panic hook and a signal thread.
pub trait DoorRelay: Send {
    /// Drives the line to `level`; `at` is the driver's time of the change (the
    /// simulation records it, hardware ignores it).
    fn set(&mut self, level: Level, at: Instant);
}

/// The buzzer's line.
pub trait Buzzer: Send {
    /// Sounds (`on`) or silences the buzzer at `at` (see [`DoorRelay::set`]).
    fn set(&mut self, on: bool, at: Instant) -> Result<(), Error>;
}

/// The input lines.
pub trait Inputs: Send {
    /// The raw level of `input` now, `None` if it is not wired.
    fn read(&mut self, input: Input) -> Option<Level>;
}

/// One backend's lines, ready for a [`Driver`].
pub struct Lines {
    /// The door relay.
    pub relay: Box<dyn DoorRelay>,
    /// The buzzer.
    pub buzzer: Box<dyn Buzzer>,
    /// The inputs.
    pub inputs: Box<dyn Inputs>,
}

impl std::fmt::Debug for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lines").finish_non_exhaustive()
    }
}

/// Opens the lines of the configured backend at `now`; for the simulation, also
/// returns its handle (timeline, inputs).
pub fn open(settings: &GpioSettings, now: Instant) -> Result<(Lines, Option<SimGpio>), Error> {
    settings.check_pins()?;
    match settings.backend {
        GpioBackend::Rppal => Ok((self::rppal::open(settings)?, None)),
        GpioBackend::Sim => {
            let sim = SimGpio::new(settings, now);
            Ok((sim.lines(), Some(sim)))
        }
    }
}

/// Probes the configured GPIO without driving any line: whether it is reachable and,
/// if not, why (e.g. "/dev/gpiomem: not a Raspberry Pi").
pub fn probe(settings: &GpioSettings) -> Probe {
    if let Err(e) = settings.check_pins() {
        return Probe {
            ok: false,
            lines: vec![e.to_string()],
        };
    }
    match settings.backend {
        GpioBackend::Rppal => self::rppal::probe(settings),
        GpioBackend::Sim => Probe {
            ok: true,
            lines: vec![
                "gpio: simulated (backend \"sim\"), nothing is driven".to_owned(),
                describe_pins(settings),
            ],
        },
    }
}

fn describe_pins(settings: &GpioSettings) -> String {
    settings
        .pins()
        .iter()
        .map(|(pin, role)| format!("{role} GPIO{pin}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// GPIO errors, worded for the person at the Pi (see the module's Troubleshooting).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// rppal's `UnknownModel`.
    #[error(
        "/dev/gpiomem: not a Raspberry Pi (the board model is unknown to rppal); \
         use gpio.backend = \"sim\" on other machines"
    )]
    NotRaspberryPi,
    /// No access to `/dev/gpiomem`, `/dev/mem` or `/dev/gpiochipN`.
    #[error(
        "permission denied on {path}: add the user to group gpio \
         (sudo usermod -aG gpio USER, then log in again or restart the service)"
    )]
    PermissionDenied {
        /// The device that could not be opened.
        path: String,
    },
    /// The pin is used by another line or program.
    #[error("GPIO{pin} ({role}) is busy: {detail}")]
    PinBusy {
        /// BCM number.
        pin: u8,
        /// What the pin is for.
        role: &'static str,
        /// Who holds it, as far as known.
        detail: String,
    },
    /// The board has no such pin.
    #[error("GPIO{pin} ({role}) does not exist on this board: use a BCM number from 2 to 27")]
    PinNotAvailable {
        /// BCM number.
        pin: u8,
        /// What the pin is for.
        role: &'static str,
    },
    /// Two lines configured on the same pin.
    #[error("GPIO{pin} is configured for both the {first} and the {second}")]
    PinTwice {
        /// BCM number.
        pin: u8,
        /// The first line on it.
        first: &'static str,
        /// The second line on it.
        second: &'static str,
    },
    /// Software PWM for a passive buzzer failed.
    #[error("buzzer PWM on GPIO{pin}: {detail}")]
    Pwm {
        /// BCM number.
        pin: u8,
        /// rppal's message.
        detail: String,
    },
    /// Any other I/O error from the GPIO device.
    #[error("GPIO {context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: io::Error,
    },
    /// A thread could not be started.
    #[error("cannot start the {what} thread: {source}")]
    Thread {
        /// Which thread.
        what: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// SIGINT/SIGTERM handlers could not be installed.
    #[error("cannot catch SIGINT/SIGTERM: {0}")]
    Signals(io::Error),
    /// The GPIO thread is gone (after [`Gpio`] was dropped).
    #[error("the GPIO driver has stopped")]
    Stopped,
}
