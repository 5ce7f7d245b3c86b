//! The access rules as a pure, sans-IO state machine: counting failed attempts,
//! timed and hard lockouts, grants and duress, the admin session's inactivity timeout,
//! and the door alarms (forced, held open, tamper).
//!
//! [`AccessMachine::handle`] takes one [`Event`] and the current time and returns the
//! [`Command`]s the shell must carry out; every rule is in this module, and every
//! number comes from [`Policy`]. This module must not do I/O, read a clock, draw random
//! numbers or log: time only comes in as the `now` parameter, so every timing rule is a
//! plain unit test. It never sees a PIN, a passphrase or personal details (the shell
//! looked them up before), so nothing it emits can leak one.
//!
//! # Time
//!
//! Wall-clock time may jump (a Raspberry Pi has no RTC; NTP corrects it later). All
//! arithmetic saturates: a timestamp later than `now` counts as "zero seconds ago", so
//! nothing panics or underflows. Beyond that, at the start of every event (and in
//! [`AccessMachine::restore`]) any stored instant found in the future is moved back to
//! `now`: a running timer then lasts at most its own length from the jump. For a
//! lockout this means a backward jump leaves exactly the lockout's full length to
//! run: never longer than the lockout itself, never shorter than what was left. A
//! forward jump simply lets time pass.

mod door;
mod policy;
mod protocol;
#[cfg(test)]
mod tests;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

pub use policy::Policy;
pub use protocol::{
    Alert, AlertKind, AuditKind, AuditRecord, CaptureReason, Clearer, Command, Credential, Event,
    Pattern, PinOutcome, Screen, Speech,
};

use crate::ids::{AdminId, PersonId};
use door::DoorState;

/// A point in time, as the shell passes it in.
pub type Timestamp = DateTime<Utc>;

/// The state that survives a restart or a power cut, saved by the store as JSON.
///
/// Not the admin session (a restart ends it) nor the door or tamper state (the shell
/// reports the inputs again after a start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Format version, [`Snapshot::VERSION`].
    pub version: u32,
    /// Times of the failed attempts still counted in the sliding window, oldest first
    /// (may include some that have aged out since; they are ignored).
    pub failures: Vec<Timestamp>,
    /// Failed attempts since the last success or clear.
    pub consecutive_failures: u32,
    /// Timed lockouts since the last success or clear (sets the next one's length).
    pub lockout_level: u32,
    /// The timed lockout in force, if any.
    pub lockout: Option<LockoutSpan>,
    /// Locked until an administrator or the recovery code clears it.
    pub hard_locked: bool,
}

impl Snapshot {
    /// The version this code writes and reads.
    pub const VERSION: u32 = 1;
}

/// A timed lockout: its start and end (its length is the difference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockoutSpan {
    /// When it started (moved to "now" if the clock went back before it).
    pub started: Timestamp,
    /// When it ends.
    pub until: Timestamp,
}

impl LockoutSpan {
    /// The lockout's own length.
    pub fn length(&self) -> Duration {
        elapsed(self.started, self.until)
    }

    /// Time left at `now`, never more than the lockout's length.
    pub fn remaining(&self, now: Timestamp) -> Duration {
        elapsed(now, self.until).min(self.length())
    }
}

/// The access rules. See the module docs.
#[derive(Debug, Clone)]
pub struct AccessMachine {
    policy: Policy,
    // Persisted (see `Snapshot`).
    failures: Vec<Timestamp>,
    consecutive: u32,
    level: u32,
    lockout: Option<LockoutSpan>,
    hard_locked: bool,
    // Transient.
    admin: Option<AdminSession>,
    entry_started: Option<Timestamp>,
    door: DoorState,
    tamper_active: bool,
}

#[derive(Debug, Clone, Copy)]
struct AdminSession {
    id: AdminId,
    last_activity: Timestamp,
}

/// A counted failed attempt.
#[derive(Debug, Clone, Copy)]
struct Failure {
    kind: AuditKind,
    person: Option<PersonId>,
}

impl AccessMachine {
    /// A fresh machine: no failures, no lockout, no session, door closed.
    pub fn new(policy: Policy) -> Self {
        AccessMachine {
            policy,
            failures: Vec::new(),
            consecutive: 0,
            level: 0,
            lockout: None,
            hard_locked: false,
            admin: None,
            entry_started: None,
            door: DoorState::default(),
            tamper_active: false,
        }
    }

