//! What goes into and comes out of the access rules: the closed [`Event`] and
//! [`Command`] enums and the values they carry.
//!
//! Plain data only: no behaviour beyond naming (`as_str`). Nothing here may hold a PIN,
//! a passphrase, a recovery code or personal details; ids are fine.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Timestamp;
use crate::ids::{AdminId, PersonId};

/// Something that happened at the kiosk, as the shell saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A PIN was entered; the shell already looked it up.
    Pin(PinOutcome),
    /// An administrator's passphrase was verified.
    AdminLoginSucceeded(AdminId),
    /// A passphrase or recovery code was wrong: counts as a failed attempt.
    AdminLoginFailed {
        /// Which credential was tried.
        via: Credential,
    },
    /// Any touch in the admin panel: keeps the session alive.
    AdminActivity,
    /// The administrator pressed "lock now".
    AdminLockNow,
    /// A verified administrator or recovery code cleared the lockout or hard lock.
    ClearLockout {
        /// Who cleared it.
        by: Clearer,
    },
    /// The door contact opened.
    DoorOpened,
    /// The door contact closed.
    DoorClosed,
    /// The tamper switch changed.
    Tamper {
        /// `true` when the enclosure is open / the switch is triggered.
        active: bool,
    },
    /// The exit button (inside) was pressed.
    ExitButton,
    /// Time passed; the shell sends it at least once a second.
    Tick,
}

/// What the shell found for an entered PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinOutcome {
    /// The PIN of an enabled person.
    Granted(PersonId),
    /// The duress PIN of an enabled person: the door opens and a silent alert goes out.
    Duress(PersonId),
    /// The PIN of a disabled person: counts as a wrong attempt.
    Disabled(PersonId),
    /// No one has this PIN.
    Wrong,
}

/// The credential of a failed administrator login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// An administrator passphrase.
    Passphrase,
    /// The recovery code.
    RecoveryCode,
}

/// Who cleared a lockout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clearer {
    /// A logged-in administrator.
    Admin(AdminId),
    /// Someone holding the recovery code.
    RecoveryCode,
}

/// What the shell must do, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The persisted state changed: save [`AccessMachine::snapshot`] before acting on
    /// the commands after it. Always first when present.
    ///
    /// [`AccessMachine::snapshot`]: super::AccessMachine::snapshot
    Persist,
    /// Release the door for this long, then return the relay to its previous state
    /// (secure, or held secure during a lockout when the exit button is allowed).
    PulseRelay(Duration),
    /// Hold the relay in its secure state until [`Command::ReleaseRelayHold`].
    HoldRelaySecure,
    /// End a [`Command::HoldRelaySecure`].
    ReleaseRelayHold,
    /// Sound a buzzer pattern.
    Buzzer {
        /// What to sound.
        pattern: Pattern,
        /// `Some`: sound for this long. `None`: the pattern's own length, that is one
        /// short beep for [`Pattern::Wrong`], and until [`Command::StopBuzzer`] for the
        /// alarms.
        duration: Option<Duration>,
    },
    /// Silence the buzzer.
    StopBuzzer,
    /// Keep a photo of whoever is at the keypad (from the pre-roll buffer).
    Capture(CaptureReason),
    /// Speak a warning.
    Speak(Speech),
    /// Show a screen.
    Show(Screen),
    /// Commit an alert to the outbox.
    Alert(Alert),
    /// Write an audit record.
    Audit(AuditRecord),
    /// End the admin session: zeroize the administrator's keys.
    EndAdminSession,
}

/// A buzzer pattern; how long it sounds is given by [`Command::Buzzer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// The short "wrong" beep.
    Wrong,
    /// The lockout alarm.
    LockoutAlarm,
    /// The door alarm (forced, held open, tamper).
    DoorAlarm,
}

/// Why a photo is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureReason {
    /// A failed attempt.
    FailedAttempt,
    /// A lockout or a hard lock started.
    Lockout,
    /// A duress PIN.
    Duress,
    /// The door was opened without a grant.
    DoorForced,
    /// The tamper switch triggered.
    Tamper,
}

/// A spoken message (the text is configured in the shell).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Speech {
    /// "Access denied. You have been photographed and the owner has been notified."
    LockoutWarning,
}

/// The screen the kiosk shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// The idle keypad.
    Idle,
    /// Access granted (also for a duress PIN: the screens are identical).
    Granted(PersonId),
    /// A failed attempt.
    Wrong {
        /// Failures inside the sliding window, this one included.
        failures_in_window: u32,
        /// Failures left before a lockout (timed or hard, whichever comes first).
        remaining_before_lockout: u32,
    },
    /// A timed lockout with its countdown.
    Lockout {
        /// When it ends.
        until: Timestamp,
        /// Consecutive failed attempts.
        attempts: u32,
    },
    /// A hard lock: only an administrator or the recovery code clears it.
    HardLock {
        /// Consecutive failed attempts.
        attempts: u32,
    },
    /// The admin panel's home.
    AdminHome,
}

