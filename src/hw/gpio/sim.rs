//! The simulated GPIO (`gpio.backend = "sim"`): lines that record a timeline of every
//! output change and inputs the caller drives.
//!
//! Owns the simulated state only. It must not read a clock for the timeline: every
//! change is recorded at the time the driver supplies, so a test with a controlled
//! clock gets exact times. It never touches real hardware.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Buzzer, DoorRelay, Error, GpioSettings, Input, InputLine, Inputs, Level, Line, Lines};

/// One recorded change: time since the simulation started, line, new level.
pub type TimelineEntry = (Duration, Line, Level);

#[derive(Debug)]
struct State {
    start: Instant,
    latest: Duration,
    timeline: Vec<TimelineEntry>,
    relay: Option<Level>,
    buzzer: Option<Level>,
    inputs: Vec<(Input, InputLine, Level)>,
}

impl State {
    fn record(&mut self, line: Line, level: Level, at: Instant) {
        let current = match line {
            Line::Relay => &mut self.relay,
            Line::Buzzer => &mut self.buzzer,
        };
        if *current == Some(level) {
            return;
        }
        *current = Some(level);
        // Never earlier than the last entry: the fail-secure paths write at the real
        // time, which may lag a test's controlled clock.
        let since = at.saturating_duration_since(self.start).max(self.latest);
        self.latest = since;
        self.timeline.push((since, line, level));
    }
}

/// The simulated lines: a cloneable handle on their shared state. See the module docs.
#[derive(Debug, Clone)]
pub struct SimGpio {
    state: Arc<Mutex<State>>,
}

impl SimGpio {
    /// A simulation whose timeline starts at `start`. The wired inputs of `settings`
    /// start inactive (door closed, enclosure shut, button released); the outputs are
    /// not driven until a [`Driver`](super::Driver) drives them.
    pub fn new(settings: &GpioSettings, start: Instant) -> SimGpio {
        let inputs = Input::ALL
            .into_iter()
            .filter_map(|input| {
                let line = input.line(settings)?;
                Some((input, line, line.active.other()))
            })
            .collect();
        SimGpio {
            state: Arc::new(Mutex::new(State {
                start,
                latest: Duration::ZERO,
                timeline: Vec::new(),
                relay: None,
                buzzer: None,
                inputs,
            })),
        }
    }

    /// The lines, to give to a [`Driver`](super::Driver).
    pub fn lines(&self) -> Lines {
        Lines {
            relay: Box::new(SimLine {
                state: self.state.clone(),
                line: Line::Relay,
            }),
            buzzer: Box::new(SimLine {
                state: self.state.clone(),
                line: Line::Buzzer,
            }),
            inputs: Box::new(self.clone()),
        }
    }

    /// Every output change so far, in order.
    pub fn timeline(&self) -> Vec<TimelineEntry> {
        self.lock().timeline.clone()
    }

    /// The changes of one line: (time since start, level).
    pub fn timeline_of(&self, line: Line) -> Vec<(Duration, Level)> {
        self.lock()
            .timeline
            .iter()
            .filter(|(_, l, _)| *l == line)
            .map(|(at, _, level)| (*at, *level))
            .collect()
    }

    /// The current level of an output, `None` if it was never driven.
    pub fn level(&self, line: Line) -> Option<Level> {
        let state = self.lock();
        match line {
            Line::Relay => state.relay,
            Line::Buzzer => state.buzzer,
        }
    }

    /// Sets the raw level of an input (e.g. to simulate contact bounce). No effect if
    /// the input is not wired.
    pub fn set_input_level(&self, input: Input, level: Level) {
        let mut state = self.lock();
        if let Some((_, _, raw)) = state.inputs.iter_mut().find(|(i, _, _)| *i == input) {
            *raw = level;
        }
    }

    /// Sets an input to its configured active level (`true`) or the other one.
    pub fn set_input_active(&self, input: Input, active: bool) {
        let mut state = self.lock();
        if let Some((_, line, raw)) = state.inputs.iter_mut().find(|(i, _, _)| *i == input) {
            *raw = if active {
                line.active
            } else {
                line.active.other()
            };
        }
    }

    /// Opens (`true`) or closes the door contact.
    pub fn set_door_open(&self, open: bool) {
        self.set_input_active(Input::DoorContact, open);
    }

    /// Triggers (`true`) or clears the tamper switch.
    pub fn set_tamper(&self, active: bool) {
        self.set_input_active(Input::Tamper, active);
    }

    /// Holds down (`true`) or releases the exit button. A press counts once it was
    /// held for the debounce time.
    pub fn set_exit_button(&self, pressed: bool) {
        self.set_input_active(Input::ExitButton, pressed);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inputs for SimGpio {
    fn read(&mut self, input: Input) -> Option<Level> {
        let state = self.lock();
        state
            .inputs
            .iter()
            .find(|(i, _, _)| *i == input)
            .map(|(_, _, raw)| *raw)
    }
}

struct SimLine {
    state: Arc<Mutex<State>>,
    line: Line,
}

impl SimLine {
    fn record(&self, level: Level, at: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.record(self.line, level, at);
    }
}

impl DoorRelay for SimLine {
    fn set(&mut self, level: Level, at: Instant) {
        self.record(level, at);
    }
}

impl Buzzer for SimLine {
    fn set(&mut self, on: bool, at: Instant) -> Result<(), Error> {
        self.record(if on { Level::High } else { Level::Low }, at);
        Ok(())
    }
}