    /// Rebuilds the machine after a restart. A lockout stays in force with the time it
    /// had left; if the clock is now before the lockout's start (it went backwards), the
    /// remaining time is the lockout's full length. A lockout that ran out while the
    /// kiosk was off ends at the next event (with its audit record).
    pub fn restore(policy: Policy, snapshot: Snapshot, now: Timestamp) -> Self {
        let mut machine = AccessMachine::new(policy);
        let mut failures = snapshot.failures;
        failures.sort_unstable();
        machine.failures = failures;
        machine.consecutive = snapshot.consecutive_failures;
        machine.level = snapshot.lockout_level;
        machine.lockout = snapshot.lockout;
        machine.hard_locked = snapshot.hard_locked;
        machine.rebase(now);
        machine
    }

    /// The state to save (see [`Command::Persist`]).
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            version: Snapshot::VERSION,
            failures: self.failures.clone(),
            consecutive_failures: self.consecutive,
            lockout_level: self.level,
            lockout: self.lockout,
            hard_locked: self.hard_locked,
        }
    }

    /// The policy in use.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Whether a PIN may be entered (false during a lockout or a hard lock: the shell
    /// then does not even hash it).
    pub fn keypad_open(&self, now: Timestamp) -> bool {
        !self.hard_locked && !self.lockout_active(now)
    }

    /// Whether an administrator passphrase or the recovery code may be entered (false
    /// only during a timed lockout: a hard lock must stay clearable at the kiosk).
    pub fn admin_login_open(&self, now: Timestamp) -> bool {
        !self.lockout_active(now)
    }

    /// Time left in the timed lockout, if one is in force.
    pub fn lockout_remaining(&self, now: Timestamp) -> Option<Duration> {
        self.lockout
            .map(|l| l.remaining(now))
            .filter(|left| !left.is_zero())
    }

    /// Whether the kiosk is hard locked.
    pub fn is_hard_locked(&self) -> bool {
        self.hard_locked
    }

    /// The administrator whose session is open.
    pub fn admin_session(&self) -> Option<AdminId> {
        self.admin.map(|s| s.id)
    }

    /// Failed attempts since the last success or clear.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive
    }

    /// Failed attempts inside the sliding window at `now`.
    pub fn failures_in_window(&self, now: Timestamp) -> u32 {
        count(
            self.failures
                .iter()
                .filter(|t| elapsed(**t, now) < self.policy.window),
        )
    }

    /// The earliest time at which a [`Event::Tick`] would change something (a lockout
    /// ends, the admin session times out, the door counts as held open), so the shell
    /// may sleep until then. May be in the past: tick at once.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let lockout_end = self.lockout.map(|l| l.until);
        let session_end = self
            .admin
            .map(|s| later(s.last_activity, self.policy.admin_timeout));
        let held_open = match self.door.open_since {
            Some(since) if !self.door.held_alerted => {
                Some(later(since, self.policy.held_open_after))
            }
            _ => None,
        };
        [lockout_end, session_end, held_open]
            .into_iter()
            .flatten()
            .min()
    }

    /// The screen that belongs to the current state when nothing transient is shown.
    pub fn screen(&self, now: Timestamp) -> Screen {
        match self.lockout {
            Some(l) if self.lockout_active(now) => Screen::Lockout {
                until: l.until,
                attempts: self.consecutive,
            },
            _ if self.admin.is_some() => Screen::AdminHome,
            _ if self.hard_locked => Screen::HardLock {
                attempts: self.consecutive,
            },
            _ => Screen::Idle,
        }
    }

    /// What the shell does after [`AccessMachine::restore`] to bring the outputs in
    /// line with the state: hold the relay if locked, show the right screen.
    pub fn resume(&self, now: Timestamp) -> Vec<Command> {
        let mut out = Vec::new();
        if self.hard_locked || self.lockout_active(now) {
            out.push(Command::HoldRelaySecure);
        }
        out.push(Command::Show(self.screen(now)));
        out
    }

    /// Applies one event at `now` and returns what the shell must do, in order.
    /// [`Command::Persist`] comes first whenever the persisted state changed.
    ///
    /// Time-driven changes (end of a lockout, admin timeout, door held open) are applied
    /// first on every event, not only on [`Event::Tick`].
    pub fn handle(&mut self, event: Event, now: Timestamp) -> Vec<Command> {
        let before = self.snapshot();
        let mut out = Vec::new();
        self.rebase(now);
        self.advance(now, &mut out);
        match event {
            Event::Tick => {}
            Event::Pin(outcome) => self.on_pin(outcome, now, &mut out),
            Event::AdminLoginSucceeded(id) => self.on_admin_login(id, now, &mut out),
            Event::AdminLoginFailed { via } => self.on_admin_login_failed(via, now, &mut out),
            Event::AdminActivity => {
                if let Some(session) = &mut self.admin {
                    session.last_activity = now;
                }
            }
            Event::AdminLockNow => self.on_lock_now(now, &mut out),
            Event::ClearLockout { by } => self.on_clear(by, now, &mut out),
            Event::DoorOpened => self.on_door_opened(now, &mut out),
            Event::DoorClosed => self.on_door_closed(now, &mut out),
            Event::Tamper { active } => self.on_tamper(active, &mut out),
            Event::ExitButton => self.on_exit_button(now, &mut out),
        }
        if self.snapshot() != before {
            out.insert(0, Command::Persist);
        }
        out
    }

    fn lockout_active(&self, now: Timestamp) -> bool {
        self.lockout_remaining(now).is_some()
    }

    /// Moves every stored instant that lies after `now` back to `now` (the clock went
    /// backwards); a lockout keeps its length.
    fn rebase(&mut self, now: Timestamp) {
        for t in &mut self.failures {
            *t = (*t).min(now);
        }
        if let Some(l) = &mut self.lockout
            && l.started > now
        {
            let length = l.length();
            l.started = now;
            l.until = later(now, length);
        }
        if let Some(session) = &mut self.admin {
            session.last_activity = session.last_activity.min(now);
        }
        if let Some(t) = &mut self.entry_started {
            *t = (*t).min(now);
        }
        if let Some(t) = &mut self.door.open_since {
            *t = (*t).min(now);
        }
    }

    /// The time-driven transitions.
    fn advance(&mut self, now: Timestamp, out: &mut Vec<Command>) {
        if let Some(l) = self.lockout
            && l.remaining(now).is_zero()
        {
            self.lockout = None;
            if !self.hard_locked {
                out.push(Command::ReleaseRelayHold);
            }
            out.push(Command::Show(self.screen(now)));
            out.push(audit(
                AuditKind::LockoutEnded,
                None,
                None,
                format!("after {}", human(l.length())),
            ));
        }
        if let Some(session) = self.admin
            && elapsed(session.last_activity, now) >= self.policy.admin_timeout
        {
            self.admin = None;
            out.push(Command::EndAdminSession);
            out.push(Command::Show(self.screen(now)));
            out.push(audit(
                AuditKind::AdminTimeout,
                None,
                Some(session.id),
                format!("{} without activity", human(self.policy.admin_timeout)),
            ));
        }
        if let Some(since) = self.door.open_since
            && !self.door.held_alerted
            && elapsed(since, now) >= self.policy.held_open_after
        {
            self.door.held_alerted = true;
            self.door.alarm_sounding = true;
            out.push(Command::Alert(Alert {
                kind: AlertKind::DoorHeldOpen,
                attempts: self.consecutive,
            }));
            out.push(door_alarm());
            out.push(audit(
                AuditKind::DoorHeldOpen,
                None,
                None,
                format!("open for {}", human(self.policy.held_open_after)),
            ));
        }
    }

    fn on_pin(&mut self, outcome: PinOutcome, now: Timestamp, out: &mut Vec<Command>) {
        if !self.keypad_open(now) {
            self.refuse_pin(outcome, now, out);
            return;
        }
        match outcome {
            PinOutcome::Granted(person) => self.open_for(person, false, now, out),
            PinOutcome::Duress(person) => self.open_for(person, true, now, out),
            PinOutcome::Disabled(person) => self.fail(
                Failure {
                    kind: AuditKind::DisabledPin,
                    person: Some(person),
                },
                now,
                out,
            ),
            PinOutcome::Wrong => self.fail(
                Failure {
                    kind: AuditKind::WrongPin,
                    person: None,
                },
                now,
                out,
            ),
        }
    }

    /// A PIN that arrived while the keypad was closed: not counted, no relay. A duress
    /// PIN still raises its silent alert (the door stays locked).
    fn refuse_pin(&mut self, outcome: PinOutcome, now: Timestamp, out: &mut Vec<Command>) {
        let state = self.lock_state(now);
        match outcome {
            PinOutcome::Duress(person) => {
                out.push(Command::Capture(CaptureReason::Duress));
                out.push(Command::Alert(Alert {
                    kind: AlertKind::Duress,
                    attempts: self.consecutive,
                }));
                out.push(audit(
                    AuditKind::Duress,
                    Some(person),
                    None,
                    format!("duress PIN while {state}: door stays locked, silent alert"),
                ));
            }
            PinOutcome::Granted(person) => out.push(refused(
                Some(person),
                None,
                format!("valid PIN while {state}"),
            )),
            PinOutcome::Disabled(person) => out.push(refused(
                Some(person),
                None,
                format!("disabled person's PIN while {state}"),
            )),
            PinOutcome::Wrong => {
                out.push(refused(None, None, format!("wrong PIN while {state}")));
            }
        }
    }

    /// A grant or a duress PIN: identical on the outside.
    fn open_for(&mut self, person: PersonId, duress: bool, now: Timestamp, out: &mut Vec<Command>) {
        let attempts = self.consecutive;
        self.reset_counters();
        self.entry_started = Some(now);
        out.push(Command::PulseRelay(self.policy.relay_pulse));
        out.push(Command::Show(Screen::Granted(person)));
        let detail = format!("relay released for {}", human(self.policy.relay_pulse));
        if duress {
            out.push(Command::Capture(CaptureReason::Duress));
            out.push(Command::Alert(Alert {
                kind: AlertKind::Duress,
                attempts,
            }));
            out.push(audit(AuditKind::Duress, Some(person), None, detail));
        } else {
            out.push(audit(AuditKind::Granted, Some(person), None, detail));
        }
    }

    fn on_admin_login(&mut self, id: AdminId, now: Timestamp, out: &mut Vec<Command>) {
        if !self.admin_login_open(now) {
            let state = self.lock_state(now);
            out.push(refused(
                None,
                Some(id),
                format!("administrator login while {state}"),
            ));
            return;
        }
        if let Some(old) = self.admin.take() {
            out.push(Command::EndAdminSession);
            out.push(audit(
                AuditKind::AdminLogout,
                None,
                Some(old.id),
                "replaced by a new login".to_owned(),
            ));
        }
        self.reset_counters();
        self.admin = Some(AdminSession {
            id,
            last_activity: now,
        });
        out.push(Command::Show(Screen::AdminHome));
        let detail = if self.hard_locked {
            "kiosk still hard locked"
        } else {
            ""
        };
        out.push(audit(
            AuditKind::AdminLogin,
            None,
            Some(id),
            detail.to_owned(),
        ));
    }

    fn on_admin_login_failed(&mut self, via: Credential, now: Timestamp, out: &mut Vec<Command>) {
        let (kind, what) = match via {
            Credential::Passphrase => (AuditKind::AdminLoginFailed, "administrator passphrase"),
            Credential::RecoveryCode => (AuditKind::RecoveryFailed, "recovery code"),
        };
        if !self.admin_login_open(now) {
            let state = self.lock_state(now);
            out.push(refused(None, None, format!("{what} while {state}")));
            return;
        }
        self.fail(Failure { kind, person: None }, now, out);
    }

    /// Counts a failed attempt and applies its consequences.
    fn fail(&mut self, failure: Failure, now: Timestamp, out: &mut Vec<Command>) {
        let window = self.policy.window;
        self.failures.retain(|t| elapsed(*t, now) < window);
        self.failures.push(now);
        self.consecutive = self.consecutive.saturating_add(1);
        let in_window = self.failures_in_window(now);
        let threshold = self.policy.effective_threshold();
        let hard_after = self.policy.effective_hard_lock_after();
        let record = audit(
            failure.kind,
            failure.person,
            None,
            format!(
                "{in_window} of {threshold} failures within {}; {} consecutive",
                human(window),
                self.consecutive
            ),
        );

        if !self.hard_locked && self.consecutive >= hard_after {
            self.start_hard_lock(record, out);
        } else if in_window >= threshold {
            self.start_lockout(now, record, out);
        } else {
            out.push(Command::Buzzer {
                pattern: Pattern::Wrong,
                duration: None,
            });
            if self.policy.capture_on_failure {
                out.push(Command::Capture(CaptureReason::FailedAttempt));
            }
            let mut remaining = threshold.saturating_sub(in_window);
            if !self.hard_locked {
                remaining = remaining.min(hard_after.saturating_sub(self.consecutive));
            }
            out.push(Command::Show(Screen::Wrong {
                failures_in_window: in_window,
                remaining_before_lockout: remaining,
            }));
            out.push(record);
        }
    }

    /// Starts a timed lockout; `failure_record` is the audit record of the failure that
    /// caused it.
    fn start_lockout(&mut self, now: Timestamp, failure_record: Command, out: &mut Vec<Command>) {
        let length = self.policy.lockout_duration(self.level);
        self.level = self.level.saturating_add(1);
        let until = later(now, length);
        self.lockout = Some(LockoutSpan {
            started: now,
            until,
        });
        self.failures.clear();
        self.lock_outputs(AlertKind::Lockout, out);
        out.push(Command::Show(Screen::Lockout {
            until,
            attempts: self.consecutive,
        }));
        out.push(failure_record);
        out.push(audit(
            AuditKind::LockoutStarted,
            None,
            None,
            format!(
                "lockout {} for {} after {} consecutive failures",
                self.level,
                human(length),
                self.consecutive
            ),
        ));
    }

    /// Starts a hard lock (instead of a timed lockout reached by the same failure).
    fn start_hard_lock(&mut self, failure_record: Command, out: &mut Vec<Command>) {
        self.hard_locked = true;
        self.failures.clear();
        self.lock_outputs(AlertKind::HardLock, out);
        out.push(Command::Show(Screen::HardLock {
            attempts: self.consecutive,
        }));
        out.push(failure_record);
        out.push(audit(
            AuditKind::HardLock,
            None,
            None,
            format!(
                "{} consecutive failures: locked until cleared",
                self.consecutive
            ),
        ));
    }

    /// What a lockout and a hard lock both do to the outside world.
    fn lock_outputs(&self, kind: AlertKind, out: &mut Vec<Command>) {
        out.push(Command::HoldRelaySecure);
        out.push(Command::Buzzer {
            pattern: Pattern::LockoutAlarm,
            duration: Some(self.policy.alarm_duration),
        });
        out.push(Command::Speak(Speech::LockoutWarning));
        out.push(Command::Capture(CaptureReason::Lockout));
        out.push(Command::Alert(Alert {
            kind,
            attempts: self.consecutive,
        }));
    }

    fn on_lock_now(&mut self, now: Timestamp, out: &mut Vec<Command>) {
        if let Some(session) = self.admin.take() {
            out.push(Command::EndAdminSession);
            out.push(Command::Show(self.screen(now)));
            out.push(audit(
                AuditKind::AdminLogout,
                None,
                Some(session.id),
                "lock now".to_owned(),
            ));
        }
    }

    fn on_clear(&mut self, by: Clearer, now: Timestamp, out: &mut Vec<Command>) {
        let relay_held = self.hard_locked || self.lockout_active(now);
        let what = match (self.hard_locked, self.lockout_active(now)) {
            (true, true) => "hard lock and lockout",
            (true, false) => "hard lock",
            (false, true) => "lockout",
            (false, false) => "failure counters",
        };
        let consecutive = self.consecutive;
        self.reset_counters();
        self.lockout = None;
        self.hard_locked = false;
        if relay_held {
            out.push(Command::ReleaseRelayHold);
        }
        out.push(Command::Show(self.screen(now)));
        let (admin, who) = match by {
            Clearer::Admin(id) => (Some(id), "an administrator"),
            Clearer::RecoveryCode => (None, "the recovery code"),
        };
        out.push(audit(
            AuditKind::LockoutCleared,
            None,
            admin,
            format!("{what} cleared by {who} after {consecutive} consecutive failures"),
        ));
    }

    /// A success or a clear: the window, the consecutive count and the lockout level
    /// start again (a hard lock is not touched).
    fn reset_counters(&mut self) {
        self.failures.clear();
        self.consecutive = 0;
        self.level = 0;
    }

    /// "locked out" / "hard locked", for audit details.
    fn lock_state(&self, now: Timestamp) -> &'static str {
        if self.lockout_active(now) {
            "locked out"
        } else if self.hard_locked {
            "hard locked"
        } else {
            "unlocked"
        }
    }
}

/// Time from `from` to `to`, zero if `to` is earlier (the clock went back).
fn elapsed(from: Timestamp, to: Timestamp) -> Duration {
    (to - from).to_std().unwrap_or(Duration::ZERO)
}

/// `t + d`, saturating at the latest representable time.
fn later(t: Timestamp, d: Duration) -> Timestamp {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn count<T>(items: impl Iterator<Item = T>) -> u32 {
    u32::try_from(items.count()).unwrap_or(u32::MAX)
}

fn human(d: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(d)
}

fn audit(
    kind: AuditKind,
    person: Option<PersonId>,
    admin: Option<AdminId>,
    detail: String,
) -> Command {
    Command::Audit(AuditRecord {
        kind,
        person,
        admin,
        detail,
    })
}

fn refused(person: Option<PersonId>, admin: Option<AdminId>, detail: String) -> Command {
    audit(
        AuditKind::RefusedLocked,
        person,
        admin,
        format!("{detail}: refused, not counted"),
    )
}

fn door_alarm() -> Command {
    Command::Buzzer {
        pattern: Pattern::DoorAlarm,
        duration: None,
    }
}
