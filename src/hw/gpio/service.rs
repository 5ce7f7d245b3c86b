//! The GPIO service: a [`Driver`] on its own thread, fed through a channel.
//!
//! Owns the driver thread: it sleeps until the next output change, input sample or
//! request, and passes reports to the shell's callback. It must not block the callers
//! of [`GpioHandle`] (sending never waits for the lines) and must leave the relay
//! secure when it stops, however it stops.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::failsafe;
use super::{Driver, Error, GpioSettings, Report, Request, SimGpio};
use crate::access::Command;

enum Message {
    Request(Request),
    Stop,
}

/// A cloneable sender of requests to the GPIO thread.
#[derive(Debug, Clone)]
pub struct GpioHandle {
    tx: Sender<Message>,
}

impl GpioHandle {
    /// Sends an access command; commands that are not about the relay or the buzzer
    /// are dropped here.
    pub fn send(&self, command: Command) -> Result<(), Error> {
        match command {
            Command::PulseRelay(_)
            | Command::HoldRelaySecure
            | Command::ReleaseRelayHold
            | Command::Buzzer { .. }
            | Command::StopBuzzer => self.request(Request::Command(command)),
            _ => Ok(()),
        }
    }

    /// The keypress tick.
    pub fn keypress(&self) -> Result<(), Error> {
        self.request(Request::Keypress)
    }

    /// A pulse that opens during a lockout hold (see [`Request::EgressPulse`]).
    pub fn egress_pulse(&self, length: Duration) -> Result<(), Error> {
        self.request(Request::EgressPulse(length))
    }

    /// Sends any request.
    pub fn request(&self, request: Request) -> Result<(), Error> {
        self.tx
            .send(Message::Request(request))
            .map_err(|_| Error::Stopped)
    }
}

/// The running GPIO. Dropping it stops the thread and leaves the relay secure.
#[derive(Debug)]
pub struct Gpio {
    handle: GpioHandle,
    thread: Option<JoinHandle<()>>,
    sim: Option<SimGpio>,
}

impl Gpio {
    /// Opens the configured backend, drives the relay secure, arms the fail-secure
    /// paths (panic hook; SIGINT/SIGTERM thread, see [`super::secure_on_signals`]) and
    /// starts the driver thread. `on_report` runs on that thread for every [`Report`]:
    /// keep it short (send it on to a channel or the UI's event loop).
    ///
    /// Fails with a message that says what to do for the errors people hit (no Pi, no
    /// permission, a busy pin); see the module's Troubleshooting.
    pub fn start(
        settings: &GpioSettings,
        on_report: impl FnMut(Report) + Send + 'static,
    ) -> Result<Gpio, Error> {
        let now = Instant::now();
        let (lines, sim) = super::open(settings, now)?;
        let driver = Driver::new(settings, lines, now);
        driver.arm_fail_secure();
        if let Err(e) = failsafe::ensure_signal_thread() {
            // Degraded, not fatal: the panic hook and `Drop` still secure the relay.
            tracing::error!(error = %e, "the relay will not be secured on SIGINT/SIGTERM");
        }
        let (tx, rx) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("gpio".to_owned())
            .spawn(move || run(driver, rx, on_report))
            .map_err(|source| Error::Thread {
                what: "GPIO",
                source,
            })?;
        Ok(Gpio {
            handle: GpioHandle { tx },
            thread: Some(thread),
            sim,
        })
    }

    /// A sender of requests, to clone where commands are produced.
    pub fn handle(&self) -> GpioHandle {
        self.handle.clone()
    }

    /// The simulation (timeline, inputs) when the backend is `sim`.
    pub fn sim(&self) -> Option<&SimGpio> {
        self.sim.as_ref()
    }
}

impl Drop for Gpio {
    fn drop(&mut self) {
        let _ = self.handle.tx.send(Message::Stop);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            // The driver panicked; unwinding dropped it, which secured the relay.
            tracing::error!("the GPIO thread panicked");
        }
    }
}

fn run(mut driver: Driver, rx: Receiver<Message>, mut on_report: impl FnMut(Report)) {
    loop {
        let received = match driver.next_wakeup() {
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let mut stop = false;
        let mut message = match received {
            Ok(message) => Some(message),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                stop = true;
                None
            }
        };
        // Apply everything already waiting at one instant, then write the net changes:
        // a pulse and a hold sent together never open the door.
        let now = Instant::now();
        while let Some(m) = message.take() {
            match m {
                Message::Request(request) => {
                    driver.schedule(&request, now);
                }
                Message::Stop => stop = true,
            }
            message = rx.try_recv().ok();
        }
        for report in driver.step(now.max(Instant::now())) {
            on_report(report);
        }
        if stop {
            return; // Dropping the driver secures the relay.
        }
    }
}
