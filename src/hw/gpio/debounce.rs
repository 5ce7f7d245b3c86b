//! Input debouncing: raw samples of the door contact, tamper switch and exit button,
//! each with its `Instant`, turned into stable transitions and then into access
//! [`Event`]s.
//!
//! Pure: no thread, no clock, no line access; the driver samples the lines and passes
//! the time in. It must not decide anything about access (a door opening is reported,
//! whether it was forced is [`access`](crate::access)'s business).
//!
//! # Rules
//!
//! - A level counts once it has been read continuously for the debounce time: the
//!   transition is reported at the first sample at least `debounce` after the first
//!   sample of the new level. Any sample of another level in between starts over, so
//!   a bouncing contact reports one transition, not one per bounce.
//! - At start a line's level is unknown. Its first stable level is reported only if it
//!   is active (a door already open → [`Event::DoorOpened`], an open enclosure →
//!   [`Event::Tamper`] `{ active: true }`), so the access rules learn the state after
//!   a restart without a spurious "door closed". An exit button held down at start is
//!   not a press: a press is a release followed by a push.

use std::time::{Duration, Instant};

use super::{GpioSettings, InputLine, Level};
use crate::access::Event;

/// The input lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Input {
    /// The door contact (reed switch); active = door open.
    DoorContact,
    /// The tamper switch; active = enclosure open.
    Tamper,
    /// The exit button (inside); active = pressed.
    ExitButton,
}

impl Input {
    /// Every input, in a fixed order.
    pub const ALL: [Input; 3] = [Input::DoorContact, Input::Tamper, Input::ExitButton];

    /// A short stable name: `door_contact`, `tamper`, `exit_button`.
    pub fn as_str(self) -> &'static str {
        match self {
            Input::DoorContact => "door_contact",
            Input::Tamper => "tamper",
            Input::ExitButton => "exit_button",
        }
    }

    /// What the line is, in words, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Input::DoorContact => "door contact",
            Input::Tamper => "tamper switch",
            Input::ExitButton => "exit button",
        }
    }

    /// The configured line, if wired.
    pub fn line(self, settings: &GpioSettings) -> Option<InputLine> {
        match self {
            Input::DoorContact => settings.door_contact,
            Input::Tamper => settings.tamper,
            Input::ExitButton => settings.exit_button,
        }
    }
}

/// A stable level change of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The previous stable level; `None` for the first one after start.
    pub from: Option<Level>,
    /// The new stable level.
    pub to: Level,
}

/// Debounces one line. See the module docs.
#[derive(Debug, Clone)]
pub struct Debouncer {
    debounce: Duration,
    stable: Option<Level>,
    candidate: Option<(Level, Instant)>,
}

impl Debouncer {
    /// A debouncer whose level must hold `debounce` to count.
    pub fn new(debounce: Duration) -> Debouncer {
        Debouncer {
            debounce,
            stable: None,
            candidate: None,
        }
    }

    /// The current stable level, `None` until the first one.
    pub fn stable(&self) -> Option<Level> {
        self.stable
    }

    /// Takes one sample; returns the transition it completes, if any.
    pub fn sample(&mut self, level: Level, now: Instant) -> Option<Transition> {
        if self.stable == Some(level) {
            self.candidate = None;
            return None;
        }
        let since = match self.candidate {
            Some((candidate, since)) if candidate == level => since,
            _ => {
                self.candidate = Some((level, now));
                now
            }
        };
        if now.saturating_duration_since(since) < self.debounce {
            return None;
        }
        let from = self.stable.replace(level);
        self.candidate = None;
        Some(Transition { from, to: level })
    }
}

/// Debounces every wired input and turns its transitions into access events.
#[derive(Debug, Clone)]
pub struct InputTracker {
    lines: Vec<(Input, InputLine, Debouncer)>,
}

impl InputTracker {
    /// Tracks the inputs wired in `settings`.
    pub fn new(settings: &GpioSettings) -> InputTracker {
        let lines = Input::ALL
            .into_iter()
            .filter_map(|input| {
                let line = input.line(settings)?;
                Some((input, line, Debouncer::new(settings.debounce)))
            })
            .collect();
        InputTracker { lines }
    }

