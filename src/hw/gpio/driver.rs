//! The driver: joins the output scheduler, the input debouncer and one backend's lines.
//!
//! Owns the lines once they are opened: it writes what [`Outputs`] schedules, samples
//! the inputs every few milliseconds and reports what happened. It takes the time as a
//! parameter and never sleeps, so a test steps it with a controlled clock and
//! [`Gpio`](super::Gpio) runs it on its own thread with the real one. It must not
//! write an opening once the fail-secure path has secured the relay behind its back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::failsafe::{self, SecureRelay};
use super::{
    Applied, Buzzer, Change, GpioSettings, Input, InputTracker, Inputs, Level, Line, Lines, Outputs,
};
use crate::access::{Command, Event};

/// Inputs are sampled this often at most (more often for a debounce under 20 ms).
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// What the shell asks of the GPIO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// An access command; those that are not about the relay or the buzzer are ignored.
    Command(Command),
    /// A key was pressed on the keypad: the tick, if nothing else sounds.
    Keypress,
    /// A relay pulse that opens even during a lockout hold: for a
    /// [`Command::PulseRelay`] the access rules emitted after an exit-button press
    /// (they only do so during a lockout when the policy lets people leave).
    EgressPulse(Duration),
}

/// What the GPIO tells the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// An input changed (debounced): feed `event` to the access rules.
    Input {
        /// The access event.
        event: Event,
        /// When the change was confirmed.
        at: Instant,
    },
    /// A relay pulse was refused because the relay is held secure: for the audit log.
    PulseRefused {
        /// The refused pulse's length.
        length: Duration,
    },
}

/// The driver. See the module docs.
pub struct Driver {
    outputs: Outputs,
    relay: Arc<SecureRelay>,
    seen_forced: u64,
    locked_down: bool,
    buzzer: Box<dyn Buzzer>,
    buzzer_failing: bool,
    inputs: Box<dyn Inputs>,
    tracker: InputTracker,
    sample_every: Duration,
    next_sample: Option<Instant>,
    pending: Vec<Report>,
    latest: Instant,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("outputs", &self.outputs)
            .field("tracker", &self.tracker)
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// Takes over `lines` at `now`: the relay is driven to its secure level and the
    /// buzzer silenced before anything else. Not armed for the panic hook and signals
    /// until [`Driver::arm_fail_secure`].
    pub fn new(settings: &GpioSettings, lines: Lines, now: Instant) -> Driver {
        let Lines {
            relay,
            mut buzzer,
            inputs,
        } = lines;
        let secure = settings.relay_secure_level();
        let relay = Arc::new(SecureRelay::new(relay, secure, now));
        let buzzer_failing = match buzzer.set(false, now) {
            Ok(()) => false,
            Err(e) => {
                tracing::warn!(error = %e, "cannot silence the buzzer");
                true
            }
        };
        let tracker = InputTracker::new(settings);
        let any_input = tracker.inputs().next().is_some();
        let sample_every = (settings.debounce / 4).clamp(Duration::from_millis(1), SAMPLE_EVERY);
        Driver {
            outputs: Outputs::new(settings.relay_open_level, settings.patterns.clone()),
            relay,
            seen_forced: 0,
            locked_down: false,
            buzzer,
            buzzer_failing,
            inputs,
            tracker,
            sample_every,
            next_sample: any_input.then_some(now),
            pending: Vec::new(),
            latest: now,
        }
    }

    /// Arms the fail-secure paths for this relay: the process-wide panic hook
    /// (installed on first use) and the signal thread secure it.
    pub fn arm_fail_secure(&self) {
        failsafe::arm(&self.relay);
    }

    /// Applies a request at `now` and writes the changes due at once.
    pub fn apply(&mut self, request: &Request, now: Instant) -> Applied {
        let applied = self.schedule(request, now);
        let now = self.latest;
        self.flush(now);
        applied
    }

    /// Applies a request without writing: the next [`Driver::step`] writes the net
    /// changes of every request scheduled at the same instant.
    pub(super) fn schedule(&mut self, request: &Request, now: Instant) -> Applied {
        let now = self.now(now);
        self.sync(now);
        let applied = match request {
            Request::Command(command) => self.outputs.apply(command, now),
            Request::Keypress => self.outputs.keypress(now),
            Request::EgressPulse(length) => self.outputs.egress_pulse(*length, now),
        };
        if let Applied::PulseRefused(length) = applied {
            tracing::warn!(?length, "relay pulse refused: the relay is held secure");
            self.pending.push(Report::PulseRefused { length });
        }
        applied
    }

