//! The output scheduler: what level the door relay and the buzzer lines must have, and
//! when, given the access commands, as a pure sans-IO state machine.
//!
//! Owns the timing rules of the outputs: relay pulses and the secure hold, buzzer
//! patterns, their repetition and cut-off, and which sound wins. It must not touch a
//! line, spawn a thread, sleep or read a clock: time only comes in as `now`, and the
//! caller ([`Driver`](super::Driver)) writes the [`Change`]s that [`Outputs::poll`]
//! returns. Every timing rule is therefore a plain unit test.
//!
//! # Rules
//!
//! - **Relay.** [`Command::PulseRelay`]`(d)` opens the relay at once and returns it to
//!   the secure level `d` later; a new pulse restarts the time. While the relay is held
//!   secure ([`Command::HoldRelaySecure`], sent for a lockout) a pulse is refused and
//!   [`Applied::PulseRefused`] says so, for the audit log. The hold forces the secure
//!   level at once and cancels a running pulse; [`Command::ReleaseRelayHold`] ends the
//!   hold and leaves the relay secure. [`Outputs::egress_pulse`] is the one pulse that
//!   still opens during a hold (the exit button, when the policy lets people leave
//!   during a lockout); the hold cancels it like any other pulse.
//! - **Buzzer.** [`Command::Buzzer`] plays the named pattern from
//!   [`BuzzerPatterns`]: [`Pattern::Wrong`] once, the alarms repeated until
//!   [`Command::StopBuzzer`]; with a duration, the pattern repeats and is cut off
//!   (silenced) exactly that long after it started. A new pattern replaces the
//!   running one; a zero duration or an empty pattern plays nothing and leaves the
//!   running sound alone (`alarm = "0s"` means "silent", not "stop the door alarm").
//!   The keypress tick ([`Outputs::keypress`]) sounds only when nothing else does.
//! - **Repetition.** A pattern alternates on and off starting with on. When it
//!   repeats and has an odd number of entries (it ends "on"), an "off" as long as its
//!   last entry separates the repeats, so the beeps stay apart.
//! - **Changes.** [`Outputs::poll`] returns only real level changes, in time order,
//!   each with the instant it was due. Changes decided at the same instant are merged:
//!   a pulse and a hold applied at the same `now` never show as a brief opening.
//! - **Time.** A `now` earlier than one already seen is taken as the latest one seen
//!   (time never runs backwards here). Instants that would overflow saturate to `now`,
//!   which ends a pulse at once (the secure side).

use std::time::{Duration, Instant};

use super::{BuzzerPatterns, Level};
use crate::access::{Command, Pattern};

/// An output line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Line {
    /// The door relay.
    Relay,
    /// The buzzer (`High` = sounding).
    Buzzer,
}

impl Line {
    /// A short stable name: `relay`, `buzzer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Line::Relay => "relay",
            Line::Buzzer => "buzzer",
        }
    }
}

/// One level change of one line, due at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// When the change was due.
    pub at: Instant,
    /// Which line.
    pub line: Line,
    /// Its new level.
    pub level: Level,
}

/// What [`Outputs::apply`] did with a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Carried out.
    Done,
    /// Nothing to do: not an output command, a zero-length sound, or a keypress tick
    /// while another sound plays.
    Ignored,
    /// A relay pulse of this length was refused because the relay is held secure.
    PulseRefused(Duration),
}

/// What the buzzer is playing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sound {
    /// The keypress tick.
    Keypress,
    /// A named pattern from the access rules.
    Pattern(Pattern),
}

#[derive(Debug, Clone)]
struct Playing {
    sound: Sound,
    /// On, off, on, … (even length when repeating).
    steps: Vec<Duration>,
    repeat: bool,
    index: usize,
    step_end: Instant,
    cut: Option<Instant>,
}

/// The output scheduler. See the module docs.
#[derive(Debug, Clone)]
pub struct Outputs {
    secure: Level,
    patterns: BuzzerPatterns,
    held: bool,
    locked_down: bool,
    pulse_end: Option<Instant>,
    relay: Level,
    buzzer: Level,
    playing: Option<Playing>,
    queue: Vec<Change>,
    latest: Option<Instant>,
}