    /// The wired inputs.
    pub fn inputs(&self) -> impl Iterator<Item = Input> + '_ {
        self.lines.iter().map(|(input, _, _)| *input)
    }

    /// Whether `input` is active according to its stable level (`None` if unknown or
    /// not wired).
    pub fn is_active(&self, input: Input) -> Option<bool> {
        self.lines
            .iter()
            .find(|(i, _, _)| *i == input)
            .and_then(|(_, line, d)| d.stable().map(|level| level == line.active))
    }

    /// Takes one raw sample of `input`; returns the access event it completes, if any.
    /// Samples of an input that is not wired are ignored.
    pub fn sample(&mut self, input: Input, level: Level, now: Instant) -> Option<Event> {
        let (_, line, debouncer) = self.lines.iter_mut().find(|(i, _, _)| *i == input)?;
        let transition = debouncer.sample(level, now)?;
        let active = transition.to == line.active;
        let first = transition.from.is_none();
        match (input, active) {
            (Input::DoorContact, true) => Some(Event::DoorOpened),
            (Input::DoorContact, false) if !first => Some(Event::DoorClosed),
            (Input::Tamper, true) => Some(Event::Tamper { active: true }),
            (Input::Tamper, false) if !first => Some(Event::Tamper { active: false }),
            (Input::ExitButton, true) if !first => Some(Event::ExitButton),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_bouncing_contact_gives_one_transition_after_the_debounce_time() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(50));
        assert_eq!(d.sample(Level::Low, t0), None);
        let first = d.sample(Level::Low, t0 + ms(50));
        assert_eq!(
            first,
            Some(Transition {
                from: None,
                to: Level::Low
            })
        );
        // Bounces: High, Low, High, Low, then High for good from 20 ms.
        for (t, level) in [(1, true), (5, false), (9, true), (14, false), (20, true)] {
            let level = if level { Level::High } else { Level::Low };
            assert_eq!(d.sample(level, t0 + ms(100 + t)), None);
        }
        assert_eq!(d.sample(Level::High, t0 + ms(169)), None, "49 ms held");
        assert_eq!(
            d.sample(Level::High, t0 + ms(170)),
            Some(Transition {
                from: Some(Level::Low),
                to: Level::High
            })
        );
        assert_eq!(d.sample(Level::High, t0 + ms(500)), None);
    }

    #[test]
    fn zero_debounce_takes_every_change() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(Duration::ZERO);
        assert!(d.sample(Level::High, t0).is_some());
        assert!(d.sample(Level::Low, t0).is_some());
    }

    #[test]
    fn transitions_become_events_and_the_first_level_only_when_active() {
        let mut gpio = Settings::defaults().gpio;
        gpio.debounce = ms(10);
        gpio.door_contact = Some(InputLine {
            pin: 27,
            active: Level::High,
        });
        gpio.exit_button = Some(InputLine {
            pin: 23,
            active: Level::Low,
        });
        gpio.tamper = None;
        let t0 = Instant::now();
        let mut tracker = InputTracker::new(&gpio);
        assert_eq!(
            tracker.inputs().collect::<Vec<_>>(),
            vec![Input::DoorContact, Input::ExitButton]
        );
        let mut events = Vec::new();
        let mut feed = |input, level, t| {
            events.extend(tracker.sample(input, level, t0 + ms(t)));
            events.len()
        };
        // Door closed and button released at start: nothing to report.
        feed(Input::DoorContact, Level::Low, 0);
        feed(Input::ExitButton, Level::High, 0);
        feed(Input::DoorContact, Level::Low, 10);
        feed(Input::ExitButton, Level::High, 10);
        assert_eq!(feed(Input::Tamper, Level::High, 10), 0);
        feed(Input::ExitButton, Level::Low, 20);
        feed(Input::ExitButton, Level::Low, 30);
        feed(Input::ExitButton, Level::High, 40);
        feed(Input::ExitButton, Level::High, 50);
        feed(Input::DoorContact, Level::High, 60);
        feed(Input::DoorContact, Level::High, 70);
        feed(Input::DoorContact, Level::Low, 80);
        feed(Input::DoorContact, Level::Low, 90);
        assert_eq!(
            events,
            vec![Event::ExitButton, Event::DoorOpened, Event::DoorClosed]
        );
        assert_eq!(tracker.is_active(Input::DoorContact), Some(false));
        assert_eq!(tracker.is_active(Input::Tamper), None);
    }

    #[test]
    fn an_open_door_or_tamper_at_start_is_reported_but_a_held_button_is_not() {
        let mut gpio = Settings::defaults().gpio;
        gpio.debounce = ms(10);
        let t0 = Instant::now();
        let mut tracker = InputTracker::new(&gpio);
        let door = gpio.door_contact.map(|l| l.active).unwrap_or(Level::High);
        let tamper = gpio.tamper.map(|l| l.active).unwrap_or(Level::High);
        let exit = gpio.exit_button.map(|l| l.active).unwrap_or(Level::Low);
        let mut events = Vec::new();
        for t in [0, 10] {
            let now = t0 + ms(t);
            events.extend(tracker.sample(Input::DoorContact, door, now));
            events.extend(tracker.sample(Input::Tamper, tamper, now));
            events.extend(tracker.sample(Input::ExitButton, exit, now));
        }
        assert_eq!(
            events,
            vec![Event::DoorOpened, Event::Tamper { active: true }]
        );
    }
}