    /// Writes the output changes due up to `now`, samples the inputs if due, and
    /// returns what happened since the last step.
    pub fn step(&mut self, now: Instant) -> Vec<Report> {
        let now = self.now(now);
        self.sync(now);
        self.flush(now);
        if self.next_sample.is_some_and(|at| at <= now) {
            self.sample(now);
            self.next_sample = now.checked_add(self.sample_every);
        }
        std::mem::take(&mut self.pending)
    }

    /// When [`Driver::step`] next has something to do: an output change or an input
    /// sample. `None`: nothing until the next request.
    pub fn next_wakeup(&self) -> Option<Instant> {
        match (self.outputs.next_deadline(), self.next_sample) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Steps at every wake-up up to `end`, then at `end`: what a driver thread with a
    /// perfect clock would do. Returns every report.
    pub fn run_until(&mut self, end: Instant) -> Vec<Report> {
        let mut reports = Vec::new();
        // Each step leaves every wake-up strictly later than the instant it stepped
        // at, so this ends.
        while let Some(at) = self.next_wakeup() {
            if at > end {
                break;
            }
            reports.extend(self.step(at));
        }
        reports.extend(self.step(end));
        reports
    }

    /// The scheduler, to inspect.
    pub fn outputs(&self) -> &Outputs {
        &self.outputs
    }

    /// The debounced inputs, to inspect.
    pub fn inputs(&self) -> &InputTracker {
        &self.tracker
    }

    fn now(&mut self, now: Instant) -> Instant {
        self.latest = self.latest.max(now);
        self.latest
    }

    /// Brings the schedule in line with the fail-secure paths.
    fn sync(&mut self, now: Instant) {
        let forced = self.relay.forced();
        if forced != self.seen_forced {
            self.seen_forced = forced;
            tracing::warn!("relay forced secure by the fail-secure path (a panic or a signal)");
            self.outputs.force_secure(now);
        }
        if self.relay.latched() && !self.locked_down {
            self.locked_down = true;
            self.outputs.lock_down(now);
        }
    }

    fn flush(&mut self, now: Instant) {
        // Twice at most: a write refused because of a forced securing re-syncs.
        for _ in 0..2 {
            let changes = self.outputs.poll(now);
            // Written late (the thread overslept, or a test skipped ahead), only each
            // line's final level matters: a pulse already over is not replayed.
            let last = |line| changes.iter().rposition(|c: &Change| c.line == line);
            let finals = [last(Line::Relay), last(Line::Buzzer)];
            let mut refused = false;
            for (_, change) in changes
                .iter()
                .enumerate()
                .filter(|(i, _)| finals.contains(&Some(*i)))
            {
                match change.line {
                    Line::Relay => {
                        if self
                            .relay
                            .drive(change.level, now, self.seen_forced)
                            .is_err()
                        {
                            refused = true;
                        }
                    }
                    Line::Buzzer => self.write_buzzer(change.level == Level::High, now),
                }
            }
            if !refused {
                return;
            }
            self.sync(now);
        }
    }

    fn write_buzzer(&mut self, on: bool, now: Instant) {
        match self.buzzer.set(on, now) {
            Ok(()) => self.buzzer_failing = false,
            Err(e) => {
                if !self.buzzer_failing {
                    tracing::warn!(error = %e, "cannot drive the buzzer");
                }
                self.buzzer_failing = true;
            }
        }
    }

    fn sample(&mut self, now: Instant) {
        for input in Input::ALL {
            let Some(level) = self.inputs.read(input) else {
                continue;
            };
            if let Some(event) = self.tracker.sample(input, level, now) {
                self.pending.push(Report::Input { event, at: now });
            }
        }
    }
}

impl Drop for Driver {
    /// Normal exit: the relay secure, the buzzer silent.
    fn drop(&mut self) {
        let now = self.latest.max(Instant::now());
        self.relay.secure(now);
        let _ = self.buzzer.set(false, now);
    }
}