enum Due {
    PulseEnd,
    Cut,
    Step,
}

impl Outputs {
    /// A scheduler whose relay starts secure and whose buzzer starts silent.
    /// `relay_open` is the level that releases the door.
    pub fn new(relay_open: Level, patterns: BuzzerPatterns) -> Outputs {
        let secure = relay_open.other();
        Outputs {
            secure,
            patterns,
            held: false,
            locked_down: false,
            pulse_end: None,
            relay: secure,
            buzzer: Level::Low,
            playing: None,
            queue: Vec::new(),
            latest: None,
        }
    }

    /// Applies one access command at `now`. Commands that are not about the relay or
    /// the buzzer are [`Applied::Ignored`].
    pub fn apply(&mut self, command: &Command, now: Instant) -> Applied {
        let now = self.advance(now);
        match command {
            Command::PulseRelay(length) => self.pulse(*length, now, false),
            Command::HoldRelaySecure => {
                self.held = true;
                self.secure_now(now);
                Applied::Done
            }
            Command::ReleaseRelayHold => {
                if self.locked_down {
                    return Applied::Ignored;
                }
                self.held = false;
                Applied::Done
            }
            Command::Buzzer { pattern, duration } => self.play(*pattern, *duration, now),
            Command::StopBuzzer => {
                self.playing = None;
                self.set(Line::Buzzer, Level::Low, now);
                Applied::Done
            }
            _ => Applied::Ignored,
        }
    }

    /// A pulse that opens even while the relay is held secure: for the exit button
    /// during a lockout, when the policy allows it. Refused only after
    /// [`Outputs::lock_down`].
    pub fn egress_pulse(&mut self, length: Duration, now: Instant) -> Applied {
        let now = self.advance(now);
        self.pulse(length, now, true)
    }

    /// The keypress tick: plays [`BuzzerPatterns::keypress`] once, unless another
    /// sound is playing (a tick replaces a tick).
    pub fn keypress(&mut self, now: Instant) -> Applied {
        let now = self.advance(now);
        if self
            .playing
            .as_ref()
            .is_some_and(|p| p.sound != Sound::Keypress)
        {
            return Applied::Ignored;
        }
        let steps = self.patterns.keypress.0.clone();
        self.start(Sound::Keypress, steps, false, None, now)
    }

    /// Forces the relay secure at once and cancels a running pulse, without a hold:
    /// what the driver does after the fail-secure path secured the line behind its
    /// back (a panic elsewhere).
    pub fn force_secure(&mut self, now: Instant) {
        let now = self.advance(now);
        self.secure_now(now);
    }

    /// Holds the relay secure for good: every later pulse is refused and
    /// [`Command::ReleaseRelayHold`] is ignored (the process is shutting down).
    pub fn lock_down(&mut self, now: Instant) {
        let now = self.advance(now);
        self.locked_down = true;
        self.held = true;
        self.secure_now(now);
    }

    /// The level changes due up to `now`, in time order, each with the instant it was
    /// due. Each change is returned once.
    pub fn poll(&mut self, now: Instant) -> Vec<Change> {
        self.advance(now);
        std::mem::take(&mut self.queue)
    }