/// An alert for the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// What happened.
    pub kind: AlertKind,
    /// Consecutive failed attempts at the time (before the reset, for a duress PIN).
    pub attempts: u32,
}

/// The kinds of alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A timed lockout started.
    Lockout,
    /// A duress PIN was used.
    Duress,
    /// The door opened without a grant.
    DoorForced,
    /// The door stayed open too long.
    DoorHeldOpen,
    /// The tamper switch triggered.
    Tamper,
    /// The kiosk is hard locked.
    HardLock,
}

impl AlertKind {
    /// Every kind, in declaration order.
    pub const ALL: [AlertKind; 6] = [
        AlertKind::Lockout,
        AlertKind::Duress,
        AlertKind::DoorForced,
        AlertKind::DoorHeldOpen,
        AlertKind::Tamper,
        AlertKind::HardLock,
    ];

    /// The stable name (same as the serde form).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Lockout => "lockout",
            AlertKind::Duress => "duress",
            AlertKind::DoorForced => "door_forced",
            AlertKind::DoorHeldOpen => "door_held_open",
            AlertKind::Tamper => "tamper",
            AlertKind::HardLock => "hard_lock",
        }
    }
}

/// One line of the audit log. `detail` never holds a secret or personal details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// What happened.
    pub kind: AuditKind,
    /// The person concerned, if known.
    pub person: Option<PersonId>,
    /// The administrator concerned, if known.
    pub admin: Option<AdminId>,
    /// Counts and durations, in words.
    pub detail: String,
}

/// The kinds of audit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A PIN opened the door.
    Granted,
    /// A duress PIN opened the door.
    Duress,
    /// An unknown PIN.
    WrongPin,
    /// The PIN of a disabled person.
    DisabledPin,
    /// An administrator logged in.
    AdminLogin,
    /// A wrong administrator passphrase.
    AdminLoginFailed,
    /// A wrong recovery code.
    RecoveryFailed,
    /// An administrator locked the panel (or was replaced by another login).
    AdminLogout,
    /// The admin session ended after inactivity.
    AdminTimeout,
    /// A timed lockout started.
    LockoutStarted,
    /// A timed lockout ended.
    LockoutEnded,
    /// The kiosk was hard locked.
    HardLock,
    /// An administrator or the recovery code cleared the lockout and the counters.
    LockoutCleared,
    /// A PIN or login arrived while the kiosk was locked: refused, not counted.
    RefusedLocked,
    /// The door opened inside an entry window.
    DoorOpened,
    /// The door opened without a grant.
    DoorForced,
    /// The door stayed open too long.
    DoorHeldOpen,
    /// The door closed.
    DoorClosed,
    /// The tamper switch triggered.
    Tamper,
    /// The tamper switch returned to normal.
    TamperCleared,
    /// The exit button was pressed.
    ExitButton,
}

impl AuditKind {
    /// Every kind, in declaration order.
    pub const ALL: [AuditKind; 21] = [
        AuditKind::Granted,
        AuditKind::Duress,
        AuditKind::WrongPin,
        AuditKind::DisabledPin,
        AuditKind::AdminLogin,
        AuditKind::AdminLoginFailed,
        AuditKind::RecoveryFailed,
        AuditKind::AdminLogout,
        AuditKind::AdminTimeout,
        AuditKind::LockoutStarted,
        AuditKind::LockoutEnded,
        AuditKind::HardLock,
        AuditKind::LockoutCleared,
        AuditKind::RefusedLocked,
        AuditKind::DoorOpened,
        AuditKind::DoorForced,
        AuditKind::DoorHeldOpen,
        AuditKind::DoorClosed,
        AuditKind::Tamper,
        AuditKind::TamperCleared,
        AuditKind::ExitButton,
    ];

    /// The stable name stored in the audit log (same as the serde form).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Granted => "granted",
            AuditKind::Duress => "duress",
            AuditKind::WrongPin => "wrong_pin",
            AuditKind::DisabledPin => "disabled_pin",
            AuditKind::AdminLogin => "admin_login",
            AuditKind::AdminLoginFailed => "admin_login_failed",
            AuditKind::RecoveryFailed => "recovery_failed",
            AuditKind::AdminLogout => "admin_logout",
            AuditKind::AdminTimeout => "admin_timeout",
            AuditKind::LockoutStarted => "lockout_started",
            AuditKind::LockoutEnded => "lockout_ended",
            AuditKind::HardLock => "hard_lock",
            AuditKind::LockoutCleared => "lockout_cleared",
            AuditKind::RefusedLocked => "refused_locked",
            AuditKind::DoorOpened => "door_opened",
            AuditKind::DoorForced => "door_forced",
            AuditKind::DoorHeldOpen => "door_held_open",
            AuditKind::DoorClosed => "door_closed",
            AuditKind::Tamper => "tamper",
            AuditKind::TamperCleared => "tamper_cleared",
            AuditKind::ExitButton => "exit_button",
        }
    }
}
