//! The Raspberry Pi backend, through rppal (`gpio.backend = "rppal"`).
//!
//! Owns the rppal pins: the relay and buzzer as outputs, the inputs with the internal
//! pull-up, read by polling (the driver debounces). It must leave the relay driven at
//! its secure level whenever it lets go of it, and must explain rppal's errors in
//! words that say what to do (see the Troubleshooting section of [`gpio`](super)).

use std::io;
use std::time::Instant;

use ::rppal::gpio::{self as pi, InputPin, OutputPin};
use ::rppal::system::DeviceInfo;

use super::{
    Buzzer, BuzzerKind, DoorRelay, Error, GpioSettings, Input, Inputs, Level, Lines, Probe,
};

/// Opens every configured line; the relay is switched to output at its secure level.
pub(super) fn open(settings: &GpioSettings) -> Result<Lines, Error> {
    let gpio = pi::Gpio::new().map_err(|e| explain(e, None))?;
    let get =
        |pin: u8, role: &'static str| gpio.get(pin).map_err(|e| explain(e, Some((pin, role))));

    let secure = settings.relay_secure_level();
    let relay_pin = get(settings.relay_pin, "door relay")?;
    // Written before the pin becomes an output, so it never glitches open.
    let mut relay = match secure {
        Level::Low => relay_pin.into_output_low(),
        Level::High => relay_pin.into_output_high(),
    };
    relay.set_reset_on_drop(false);
    let relay = PiRelay { pin: relay, secure };

    let mut buzzer = get(settings.buzzer_pin, "buzzer")?.into_output_low();
    buzzer.set_reset_on_drop(false);
    let buzzer = PiBuzzer {
        pin: buzzer,
        kind: settings.buzzer,
    };

    let mut inputs = Vec::new();
    for input in Input::ALL {
        if let Some(line) = input.line(settings) {
            inputs.push((input, get(line.pin, input.describe())?.into_input_pullup()));
        }
    }
    Ok(Lines {
        relay: Box::new(relay),
        buzzer: Box::new(buzzer),
        inputs: Box::new(PiInputs { pins: inputs }),
    })
}

/// Whether the GPIO is reachable and every configured pin free, without driving any.
pub(super) fn probe(settings: &GpioSettings) -> Probe {
    let gpio = match pi::Gpio::new() {
        Ok(gpio) => gpio,
        Err(e) => {
            return Probe {
                ok: false,
                lines: vec![format!("gpio: {}", explain(e, None))],
            };
        }
    };
    let model = DeviceInfo::new()
        .map(|info| info.model().to_string())
        .unwrap_or_else(|_| "unknown model".to_owned());
    let mut lines = vec![format!("gpio: reachable ({model})")];
    let mut ok = true;
    for (pin, role) in settings.pins() {
        // `get` only reserves the pin inside this process; dropping the `Pin` leaves
        // its mode and level alone.
        match gpio.get(pin) {
            Ok(_) => lines.push(format!("GPIO{pin} ({role}): available")),
            Err(e) => {
                ok = false;
                lines.push(explain(e, Some((pin, role))).to_string());
            }
        }
    }
    Probe { ok, lines }
}

/// rppal's error in words that say what to do.
fn explain(e: pi::Error, pin: Option<(u8, &'static str)>) -> Error {
    let (number, role) = pin.unwrap_or((0, "GPIO"));
    match e {
        pi::Error::UnknownModel => Error::NotRaspberryPi,
        pi::Error::PermissionDenied(path) => Error::PermissionDenied { path },
        pi::Error::PinUsed(p) => Error::PinBusy {
            pin: p,
            role,
            detail: "already in use by doorguard (is it configured for two lines?)".to_owned(),
        },
        pi::Error::PinNotAvailable(p) => Error::PinNotAvailable { pin: p, role },
        pi::Error::Io(source) if source.raw_os_error() == Some(EBUSY) => Error::PinBusy {
            pin: number,
            role,
            detail: format!("{source}; another program holds it (see `gpioinfo`)"),
        },
        pi::Error::Io(source) if source.kind() == io::ErrorKind::PermissionDenied => {
            Error::PermissionDenied {
                path: "/dev/gpiomem".to_owned(),
            }
        }
        pi::Error::Io(source) => Error::Io {
            context: format!("device ({role})"),
            source,
        },
        pi::Error::ThreadPanic => Error::Io {
            context: format!("interrupt thread ({role})"),
            source: io::Error::other("rppal's thread panicked"),
        },
    }
}

/// `EBUSY` on Linux (the same on every architecture the kiosk runs on).
const EBUSY: i32 = 16;

fn pi_level(level: Level) -> pi::Level {
    match level {
        Level::Low => pi::Level::Low,
        Level::High => pi::Level::High,
    }
}

struct PiRelay {
    pin: OutputPin,
    secure: Level,
}

impl DoorRelay for PiRelay {
    fn set(&mut self, level: Level, _at: Instant) {
        self.pin.write(pi_level(level));
    }
}

impl Drop for PiRelay {
    /// The pin keeps its mode (no reset on drop) and is left at the secure level.
    fn drop(&mut self) {
        self.pin.write(pi_level(self.secure));
    }
}

struct PiBuzzer {
    pin: OutputPin,
    kind: BuzzerKind,
}

impl Buzzer for PiBuzzer {
    fn set(&mut self, on: bool, _at: Instant) -> Result<(), Error> {
        let pin = self.pin.pin();
        let pwm_error = |e: pi::Error| Error::Pwm {
            pin,
            detail: e.to_string(),
        };
        match (self.kind, on) {
            (BuzzerKind::Active, true) => self.pin.set_high(),
            (BuzzerKind::Active, false) => self.pin.set_low(),
            (BuzzerKind::Pwm { frequency_hz }, true) => self
                .pin
                .set_pwm_frequency(frequency_hz, 0.5)
                .map_err(pwm_error)?,
            (BuzzerKind::Pwm { .. }, false) => {
                self.pin.clear_pwm().map_err(pwm_error)?;
                self.pin.set_low();
            }
        }
        Ok(())
    }
}

impl Drop for PiBuzzer {
    fn drop(&mut self) {
        let _ = self.pin.clear_pwm();
        self.pin.set_low();
    }
}

struct PiInputs {
    pins: Vec<(Input, InputPin)>,
}

impl Inputs for PiInputs {
    fn read(&mut self, input: Input) -> Option<Level> {
        let (_, pin) = self.pins.iter().find(|(i, _)| *i == input)?;
        Some(match pin.read() {
            pi::Level::Low => Level::Low,
            pi::Level::High => Level::High,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rppal_errors_say_what_to_do() {
        let cases = [
            (pi::Error::UnknownModel, "/dev/gpiomem: not a Raspberry Pi"),
            (
                pi::Error::PermissionDenied("/dev/gpiomem".to_owned()),
                "permission denied on /dev/gpiomem: add the user to group gpio",
            ),
            (pi::Error::PinUsed(17), "GPIO17 (door relay) is busy"),
            (
                pi::Error::Io(io::Error::from_raw_os_error(EBUSY)),
                "GPIO17 (door relay) is busy",
            ),
            (
                pi::Error::PinNotAvailable(40),
                "GPIO40 (door relay) does not exist",
            ),
        ];
        for (error, start) in cases {
            let message = explain(error, Some((17, "door relay"))).to_string();
            assert!(message.starts_with(start), "{message}");
        }
    }
}