    /// When the next change is due: an instant already past if [`Outputs::poll`] has
    /// changes waiting, `None` when nothing is scheduled.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.queue.first() {
            Some(change) => Some(change.at),
            None => self.next_due().map(|(at, _)| at),
        }
    }

    /// The relay's level once the polled changes are written.
    pub fn relay_level(&self) -> Level {
        self.relay
    }

    /// The buzzer's level once the polled changes are written.
    pub fn buzzer_level(&self) -> Level {
        self.buzzer
    }

    /// The level that keeps the door locked.
    pub fn secure_level(&self) -> Level {
        self.secure
    }

    /// Whether the relay is held secure (lockout or shut-down).
    pub fn is_held(&self) -> bool {
        self.held
    }

    /// What the buzzer is playing, if anything.
    pub fn sound(&self) -> Option<Sound> {
        self.playing.as_ref().map(|p| p.sound)
    }

    fn pulse(&mut self, length: Duration, now: Instant, egress: bool) -> Applied {
        if self.locked_down || (self.held && !egress) {
            return Applied::PulseRefused(length);
        }
        if length.is_zero() {
            return Applied::Ignored;
        }
        self.pulse_end = Some(after(now, length));
        self.set(Line::Relay, self.secure.other(), now);
        Applied::Done
    }

    fn secure_now(&mut self, now: Instant) {
        self.pulse_end = None;
        self.set(Line::Relay, self.secure, now);
    }

    fn play(&mut self, pattern: Pattern, duration: Option<Duration>, now: Instant) -> Applied {
        let steps = match pattern {
            Pattern::Wrong => &self.patterns.wrong,
            Pattern::LockoutAlarm => &self.patterns.lockout,
            Pattern::DoorAlarm => &self.patterns.door,
        };
        let steps = steps.0.clone();
        // `Wrong` without a duration plays once; everything else repeats, until the
        // cut-off or until `StopBuzzer`.
        let repeat = !(pattern == Pattern::Wrong && duration.is_none());
        let cut = duration.map(|d| after(now, d));
        if duration.is_some_and(|d| d.is_zero()) {
            return Applied::Ignored;
        }
        self.start(Sound::Pattern(pattern), steps, repeat, cut, now)
    }

    fn start(
        &mut self,
        sound: Sound,
        mut steps: Vec<Duration>,
        repeat: bool,
        cut: Option<Instant>,
        now: Instant,
    ) -> Applied {
        if steps.iter().all(Duration::is_zero) {
            return Applied::Ignored;
        }
        if repeat && steps.len() % 2 == 1 {
            let gap = steps.last().copied().unwrap_or_default();
            steps.push(gap);
        }
        let first = steps.first().copied().unwrap_or_default();
        self.playing = Some(Playing {
            sound,
            steps,
            repeat,
            index: 0,
            step_end: after(now, first),
            cut,
        });
        self.set(Line::Buzzer, Level::High, now);
        Applied::Done
    }

    /// Clamps `now` to the latest instant seen and carries out every change due up to
    /// it. Returns the clamped `now`.
    fn advance(&mut self, now: Instant) -> Instant {
        let now = match self.latest {
            Some(latest) if latest > now => latest,
            _ => now,
        };
        self.latest = Some(now);
        while let Some((at, due)) = self.next_due() {
            if at > now {
                break;
            }
            match due {
                Due::PulseEnd => self.secure_now(at),
                Due::Cut => {
                    self.playing = None;
                    self.set(Line::Buzzer, Level::Low, at);
                }
                Due::Step => self.next_step(at),
            }
        }
        now
    }

    fn next_due(&self) -> Option<(Instant, Due)> {
        let pulse = self.pulse_end.map(|at| (at, Due::PulseEnd));
        let buzzer = self.playing.as_ref().map(|p| match p.cut {
            Some(cut) if cut <= p.step_end => (cut, Due::Cut),
            _ => (p.step_end, Due::Step),
        });
        match (pulse, buzzer) {
            (Some(p), Some(b)) => Some(if b.0 < p.0 { b } else { p }),
            (p, b) => p.or(b),
        }
    }

    fn next_step(&mut self, at: Instant) {
        let Some(playing) = &mut self.playing else {
            return;
        };
        playing.index += 1;
        if playing.index >= playing.steps.len() {
            if !playing.repeat {
                self.playing = None;
                self.set(Line::Buzzer, Level::Low, at);
                return;
            }
            playing.index = 0;
        }
        let length = playing
            .steps
            .get(playing.index)
            .copied()
            .unwrap_or_default();
        playing.step_end = after(at, length);
        let level = if playing.index % 2 == 0 {
            Level::High
        } else {
            Level::Low
        };
        self.set(Line::Buzzer, level, at);
    }

    /// Records a level change of `line` at `at`, merging it with a change of the same
    /// line at the same instant (two flips at one instant are no change at all).
    fn set(&mut self, line: Line, level: Level, at: Instant) {
        let current = match line {
            Line::Relay => &mut self.relay,
            Line::Buzzer => &mut self.buzzer,
        };
        if *current == level {
            return;
        }
        *current = level;
        if let Some(pos) = self.queue.iter().rposition(|c| c.line == line)
            && self.queue[pos].at == at
        {
            self.queue.remove(pos);
            return;
        }
        self.queue.push(Change { at, line, level });
    }
}

/// `t + d`, saturating to `t` (see the module docs).
fn after(t: Instant, d: Duration) -> Instant {
    t.checked_add(d).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn outputs() -> (Outputs, Instant) {
        let gpio = Settings::defaults().gpio;
        (Outputs::new(Level::High, gpio.patterns), Instant::now())
    }

    /// Polls at every deadline up to `end` and returns the changes relative to `t0`.
    fn run(o: &mut Outputs, t0: Instant, end: Instant) -> Vec<(Duration, Line, Level)> {
        let mut out = Vec::new();
        while let Some(at) = o.next_deadline() {
            if at > end {
                break;
            }
            for c in o.poll(at) {
                out.push((c.at - t0, c.line, c.level));
            }
        }
        for c in o.poll(end) {
            out.push((c.at - t0, c.line, c.level));
        }
        out
    }

    #[test]
    fn a_pulse_opens_then_secures() {
        let (mut o, t0) = outputs();
        assert_eq!(o.apply(&Command::PulseRelay(ms(5000)), t0), Applied::Done);
        assert_eq!(
            run(&mut o, t0, t0 + ms(10_000)),
            vec![
                (ms(0), Line::Relay, Level::High),
                (ms(5000), Line::Relay, Level::Low)
            ]
        );
        assert_eq!(o.next_deadline(), None);
    }

    #[test]
    fn a_hold_refuses_pulses_and_cancels_a_running_one() {
        let (mut o, t0) = outputs();
        o.apply(&Command::PulseRelay(ms(5000)), t0);
        o.apply(&Command::HoldRelaySecure, t0 + ms(1000));
        assert_eq!(
            o.apply(&Command::PulseRelay(ms(5000)), t0 + ms(2000)),
            Applied::PulseRefused(ms(5000))
        );
        assert_eq!(
            run(&mut o, t0, t0 + ms(10_000)),
            vec![
                (ms(0), Line::Relay, Level::High),
                (ms(1000), Line::Relay, Level::Low)
            ]
        );
        o.apply(&Command::ReleaseRelayHold, t0 + ms(11_000));
        assert_eq!(o.relay_level(), Level::Low, "stays secure after the hold");
        assert_eq!(
            o.apply(&Command::PulseRelay(ms(1000)), t0 + ms(12_000)),
            Applied::Done
        );
    }

    #[test]
    fn an_egress_pulse_opens_during_a_hold_but_not_after_lock_down() {
        let (mut o, t0) = outputs();
        o.apply(&Command::HoldRelaySecure, t0);
        assert_eq!(o.egress_pulse(ms(3000), t0 + ms(100)), Applied::Done);
        assert_eq!(
            run(&mut o, t0, t0 + ms(5000)),
            vec![
                (ms(100), Line::Relay, Level::High),
                (ms(3100), Line::Relay, Level::Low)
            ]
        );
        assert!(o.is_held());
        o.lock_down(t0 + ms(6000));
        assert_eq!(
            o.egress_pulse(ms(3000), t0 + ms(6000)),
            Applied::PulseRefused(ms(3000))
        );
        assert_eq!(
            o.apply(&Command::ReleaseRelayHold, t0 + ms(6000)),
            Applied::Ignored
        );
    }

    #[test]
    fn a_pulse_and_a_hold_at_the_same_instant_never_open() {
        let (mut o, t0) = outputs();
        o.apply(&Command::PulseRelay(ms(5000)), t0);
        o.apply(&Command::HoldRelaySecure, t0);
        assert_eq!(o.poll(t0), vec![]);
        assert_eq!(o.next_deadline(), None);
    }

    #[test]
    fn wrong_plays_once_and_odd_patterns_repeat_with_a_gap() {
        let (mut o, t0) = outputs();
        let wrong = Command::Buzzer {
            pattern: Pattern::Wrong,
            duration: None,
        };
        o.apply(&wrong, t0);
        let b = Line::Buzzer;
        assert_eq!(
            run(&mut o, t0, t0 + ms(2000)),
            vec![
                (ms(0), b, Level::High),
                (ms(120), b, Level::Low),
                (ms(200), b, Level::High),
                (ms(320), b, Level::Low)
            ]
        );
        assert_eq!(o.sound(), None);
        // Repeated for 700 ms: 120 on, 80 off, 120 on, 120 off (gap), 120 on, 80 off,
        // then cut during the third beep at 700.
        let wrong_for = Command::Buzzer {
            pattern: Pattern::Wrong,
            duration: Some(ms(700)),
        };
        let t1 = t0 + ms(3000);
        o.apply(&wrong_for, t1);
        let changes: Vec<_> = run(&mut o, t1, t1 + ms(2000))
            .into_iter()
            .map(|(at, _, level)| (at, level))
            .collect();
        assert_eq!(
            changes,
            vec![
                (ms(0), Level::High),
                (ms(120), Level::Low),
                (ms(200), Level::High),
                (ms(320), Level::Low),
                (ms(440), Level::High),
                (ms(560), Level::Low),
                (ms(640), Level::High),
                (ms(700), Level::Low)
            ]
        );
    }

    #[test]
    fn a_door_alarm_runs_until_stopped_and_replaces_the_lockout_alarm() {
        let (mut o, t0) = outputs();
        o.apply(
            &Command::Buzzer {
                pattern: Pattern::LockoutAlarm,
                duration: Some(ms(10_000)),
            },
            t0,
        );
        o.apply(
            &Command::Buzzer {
                pattern: Pattern::DoorAlarm,
                duration: None,
            },
            t0 + ms(600),
        );
        assert_eq!(o.sound(), Some(Sound::Pattern(Pattern::DoorAlarm)));
        let changes = run(&mut o, t0, t0 + ms(60_000));
        // 500 on, then 1000 on / 500 off from 600 ms on until a minute: 40 beeps, the
        // last one still sounding.
        assert_eq!(changes.len(), 2 + 40 + 39);
        assert_eq!(changes[2], (ms(600), Line::Buzzer, Level::High));
        o.apply(&Command::StopBuzzer, t0 + ms(60_100));
        assert_eq!(o.buzzer_level(), Level::Low);
        assert_eq!(o.next_deadline(), Some(t0 + ms(60_100)));
        o.poll(t0 + ms(60_100));
        assert_eq!(o.next_deadline(), None);
    }

    #[test]
    fn a_keypress_ticks_only_in_silence_and_zero_lengths_change_nothing() {
        let (mut o, t0) = outputs();
        assert_eq!(o.keypress(t0), Applied::Done);
        assert_eq!(
            o.keypress(t0 + ms(10)),
            Applied::Done,
            "a tick replaces a tick"
        );
        let alarm = Command::Buzzer {
            pattern: Pattern::DoorAlarm,
            duration: None,
        };
        o.apply(&alarm, t0 + ms(20));
        assert_eq!(o.keypress(t0 + ms(30)), Applied::Ignored);
        let silent = Command::Buzzer {
            pattern: Pattern::LockoutAlarm,
            duration: Some(Duration::ZERO),
        };
        assert_eq!(o.apply(&silent, t0 + ms(40)), Applied::Ignored);
        assert_eq!(o.sound(), Some(Sound::Pattern(Pattern::DoorAlarm)));
        assert_eq!(
            o.apply(&Command::PulseRelay(Duration::ZERO), t0),
            Applied::Ignored
        );
        assert_eq!(o.apply(&Command::Persist, t0), Applied::Ignored);
    }

    #[test]
    fn time_never_runs_backwards() {
        let (mut o, t0) = outputs();
        o.apply(&Command::PulseRelay(ms(100)), t0 + ms(1000));
        o.poll(t0 + ms(1000));
        // An earlier `now` is taken as t0 + 1000 ms.
        o.apply(&Command::StopBuzzer, t0);
        assert_eq!(o.next_deadline(), Some(t0 + ms(1100)));
    }
}
